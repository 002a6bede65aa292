//! The HTTP API handlers: short, each one a call into [`crate::answering`] or the store.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::SystemTime;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::Stream;
use quarry_answer::StageEvent;
use quarry_slack::ChartFormat;
use quarry_store::{ConversationSummary, FeedbackRecord, NewFeedback, Rating};
use serde::{Deserialize, Serialize};

use crate::answering::{self, AskRequest, AskResponse, Channel, ReviewMark};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::identity::User;
use crate::request_id::RequestIds;
use crate::review::{
    self, ReviewAnswerRequest, ReviewDetail, ReviewList, ReviewListParams, ReviewRequest, ReviewView, SqlRunRequest,
    SqlRunView,
};
use crate::sharing::{self, ShareView};
use crate::state::AppState;

/// The page identifies itself with this header so the audit log can tell web from API.
const CLIENT_HEADER: &str = "x-quarry-client";

fn channel_of(headers: &HeaderMap) -> Channel {
    match headers.get(CLIENT_HEADER).and_then(|v| v.to_str().ok()) {
        Some("web") => Channel::Web,
        _ => Channel::Api,
    }
}

/// Answers a question.
#[utoipa::path(post, path = "/api/v1/ask", request_body = AskRequest,
    responses((status = 200, description = "The answer", body = AskResponse), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn ask(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AskRequest>,
) -> Result<Json<AskResponse>, ApiError> {
    let channel = channel_of(&headers);
    answering::admit(&state, &user, channel, &request.question).await?;
    let response = answering::answer(&state, &user, channel, &request, &|_: StageEvent| {}).await?;
    Ok(Json(response))
}

/// A stage as it starts, on the event stream.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageView {
    /// `retrieve`, `plan`, `synthesize`, `validate`, `execute`, `chart` or `summarize`.
    pub stage: String,
    /// What to tell the user ("finding metrics…").
    pub label: String,
    /// The SQL attempt on the model route.
    pub attempt: Option<u32>,
}

/// Answers a question as a stream of Server-Sent Events: `stage` events as each stage
/// starts ([`StageView`]), then one `answer` ([`AskResponse`]) or `error` ([`ErrorBody`]).
#[utoipa::path(post, path = "/api/v1/ask/stream", request_body = AskRequest,
    responses((status = 200, description = "text/event-stream of `stage` (StageView), then `answer` (AskResponse) or `error` (ErrorBody) events", content_type = "text/event-stream", body = String),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn ask_stream(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AskRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let channel = channel_of(&headers);
    // Refusals come back as plain JSON errors, before the stream starts.
    answering::admit(&state, &user, channel, &request.question).await?;
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let ids = RequestIds::current();
    let task = async move {
        let progress_sender = sender.clone();
        let progress = move |event: StageEvent| {
            let view = StageView {
                stage: event.stage.as_str().to_string(),
                label: event.stage.label().to_string(),
                attempt: event.attempt,
            };
            let _ = progress_sender.send(json_event("stage", &view));
        };
        let event = match answering::answer(&state, &user, channel, &request, &progress).await {
            Ok(response) => json_event("answer", &response),
            Err(error) => json_event("error", &error.body()),
        };
        // The client may be gone; the answer is stored either way.
        let _ = sender.send(event);
    };
    tokio::spawn(crate::request_id::scoped(ids, task));
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn json_event<T: Serialize>(name: &str, value: &T) -> Event {
    Event::default().event(name).data(serde_json::to_string(value).unwrap_or_else(|e| {
        format!("{{\"error\":{{\"code\":\"internal\",\"message\":\"the event could not be serialized: {e}\"}}}}")
    }))
}

/// The user's conversations, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationList {
    /// The conversations.
    pub conversations: Vec<ConversationSummary>,
}

/// Query parameters of the conversation list.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Most conversations returned (default 50, at most 200).
    pub limit: Option<u32>,
}

/// Lists the user's conversations.
#[utoipa::path(get, path = "/api/v1/conversations", params(ListParams),
    responses((status = 200, body = ConversationList), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn conversations(
    State(state): State<AppState>,
    user: User,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ConversationList>, ApiError> {
    let Query(params) = params?;
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let conversations = state.store().list_conversations(&user.id, limit).await?;
    Ok(Json(ConversationList { conversations }))
}

/// One question and its answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TurnView {
    /// 1 for the first question.
    pub seq: u32,
    /// The answer's id.
    pub answer_id: String,
    /// The question.
    pub question: String,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
    /// The response as it was given.
    pub response: AskResponse,
    /// The requesting user's feedback on it, if any.
    pub feedback: Option<FeedbackRecord>,
    /// When the question was handed to an analyst: its review item.
    pub review: Option<ReviewMark>,
}

/// A conversation with every turn.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationView {
    /// Its id.
    pub id: String,
    /// Its first question.
    pub title: String,
    /// Where it happened.
    pub channel: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When its last turn was added.
    pub updated_at: DateTime<Utc>,
    /// Whether the requesting user owns it. Only the owner can continue it; others read it
    /// through its share.
    pub is_owner: bool,
    /// The turns, oldest first.
    pub turns: Vec<TurnView>,
}

