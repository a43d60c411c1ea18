//! Command line and environment: the only place that reads either.
//!
//! Every setting is a flag with an environment variable behind it (clap's
//! `env`), so `licensegraph --help` is the complete configuration reference.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GraphQL API server for training-and-certification licensing.
///
/// With no subcommand it serves, taking `serve`'s flags directly
/// (`licensegraph --listen 0.0.0.0:8000`).
#[derive(Debug, Parser)]
#[command(name = "licensegraph", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub log: LogArgs,

    #[command(flatten)]
    pub serve: Box<ServeArgs>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when none is given.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and seed the catalog, then exit.
    Migrate,
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Mint a signed token for local use.
    Token(Box<TokenArgs>),
    /// Add data: `--demo` adds a small demo data set and prints a token for
    /// one user of each role.
    Seed(Box<SeedArgs>),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://path` (created if missing) or `postgres://...`.
    #[arg(long, env = "LICENSEGRAPH_DATABASE_URL", default_value = "sqlite://licensegraph.db", global = true)]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(long, env = "LICENSEGRAPH_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// PostgreSQL behind a transaction-pooling PgBouncer: a direct URL to
    /// the server, for what needs a session of its own (the start's
    /// advisory lock and migrations, LISTEN). Default: the database URL.
    #[arg(long, env = "LICENSEGRAPH_DATABASE_DIRECT_URL", global = true)]
    pub database_direct_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filter, in `tracing_subscriber::EnvFilter` syntax.
    #[arg(long, env = "LICENSEGRAPH_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log format.
    #[arg(long, env = "LICENSEGRAPH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything `serve` needs beyond the database.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LICENSEGRAPH_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,

    /// `production` closes introspection to all but admins (unless
    /// `--introspection` says otherwise) and refuses to generate a JWT
    /// secret: one must be configured.
    #[arg(long, env = "LICENSEGRAPH_MODE", value_enum, default_value_t = Mode::Development)]
    pub mode: Mode,

    /// Origins browsers may call the API from (CORS), exact and comma
    /// separated, like `https://portal.example,http://localhost:5173`. In
    /// development `http://localhost:<any port>` and
    /// `http://127.0.0.1:<any port>` are allowed as well; in production only
    /// these.
    #[arg(long, env = "LICENSEGRAPH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Export a span per request to this OTLP/HTTP collector (its base
    /// URL; `/v1/traces` is added), e.g. `http://127.0.0.1:4318`. Unset:
    /// nothing is exported.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// On SIGTERM, seconds to go on serving while `/readyz` answers 503,
    /// so that a load balancer's health check moves traffic away before
    /// the listener closes; then requests in hand finish (at most the
    /// request timeout) and the process exits. Behind a load balancer, set
    /// it above the check's interval times its fall count.
    #[arg(long, env = "LICENSEGRAPH_DRAIN_GRACE_SECS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub drain_grace_secs: u64,

    /// Seconds between two runs of the scheduler that enqueues time-driven
    /// events (late orders, renewal windows, expiring codes); it also runs
    /// at start, catching up on downtime. 0 turns it off in this process.
    #[arg(long, env = "LICENSEGRAPH_SCHEDULER_INTERVAL", default_value_t = 60)]
    pub scheduler_interval: u64,

    /// Serve `/metrics` on this address instead of with the API (for a
    /// port only the monitoring network reaches).
    #[arg(long, env = "LICENSEGRAPH_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// A folder of `.graphql` files, each one operation your front ends
    /// send: loaded at start (each checked against the limits) and known by
    /// hash to persisted queries.
    #[arg(long, env = "LICENSEGRAPH_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<PathBuf>,

    /// With `--trusted-documents`: callers other than admins may run those
    /// documents and nothing else (FORBIDDEN otherwise).
    #[arg(long, env = "LICENSEGRAPH_TRUSTED_ONLY", requires = "trusted_documents")]
    pub trusted_only: bool,

    #[command(flatten)]
    pub jwt: JwtArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// Notices and webhooks: how the outbox is delivered (`src/dispatch`).
