//! The review queue: questions quarry could not answer with confidence, handed to an analyst,
//! and the analysts' answers handed back.
//!
//! A question enters the queue when quarry could not answer it, when the route cross-check
//! found two routes disagreeing (both when the question is answered), when its
//! answer gets a thumbs-down, or when the asker asks for an analyst (the web chat's and Slack's
//! "Ask an analyst" button, `POST /api/v1/reviews`). The item keeps what quarry made of the
//! question: the reading, its SQL attempts and why it was not confident.
//!
//! Analysts (see [`User::analyst`]) list the queue, see an item with its conversation, run
//! SQL on it through the same policy and executor as every answer, and answer it: the answer
//! becomes a turn of the asker's conversation marked "answered by", and, for a Slack asker, a
//! direct message (`chat.postMessage`; the question's `response_url` while it is valid when no
//! bot token is set). Answering can promote the question and SQL to a verified question, which
//! then answers the same question for everyone (see [`quarry_answer::VerifiedBadge`]). Askers
//! see only their own items; everything else is the analysts' (403 otherwise). Every action is
//! in the audit log.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use quarry_answer::{AnswerStatus, Conversation, CrossCheckVerdict, Turn};
use quarry_chart::{Format, Size};
use quarry_store::{
    AuditRecord, NewReview, NewTurn, NewVerified, ReviewAnswer, ReviewFilter, ReviewReason, ReviewRecord, ReviewStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::answering::{AnalystMark, AskResponse, Channel, ReviewMark, new_id};
use crate::api::TurnView;
use crate::error::ApiError;
use crate::identity::User;
use crate::request_id::RequestIds;
use crate::state::AppState;

/// How long Slack keeps a `response_url` valid.
const SLACK_REPLY_WINDOW: chrono::Duration = chrono::Duration::minutes(30);
/// Most characters of an analyst's answer.
const MAX_ANSWER_CHARS: usize = 4000;
/// Most characters of SQL an analyst runs.
const MAX_SQL_CHARS: usize = 20_000;

/// A question in the review queue, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// Its id (`rv-…`).
    pub id: String,
    /// `open` or `answered`.
    pub status: ReviewStatus,
    /// Why it entered the queue.
    pub reason: ReviewReason,
    /// Who asked.
    pub asker: String,
    /// Where: `web`, `api` or `slack`.
    pub channel: String,
    /// The asker's conversation.
    pub conversation_id: String,
    /// The answer it is about.
    pub answer_id: String,
    /// The question.
    pub question: String,
    /// What quarry made of it: `reading` (how the question was read), `attempts` (its SQL
    /// attempts), `why` (why it was not confident), `confidence`, `summary` and, after a
    /// thumbs-down, the asker's `comment`.
    #[schema(value_type = Object)]
    pub context: Value,
    /// When it entered the queue.
    pub created_at: DateTime<Utc>,
    /// The analyst who answered.
    pub answered_by: Option<String>,
    /// When.
    pub answered_at: Option<DateTime<Utc>>,
    /// The analyst's answer in words.
    pub answer_text: Option<String>,
    /// The SQL behind it.
    pub answer_sql: Option<String>,
    /// The verified question the answer was promoted to.
    pub verified_id: Option<String>,
    /// How the answer reached the asker: `conversation`, `slack_message`,
    /// `slack_response_url`, or `failed: …` with why.
    pub delivery: Option<String>,
}

impl From<ReviewRecord> for ReviewView {
    fn from(record: ReviewRecord) -> Self {
        ReviewView {
            id: record.id,
            status: record.status,
            reason: record.reason,
            asker: record.asker_id,
            channel: record.channel,
            conversation_id: record.conversation_id,
            answer_id: record.answer_id,
            question: record.question,
            context: record.context,
            created_at: record.created_at,
            answered_by: record.answered_by,
            answered_at: record.answered_at,
            answer_text: record.answer_text,
            answer_sql: record.answer_sql,
            verified_id: record.verified_id,
            delivery: record.delivery,
        }
    }
}

/// A review item with the asker's conversation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewDetail {
    /// The item.
    pub item: ReviewView,
    /// The conversation's turns, oldest first.
    pub conversation: Vec<TurnView>,
}

/// Review items.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewList {
    /// Oldest first.
    pub items: Vec<ReviewView>,
}

