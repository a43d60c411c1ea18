//! Log lines, and the request id on every line a request's task writes.
//!
//! Each request gets an id ([`crate::http`]) that must be on every log line
//! it causes. A tracing span per request would do that, but on the cheap
//! query the span (created, formatted, entered and left on every poll)
//! and std's locked stderr cost about a tenth of the request's CPU
//! (docs/performance.md). So the id lives in a task-local instead
//! ([`scope`]), and the line format ([`Lines`]) writes it on every event
//! raised inside that task (ours, sea-orm's and sqlx's alike); the
//! request's loaders run their batches in the same scope
//! ([`crate::graphql::loaders`]). Lines go to standard error through a
//! short buffer ([`Sink`]): `warn` and `error` at once, the rest within
//! 50 ms.

use std::{
    cell::{Cell, RefCell},
    fmt,
    fs::File,
    future::Future,
    io::Write as _,
    os::fd::AsFd,
    sync::Arc,
};

use tracing::{Event, Subscriber};
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields, FormattedFields,
        format::Writer,
        time::{FormatTime, SystemTime},
    },
    registry::LookupSpan,
};

/// What a request's log lines carry: its id, and the SQL statements it
/// ran once known; its last line also what it ran and how it ended.
#[derive(Debug)]
struct RequestLog {
    id: Arc<str>,
    /// Its trace and span ([`crate::trace`]), written after the id.
    trace: Option<crate::trace::TraceIds>,
    statements: Cell<Option<usize>>,
    operation: RefCell<Operation>,
}

/// The GraphQL operation a request ran, for its log line.
#[derive(Debug, Default, Clone)]
pub struct Operation {
    /// Its name, if it has one.
    pub name: Option<String>,
    /// `query`, `mutation` or `subscription`; empty when it never parsed.
    pub kind: &'static str,
    /// The caller's roles (`admin`, `learner+reseller`), or `anonymous`.
    pub role: String,
    /// The `extensions.code` of every error it answered with, once each.
    pub codes: Vec<String>,
    /// Its cost ([`crate::graphql::cost`]), once worked out.
    pub cost: Option<usize>,
    /// Whether its name comes from a bounded set (a trusted document, a
    /// persisted query), so metrics may carry it.
    pub named: bool,
}

tokio::task_local! {
    static REQUEST: RequestLog;
}

/// Runs `future` as the request `id`: every log line it writes carries it.
pub fn scope<F: Future>(id: Arc<str>, future: F) -> impl Future<Output = F::Output> {
    traced(id, None, future)
}

/// Like [`scope`], the lines also carrying the request's trace and span ids.
pub fn traced<F: Future>(
    id: Arc<str>,
    trace: Option<crate::trace::TraceIds>,
    future: F,
) -> impl Future<Output = F::Output> {
    REQUEST.scope(RequestLog { id, trace, statements: Cell::new(None), operation: RefCell::default() }, future)
}

/// The trace of the request this task serves, if any.
fn current_trace() -> Option<crate::trace::TraceIds> {
    REQUEST.try_with(|r| r.trace).ok().flatten()
}

/// The id of the request this task serves, if any.
pub fn current_id() -> Option<Arc<str>> {
    REQUEST.try_with(|r| r.id.clone()).ok()
}

/// Notes how many statements the current request ran (its log line's
/// `statements=N`).
pub fn record_statements(n: usize) {
    let _ = REQUEST.try_with(|r| r.statements.set(Some(n)));
}

/// Notes the operation the current request runs.
pub fn record_operation(name: Option<String>, kind: &'static str, role: String) {
    let _ = REQUEST.try_with(|r| {
        let mut operation = r.operation.borrow_mut();
        (operation.name, operation.kind, operation.role) = (name, kind, role);
    });
}

/// Notes that the current request's operation name may label metrics.
pub fn record_named() {
    let _ = REQUEST.try_with(|r| r.operation.borrow_mut().named = true);
}

/// Notes the cost of the current request's document.
pub fn record_cost(cost: usize) {
    let _ = REQUEST.try_with(|r| r.operation.borrow_mut().cost = Some(cost));
}

/// Notes the error codes the current request answered with.
pub fn record_codes<'a>(codes: impl IntoIterator<Item = &'a str>) {
    let _ = REQUEST.try_with(|r| {
        let mut operation = r.operation.borrow_mut();
        for code in codes {
            if !operation.codes.iter().any(|c| c == code) {
                operation.codes.push(code.to_owned());
            }
        }
    });
}