#[derive(Debug, Clone, Args)]
pub struct DeliveryArgs {
    /// SMTP server for notices: `smtp://host:25`, `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:password@host:465` (TLS, AUTH). Unset:
    /// each message is written as an `.eml` file instead (see --mail-dir).
    #[arg(long, env = "LICENSEGRAPH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The From address of notices.
    #[arg(long, env = "LICENSEGRAPH_MAIL_FROM", default_value = "licensegraph <notices@licensegraph.localhost>")]
    pub mail_from: String,

    /// Where `.eml` files go without SMTP; default: beside the SQLite
    /// database (`<db>.mail/`), or `licensegraph.mail/` in the working
    /// directory for PostgreSQL.
    #[arg(long, env = "LICENSEGRAPH_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// The licensing desk's address, for late-order alerts.
    #[arg(long, env = "LICENSEGRAPH_DESK_EMAIL")]
    pub desk_email: Option<String>,

    /// Milliseconds between two dispatch runs (fan-out, e-mail, webhooks).
    /// 0 turns dispatching off in this process.
    #[arg(long, env = "LICENSEGRAPH_DISPATCH_INTERVAL_MS", default_value_t = 1000)]
    pub dispatch_interval_ms: u64,

    /// Seconds a webhook endpoint has to answer.
    #[arg(long, env = "LICENSEGRAPH_WEBHOOK_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub webhook_timeout_secs: u64,

    /// In production, also accept webhook endpoints on loopback and private
    /// addresses (an internal receiver). Development accepts them, and
    /// plain http, anyway.
    #[arg(long, env = "LICENSEGRAPH_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
}

impl DeliveryArgs {
    /// The `.eml` folder for `database_url`.
    pub fn mail_dir(&self, database_url: &str) -> PathBuf {
        self.mail_dir.clone().unwrap_or_else(|| match crate::auth::sqlite_path(database_url) {
            Some(db) => PathBuf::from(format!("{}.mail", db.display())),
            None => PathBuf::from("licensegraph.mail"),
        })
    }

    /// Where webhooks may go in `mode`.
    pub fn url_policy(&self, mode: Mode) -> crate::domain::webhook_urls::UrlPolicy {
        use crate::domain::webhook_urls::UrlPolicy;
        match mode {
            Mode::Development => UrlPolicy::OPEN,
            Mode::Production => UrlPolicy { allow_http: false, allow_private: self.webhook_allow_private },
        }
    }
}

/// How the server is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Open introspection; a JWT secret is generated when none is given.
    Development,
    /// Introspection for admins only; the JWT key must be configured.
    Production,
}

/// Where a per-subject budget is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CountedIn {
    /// In the database, for every process on it.
    Database,
    /// In this process's memory.
    Process,
}

/// Who may introspect the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Introspection {
    /// Anyone, anonymous callers included.
    Everyone,
    /// Callers with the `admin` role.
    Admins,
}

impl ServeArgs {
    /// Production mode never generates a JWT secret: one must be given.
    pub fn check_mode(&self) -> Result<(), String> {
        let configured =
            self.jwt.jwt_secret.is_some() || self.jwt.jwt_public_key.is_some() || self.jwt.jwt_secret_file.is_some();
        if self.mode == Mode::Production && !configured {
            return Err("production mode needs LICENSEGRAPH_JWT_SECRET, LICENSEGRAPH_JWT_SECRET_FILE (an existing \
                        file) or LICENSEGRAPH_JWT_PUBLIC_KEY: it does not generate a secret"
                .into());
        }
        Ok(())
    }

    /// The limits with the mode's defaults filled in.
    pub fn effective_limits(&self) -> LimitArgs {
        let mut limits = self.limits.clone();
        limits.introspection = Some(limits.introspection.unwrap_or(match self.mode {
            Mode::Development => Introspection::Everyone,
            Mode::Production => Introspection::Admins,
        }));
        limits
    }
}

/// How tokens are verified. With neither a secret nor a public key, an HS256
/// secret is generated on first start (development only) and kept in
/// `secret_file`, or with PostgreSQL in the database.
#[derive(Debug, Clone, Args)]
pub struct JwtArgs {
    /// HS256 secret, at least 32 bytes.
    #[arg(long, env = "LICENSEGRAPH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// PEM file with an RS256 or ES256 public key (instead of a secret).
    #[arg(long, env = "LICENSEGRAPH_JWT_PUBLIC_KEY", conflicts_with = "jwt_secret")]
    pub jwt_public_key: Option<PathBuf>,

