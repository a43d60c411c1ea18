//! Wiring only: configuration, logs, database, then the chosen command.

use std::{process::ExitCode, sync::Arc, time::Duration};

use clap::Parser;
use licensegraph::{
    AppState,
    auth::{
        JwtVerifier, Role, TokenSigner, kept_in_database, load_or_create_secret, secret_file, with_database_secret,
    },
    clock::{Clock, SystemClock},
    config::{Cli, Command, LogArgs, LogFormat, Mode, SeedArgs, ServeArgs, TokenArgs},
    dispatch::{Dispatcher, fanout::GAP_GRACE_SECS, mail::Mailer, webhooks},
    graphql,
    logs::{Lines, Shape, Sink},
    prepare_database,
    serve::ConnectionLimits,
};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: a request builds and drops thousands
/// of small values (rows, strings, the answer's tree), and glibc's malloc
/// and free were 29 % of the server's CPU on the benchmark's nested page
/// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sets up logging; the sink returned must be flushed before exit.
fn init_logs(log: &LogArgs) -> Sink {
    let filter = EnvFilter::try_new(&log.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: escape codes in a log file break grep and parsers.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let sink = Sink::stderr();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(sink.clone()).with_ansi(ansi);
    match log.log_format {
        LogFormat::Json => builder.json().event_format(Lines(Shape::Json)).init(),
        LogFormat::Text => builder.event_format(Lines(Shape::Text)).init(),
    }
    sink
}

#[tokio::main]
async fn main() -> ExitCode {
    let (database, log, command) = Cli::parse().command();
    let logs = init_logs(&log);
    if let Some(direct) = &database.database_direct_url {
        licensegraph::db::set_direct_url(direct);
    }
    let result = match command {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Migrate => prepare_database(&database.database_url, 1, &SystemClock).await.map(|_| {
            tracing::info!("database migrated and catalog seeded");
        }),
        Command::Token(args) => mint(&database.database_url, &args).await.map(|token| println!("{token}")),
        Command::Seed(args) => seed(&database.database_url, &args).await,
        Command::Serve(args) => serve(&database.database_url, database.db_max_connections, *args).await,
    };
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("licensegraph: {message}");
            ExitCode::FAILURE
        }
    };
    logs.flush();
    code
}

async fn mint(database_url: &str, args: &TokenArgs) -> Result<String, String> {
    let roles = args
        .roles
        .iter()
        .map(|name| Role::from_claim(name).ok_or_else(|| format!("`{name}` is not a role")))
        .collect::<Result<Vec<_>, _>>()?;
    if args.org.is_none() && roles.iter().any(|r| r.is_org_scoped()) {
        return Err("every role but admin needs --org <organization id>".into());
    }
    let jwt = &args.jwt;
    let from_database;
    let jwt = if args.private_key.is_none() && kept_in_database(jwt, database_url) {
        let db = prepare_database(database_url, 1, &SystemClock).await?;
        from_database = with_database_secret(jwt, database_url, &db).await?;
        db.close().await.map_err(|e| format!("closing the database: {e}"))?;
        &from_database
    } else {
        jwt
    };
    let signer = match (&args.private_key, &jwt.jwt_secret) {
        (Some(path), _) => {
            let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            TokenSigner::from_private_pem(&pem, &jwt.jwt_issuer, &jwt.jwt_audience)?
        }
        (None, Some(secret)) => TokenSigner::hs256(secret, &jwt.jwt_issuer, &jwt.jwt_audience),
        (None, None) => {
            let secret = load_or_create_secret(&secret_file(jwt, database_url))?;
            TokenSigner::hs256(&secret, &jwt.jwt_issuer, &jwt.jwt_audience)
        }
    };
    signer.mint(&args.sub, &roles, args.org.as_deref(), args.ttl)
}

/// `seed --demo`: adds the demo data and prints one token per role.
async fn seed(database_url: &str, args: &SeedArgs) -> Result<(), String> {
    let clock = SystemClock;
    let db = prepare_database(database_url, 4, &clock).await?;
    let people = licensegraph::service::demo::seed_demo(&db, clock.now())
        .await
        .map_err(|e| format!("cannot add the demo data ({})", e.code()))?;
    let jwt = &with_database_secret(&args.jwt, database_url, &db).await?;
    let signer = match &jwt.jwt_secret {
        Some(secret) => TokenSigner::hs256(secret, &jwt.jwt_issuer, &jwt.jwt_audience),
        None => {
            let secret = load_or_create_secret(&secret_file(jwt, database_url))?;
            TokenSigner::hs256(&secret, &jwt.jwt_issuer, &jwt.jwt_audience)
        }
    };
    let org = |row: i64| licensegraph::id::encode("Organization", row);
    let users = [
        ("admin (licensing desk)", "desk@licensegraph.example", Role::Admin, None),
        (
            "customer_admin (Contoso University)",
            "boss@contoso.example",
            Role::CustomerAdmin,
            Some(org(people.school_id)),
        ),
        ("learner (holds an assigned voucher)", people.learner.as_str(), Role::Learner, Some(org(people.school_id))),
        ("reseller (Northwind Learning)", "sales@northwind.example", Role::Reseller, Some(org(people.reseller_id))),
        (
            "partner_admin (Northwind Learning)",
            "admin@northwind.example",
            Role::PartnerAdmin,
            Some(org(people.reseller_id)),
        ),
        ("customer_admin (Fabrikam Ltd)", "it@fabrikam.example", Role::CustomerAdmin, Some(org(people.enterprise_id))),
    ];
    println!("Demo data ready. Paste a token into GraphiQL's token field (valid {:?}):", args.ttl);
    for (label, sub, role, org) in users {
        let token = signer.mint(sub, &[role], org.as_deref(), args.ttl)?;
        println!("\n# {label}\n{token}");
    }
    db.close().await.map_err(|e| format!("closing the database: {e}"))?;
    Ok(())
}