/// What [`record_operation`] and [`record_codes`] noted for this request.
pub fn operation() -> Operation {
    REQUEST.try_with(|r| r.operation.borrow().clone()).unwrap_or_default()
}

/// The statements noted by [`record_statements`] for this request.
pub fn statements() -> Option<usize> {
    REQUEST.try_with(|r| r.statements.get()).ok().flatten()
}

/// A spawner for tasks that work for the current request (a DataLoader's
/// batches): each runs as that request, so its log lines carry the id.
pub fn spawner<F>() -> impl Fn(F) -> tokio::task::JoinHandle<()> + Send + Sync + 'static
where
    F: Future<Output = ()> + Send + 'static,
{
    let (request, trace) = (current_id(), current_trace());
    move |task| match request.clone() {
        Some(id) => tokio::spawn(traced(id, trace, task)),
        None => tokio::spawn(task),
    }
}

/// The shape of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `2026-11-21T09:30:00.000000Z  INFO target: message request_id=.. k=v`
    Text,
    /// One JSON object a line: timestamp, level, target, request_id and
    /// the event's fields (with `.json()`'s field format).
    Json,
}

/// The event format: tracing-subscriber's fields, with the request id of
/// the current task (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Lines(pub Shape);

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let id = current_id();
        let trace = current_trace();
        match self.0 {
            Shape::Text => {
                SystemTime.format_time(&mut w)?;
                let level = meta.level();
                if w.has_ansi_escapes() {
                    write!(w, " \x1b[{}m{level:>5}\x1b[0m ", level_colour(level))?;
                } else {
                    write!(w, " {level:>5} ")?;
                }
                // Spans other crates open (none at info today) keep their place.
                if let Some(scope) = ctx.event_scope() {
                    for span in scope.from_root() {
                        write!(w, "{}", span.name())?;
                        if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                            && !fields.is_empty()
                        {
                            write!(w, "{{{fields}}}")?;
                        }
                        w.write_str(": ")?;
                    }
                }
                write!(w, "{}: ", meta.target())?;
                ctx.field_format().format_fields(w.by_ref(), event)?;
                if let Some(id) = id {
                    write!(w, " request_id={id}")?;
                }
                if let Some(trace) = trace {
                    write!(w, " trace_id={} span_id={}", trace.trace_hex(), trace.span_hex())?;
                }
                writeln!(w)
            }
            Shape::Json => {
                w.write_str("{\"timestamp\":\"")?;
                SystemTime.format_time(&mut w)?;
                write!(w, "\",\"level\":\"{}\",\"target\":", meta.level())?;
                json_string(&mut w, meta.target())?;
                if let Some(id) = id {
                    // Ids are 1..64 of [A-Za-z0-9_-] (http.rs): nothing to escape.
                    write!(w, ",\"request_id\":\"{id}\"")?;
                }
                if let Some(trace) = trace {
                    write!(w, ",\"trace_id\":\"{}\",\"span_id\":\"{}\"", trace.trace_hex(), trace.span_hex())?;
                }
                w.write_str(",\"fields\":")?;
                ctx.field_format().format_fields(w.by_ref(), event)?;
                w.write_str("}\n")
            }
        }
    }
}

/// The ANSI colour tracing-subscriber gives each level.
fn level_colour(level: &tracing::Level) -> u8 {
    match *level {
        tracing::Level::ERROR => 31,
        tracing::Level::WARN => 33,
        tracing::Level::INFO => 32,
        tracing::Level::DEBUG => 34,
        tracing::Level::TRACE => 35,
    }
}

fn json_string(w: &mut Writer<'_>, s: &str) -> fmt::Result {
    match serde_json::to_string(s) {
        Ok(quoted) => w.write_str(&quoted),
        Err(_) => Err(fmt::Error),
    }
}

/// Where log lines go: standard error, through a buffer.
///
/// A `write(2)` per line was a tenth of a small request's CPU. Lines at
/// `info` and below wait here (at most [`FLUSH_BYTES`], at most
/// [`FLUSH_EVERY`]: a thread writes out what has gathered); a `warn` or
/// `error` line writes out the buffer and itself at once, so nothing
/// important waits, and lines keep their order. [`Sink::flush`] writes out
/// the rest (main calls it before the process ends).
#[derive(Clone)]
pub struct Sink(Arc<SinkInner>);

