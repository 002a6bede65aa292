//! `quarry serve`: the answering pipeline behind a web chat, the Slack `/ask` command and an
//! HTTP API, with feedback, an audit record of every answer, and Prometheus metrics.
//!
//! - [`router`] builds the axum [`Router`] over an [`AppState`] (the pipeline, the
//!   [`quarry_store::Store`] and the settings); [`serve`] binds it to an address.
//! - The API (`/api/v1/…`) is described by [`openapi::ApiDoc`]; `schemas/openapi.json` is
//!   generated from it and checked in.
//! - Every error is one JSON shape ([`ErrorBody`]); every request has an id the server makes
//!   (the `x-request-id` header, the tracing span, the audit record's key); a client's own
//!   `X-Request-Id` is only kept beside it and echoed back.
//! - A conversation is its owner's: others read it, and rate its answers, only with the share
//!   token its owner created; anything else is 404, as a missing id is.
//! - Questions quarry could not answer with confidence go to a review queue that analysts work
//!   ([`review`]): their answers go back into the asker's conversation or Slack, and can
//!   become verified questions that answer the same question for everyone after.
//! - The server keeps no state of its own: conversations, feedback, audit records, charts
//!   and Slack replay claims live in the store, so replicas can share one database.

mod answering;
mod api;
mod error;
mod identity;
mod metrics;
pub mod openapi;
mod request_id;
pub mod review;
mod sharing;
mod slack;
mod state;
mod suggestions;
mod web;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use answering::{AnalystMark, AskRequest, AskResponse, ChartRef, ReviewMark};
pub use api::{ConversationList, ConversationView, FeedbackRequest, Health, Me, SnapshotView, Suggestions, TurnView};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use identity::User;
pub use metrics::Metrics;
pub use request_id::{CLIENT_REQUEST_ID_HEADER, REQUEST_ID_HEADER};
pub use sharing::ShareView;
pub use state::AppState;

/// Stack size the runtime's worker threads need (see [`quarry_answer::PIPELINE_STACK_BYTES`]).
pub const WORKER_STACK_BYTES: usize = quarry_answer::PIPELINE_STACK_BYTES;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config().server.max_body_bytes;
    let api = Router::new()
        .route("/api/v1/ask", post(api::ask))
        .route("/api/v1/ask/stream", post(api::ask_stream))
        .route("/api/v1/conversations", get(api::conversations))
        .route("/api/v1/conversations/{id}", get(api::conversation))
        .route("/api/v1/conversations/{id}/share", post(api::share_conversation))
        .route("/api/v1/feedback", post(api::feedback))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/reviews", get(api::reviews).post(api::create_review))
        .route("/api/v1/reviews/{id}", get(api::review_item))
        .route("/api/v1/reviews/{id}/sql", post(api::review_sql))
        .route("/api/v1/reviews/{id}/answer", post(api::answer_review))
        .route("/api/v1/charts/{file}", get(api::chart))
        .route("/api/v1/suggestions", get(api::suggestions))
        .route("/api/v1/snapshot", get(api::snapshot))
        .route("/api/v1/openapi.json", get(api::openapi_json))
        .route("/slack/commands", post(slack::command))
        .route("/slack/interactions", post(slack::interaction))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/", get(web::index))
        .route("/assets/{file}", get(web::asset))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    api.layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(api::panic_response))
        .layer(axum::middleware::from_fn(request_id::with_request_id))
        .with_state(state)
}

/// Serves `router(state)` on `addr` until Ctrl-C or SIGTERM, finishing requests in flight.
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(state, listener).await
}

/// [`serve`] on a listener that is already bound (tests bind port 0).
pub async fn serve_on(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