/// Query parameters of a conversation read.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// The conversation's share token, to read a conversation that is not yours.
    pub share: Option<String>,
}

/// One conversation, for its owner or for anyone signed in who gives its share token (the
/// owner's share link, which the Slack answer also uses). Any other conversation is not found,
/// as a missing one is.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", params(("id" = String, Path, description = "The conversation id"), ReadParams),
    responses((status = 200, body = ConversationView), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn conversation(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    params: Result<Query<ReadParams>, QueryRejection>,
) -> Result<Json<ConversationView>, ApiError> {
    let Query(params) = params?;
    let record = state
        .store()
        .conversation_for_reader(&id, &user.id, params.share.as_deref())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no conversation {id} that you can read")))?;
    Ok(Json(conversation_view(&state, &user, record).await?))
}

/// The conversation `record` as `user` sees it: every turn, with the user's own feedback.
pub(crate) async fn conversation_view(
    state: &AppState,
    user: &User,
    record: quarry_store::ConversationRecord,
) -> Result<ConversationView, ApiError> {
    // Three queries whatever the number of turns.
    let stored = state.store().turns(&record.id).await?;
    let mut feedback: HashMap<String, FeedbackRecord> = HashMap::new();
    for given in state.store().user_feedback_in_conversation(&record.id, &user.id).await? {
        feedback.insert(given.answer_id.clone(), given);
    }
    let mut reviews: HashMap<String, ReviewMark> = HashMap::new();
    for item in state.store().reviews_in_conversation(&record.id).await? {
        reviews.insert(item.answer_id, ReviewMark { id: item.id, status: item.status, reason: item.reason });
    }
    let mut turns = Vec::with_capacity(stored.len());
    for turn in stored {
        let response: AskResponse = serde_json::from_value(turn.answer)
            .map_err(|e| ApiError::Internal(format!("the stored answer {} cannot be read: {e}", turn.answer_id)))?;
        let feedback = feedback.remove(&turn.answer_id);
        let review = reviews.remove(&turn.answer_id);
        turns.push(TurnView {
            review,
            seq: turn.seq,
            answer_id: turn.answer_id,
            question: turn.question,
            created_at: turn.created_at,
            response,
            feedback,
        });
    }
    Ok(ConversationView {
        is_owner: record.user_id == user.id,
        id: record.id,
        title: record.title,
        channel: record.channel,
        created_at: record.created_at,
        updated_at: record.updated_at,
        turns,
    })
}

/// Shares one of your conversations: its share link, created on first use (every call returns
/// the same one). 201 when this call created it, 200 when it existed. Someone else's
/// conversation is not found, as a missing one is.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/share", params(("id" = String, Path, description = "The conversation id")),
    responses((status = 201, description = "The share, just created", body = ShareView), (status = 200, description = "The share, as created before", body = ShareView),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn share_conversation(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ShareView>), ApiError> {
    let (share, created) = sharing::share(&state, &user, &id).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(share)))
}

/// Thumbs up or down on an answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The answer's id (from [`AskResponse`]).
    pub answer_id: String,
    /// `up` or `down`.
    pub rating: Rating,
    /// Why, in the user's words (at most 2000 characters).
    #[serde(default)]
    pub comment: Option<String>,
    /// The share token of the answer's conversation, to rate an answer in a conversation shared
    /// with you; your own answers need none.
    #[serde(default)]
    pub share: Option<String>,
}

/// Most characters of a feedback comment.
const MAX_COMMENT_CHARS: usize = 2000;

/// Records feedback on one of your answers, or on an answer of a conversation shared with you
/// (give its share token); giving it again replaces your earlier rating. Any other answer is
/// not found, as a missing one is.
#[utoipa::path(post, path = "/api/v1/feedback", request_body = FeedbackRequest,
    responses((status = 201, body = FeedbackRecord), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    user: User,
    ApiJson(request): ApiJson<FeedbackRequest>,
) -> Result<(StatusCode, Json<FeedbackRecord>), ApiError> {
    let comment = request.comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if let Some(comment) = &comment
        && comment.chars().count() > MAX_COMMENT_CHARS
    {
        return Err(ApiError::BadRequest(format!(
            "the comment is longer than {MAX_COMMENT_CHARS} characters; shorten it"
        )));
    }
    let record = state
        .store()
        .add_feedback(&NewFeedback {
            answer_id: request.answer_id.clone(),
            user_id: user.id.clone(),
            rating: request.rating,
            comment,
            share_token: request.share,
        })
        .await
        .map_err(|error| match error.kind() {
            "not_found" => ApiError::NotFound(format!("there is no answer {} that you can rate", request.answer_id)),
            _ => ApiError::Store(error),
        })?;
    if record.rating == Rating::Down {
        review::enqueue_thumbs_down(&state, &user, &record.answer_id, record.comment.as_deref()).await;
    }
    Ok((StatusCode::CREATED, Json(record)))
}