/// "Ask an analyst" about one of your answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// The answer (from [`AskResponse`]).
    pub answer_id: String,
    /// What you would like the analyst to know (at most 2000 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// SQL an analyst runs on a review item.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRunRequest {
    /// The SQL; it goes through the same policy and executor as every answer.
    pub sql: String,
}

/// The result of an analyst's SQL.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SqlRunView {
    /// The SQL that ran (with the policy's row limit).
    pub sql: String,
    /// How the policy rewrote it.
    pub sql_notes: Vec<String>,
    /// Result column names.
    pub columns: Vec<String>,
    /// Result rows.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub rows: Vec<Vec<Value>>,
    /// Whether rows were cut at the row limit.
    pub truncated: bool,
    /// The result's chart as SVG, when it has one.
    pub chart_svg: Option<String>,
}

/// An analyst's answer to a review item.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewAnswerRequest {
    /// The answer in words (at most 4000 characters).
    pub text: String,
    /// The SQL behind it; it runs through the policy, and its result goes to the asker.
    #[serde(default)]
    pub sql: Option<String>,
    /// Promote the question and the SQL to a verified question (needs `sql`): the next person
    /// asking it gets this SQL's answer, marked "verified by" you.
    #[serde(default)]
    pub promote: bool,
}

/// Query parameters of the review queue.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewListParams {
    /// `open` or `answered`.
    pub status: Option<ReviewStatus>,
    /// `cannot_answer`, `asked`, `thumbs_down` or `routes_disagree`.
    pub reason: Option<ReviewReason>,
    /// Only this asker's items (askers who are not analysts may only name themselves).
    pub asker: Option<String>,
    /// Most items (default 100, at most 500).
    pub limit: Option<u32>,
}

/// The items `user` may list: analysts any, others only their own.
pub async fn list(state: &AppState, user: &User, params: ReviewListParams) -> Result<ReviewList, ApiError> {
    let asker = match (user.analyst, params.asker) {
        (true, asker) => asker,
        (false, Some(asker)) if asker != user.id => {
            return Err(ApiError::Forbidden(
                "only analysts can see other people's review items; leave `asker` out to see yours".into(),
            ));
        }
        (false, _) => Some(user.id.clone()),
    };
    let filter = ReviewFilter {
        status: params.status,
        reason: params.reason,
        asker_id: asker,
        limit: params.limit.unwrap_or(100).clamp(1, 500),
    };
    let items = state.store().list_reviews(&filter).await?.into_iter().map(ReviewView::from).collect();
    Ok(ReviewList { items })
}

/// One item with its conversation, for an analyst or its asker.
pub async fn detail(state: &AppState, user: &User, id: &str) -> Result<ReviewDetail, ApiError> {
    let item = visible_item(state, user, id).await?;
    let owner = User { id: item.asker_id.clone(), via: "review", analyst: false };
    let record = state
        .store()
        .conversation(&item.conversation_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("the conversation of review item {id} is missing")))?;
    let conversation = crate::api::conversation_view(state, &owner, record).await?.turns;
    Ok(ReviewDetail { item: item.into(), conversation })
}

/// The item, when `user` may see it: analysts every item, askers their own.
async fn visible_item(state: &AppState, user: &User, id: &str) -> Result<ReviewRecord, ApiError> {
    let item = state.store().review(id).await?;
    match item {
        Some(item) if user.analyst || item.asker_id == user.id => Ok(item),
        Some(_) => Err(ApiError::Forbidden(format!(
            "review item {id} is not yours; only analysts see other people's review items"
        ))),
        None => Err(ApiError::NotFound(format!("there is no review item {id}"))),
    }
}

/// "Ask an analyst" about `user`'s answer: its item (created, or the one it already has) and
/// whether this call created it. Someone else's answer is not found, as a missing one is.
pub async fn ask_analyst(
    state: &AppState,
    user: &User,
    request: &ReviewRequest,
    reply_url: Option<String>,
) -> Result<(ReviewView, bool), ApiError> {
    let note = request.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return Err(ApiError::BadRequest("the note is longer than 2000 characters; shorten it".into()));
    }
    let not_found = || ApiError::NotFound(format!("there is no answer {} of yours to ask about", request.answer_id));
    let (conversation_id, turn) = state.store().turn_by_answer(&request.answer_id).await?.ok_or_else(not_found)?;
    let conversation = state.store().conversation(&conversation_id).await?.ok_or_else(not_found)?;
    if conversation.user_id != user.id {
        return Err(not_found());
    }
    let response: AskResponse = stored_response(&turn.answer, &request.answer_id)?;
    let mut context = context_of(&response, ReviewReason::Asked);
    if let Some(note) = note {
        context["note"] = json!(note);
    }
    let new = NewReview {
        answer_id: request.answer_id.clone(),
        asker_id: user.id.clone(),
        channel: conversation.channel.clone(),
        conversation_id,
        question: turn.question,
        reason: ReviewReason::Asked,
        context,
        reply_url_expires_at: reply_url.as_ref().map(|_| Utc::now() + SLACK_REPLY_WINDOW),
        reply_url,
    };
    let (item, created) = enqueue(state, user, &new, &RequestIds::current().id).await?;
    Ok((item.into(), created))
}