    /// During a rotation: the HS256 secret being rotated out, still accepted.
    #[arg(long, env = "LICENSEGRAPH_JWT_PREVIOUS_SECRET", hide_env_values = true, conflicts_with = "jwt_public_key")]
    pub jwt_previous_secret: Option<Secret>,

    /// During a rotation: the PEM public key being rotated out, still accepted.
    #[arg(long, env = "LICENSEGRAPH_JWT_PREVIOUS_PUBLIC_KEY", conflicts_with = "jwt_secret")]
    pub jwt_previous_public_key: Option<PathBuf>,

    /// Where the generated secret is kept; default: beside the SQLite
    /// database (`<db>.jwt-secret`); with PostgreSQL, in the database
    /// itself, shared by every process on it.
    #[arg(long, env = "LICENSEGRAPH_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Required `iss` claim.
    #[arg(long, env = "LICENSEGRAPH_JWT_ISSUER", default_value = "licensegraph")]
    pub jwt_issuer: String,

    /// Required `aud` claim.
    #[arg(long, env = "LICENSEGRAPH_JWT_AUDIENCE", default_value = "licensegraph")]
    pub jwt_audience: String,

    /// Clock skew tolerated on `exp` and `nbf`, in seconds (at most 300).
    #[arg(long, env = "LICENSEGRAPH_JWT_LEEWAY_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub jwt_leeway_secs: u64,
}

/// Query and request limits.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest request body, in bytes; larger ones get 413.
    #[arg(long, env = "LICENSEGRAPH_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Deepest selection nesting.
    #[arg(long, env = "LICENSEGRAPH_MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,

    /// Highest query complexity (each field costs 1, connections cost
    /// their page size times their children).
    #[arg(long, env = "LICENSEGRAPH_MAX_COMPLEXITY", default_value_t = 10_000)]
    pub max_complexity: usize,

    /// Most fields (aliases and `__typename` included) in one document.
    #[arg(long, env = "LICENSEGRAPH_MAX_FIELDS", default_value_t = 500)]
    pub max_fields: usize,

    /// Most directives on one field.
    #[arg(long, env = "LICENSEGRAPH_MAX_DIRECTIVES", default_value_t = 4)]
    pub max_directives: usize,

    /// Longest query text, in bytes.
    #[arg(long, env = "LICENSEGRAPH_MAX_QUERY_BYTES", default_value_t = 32 * 1024)]
    pub max_query_bytes: usize,

    /// Most lexical tokens in the query text (counted before parsing).
    #[arg(long, env = "LICENSEGRAPH_MAX_TOKENS", default_value_t = 4000)]
    pub max_tokens: usize,

    /// Deepest nesting of brackets, braces and parentheses in a query's
    /// text, and of arrays and objects in a JSON body; checked by a linear
    /// scan before anything parses the text.
    #[arg(long, env = "LICENSEGRAPH_MAX_NESTING", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(4..=64))]
    pub max_nesting: u32,

    /// Largest GraphQL response body, in bytes; a larger answer is replaced
    /// by a `LIMIT_EXCEEDED` error.
    #[arg(long, env = "LICENSEGRAPH_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: usize,

    /// Seconds a connection may take to send a request's headers; the same
    /// bound closes a keep-alive connection idle that long between requests.
    #[arg(long, env = "LICENSEGRAPH_HEADER_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    pub header_timeout_secs: u64,

    /// Seconds a request may take to send its body once its headers are in;
    /// also how long an answer may wait for the client to read it.
    #[arg(long, env = "LICENSEGRAPH_BODY_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub body_timeout_secs: u64,

    /// Most open client connections; further ones wait in the listen
    /// backlog until one closes.
    #[arg(long, env = "LICENSEGRAPH_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Who may introspect the schema (`__schema`, `__type`); default:
    /// everyone in development mode, admins in production mode.
    #[arg(long, env = "LICENSEGRAPH_INTROSPECTION", value_enum)]
    pub introspection: Option<Introspection>,

    /// How long a request may run before it is answered with 503.
    #[arg(long, env = "LICENSEGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Most attempts per minute and per subject to validate, redeem or
    /// activate a code by its value (against guessing, R-19).
    #[arg(long, env = "LICENSEGRAPH_CODE_ATTEMPTS_PER_MINUTE", default_value_t = 30)]
    pub code_attempts_per_minute: u32,

    /// Where the code-attempt budget is counted: `database` (one budget
    /// for every process on the database and through restarts; the
    /// default on PostgreSQL) or `process` (each process its own, one
    /// statement per attempt saved; the default, and the only sensible
    /// choice, on SQLite). Set `process` only where exactly one process
    /// serves the database: with N processes a subject gets N budgets.
    #[arg(long, env = "LICENSEGRAPH_CODE_ATTEMPTS_COUNTED_IN", value_enum)]
    pub code_attempts_counted_in: Option<CountedIn>,

    /// How long an `Idempotency-Key` and its kept answer live, in hours.
    #[arg(long, env = "LICENSEGRAPH_IDEMPOTENCY_TTL_HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(1..=720))]
    pub idempotency_ttl_hours: u64,
}