/// Signed-link parameters of a chart image.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartLinkParams {
    /// Unix time the link expires at.
    pub expires: Option<String>,
    /// The link's HMAC signature.
    pub sig: Option<String>,
}

/// A chart image, `{id}.svg` or `{id}.png`: for a signed-in user, or anyone with a signed,
/// unexpired link (the image blocks of Slack answers).
#[utoipa::path(get, path = "/api/v1/charts/{file}", params(("file" = String, Path, description = "`{chart id}.svg` or `{chart id}.png`"), ChartLinkParams),
    responses((status = 200, description = "The image", content_type = "image/svg+xml"), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn chart(
    State(state): State<AppState>,
    Path(file): Path<String>,
    link: Result<Query<ChartLinkParams>, QueryRejection>,
    user: Result<User, ApiError>,
) -> Result<Response, ApiError> {
    let Query(link) = link?;
    let (id, format) = file
        .rsplit_once('.')
        .and_then(|(id, ext)| ext.parse::<ChartFormat>().ok().map(|format| (id.to_string(), format)))
        .ok_or_else(|| ApiError::NotFound(format!("there is no chart {file}; ask for CHART_ID.svg or CHART_ID.png")))?;
    if link.sig.is_some() || link.expires.is_some() {
        state
            .links()
            .verify(&id, format, link.expires.as_deref(), link.sig.as_deref(), SystemTime::now())
            .map_err(|e| ApiError::Forbidden(format!("{e}")))?;
    } else {
        user?;
    }
    let record =
        state.store().chart(&id).await?.ok_or_else(|| ApiError::NotFound(format!("there is no chart {id}")))?;
    let (format, content_type) = match format {
        ChartFormat::Svg => (quarry_chart::Format::Svg, "image/svg+xml"),
        ChartFormat::Png => (quarry_chart::Format::Png, "image/png"),
    };
    let body = answering::draw_chart(record, format).await?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Charts never change once made.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

/// Questions to suggest to a new user.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestions {
    /// Questions built from the semantic layer.
    pub suggestions: Vec<String>,
}

/// Questions a new user could start with, built from the semantic layer.
#[utoipa::path(get, path = "/api/v1/suggestions",
    responses((status = 200, body = Suggestions), (status = "4XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn suggestions(State(state): State<AppState>, _user: User) -> Json<Suggestions> {
    Json(Suggestions { suggestions: state.suggestions().to_vec() })
}

/// The snapshot answers come from, so that users can tell their own data from the demo's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnapshotView {
    /// The snapshot's id.
    #[schema(example = "snap-e8a12939c629cbce")]
    pub id: String,
    /// What it was made from: `demo warehouse, seed 42 scale 1`, `sqlite shop.sqlite`, `files exports`.
    pub source: String,
    /// Whether it is the demo warehouse.
    pub demo: bool,
    /// The date relative time phrases ("last month") resolve against.
    pub as_of: chrono::NaiveDate,
    /// The name of its semantic layer.
    pub semantic_layer: String,
    /// When answers come from the demo warehouse: the ids of the snapshots imported into the
    /// server's data directory, one of which `quarry snapshot use ID` makes the default (on
    /// the server's next start). Empty otherwise.
    pub own_snapshots: Vec<String>,
}

/// The snapshot answers come from (`snapshot` in the settings: `quarry snapshot use`).
#[utoipa::path(get, path = "/api/v1/snapshot",
    responses((status = 200, body = SnapshotView), (status = "4XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn snapshot(State(state): State<AppState>, _user: User) -> Json<SnapshotView> {
    Json(state.snapshot_view().clone())
}

/// Who the requesting user is, for the web chat (it shows the review queue to analysts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Me {
    /// The user requests are attributed to.
    pub user: String,
    /// Whether they work the review queue.
    pub analyst: bool,
}

/// The requesting user and their role.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = "4XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn me(user: User) -> Json<Me> {
    Json(Me { user: user.id, analyst: user.analyst })
}