/// Puts an answer that quarry was not sure of in the queue, at answer time: one it could not
/// give, or one whose two routes disagreed; returns its item. Failures are logged: the answer
/// stands either way.
pub(crate) async fn enqueue_unsure_answer(
    state: &AppState,
    user: &User,
    channel: Channel,
    response: &AskResponse,
) -> Option<ReviewMark> {
    let answer = &response.answer;
    let disagree = answer.cross_check.as_ref().is_some_and(|c| c.verdict == CrossCheckVerdict::Disagree);
    let reason = match answer.status {
        AnswerStatus::CannotAnswer => ReviewReason::CannotAnswer,
        _ if disagree => ReviewReason::RoutesDisagree,
        _ => return None,
    };
    let new = NewReview {
        answer_id: response.answer_id.clone(),
        asker_id: user.id.clone(),
        channel: channel.as_str().to_string(),
        conversation_id: response.conversation_id.clone(),
        question: answer.question.clone(),
        reason,
        context: context_of(response, reason),
        reply_url: None,
        reply_url_expires_at: None,
    };
    let audit_id = format!("{}.review", response.request_id);
    match enqueue(state, user, &new, &audit_id).await {
        Ok((item, _)) => Some(ReviewMark { id: item.id, status: item.status, reason: item.reason }),
        Err(error) => {
            tracing::error!(%error, answer_id = %response.answer_id, "the question could not be handed to an analyst");
            None
        }
    }
}

/// Puts a thumbed-down answer in the queue, with the rater's comment. Failures are logged: the
/// feedback is stored either way.
pub(crate) async fn enqueue_thumbs_down(state: &AppState, rater: &User, answer_id: &str, comment: Option<&str>) {
    if let Err(error) = thumbs_down_item(state, rater, answer_id, comment).await {
        tracing::error!(%error, %answer_id, "the thumbed-down answer could not be handed to an analyst");
    }
}

async fn thumbs_down_item(
    state: &AppState,
    rater: &User,
    answer_id: &str,
    comment: Option<&str>,
) -> Result<(), ApiError> {
    let Some((conversation_id, turn)) = state.store().turn_by_answer(answer_id).await? else {
        return Ok(());
    };
    let Some(conversation) = state.store().conversation(&conversation_id).await? else {
        return Ok(());
    };
    let response = stored_response(&turn.answer, answer_id)?;
    let mut context = context_of(&response, ReviewReason::ThumbsDown);
    context["comment"] = json!(comment);
    context["rated_by"] = json!(rater.id);
    let new = NewReview {
        answer_id: answer_id.to_string(),
        asker_id: conversation.user_id,
        channel: conversation.channel,
        conversation_id,
        question: turn.question,
        reason: ReviewReason::ThumbsDown,
        context,
        reply_url: None,
        reply_url_expires_at: None,
    };
    let audit_id = format!("{}.review", RequestIds::current().id);
    enqueue(state, rater, &new, &audit_id).await.map(|_| ())
}

/// Stores `new` in the queue; a new item is counted and audited (as `audit_id`).
async fn enqueue(
    state: &AppState,
    user: &User,
    new: &NewReview,
    audit_id: &str,
) -> Result<(ReviewRecord, bool), ApiError> {
    let (item, created) = state.store().enqueue_review(new).await?;
    if created {
        state.metrics().review_items.with_label_values(&[new.reason.as_str()]).inc();
        let record = json!({
            "action": "review_enqueued",
            "review_id": item.id,
            "reason": new.reason,
            "user": user.id,
            "asker": new.asker_id,
            "answer_id": new.answer_id,
            "context": new.context,
        });
        let audit = audit_record(audit_id, user, &item, "review_enqueued", record);
        state.store().write_audit(&audit).await.map_err(ApiError::NotRecorded)?;
    }
    Ok((item, created))
}

