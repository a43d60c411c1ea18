//! The listener loop: accepts connections and serves HTTP/1.1 on them,
//! with the bounds axum's own `serve` does not set: a deadline for a
//! request's headers (which also reaps idle keep-alive connections), a
//! deadline for writes a client does not read ([`crate::stall`]), a cap on
//! open connections, and a graceful stop that gives in-flight requests time
//! to finish.
//!
//! Why our own loop: `axum::serve` sets no timer on hyper, so a client that
//! opens a connection and never finishes its headers holds it (and a task)
//! for ever; a few thousand such clients exhaust the process's file
//! descriptors. The body's deadline is in [`crate::http`], where the body
//! is read.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::Request};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

use crate::stall::WriteDeadline;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time to receive a request's headers, and the longest idle time of a
    /// keep-alive connection between requests.
    pub header_timeout: Duration,
    /// Most connections open at once; the next waits in the listen backlog.
    pub max_connections: usize,
    /// How long a write may wait for the client to read ([`crate::stall`]).
    pub write_timeout: Duration,
    /// How long in-flight requests may run once a stop was asked for.
    pub drain_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, lets open connections finish their current request (at most
/// `drain_timeout`), and returns.
pub async fn serve(listener: TcpListener, app: Router, limits: ConnectionLimits, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Told to every connection when the stop comes: each finishes its
    // current request and closes. (hyper-util's GracefulShutdown does not
    // take connections that may be upgraded to a WebSocket.)
    let (stop, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: wait a little rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, %peer, "cannot set TCP_NODELAY");
        }
        let service = app.clone().map_request(|request: Request<Incoming>| request.map(Body::new));
        let stream = WriteDeadline::new(stream, limits.write_timeout);
        // With upgrades: a WebSocket for subscriptions (src/http/ws.rs),
        // which lives on after its connection's HTTP part ends.
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)).with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let stopped = async move {
                let _ = stopping.wait_for(|stop| *stop).await.map(|_| ());
            };
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = stopped => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection gives its slot back when it has closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(seconds = limits.drain_timeout.as_secs(), "connections still open after the drain timeout");
    }
}