/// Hands the question of one of your answers to an analyst ("ask an analyst"): 201 with the new
/// review item, or 200 with the one the answer already has. Someone else's answer is not found.
#[utoipa::path(post, path = "/api/v1/reviews", request_body = ReviewRequest,
    responses((status = 201, description = "The new review item", body = ReviewView), (status = 200, description = "The answer's review item, made before", body = ReviewView),
        (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn create_review(
    State(state): State<AppState>,
    user: User,
    ApiJson(request): ApiJson<ReviewRequest>,
) -> Result<(StatusCode, Json<ReviewView>), ApiError> {
    let (item, created) = review::ask_analyst(&state, &user, &request, None).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(item)))
}

/// The review queue, oldest first: every item for analysts (filtered by status, reason and
/// asker), your own items for anyone else (403 when naming another asker).
#[utoipa::path(get, path = "/api/v1/reviews", params(ReviewListParams),
    responses((status = 200, body = ReviewList), (status = 403, body = ErrorBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn reviews(
    State(state): State<AppState>,
    user: User,
    params: Result<Query<ReviewListParams>, QueryRejection>,
) -> Result<Json<ReviewList>, ApiError> {
    let Query(params) = params?;
    Ok(Json(review::list(&state, &user, params).await?))
}

/// One review item with the asker's conversation: for analysts, and for its asker (403 for
/// anyone else).
#[utoipa::path(get, path = "/api/v1/reviews/{id}", params(("id" = String, Path, description = "The review item id")),
    responses((status = 200, body = ReviewDetail), (status = 403, body = ErrorBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn review_item(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> Result<Json<ReviewDetail>, ApiError> {
    Ok(Json(review::detail(&state, &user, &id).await?))
}

/// Runs SQL for a review item through the same policy and executor as every answer, with the
/// result's chart; analysts only (403). Audited.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/sql", params(("id" = String, Path, description = "The review item id")), request_body = SqlRunRequest,
    responses((status = 200, body = SqlRunView), (status = 403, body = ErrorBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn review_sql(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SqlRunRequest>,
) -> Result<Json<SqlRunView>, ApiError> {
    Ok(Json(review::run_sql(&state, &user, &id, &request.sql).await?))
}

/// Answers a review item; analysts only (403). The answer goes into the asker's conversation,
/// marked "answered by" the analyst, and to a Slack asker as a message; with `promote` the
/// question and SQL become a verified question. 409 when the item was answered already.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/answer", params(("id" = String, Path, description = "The review item id")), request_body = ReviewAnswerRequest,
    responses((status = 200, body = ReviewView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = "4XX", body = ErrorBody), (status = "5XX", body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn answer_review(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReviewAnswerRequest>,
) -> Result<Json<ReviewView>, ApiError> {
    Ok(Json(review::answer(&state, &user, &id, &request).await?))
}

/// The OpenAPI description of this API.
pub async fn openapi_json() -> Response {
    let mut response = crate::openapi::openapi_json().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Liveness and readiness.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` (liveness), `ready`, or `degraded` (readiness: questions are answered, some
    /// less well; see `problems`).
    pub status: String,
    /// The snapshot answers come from (readiness only).
    pub snapshot_id: Option<String>,
    /// The database backend (readiness only).
    pub store: Option<String>,
    /// What is degraded and what to do, when the status is `degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), snapshot_id: None, store: None, problems: Vec::new() })
}

/// Readiness: the database answers and the snapshot is open. A retrieval index that cannot
/// be reached makes the server `degraded`, not unready: it still answers, with notes.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store().ping().await?;
    let mut problems = Vec::new();
    if let Some(quarry_answer::IndexStatus::Unavailable { error }) = state.pipeline().retrieval_status() {
        problems.push(format!(
            "retrieval is unavailable ({error}); the model is shown no retrieval hits until it is back: check the \
             vector store ([retrieval] store and [retrieval.qdrant] url)"
        ));
    }
    Ok(Json(Health {
        status: if problems.is_empty() { "ready" } else { "degraded" }.into(),
        snapshot_id: Some(state.pipeline().snapshot().manifest.id.clone()),
        store: Some(state.store().backend().as_str().to_string()),
        problems,
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics().observe_cache(state.pipeline().cache());
    match state.store().open_review_count().await {
        Ok(open) => state.metrics().review_queue_length.set(i64::try_from(open).unwrap_or(i64::MAX)),
        Err(error) => tracing::warn!(%error, "could not count the review queue for the metrics"),
    }
    let mut response = state.metrics().render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Any path that is not a route.
pub async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("there is nothing at {method} {}; see /api/v1/openapi.json", uri.path()))
}

/// A route called with a method it does not take.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// A handler that panicked: a JSON 500 instead of a dropped connection.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("an internal error occurred; it has been logged".into()).into_response()
}