/// Runs an analyst's SQL on item `id` through the policy and the executor, with its chart.
pub async fn run_sql(state: &AppState, user: &User, id: &str, sql: &str) -> Result<SqlRunView, ApiError> {
    user.require_analyst("run SQL on review items")?;
    let item = visible_item(state, user, id).await?;
    let sql = checked_sql(sql)?;
    let started = Instant::now();
    let outcome = run_with_chart(state, sql, &item.question).await;
    let record = json!({
        "action": "review_sql",
        "review_id": item.id,
        "sql": sql,
        "error": outcome.as_ref().err().map(|e| json!({"code": e.code(), "message": e.to_string()})),
        "row_count": outcome.as_ref().ok().map(|run| run.rows.len()),
        "server_ms": started.elapsed().as_secs_f64() * 1e3,
    });
    let code = outcome.as_ref().map_or_else(|e| e.code(), |_| "review_sql");
    let audit = audit_record(&RequestIds::current().id, user, &item, code, record);
    state.store().write_audit(&audit).await.map_err(ApiError::NotRecorded)?;
    outcome
}

fn checked_sql(sql: &str) -> Result<&str, ApiError> {
    let sql = sql.trim();
    if sql.is_empty() {
        return Err(ApiError::BadRequest("the SQL is empty; write a SELECT".into()));
    }
    if sql.chars().count() > MAX_SQL_CHARS {
        return Err(ApiError::BadRequest(format!("the SQL is longer than {MAX_SQL_CHARS} characters")));
    }
    Ok(sql)
}

/// The SQL run under a query slot and the request timeout, and its chart drawn.
async fn run_with_chart(state: &AppState, sql: &str, question: &str) -> Result<SqlRunView, ApiError> {
    let (run, chart) = run_sql_with_chart(state, sql, question).await?;
    let chart_svg = match chart {
        Some(chart) => tokio::task::spawn_blocking(move || chart.render(Format::Svg, Size::WEB))
            .await
            .map_err(|e| ApiError::Internal(format!("chart rendering stopped: {e}")))?
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "the chart of the analyst's SQL could not be drawn");
                None
            })
            .map(|svg| String::from_utf8_lossy(&svg).into_owned()),
        None => None,
    };
    Ok(SqlRunView {
        sql: run.sql,
        sql_notes: run.sql_notes,
        columns: run.columns.into_iter().map(|c| c.name).collect(),
        rows: run.rows,
        truncated: run.truncated,
        chart_svg,
    })
}

async fn run_sql_with_chart(
    state: &AppState,
    sql: &str,
    question: &str,
) -> Result<(quarry_answer::SqlAnswer, Option<quarry_answer::AnswerChart>), ApiError> {
    let server = &state.config().server;
    let slot = tokio::time::timeout(Duration::from_millis(server.queue_timeout_ms), state.slots().acquire())
        .await
        .map_err(|_| ApiError::Busy)?
        .map_err(|_| ApiError::Internal("the server is shutting down".into()))?;
    let timeout = Duration::from_millis(server.request_timeout_ms);
    let run = tokio::time::timeout(timeout, state.pipeline().run_sql(sql))
        .await
        .map_err(|_| ApiError::Timeout(timeout.as_secs()))??;
    drop(slot);
    let chart = run.result.as_ref().map(|result| quarry_answer::result_chart(result, question, None, None));
    Ok((run, chart))
}