impl LimitArgs {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_ttl_hours * 3600)
    }

    /// How long a request may hold its idempotency key before a retry may
    /// take it over: the request's own limit, and a margin.
    pub fn idempotency_lease(&self) -> Duration {
        self.request_timeout() + Duration::from_secs(5)
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_depth: 12,
            max_complexity: 10_000,
            max_fields: 500,
            max_directives: 4,
            max_query_bytes: 32 * 1024,
            max_tokens: 4000,
            max_nesting: 32,
            max_response_bytes: 4 * 1024 * 1024,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 1024,
            introspection: None,
            request_timeout_secs: 30,
            code_attempts_per_minute: 30,
            code_attempts_counted_in: None,
            idempotency_ttl_hours: 24,
        }
    }
}

/// Arguments of `licensegraph token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Subject (`sub`).
    #[arg(long)]
    pub sub: String,

    /// Role, repeatable: admin, customer_admin, reseller, partner_admin, learner.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,

    /// Organization id (the `id` shown by the API), required for every role but admin.
    #[arg(long)]
    pub org: Option<String>,

    /// Lifetime, like `90s`, `30m`, `1h` or `7d`.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: Duration,

    /// PEM private key (RS256/ES256) to sign with, when the server verifies
    /// with a public key.
    #[arg(long)]
    pub private_key: Option<PathBuf>,

    #[command(flatten)]
    pub jwt: JwtArgs,
}

/// Arguments of `licensegraph seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Add the demo data set (organizations, agreements, fulfilled orders,
    /// assigned and redeemed codes). Running it again changes nothing.
    #[arg(long, required = true)]
    pub demo: bool,

    /// Lifetime of the printed tokens, like `30m`, `8h` or `7d`.
    #[arg(long, default_value = "8h", value_parser = parse_ttl)]
    pub ttl: Duration,

    #[command(flatten)]
    pub jwt: JwtArgs,
}

/// A secret that never prints: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Parses `90s`, `30m`, `1h`, `7d` (a bare number is seconds).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 30m or 1h"))?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    if number == 0 {
        return Err("a token must live at least one second".into());
    }
    number
        .checked_mul(unit_secs)
        .filter(|secs| *secs <= 366 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| "a token may live at most 366 days".into())
}

impl Cli {
    /// The command to run: `serve` with the top-level flags when none is named.
    pub fn command(self) -> (DatabaseArgs, LogArgs, Command) {
        let command = self.command.unwrap_or(Command::Serve(self.serve));
        (self.database, self.log, command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_accepts_units_and_rejects_nonsense() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_ttl("45"), Ok(Duration::from_secs(45)));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("999d").is_err());
    }

    #[test]
    fn serve_flags_work_with_and_without_the_subcommand() {
        let bare = Cli::try_parse_from(["licensegraph", "--listen", "127.0.0.1:9100"]).expect("parses");
        let (_, _, Command::Serve(args)) = bare.command() else { panic!("serve is the default") };
        assert_eq!(args.listen.port(), 9100);
        let named = Cli::try_parse_from(["licensegraph", "serve", "--listen", "127.0.0.1:9101"]).expect("parses");
        let (_, _, Command::Serve(args)) = named.command() else { panic!("serve") };
        assert_eq!(args.listen.port(), 9101);
        let token = Cli::try_parse_from(["licensegraph", "token", "--sub", "a", "--role", "admin"]).expect("parses");
        assert!(matches!(token.command().2, Command::Token(_)));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("super-secret-value-that-must-not-leak");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }
}
