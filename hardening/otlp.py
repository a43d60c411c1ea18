"""Trace context end to end: an OTLP/HTTP collector of our own (decoding
with opentelemetry-proto, pinned in hardening/requirements.txt) receives
the server's spans.

    target/hardening-venv/bin/python hardening/otlp.py

- a request with a sampled `traceparent` is exported as a server span of
  that trace, child of the caller's span, named after the operation, with
  its attributes; its id is the one `traceresponse` answers and the one
  the server's log lines carry;
- a request with no `traceparent` begins a trace of its own;
- an unsampled `traceparent` is not exported;
- without OTEL_EXPORTER_OTLP_ENDPOINT (every other suite), nothing is.
"""

import argparse
import http.client
import http.server
import json
import threading
import time

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

import lg

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class Collector(http.server.BaseHTTPRequestHandler):
    spans = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        with Collector.lock:
            for resource in request.resource_spans:
                service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        Collector.spans.append((self.path, service, span))
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def post(port, query, traceparent=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"content-type": "application/json"}
    if traceparent:
        headers["traceparent"] = traceparent
    conn.request("POST", "/graphql", json.dumps({"query": query}), headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, response.getheader("traceresponse")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        lg.build()
    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    work, cleanup = lg.workdir()
    database = lg.Database("sqlite", work)
    server = lg.Server(database.url, work, "otlp-" + "o" * 40, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "LICENSEGRAPH_LOG": "info",
    })
    try:
        server.start()
        status, answered = post(server.port, "query Whoami { viewer { authenticated } }",
                                f"00-{TRACE}-{PARENT}-01")
        if status != 200 or not answered or not answered.startswith(f"00-{TRACE}-"):
            lg.fail(f"traceresponse: {status} {answered}")
        ours = answered.split("-")[2]
        _, fresh = post(server.port, "query Fresh { __typename }")
        _, unsampled = post(server.port, "query Quiet { __typename }", f"00-{'1' * 32}-{PARENT}-00")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with Collector.lock:
                names = {s.name for _, _, s in Collector.spans}
            if {"query Whoami", "query Fresh"} <= names:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # anything late (the unsampled span must not come)
        with Collector.lock:
            spans = list(Collector.spans)
        by_name = {s.name: (path, service, s) for path, service, s in spans}
        if "query Whoami" not in by_name:
            lg.fail(f"no span for the traced request; received {sorted(by_name)}")
        path, service, span = by_name["query Whoami"]
        attributes = {a.key: (a.value.string_value or a.value.int_value) for a in span.attributes}
        checks = {
            "posted to /v1/traces": path == "/v1/traces",
            "service.name licensegraph": service == "licensegraph",
            "the caller's trace": span.trace_id.hex() == TRACE,
            "a child of the caller's span": span.parent_span_id.hex() == PARENT,
            "the span traceresponse names": span.span_id.hex() == ours,
            "a server span": span.kind == span.SPAN_KIND_SERVER,
            "operation attributes": attributes.get("graphql.operation.name") == "Whoami"
            and attributes.get("graphql.operation.type") == "query"
            and attributes.get("http.response.status_code") == 200,
        }
        fresh_span = by_name.get("query Fresh", (None, None, None))[2]
        checks["a request without traceparent begins its own trace"] = (
            fresh_span is not None and fresh_span.trace_id.hex() == fresh.split("-")[1]
            and fresh_span.trace_id.hex() != TRACE and not fresh_span.parent_span_id)
        checks["an unsampled trace is not exported"] = "query Quiet" not in by_name and unsampled.endswith("-00")
        log = server.read_log()
        checks["the log line carries the trace"] = any(
            f"trace_id={TRACE} span_id={ours}" in line and "Whoami" in line for line in log.splitlines())
        for what, ok in checks.items():
            lg.log(f"{'ok' if ok else 'FAILED'}: {what}")
        if not all(checks.values()):
            lg.fail(f"span: {span}\nlog: {log[-1500:]}")
        if server.panicked():
            lg.fail("the server log has a panic")
    finally:
        server.stop()
        database.close()
        cleanup()
        collector.shutdown()
    lg.log("OTLP: spans continue the caller's trace, received by a collector decoding opentelemetry-proto")


if __name__ == "__main__":
    main()