/// Answers item `id` as the analyst `user` (see the module documentation): the answer's turn
/// in the asker's conversation and the audit record are stored together, then a Slack asker
/// is messaged; the item says how the answer was delivered.
pub async fn answer(
    state: &AppState,
    user: &User,
    id: &str,
    request: &ReviewAnswerRequest,
) -> Result<ReviewView, ApiError> {
    user.require_analyst("answer review items")?;
    let text = request.text.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest("the answer is empty; say what you found".into()));
    }
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Err(ApiError::BadRequest(format!("the answer is longer than {MAX_ANSWER_CHARS} characters")));
    }
    let sql = request.sql.as_deref().map(checked_sql).transpose()?;
    if request.promote && sql.is_none() {
        return Err(ApiError::BadRequest(
            "only an answer with SQL can be promoted to a verified question; add the SQL".into(),
        ));
    }
    let item = visible_item(state, user, id).await?;
    if item.status == ReviewStatus::Answered {
        return Err(already_answered(&item));
    }
    let (_, original) = state
        .store()
        .turn_by_answer(&item.answer_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("the answer of review item {id} is missing")))?;
    let original: AskResponse = stored_response(&original.answer, &item.answer_id)?;
    let ids = RequestIds::current();
    let now = Utc::now();
    let mut answer = original.answer.clone();
    answer.status = AnswerStatus::Answered;
    answer.summary = text.to_string();
    answer.route = "analyst".into();
    answer.clarification = None;
    answer.message = None;
    answer.cross_check = None;
    answer.explanation = None;
    answer.model_explanation = None;
    answer.notes = Vec::new();
    answer.tokens = None;
    answer.retrieval_hits = Vec::new();
    answer.confidence = None;
    answer.cached = false;
    answer.timings_ms = Default::default();
    answer.sql = None;
    answer.sql_notes = Vec::new();
    answer.columns = Vec::new();
    answer.rows = Vec::new();
    answer.truncated = false;
    answer.chart = None;
    answer.attempt_log = Vec::new();
    answer.attempts = 0;
    if let Some(sql) = sql {
        let (run, chart) = run_sql_with_chart(state, sql, &item.question).await?;
        answer.attempt_log.push(quarry_answer::Attempt {
            by: format!("analyst:{}", user.id),
            sql: sql.to_string(),
            verdict: "ok".into(),
            error: None,
            prompt_hash: None,
            raw_output: None,
        });
        answer.attempts = 1;
        answer.sql = Some(run.sql);
        answer.sql_notes = run.sql_notes;
        answer.columns = run.columns;
        answer.rows = run.rows;
        answer.truncated = run.truncated;
        answer.snapshot_id = run.snapshot_id;
        answer.chart = chart;
    }
    let verified = match (request.promote, sql) {
        (true, Some(sql)) => {
            let record = state
                .store()
                .add_verified(&NewVerified {
                    question: item.question.clone(),
                    sql: sql.to_string(),
                    added_by: user.id.clone(),
                    source_answer_id: Some(item.answer_id.clone()),
                })
                .await?;
            answer.verified = Some(quarry_answer::VerifiedBadge {
                id: record.id.clone(),
                question: record.question.clone(),
                by: record.added_by.clone(),
                at: record.updated_at,
            });
            Some(record)
        }
        _ => None,
    };
    let mut response = AskResponse {
        request_id: ids.id.clone(),
        client_request_id: ids.client.clone(),
        answer_id: new_id("ans"),
        conversation_id: item.conversation_id.clone(),
        chart: None,
        answer,
        analyst: Some(AnalystMark { by: user.id.clone(), at: now, review_id: item.id.clone() }),
        review: None,
    };
    if let Some((reference, record)) = crate::answering::chart_of(&response.answer, &response.answer_id)? {
        // Stored ahead of the answer: a chart nobody links to is harmless, a link to none is not.
        state.store().put_chart(&record).await?;
        response.chart = Some(reference);
    }
    let state_json = conversation_state_after(state, &item, &response).await?;
    let response_json = serde_json::to_value(&response)
        .map_err(|e| ApiError::Internal(format!("the answer could not be serialized: {e}")))?;
    let slack_asker = item.channel == Channel::Slack.as_str();
    let delivery = if slack_asker { "slack_pending" } else { "conversation" };
    let record = json!({
        "action": "review_answered",
        "review_id": item.id,
        "analyst": user.id,
        "asker": item.asker_id,
        "text": text,
        "sql": response.answer.sql,
        "row_count": response.answer.rows.len(),
        "promoted": verified.as_ref().map(|v| &v.id),
        "answer_id": response.answer_id,
        "waited_s": (now - item.created_at).num_milliseconds() as f64 / 1e3,
    });
    let mut audit = audit_record(&ids.id, user, &item, "review_answered", record);
    audit.answer_id = Some(response.answer_id.clone());
    let stored = state
        .store()
        .answer_review(&ReviewAnswer {
            review_id: item.id.clone(),
            analyst: user.id.clone(),
            text: text.to_string(),
            sql: sql.map(str::to_string),
            verified_id: verified.as_ref().map(|v| v.id.clone()),
            turn: Some(NewTurn {
                answer_id: response.answer_id.clone(),
                question: item.question.clone(),
                answer: response_json,
                state: state_json,
                created_at: now,
            }),
            delivery: delivery.to_string(),
            audit,
        })
        .await
        .map_err(|error| match error.kind() {
            "conflict" if error.to_string().contains("review item") => already_answered(&item),
            _ => ApiError::NotRecorded(error),
        })?;
    let waited = (now - item.created_at).to_std().unwrap_or_default();
    state.metrics().review_time_to_answer.observe(waited.as_secs_f64());
    let stored = match slack_asker {
        true => {
            let delivery = crate::slack::deliver_analyst_answer(state, &stored, &response).await;
            let via = if delivery.starts_with("failed") { "failed" } else { delivery.as_str() };
            state.metrics().review_deliveries.with_label_values(&[via]).inc();
            state.store().set_review_delivery(&stored.id, &delivery).await?
        }
        false => {
            state.metrics().review_deliveries.with_label_values(&["conversation"]).inc();
            stored
        }
    };
    Ok(stored.into())
}