async fn serve(database_url: &str, max_connections: u32, args: ServeArgs) -> Result<(), String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    args.check_mode()?;
    let development = args.mode == Mode::Development;
    // Checked before the database is touched, like the rest of the
    // configuration, unless the generated secret lives in the database.
    let jwt = match kept_in_database(&args.jwt, database_url) {
        true => None,
        false => Some(JwtVerifier::from_config(&args.jwt, database_url, development)?),
    };
    let cors = licensegraph::http::cors::CorsOrigins::new(args.mode, &args.cors_origins)?;
    let db = prepare_database(database_url, max_connections, clock.as_ref()).await?;
    let jwt = match jwt {
        Some(jwt) => jwt,
        None => {
            let jwt = with_database_secret(&args.jwt, database_url, &db).await?;
            JwtVerifier::from_config(&jwt, database_url, development)?
        }
    };
    let limits = args.effective_limits();
    tracing::info!(mode = ?args.mode, introspection = ?limits.introspection, "starting");
    let url_policy = args.delivery.url_policy(args.mode);
    let mut state = AppState::new(db.clone(), clock, jwt, limits.clone()).with_cors(cors).with_webhook_urls(url_policy);
    if let Some(dir) = &args.trusted_documents {
        let documents = state.documents.clone();
        let check = |text: &str| documents.measured(text).map(|_| ()).map_err(|e| e.message);
        let trusted = licensegraph::graphql::trusted::TrustedDocuments::load(dir, args.trusted_only, check)?;
        tracing::info!(documents = trusted.len(), only = trusted.only(), "trusted documents loaded");
        state = state.with_trusted(trusted);
    }
    if let Some(endpoint) = &args.otlp_endpoint {
        licensegraph::trace::init(endpoint)?;
        tracing::info!(%endpoint, "exporting a span per request over OTLP/HTTP");
    }
    if let Some(address) = args.metrics_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen for metrics on {address}: {e}"))?;
        state = state.with_metrics_elsewhere();
        let metrics = licensegraph::metrics::router(state.clone());
        tracing::info!(%address, "metrics at http://{address}/metrics");
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    if args.scheduler_interval > 0 {
        licensegraph::scheduler::spawn(db.clone(), state.clock.clone(), args.scheduler_interval);
    }
    // Told when the stop comes: the dispatcher finishes its claim in hand.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut dispatching = None;
    if args.delivery.dispatch_interval_ms > 0 {
        let delivery = &args.delivery;
        let mailer = Mailer::new(delivery.smtp_url.as_deref(), delivery.mail_dir(database_url), &delivery.mail_from)?;
        let sender = webhooks::Sender::new(url_policy, Duration::from_secs(delivery.webhook_timeout_secs))?;
        let dispatcher = Dispatcher::new(
            db.clone(),
            state.clock.clone(),
            mailer,
            sender,
            delivery.desk_email.clone(),
            Duration::from_secs(GAP_GRACE_SECS),
        )
        .woken_by(state.live.written.clone())
        .stopped_by(stopped);
        dispatching = Some(Arc::new(dispatcher).spawn(Duration::from_millis(delivery.dispatch_interval_ms)));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%address, "licensegraph is serving GraphiQL at http://{address}/ and the API at /graphql");
    let connections = ConnectionLimits {
        header_timeout: limits.header_timeout(),
        max_connections: limits.max_connections as usize,
        write_timeout: limits.body_timeout(),
        drain_timeout: limits.request_timeout(),
    };
    let (draining, grace) = (state.draining.clone(), Duration::from_secs(args.drain_grace_secs));
    let drain = async move {
        shutdown_signal().await;
        draining.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = stop.send(true);
        if !grace.is_zero() {
            tracing::info!(seconds = grace.as_secs(), "not ready: serving on while load balancers move away");
            tokio::time::sleep(grace).await;
        }
    };
    licensegraph::serve::serve(listener, licensegraph::app(state), connections, drain).await;
    if let Some(dispatching) = dispatching
        && tokio::time::timeout(connections.drain_timeout, dispatching).await.is_err()
    {
        tracing::warn!("the dispatcher was still sending after the drain timeout");
    }
    licensegraph::trace::shutdown();
    db.close().await.map_err(|e| format!("closing the database: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM; in-flight requests then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
