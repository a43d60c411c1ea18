"""Schemathesis hooks: a check that every answer is valid GraphQL over HTTP.

Loaded with SCHEMATHESIS_HOOKS=graphql_over_http (hardening/schemathesis.sh).
It fails on any 5xx and on everything else a client could not handle: a
status the server never means to send, a media type that is not JSON, a
body that is not a GraphQL response, an error without a stable
`extensions.code`, or an INTERNAL error (a bug surfaced as a 200).

It replaces Schemathesis's built-in `not_a_server_error` for GraphQL, which
counts every error that has a `path` (raised while resolving a field) as a
server failure unless its code is one of Apollo's client codes. Field-level
authorization raises exactly such errors on purpose (UNAUTHENTICATED,
FORBIDDEN, NOT_FOUND for another organization's object), so under a role
that check reports correct refusals. This one tells them apart by code.
"""

import schemathesis

STATUSES = {200, 400, 401, 403, 413, 429}
MEDIA_TYPES = ("application/graphql-response+json", "application/json")
CODES = {
    "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "BAD_REQUEST",
    "LIMIT_EXCEEDED", "RATE_LIMITED", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED",
}


@schemathesis.check
def graphql_over_http(ctx, response, case):
    assert response.status_code in STATUSES, f"unexpected HTTP status {response.status_code}"
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media in MEDIA_TYPES, f"unexpected content type {media!r}"
    try:
        body = response.json()
    except ValueError as error:
        raise AssertionError(f"the body is not JSON: {error}") from None
    assert isinstance(body, dict), "the body is not a JSON object"
    assert set(body) <= {"data", "errors", "extensions"}, f"unexpected keys {sorted(body)}"
    assert "data" in body or "errors" in body, "neither data nor errors"
    if "errors" in body:
        errors = body["errors"]
        assert isinstance(errors, list) and errors, "errors must be a non-empty list"
        for error in errors:
            assert isinstance(error.get("message"), str), f"an error without a message: {error}"
            code = (error.get("extensions") or {}).get("code")
            assert code in CODES, f"error code {code!r} is not a client error: {error}"
    if response.status_code == 429:
        assert response.headers.get("retry-after"), "429 without Retry-After"
    if "data" not in body:
        assert response.status_code != 200 or media == "application/json", "a request error answered 200"