fn already_answered(item: &ReviewRecord) -> ApiError {
    ApiError::Conflict(format!(
        "review item {} was answered already by {}",
        item.id,
        item.answered_by.as_deref().unwrap_or("another analyst")
    ))
}

/// The asker's conversation state with the analyst's answer as its latest turn: a follow-up
/// then continues from the analyst's SQL, as it would from quarry's.
async fn conversation_state_after(
    state: &AppState,
    item: &ReviewRecord,
    response: &AskResponse,
) -> Result<Value, ApiError> {
    let record = state
        .store()
        .conversation(&item.conversation_id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("the conversation of review item {} is missing", item.id)))?;
    let mut conversation: Conversation = serde_json::from_value(record.state).unwrap_or_default();
    conversation.turns.push(Turn {
        question: item.question.clone(),
        query: None,
        sql: response.answer.sql.clone(),
        summary: response.answer.summary.clone(),
    });
    serde_json::to_value(&conversation)
        .map_err(|e| ApiError::Internal(format!("the conversation could not be serialized: {e}")))
}

/// The answer as it was given, from its stored turn.
fn stored_response(answer: &Value, answer_id: &str) -> Result<AskResponse, ApiError> {
    serde_json::from_value(answer.clone())
        .map_err(|e| ApiError::Internal(format!("the stored answer {answer_id} cannot be read: {e}")))
}

/// What quarry made of the question, for the analyst: the reading, the SQL attempts and why
/// it was not confident.
fn context_of(response: &AskResponse, reason: ReviewReason) -> Value {
    let answer = &response.answer;
    let why = match reason {
        ReviewReason::CannotAnswer => answer.message.clone().unwrap_or_else(|| answer.summary.clone()),
        ReviewReason::RoutesDisagree => {
            answer.cross_check.as_ref().map(|c| c.message.clone()).unwrap_or_else(|| answer.summary.clone())
        }
        ReviewReason::ThumbsDown => "the asker rated the answer down".to_string(),
        ReviewReason::Asked => match (answer.status, answer.confidence) {
            (AnswerStatus::NeedsClarification, _) => {
                format!("quarry asked back: {}", answer.clarification.as_ref().map_or("", |c| c.question.as_str()))
            }
            (AnswerStatus::CannotAnswer, _) => answer.message.clone().unwrap_or_else(|| answer.summary.clone()),
            (AnswerStatus::Answered, Some(confidence)) => {
                format!("the asker asked for a person; quarry's confidence in its reading was {confidence:.2}")
            }
            (AnswerStatus::Answered, None) => "the asker asked for a person".to_string(),
        },
    };
    json!({
        "why": why,
        "status": answer.status,
        "summary": answer.summary,
        "confidence": answer.confidence,
        "route": answer.route,
        "reading": answer.explanation,
        "model_reading": answer.model_explanation,
        "clarification": answer.clarification,
        "cross_check": answer.cross_check,
        "attempts": answer.attempt_log,
        "sql": answer.sql,
        "request_id": response.request_id,
    })
}

fn audit_record(id: &str, user: &User, item: &ReviewRecord, outcome: &str, record: Value) -> AuditRecord {
    AuditRecord {
        id: id.to_string(),
        client_request_id: RequestIds::current().client,
        created_at: Utc::now(),
        user_id: user.id.clone(),
        channel: "review".into(),
        question: item.question.clone(),
        conversation_id: Some(item.conversation_id.clone()),
        answer_id: Some(item.answer_id.clone()),
        outcome: outcome.to_string(),
        record,
    }
}
