//! One JSON error shape for every failure: `{"error": {"code", "message", "request_id"}}`.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quarry_answer::ErrorKind;
use serde::{Deserialize, Serialize};

use crate::request_id::current_request_id;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code (`bad_request`, `rate_limited`, `policy_rejected`, …).
    pub code: String,
    /// What was wrong and what to do, in plain words.
    pub message: String,
    /// The request's id, to quote when reporting a problem (`quarry audit show ID`).
    pub request_id: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (body, path or query).
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the server accepts.
    #[error("the request body is larger than the server accepts ([server] max_body_bytes); send a shorter question")]
    PayloadTooLarge,
    /// The body is not of the media type expected.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// A chart link that is not valid (tampered or expired), or an action the user's role does
    /// not allow (the review queue is the analysts').
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here (or not yours).
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts the state it acts on (a review item answered already).
    #[error("{0}")]
    Conflict(String),
    /// The path exists, but not with this method.
    #[error("this path does not accept the method {0}; see /api/v1/openapi.json")]
    MethodNotAllowed(String),
    /// Too many questions from this user.
    #[error("too many questions; wait {retry_after_secs} s and ask again")]
    RateLimited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Every query slot stayed busy for the queue timeout.
    #[error("quarry is answering too many questions at once; try again in a few seconds")]
    Busy,
    /// The request took longer than the request timeout.
    #[error("the question took longer than {0} s to answer; ask for less data or a shorter period")]
    Timeout(u64),
    /// The pipeline refused or failed the question.
    #[error(transparent)]
    Answer(#[from] quarry_answer::Error),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] quarry_store::Error),
    /// An answer (or a failure) could not be written to the audit log, so it was not given.
    #[error("the answer was not given because it could not be recorded in the audit log: {0}")]
    NotRecorded(quarry_store::Error),
    /// Slack is not configured on this server.
    #[error("Slack is not set up on this server: set [server.slack] signing_secret")]
    SlackDisabled,
    /// A request that does not carry a valid Slack signature.
    #[error("{0}")]
    SlackSignature(#[from] quarry_slack::SignatureError),
    /// A Slack command that cannot be used.
    #[error("{0}")]
    SlackCommand(#[from] quarry_slack::CommandError),
    /// A Slack interaction (a button click) that cannot be used.
    #[error("{0}")]
    SlackInteraction(#[from] quarry_slack::InteractionError),
    /// A bug or an unexpected failure.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Busy => "busy",
            ApiError::Timeout(_) => "timeout",
            ApiError::Answer(error) => error.kind().as_str(),
            ApiError::Store(error) | ApiError::NotRecorded(error) => match error.kind() {
                "not_found" => "not_found",
                "full" => "storage_full",
                _ => "storage_error",
            },
            ApiError::SlackDisabled => "slack_disabled",
            ApiError::SlackSignature(_) => "bad_signature",
            ApiError::SlackCommand(_) => "bad_slack_command",
            ApiError::SlackInteraction(_) => "bad_slack_interaction",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::SlackCommand(_) | ApiError::SlackInteraction(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized(_) | ApiError::SlackSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::SlackDisabled => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Answer(error) => answer_status(error.kind()),
            ApiError::Store(error) | ApiError::NotRecorded(error) => match error.kind() {
                "not_found" => StatusCode::NOT_FOUND,
                "full" => StatusCode::INSUFFICIENT_STORAGE,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            },
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error body, with the current request's id.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
                request_id: current_request_id().unwrap_or_default(),
            },
        }
    }
}

/// Statuses of pipeline errors: the question's fault (4xx), a limit (422), or a part of the
/// system that is down or slow (502/503/504). No catch-all: a new kind must be given a status.
fn answer_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadQuestion => StatusCode::BAD_REQUEST,
        ErrorKind::PolicyRejected
        | ErrorKind::RepairsExhausted
        | ErrorKind::ResourceLimit
        | ErrorKind::ResultTooLarge
        | ErrorKind::Timeout
        | ErrorKind::WorkerCrashed
        | ErrorKind::CartesianJoin
        | ErrorKind::Forbidden
        | ErrorKind::PlanError
        | ErrorKind::ExecutionError
        | ErrorKind::ModelRefused => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::ModelUnavailable | ErrorKind::ModelError | ErrorKind::ModelMalformedOutput => {
            StatusCode::BAD_GATEWAY
        }
        ErrorKind::ModelTimeout => StatusCode::GATEWAY_TIMEOUT,
        // The endpoint's limit, not the client's: 429 would tell the client to slow down.
        ErrorKind::ModelRateLimited | ErrorKind::RetrievalError | ErrorKind::ClusterUnavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        // The server's own setup or data: nothing the client can change by asking again.
        ErrorKind::SnapshotError
        | ErrorKind::SemanticLayerError
        | ErrorKind::SettingsError
        | ErrorKind::DemoError
        | ErrorKind::ConversationError
        | ErrorKind::ModelConfig
        | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::info!(code = self.code(), error = %self, "request refused");
        }
        let mut response = (status, Json(self.body())).into_response();
        let wait = match &self {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            ApiError::Busy => Some(2),
            _ => None,
        };
        if let Some(wait) = wait {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as JSON with the header Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            JsonRejection::JsonDataError(error) => ApiError::BadRequest(format!(
                "the JSON body does not have the fields expected: {}; see /api/v1/openapi.json",
                error.body_text()
            )),
            JsonRejection::JsonSyntaxError(error) => {
                ApiError::BadRequest(format!("the body is not valid JSON: {}", error.body_text()))
            }
            other => ApiError::BadRequest(format!("the body could not be read: {}", other.body_text())),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(format!("bad path: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(format!("bad query string: {}", rejection.body_text()))
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        ApiError::BadRequest(format!("bad form body: {}", rejection.body_text()))
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_code_and_a_status_that_agree() {
        let errors = [
            (ApiError::BadRequest("x".into()), 400),
            (ApiError::SlackInteraction(quarry_slack::InteractionError::MissingPayload), 400),
            (ApiError::PayloadTooLarge, 413),
            (ApiError::Forbidden("x".into()), 403),
            (ApiError::Conflict("x".into()), 409),
            (ApiError::Unauthorized("x".into()), 401),
            (ApiError::RateLimited { retry_after_secs: 3 }, 429),
            (ApiError::Busy, 503),
            (ApiError::Timeout(60), 504),
            (ApiError::Answer(quarry_answer::Error::BadQuestion("empty".into())), 400),
            (
                ApiError::Answer(quarry_answer::Error::Model(quarry_model::Error::Timeout {
                    what: "m".into(),
                    message: "slow".into(),
                })),
                504,
            ),
            (
                ApiError::Answer(quarry_answer::Error::Model(quarry_model::Error::Http {
                    status: 429,
                    message: "m".into(),
                })),
                503,
            ),
            (
                ApiError::Answer(quarry_answer::Error::Model(quarry_model::Error::Http {
                    status: 500,
                    message: "m".into(),
                })),
                502,
            ),
        ];
        for (error, status) in errors {
            assert_eq!(error.status().as_u16(), status, "{}", error.code());
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn the_model_failures_have_codes_of_their_own() {
        let model = |error| ApiError::Answer(quarry_answer::Error::Model(error)).code();
        assert_eq!(model(quarry_model::Error::Timeout { what: "m".into(), message: "slow".into() }), "model_timeout");
        assert_eq!(model(quarry_model::Error::Http { status: 429, message: "m".into() }), "model_rate_limited");
        assert_eq!(
            model(quarry_model::Error::Unavailable { what: "m".into(), message: "m".into() }),
            "model_unavailable"
        );
    }

    #[test]
    fn every_pipeline_error_kind_maps_to_a_status_of_its_class() {
        for kind in ErrorKind::ALL {
            let status = answer_status(kind);
            let code = kind.as_str();
            let expected_server_fault = matches!(
                kind,
                ErrorKind::SnapshotError
                    | ErrorKind::SemanticLayerError
                    | ErrorKind::SettingsError
                    | ErrorKind::DemoError
                    | ErrorKind::ConversationError
                    | ErrorKind::ModelConfig
                    | ErrorKind::Internal
            );
            assert_eq!(status == StatusCode::INTERNAL_SERVER_ERROR, expected_server_fault, "{code}: {status}");
            // A model or retrieval failure is a dependency down or slow (5xx but not 500); a
            // question or query refused is the client's (4xx).
            if code.starts_with("model_") && kind != ErrorKind::ModelConfig && kind != ErrorKind::ModelRefused
                || kind == ErrorKind::RetrievalError
            {
                assert!(status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR, "{code}: {status}");
            }
            if !expected_server_fault && !status.is_server_error() {
                assert!(status.is_client_error(), "{code}: {status}");
            }
        }
        assert_eq!(answer_status(ErrorKind::ResultTooLarge), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn rate_limited_responses_say_when_to_come_back() {
        let response = ApiError::RateLimited { retry_after_secs: 7 }.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
