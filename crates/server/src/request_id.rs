//! A request id on every request, always made by the server: put on the tracing span, returned
//! in the response header and in error bodies, and the key of the request's audit record. A
//! client's own `X-Request-Id` is never that key (two clients could send the same one): when
//! it is sane it is kept beside it, to correlate with the client's logs, and echoed back in
//! [`CLIENT_REQUEST_ID_HEADER`].

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The response header with the server's request id; the request header a client may send its
/// own id in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The response header echoing the id the client sent in [`REQUEST_ID_HEADER`].
pub const CLIENT_REQUEST_ID_HEADER: &str = "x-client-request-id";

/// The ids of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// The server's id: unique, the audit record's key.
    pub id: String,
    /// The id the client sent, when it is plain enough to keep.
    pub client: Option<String>,
}

impl RequestIds {
    /// The ids of the request being handled, inside the request's task; new ones outside it.
    pub fn current() -> RequestIds {
        REQUEST.try_with(Clone::clone).unwrap_or_else(|_| RequestIds { id: new_request_id(), client: None })
    }
}

tokio::task_local! {
    static REQUEST: RequestIds;
}

/// The server's id of the request being handled, inside the request's task.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|ids| ids.id.clone()).ok()
}

/// A new id: `req-` and 24 hex digits (96 random bits).
pub fn new_request_id() -> String {
    format!("req-{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// Ids from clients are kept when they are short and plain: they end up in logs, the audit
/// log and a response header.
fn usable(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware: gives the request its ids for its task and span, and returns them in headers.
pub async fn with_request_id(request: Request, next: Next) -> Response {
    let client = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| usable(id))
        .map(str::to_string);
    let ids = RequestIds { id: new_request_id(), client };
    let span = tracing::info_span!("request", request_id = %ids.id, client_request_id = ids.client.as_deref(),
        method = %request.method(), path = %request.uri().path());
    let mut response = REQUEST.scope(ids.clone(), next.run(request).instrument(span)).await;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&ids.id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    if let Some(value) = ids.client.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(CLIENT_REQUEST_ID_HEADER, value);
    }
    response
}

/// Runs `future` with `ids` as the current request's (for work spawned off a request).
pub async fn scoped<F: std::future::Future>(ids: RequestIds, future: F) -> F::Output {
    REQUEST.scope(ids, future).await
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

    #[test]
    fn outside_a_request_every_call_gets_a_new_id() {
        let (a, b) = (RequestIds::current(), RequestIds::current());
        assert_ne!(a.id, b.id);
        assert_eq!(a.client, None);
    }
}