struct SinkInner {
    /// False when no thread flushes: every line is written at once.
    buffered: bool,
    /// Pending lines, and the destination: written under one lock so that
    /// lines leave in the order they came.
    state: std::sync::Mutex<(Vec<u8>, Box<dyn std::io::Write + Send>)>,
}

/// Bytes of lines a [`Sink`] holds before writing them out.
pub const FLUSH_BYTES: usize = 32 * 1024;
/// The longest a line waits in a [`Sink`].
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

impl Sink {
    /// A sink onto `destination`; it holds lines only if `buffered` (and
    /// then someone must call [`flush`](Self::flush)).
    pub fn new(destination: Box<dyn std::io::Write + Send>, buffered: bool) -> Self {
        let capacity = if buffered { FLUSH_BYTES } else { 0 };
        Self(Arc::new(SinkInner {
            buffered,
            state: std::sync::Mutex::new((Vec::with_capacity(capacity), destination)),
        }))
    }

    /// The process's standard error (a duplicate of descriptor 2, written
    /// without std's `Stderr` lock; std's `Stderr` if it cannot be
    /// duplicated), with a thread writing out pending lines every
    /// [`FLUSH_EVERY`] (unbuffered if that thread cannot start).
    pub fn stderr() -> Self {
        let destination = || -> Box<dyn std::io::Write + Send> {
            match std::io::stderr().as_fd().try_clone_to_owned() {
                Ok(fd) => Box::new(File::from(fd)),
                Err(_) => Box::new(std::io::stderr()),
            }
        };
        let sink = Self::new(destination(), true);
        let flusher = sink.clone();
        let started = std::thread::Builder::new().name("log-flush".into()).spawn(move || {
            loop {
                std::thread::sleep(FLUSH_EVERY);
                flusher.flush();
            }
        });
        match started {
            Ok(_) => sink,
            Err(_) => Self::new(destination(), false),
        }
    }

    /// Writes out every pending line.
    pub fn flush(&self) {
        if let Ok(mut state) = self.0.state.lock() {
            write_out(&mut state);
        }
    }

    /// Adds one formatted line; writes out at once when `urgent`, when the
    /// buffer is full, or when the sink does not buffer.
    fn add(&self, line: &[u8], urgent: bool) -> std::io::Result<()> {
        let Ok(mut state) = self.0.state.lock() else {
            return std::io::stderr().write_all(line);
        };
        if !self.0.buffered {
            return state.1.write_all(line);
        }
        state.0.extend_from_slice(line);
        if urgent || state.0.len() >= FLUSH_BYTES {
            write_out(&mut state);
        }
        Ok(())
    }
}

