//! GraphQL over WebSocket at `/graphql` (an upgrade request), with the
//! `graphql-transport-ws` protocol that the npm `graphql-ws` client and
//! Apollo speak (and the older `graphql-ws`), through async-graphql-axum's
//! `GraphQLWebSocket`. What is ours is around it:
//!
//! - authentication: `connection_init`'s payload carries the bearer token
//!   (`{"authorization": "Bearer ..."}`); without a valid one the
//!   connection is refused (4403). Each token subject holds at most
//!   [`crate::live::CONNECTIONS_PER_SUBJECT`] connections.
//! - the request limits: every frame is held to the body size and the JSON
//!   nesting limit, and every operation to the document limits, before
//!   anything parses it, as over HTTP; a frame that breaks one closes the
//!   connection (4400) with the reason.
//! - expiry: the connection is closed (4403, "the token expired") when its
//!   token expires.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    },
    response::Response,
};
use futures_util::{SinkExt, StreamExt, future};
use tokio::sync::watch;

use crate::{
    AppState,
    graphql::{prescan, subscriptions::ConnectionSlots},
};

/// Why the server closes a connection, once it knows.
type Closing = Arc<Mutex<Option<(u16, String)>>>;

/// The upgrade: any protocol async-graphql speaks, frames within the body limit.
pub async fn upgrade(State(state): State<AppState>, protocol: GraphQLProtocol, upgrade: WebSocketUpgrade) -> Response {
    let max = state.limits.max_body_bytes;
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(state, protocol, socket))
}

/// Checks one frame as a request is checked; the reason when it breaks a limit.
fn check(state: &AppState, text: &str) -> Result<(), String> {
    prescan::json(text.as_bytes(), state.limits.max_nesting as usize).map_err(|refusal| refusal.message("message"))?;
    let message: serde_json::Value = serde_json::from_str(text).map_err(|_| "the message is not JSON".to_owned())?;
    if let Some(query) = message["payload"]["query"].as_str() {
        state.documents.measured(query).map_err(|error| error.message)?;
    }
    Ok(())
}

/// The bearer token of a `connection_init` payload.
fn token(payload: &serde_json::Value) -> Option<String> {
    ["authorization", "Authorization", "token"]
        .iter()
        .find_map(|key| payload.get(*key).and_then(|v| v.as_str()))
        .map(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim().to_owned())
}

async fn serve(state: AppState, protocol: GraphQLProtocol, socket: WebSocket) {
    let (mut sink, stream) = socket.split();
    let closing: Closing = Arc::default();
    let (expires_tx, expires_rx) = watch::channel::<Option<u64>>(None);

    // The client's frames, each checked, until one breaks a limit or the token expires.
    let checker = state.clone();
    let refused = closing.clone();
    let input = stream
        .take_while(|frame| future::ready(frame.is_ok()))
        .take_while(move |frame| {
            let verdict = match frame {
                Ok(Message::Text(text)) => check(&checker, text.as_str()),
                Ok(Message::Binary(_)) => Err("binary messages are not GraphQL".to_owned()),
                _ => Ok(()),
            };
            if let Err(reason) = &verdict {
                *refused.lock().unwrap_or_else(|p| p.into_inner()) = Some((4400, reason.chars().take(120).collect()));
            }
            future::ready(verdict.is_ok())
        })
        .take_until(expiry(expires_rx, closing.clone()));

    // Replies go through a channel, so that this function keeps the socket
    // and can close it with a reason when the protocol has finished.
    // A refused connection_init is closed with 1002 by async-graphql; the
    // protocol (and graphql-ws clients) expect 4403 Forbidden.
    let refused_init = Arc::new(AtomicBool::new(false));
    let (replies, mut outgoing) = tokio::sync::mpsc::channel::<Message>(64);
    let forbidden = refused_init.clone();
    let reply_sink = futures_util::sink::unfold(replies, move |replies, message: Message| {
        let forbidden = forbidden.clone();
        async move {
            let message = match message {
                Message::Close(Some(frame)) if frame.code == 1002 && forbidden.load(Ordering::SeqCst) => {
                    Message::Close(Some(CloseFrame { code: 4403, reason: frame.reason }))
                }
                other => other,
            };
            replies.send(message).await.map_err(|_| axum::Error::new("the connection is closing"))?;
            Ok::<_, axum::Error>(replies)
        }
    });

    let init_state = state.clone();
    let session = GraphQLWebSocket::new_with_pair(reply_sink, input, state.schema.clone(), protocol)
        .on_connection_init(move |payload| async move {
            let refuse = |message: &str| {
                refused_init.store(true, Ordering::SeqCst);
                async_graphql::Error::new(message)
            };
            let Some(token) = token(&payload) else {
                return Err(refuse("connection_init must carry {\"authorization\": \"Bearer <token>\"}"));
            };
            let (viewer, exp) = init_state.jwt.verify_with_expiry(&token).map_err(|e| refuse(e.public_message()))?;
            let subject = viewer.subject.clone().unwrap_or_default();
            let Some(admitted) = init_state.live.admit(&subject) else {
                return Err(refuse("too many live connections for this token's subject"));
            };
            let _ = expires_tx.send(Some(exp));
            let mut data = Data::default();
            data.insert(viewer);
            data.insert(ConnectionSlots::default());
            data.insert(admitted);
            data.insert(init_state.db.clone());
            Ok(data)
        })
        .keepalive_timeout(None);

    let forward = async {
        while let Some(message) = outgoing.recv().await {
            if sink.send(message).await.is_err() {
                return false;
            }
        }
        true
    };
    let (_, open) = tokio::join!(session.serve(), forward);
    if open {
        let reason = closing.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((code, reason)) = reason {
            let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
        }
        let _ = sink.close().await;
    }
}

/// Resolves when the connection's token expires (never before it has one).
async fn expiry(mut expires: watch::Receiver<Option<u64>>, closing: Closing) {
    let exp = loop {
        if let Some(exp) = *expires.borrow_and_update() {
            break exp;
        }
        if expires.changed().await.is_err() {
            return future::pending().await;
        }
    };
    let now = jsonwebtoken::get_current_timestamp();
    tokio::time::sleep(std::time::Duration::from_secs(exp.saturating_sub(now))).await;
    *closing.lock().unwrap_or_else(|p| p.into_inner()) = Some((4403, "the token expired".to_owned()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_init_payload() {
        let t = |v: serde_json::Value| token(&v);
        assert_eq!(t(serde_json::json!({ "authorization": "Bearer abc" })).as_deref(), Some("abc"));
        assert_eq!(t(serde_json::json!({ "Authorization": "abc" })).as_deref(), Some("abc"));
        assert_eq!(t(serde_json::json!({ "token": "abc" })).as_deref(), Some("abc"));
        assert_eq!(t(serde_json::json!({})), None);
        assert_eq!(t(serde_json::json!({ "authorization": 7 })), None);
    }
}
