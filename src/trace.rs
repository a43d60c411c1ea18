//! W3C trace context: a request's `traceparent` read (or a new trace
//! begun), its trace and span ids on every log line it writes
//! ([`crate::logs`]), and, only when an OTLP endpoint is configured, one
//! server span per request exported over OTLP/HTTP. With no endpoint no
//! span object is made: nothing is exported and nothing is slower.

use std::{sync::OnceLock, time::SystemTime};

use opentelemetry::{
    Context, KeyValue,
    trace::{
        Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        Tracer as _, TracerProvider as _,
    },
};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// A request's place in a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIds {
    pub trace_id: [u8; 16],
    /// The caller's span, when a valid `traceparent` came in.
    pub parent: Option<[u8; 8]>,
    /// This request's span.
    pub span_id: [u8; 8],
    /// The caller's sampled flag (a new trace is sampled).
    pub sampled: bool,
}

impl TraceIds {
    /// Continues the trace of a `traceparent` header, or begins one.
    pub fn from_header(header: Option<&[u8]>) -> Self {
        let span_id = nonzero();
        match header.and_then(parse) {
            Some((trace_id, parent, flags)) => {
                Self { trace_id, parent: Some(parent), span_id, sampled: flags & 1 == 1 }
            }
            None => Self { trace_id: nonzero(), parent: None, span_id, sampled: true },
        }
    }

    /// The trace id in lowercase hex, written without an allocation.
    pub fn trace_hex(&self) -> Hex<'_> {
        Hex(&self.trace_id)
    }

    /// This request's span id in lowercase hex.
    pub fn span_hex(&self) -> Hex<'_> {
        Hex(&self.span_id)
    }

    /// The `traceparent` naming this request's span.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_hex(), self.span_hex(), u8::from(self.sampled))
    }
}

fn nonzero<const N: usize>() -> [u8; N] {
    loop {
        let bytes: [u8; N] = rand::random();
        if bytes.iter().any(|b| *b != 0) {
            return bytes;
        }
    }
}

/// Bytes shown as lowercase hex.
pub struct Hex<'a>(&'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
fn hex(bytes: &[u8]) -> String {
    Hex(bytes).to_string()
}

fn unhex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None, // W3C: lowercase only
    };
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// `version-traceid-parentid-flags` (W3C Trace Context, level 1): version
/// `00` exactly 55 characters; a later version at least that, its first
/// four fields read the same way; `ff`, all-zero ids and uppercase hex are
/// invalid.
fn parse(header: &[u8]) -> Option<([u8; 16], [u8; 8], u8)> {
    let header = header.trim_ascii();
    if header.len() < 55 || header[2] != b'-' || header[35] != b'-' || header[52] != b'-' {
        return None;
    }
    let [version] = unhex::<1>(&header[..2])?;
    match version {
        0xff => return None,
        0 if header.len() != 55 => return None,
        0 => {}
        _ if header.len() > 55 && header[55] != b'-' => return None,
        _ => {}
    }
    let trace_id = unhex::<16>(&header[3..35]).filter(|id| id.iter().any(|b| *b != 0))?;
    let parent = unhex::<8>(&header[36..52]).filter(|id| id.iter().any(|b| *b != 0))?;
    let [flags] = unhex::<1>(&header[53..55])?;
    Some((trace_id, parent, flags))
}

/// The exporter, when configured ([`init`]).
static TRACER: OnceLock<(SdkTracerProvider, SdkTracer)> = OnceLock::new();

/// Exports spans to the OTLP/HTTP collector at `endpoint` (its base URL,
/// as `OTEL_EXPORTER_OTLP_ENDPOINT` gives it: `/v1/traces` is added), in
/// batches from a thread of their own.
pub fn init(endpoint: &str) -> Result<(), String> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url.clone())
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_headers(Default::default())
        .build()
        .map_err(|e| format!("cannot export traces to {url}: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder_empty().with_service_name("licensegraph").build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("licensegraph");
    TRACER.set((provider, tracer)).map_err(|_| "the trace exporter is already set up".to_owned())
}

/// Sends what is batched and stops the exporter.
pub fn shutdown() {
    if let Some((provider, _)) = TRACER.get()
        && let Err(error) = provider.shutdown()
    {
        tracing::warn!(%error, "the trace exporter did not shut down cleanly");
    }
}

/// A request's span, exported when it ends; `None` when nothing exports.
pub struct RequestSpan(opentelemetry_sdk::trace::Span);

/// Starts the request's span, if spans are exported.
pub fn start(ids: &TraceIds, method: &str, path: &str) -> Option<RequestSpan> {
    let (_, tracer) = TRACER.get()?;
    let parent = match ids.parent {
        Some(parent) => Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_bytes(ids.trace_id),
            SpanId::from_bytes(parent),
            if ids.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() },
            true,
            TraceState::default(),
        )),
        None => Context::new(),
    };
    let span = tracer
        .span_builder(format!("{method} {path}"))
        .with_kind(SpanKind::Server)
        .with_trace_id(TraceId::from_bytes(ids.trace_id))
        .with_span_id(SpanId::from_bytes(ids.span_id))
        .with_start_time(SystemTime::now())
        .with_attributes([
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("url.path", path.to_owned()),
        ])
        .start_with_context(tracer, &parent);
    Some(RequestSpan(span))
}

impl RequestSpan {
    /// Ends the span with what the request ran and how it ended.
    pub fn end(mut self, status: u16, operation: Option<&str>, kind: &str, codes: &[String], cost: Option<usize>) {
        let span = &mut self.0;
        span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
        if let Some(name) = operation {
            span.set_attribute(KeyValue::new("graphql.operation.name", name.to_owned()));
            span.update_name(format!("{kind} {name}"));
        }
        if !kind.is_empty() {
            span.set_attribute(KeyValue::new("graphql.operation.type", kind.to_owned()));
        }
        if !codes.is_empty() {
            span.set_attribute(KeyValue::new("licensegraph.error_codes", codes.join(",")));
        }
        if let Some(cost) = cost {
            span.set_attribute(KeyValue::new("licensegraph.cost", cost as i64));
        }
        if status >= 500 || codes.iter().any(|c| c == "INTERNAL") {
            span.set_status(Status::error(codes.join(",")));
        }
        span.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_continued() {
        let ids = TraceIds::from_header(Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(ids.trace_hex().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(ids.parent.map(|p| hex(&p)).as_deref(), Some("00f067aa0ba902b7"));
        assert!(ids.sampled);
        assert_ne!(ids.span_hex().to_string(), "00f067aa0ba902b7", "a span of our own");
        assert!(ids.traceparent().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        let unsampled = TraceIds::from_header(Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
        assert!(!unsampled.sampled);
        // A later version: its first fields, and whatever follows a dash.
        let later = TraceIds::from_header(Some(b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-whatever"));
        assert_eq!(later.trace_hex().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn an_invalid_traceparent_begins_a_new_trace() {
        for bad in [
            &b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"[..],
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            b"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            b"garbage",
            b"",
        ] {
            let ids = TraceIds::from_header(Some(bad));
            assert_eq!(ids.parent, None, "{}", String::from_utf8_lossy(bad));
            assert_ne!(ids.trace_hex().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
            assert!(ids.sampled);
        }
        assert_ne!(TraceIds::from_header(None).trace_id, TraceIds::from_header(None).trace_id);
    }

    #[test]
    fn no_span_is_made_without_an_exporter() {
        assert!(start(&TraceIds::from_header(None), "POST", "/graphql").is_none());
    }
}
