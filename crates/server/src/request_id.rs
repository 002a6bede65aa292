//! A request id on every request: taken from a sane `X-Request-Id` header or made up, put on
//! the tracing span, returned in the response header and in error bodies.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The response (and accepted request) header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, inside the request's task.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A new id: `req-` and 24 hex digits.
pub fn new_request_id() -> String {
    format!("req-{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// Ids from clients are kept when they are short and plain, so they can be correlated.
fn usable(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware: sets the request id for the request's task and span.
pub async fn with_request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| usable(id))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The request id, as a request extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Runs `future` with `id` as the current request id (for work spawned off a request).
pub async fn scoped<F: std::future::Future>(id: String, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_kept_only_when_plain() {
        assert!(usable("abcd-1234-ef"));
        assert!(!usable("short"));
        assert!(!usable("has space in it"));
        assert!(!usable(&"x".repeat(65)));
        assert!(usable(&new_request_id()));
    }
}