/// Writes the pending lines to the destination and empties the buffer
/// (keeping its capacity). A failed write drops them: logs must never
/// stop the server.
fn write_out(state: &mut (Vec<u8>, Box<dyn std::io::Write + Send>)) {
    if !state.0.is_empty() {
        let (pending, destination) = state;
        let _ = destination.write_all(pending);
        pending.clear();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = SinkLine<'a>;

    fn make_writer(&'a self) -> SinkLine<'a> {
        SinkLine { sink: self, urgent: false }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> SinkLine<'a> {
        SinkLine { sink: self, urgent: *meta.level() <= tracing::Level::WARN }
    }
}

/// One line's writer from a [`Sink`] (tracing-subscriber formats a whole
/// line, then writes it with one `write_all`).
pub struct SinkLine<'a> {
    sink: &'a Sink,
    urgent: bool,
}

impl std::io::Write for SinkLine<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.sink.add(bytes, self.urgent)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default()
        }
    }

    /// Logs one line outside any request and one inside request `abc`,
    /// in `shape`, and returns the two lines.
    async fn two_lines(shape: Shape) -> (String, String) {
        let buffer = Buffer::default();
        let builder = tracing_subscriber::fmt().with_writer(buffer.clone()).with_ansi(false);
        let _guard = match shape {
            Shape::Text => tracing::subscriber::set_default(builder.event_format(Lines(shape)).finish()),
            Shape::Json => tracing::subscriber::set_default(builder.json().event_format(Lines(shape)).finish()),
        };
        tracing::info!(status = 200, "outside");
        scope(Arc::from("abc"), async {
            tokio::task::yield_now().await;
            tracing::info!(path = %"/graphql", "inside");
        })
        .await;
        let text = buffer.text();
        let mut lines = text.lines().map(str::to_owned);
        (lines.next().unwrap_or_default(), lines.next().unwrap_or_default())
    }

    #[tokio::test]
    async fn text_lines_carry_the_request_id_inside_a_request_only() {
        let (outside, inside) = two_lines(Shape::Text).await;
        assert!(outside.contains(" INFO licensegraph::logs::tests: outside status=200"), "{outside}");
        assert!(!outside.contains("request_id"), "{outside}");
        assert!(inside.ends_with("inside path=/graphql request_id=abc"), "{inside}");
    }

    #[tokio::test]
    async fn json_lines_are_json_with_the_request_id() {
        let (outside, inside) = two_lines(Shape::Json).await;
        let outside: serde_json::Value = serde_json::from_str(&outside).unwrap_or_default();
        let inside: serde_json::Value = serde_json::from_str(&inside).unwrap_or_default();
        assert_eq!(outside["level"], "INFO");
        assert_eq!(outside["fields"]["status"], 200);
        assert!(outside.get("request_id").is_none(), "{outside}");
        assert_eq!(inside["request_id"], "abc");
        assert_eq!(inside["target"], "licensegraph::logs::tests");
        assert_eq!(inside["fields"]["message"], "inside");
        assert_eq!(inside["fields"]["path"], "/graphql");
    }

    #[test]
    fn info_lines_wait_and_a_warning_writes_everything_out_in_order() {
        let out = Buffer::default();
        let sink = Sink::new(Box::new(out.clone()), true);
        let subscriber = tracing_subscriber::fmt().with_writer(sink.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("first");
            tracing::info!("second");
            assert_eq!(out.text(), "", "info lines wait");
            tracing::warn!("third");
            let text = out.text();
            let order: Vec<bool> = ["first", "second", "third"].iter().map(|w| text.contains(w)).collect();
            assert_eq!(order, [true, true, true], "{text}");
            assert!(text.find("first") < text.find("second") && text.find("second") < text.find("third"));
            tracing::info!("fourth");
            assert!(!out.text().contains("fourth"));
        });
        sink.flush();
        assert!(out.text().contains("fourth"), "flush writes out the rest");
    }

    #[test]
    fn a_full_buffer_is_written_out_and_an_unbuffered_sink_writes_at_once() {
        let out = Buffer::default();
        let sink = Sink::new(Box::new(out.clone()), true);
        let line = "x".repeat(1000);
        let subscriber = tracing_subscriber::fmt().with_writer(sink.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..(FLUSH_BYTES / 1000 + 1) {
                tracing::info!("{line}");
            }
        });
        assert!(out.text().len() >= FLUSH_BYTES, "{} bytes written", out.text().len());

        let out = Buffer::default();
        let sink = Sink::new(Box::new(out.clone()), false);
        let subscriber = tracing_subscriber::fmt().with_writer(sink).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || tracing::info!("at once"));
        assert!(out.text().contains("at once"));
    }

    #[tokio::test]
    async fn tasks_spawned_for_a_request_run_as_it() {
        let spawn = spawner();
        let outside = spawn(async { assert_eq!(current_id(), None) });
        assert!(outside.await.is_ok());
        let inside = scope(Arc::from("r1"), async {
            let spawn = spawner();
            spawn(async { assert_eq!(current_id().as_deref(), Some("r1")) }).await
        })
        .await;
        assert!(inside.is_ok(), "the spawned task did not see the request id");
    }

    #[tokio::test]
    async fn lines_carry_the_trace_a_request_continues() {
        let buffer = Buffer::default();
        let builder = tracing_subscriber::fmt().with_writer(buffer.clone()).with_ansi(false);
        let _guard = tracing::subscriber::set_default(builder.event_format(Lines(Shape::Text)).finish());
        let ids = crate::trace::TraceIds::from_header(Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        traced(Arc::from("t1"), Some(ids), async {
            let spawn = spawner();
            let _ = spawn(async { tracing::info!("in a loader") }).await;
        })
        .await;
        let text = buffer.text();
        let expected = format!("request_id=t1 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id={}", ids.span_hex());
        assert!(text.trim_end().ends_with(&expected), "{text}");
    }

    #[tokio::test]
    async fn statements_are_noted_per_request() {
        assert_eq!(statements(), None);
        scope(Arc::from("x"), async {
            assert_eq!(statements(), None);
            record_statements(4);
            assert_eq!(statements(), Some(4));
            assert_eq!(current_id().as_deref(), Some("x"));
        })
        .await;
        assert_eq!(current_id(), None);
    }
}
