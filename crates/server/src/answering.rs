//! Answering one question for one user in one conversation: the part every door (API,
//! stream, Slack) shares. Admission (length, rate), a query slot, the pipeline under the
//! request timeout, then the conversation, the turn, the chart's source and the audit record
//! written all or nothing and committed (with the answers of other requests, in one
//! transaction) before anything is acknowledged: an answer the audit log does not have is
//! neither stored nor given. Chart images are drawn when they are fetched.

use std::time::{Duration, Instant};

use chrono::Utc;
use quarry_answer::{Answer, AnswerStatus, Conversation, Progress, Stage, StageEvent, VerifiedMatch};
use quarry_chart::{ChartSource, Format, Size};
use quarry_store::{AuditRecord, ChartContent, ChartRecord, NewAnswer, NewConversation, NewTurn};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::identity::User;
use crate::request_id::RequestIds;
use crate::state::AppState;

/// A question, with the conversation it continues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The question, in plain words.
    #[schema(example = "signups by channel last month")]
    pub question: String,
    /// The conversation to continue; none starts a new one.
    #[serde(default)]
    pub conversation_id: Option<String>,
}

/// Where an answer's chart image is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChartRef {
    /// The chart's id (random, unguessable).
    pub id: String,
    /// The chart as SVG.
    pub svg_url: String,
    /// The chart as PNG.
    pub png_url: String,
    /// The chart type.
    pub kind: Option<quarry_chart::ChartKind>,
    /// Why this chart.
    pub reason: String,
}

/// An answer, with the ids to refer to it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AskResponse {
    /// The request's id, given by the server (also the audit record's id).
    pub request_id: String,
    /// The id the client sent in `X-Request-Id`, echoed for correlation (the audit record
    /// keeps it too); never used as the request's id.
    pub client_request_id: Option<String>,
    /// The answer's id, for feedback.
    pub answer_id: String,
    /// The conversation it belongs to; send it back to ask a follow-up.
    pub conversation_id: String,
    /// The rendered chart, when the answer has one.
    pub chart: Option<ChartRef>,
    /// The answer.
    pub answer: Answer,
    /// Set when an analyst gave this answer (to a question handed to them): who and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyst: Option<AnalystMark>,
    /// Set when the question was handed to an analyst (quarry could not answer it, or the
    /// asker asked for one): its review item. Only in the response; a conversation's turns
    /// carry it as [`crate::TurnView::review`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewMark>,
}

/// A question in the review queue, as its turn shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewMark {
    /// The review item's id.
    pub id: String,
    /// `open` (waiting for an analyst) or `answered`.
    pub status: quarry_store::ReviewStatus,
    /// Why it was handed over: `asked` when the asker asked for an analyst, else quarry's own
    /// doubt (`cannot_answer`, `routes_disagree`) or a `thumbs_down`.
    pub reason: quarry_store::ReviewReason,
}

/// An answer given by an analyst, shown as "answered by …".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalystMark {
    /// The analyst.
    pub by: String,
    /// When they answered.
    pub at: chrono::DateTime<Utc>,
    /// The review item they answered.
    pub review_id: String,
}

/// The door a question came in by, recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `POST /api/v1/ask` and its stream, from API clients.
    Api,
    /// The web chat (the page identifies itself with an `X-Quarry-Client: web` header).
    Web,
    /// The Slack slash command.
    Slack,
}

impl Channel {
    /// The channel's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Web => "web",
            Channel::Slack => "slack",
        }
    }
}

/// Checks a question before any work: its length (the server's limit can only be tighter
/// than the pipeline's own) and the user's rate.
pub async fn admit(state: &AppState, user: &User, channel: Channel, question: &str) -> Result<(), ApiError> {
    let limit = state.config().server.max_question_chars.min(quarry_answer::MAX_QUESTION_CHARS);
    quarry_answer::clean_question(question, limit)?;
    state.check_rate(&user.id, channel.as_str()).await
}

/// A new random id with a prefix: 96 bits, so ids cannot be guessed.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..24])
}

/// The conversation to continue (it must be the user's), or a new one. A new one is only
/// stored with its first answer, so failed first questions leave no empty conversations.
async fn open_conversation(
    state: &AppState,
    user: &User,
    id: Option<&str>,
) -> Result<(String, bool, Conversation), ApiError> {
    let Some(id) = id else {
        return Ok((new_id("c"), true, Conversation::default()));
    };
    match state.store().conversation(id).await? {
        Some(record) if record.user_id == user.id => {
            let conversation = serde_json::from_value(record.state).unwrap_or_default();
            Ok((record.id, false, conversation))
        }
        // Someone else's conversation is refused as a missing one is, so ids are not confirmed.
        _ => Err(ApiError::NotFound(format!(
            "there is no conversation {id} of yours; leave conversation_id out to start a new one"
        ))),
    }
}

/// Answers `request` for `user`: see the module documentation.
pub async fn answer(
    state: &AppState,
    user: &User,
    channel: Channel,
    request: &AskRequest,
    progress: &dyn Progress,
) -> Result<AskResponse, ApiError> {
    let started = Instant::now();
    let ids = RequestIds::current();
    let (conversation_id, is_new, mut conversation) =
        open_conversation(state, user, request.conversation_id.as_deref()).await?;
    let server = &state.config().server;
    let slot = tokio::time::timeout(Duration::from_millis(server.queue_timeout_ms), state.slots().acquire())
        .await
        .map_err(|_| ApiError::Busy)?
        .map_err(|_| ApiError::Internal("the server is shutting down".into()))?;
    state.metrics().in_flight.inc();
    let timeout = Duration::from_millis(server.request_timeout_ms);
    let verified = verified_match(state, &request.question).await;
    let outcome = tokio::time::timeout(timeout, async {
        match &verified {
            Some(verified) => {
                progress.stage(StageEvent { stage: Stage::Execute, attempt: None });
                state.pipeline().answer_verified(&request.question, verified, &mut conversation).await
            }
            None => state.pipeline().ask_with_progress(&request.question, &mut conversation, progress).await,
        }
    })
    .await;
    state.metrics().in_flight.dec();
    drop(slot);
    let outcome = match outcome {
        Ok(outcome) => outcome.map_err(ApiError::from),
        Err(_) => Err(ApiError::Timeout(timeout.as_secs())),
    };
    let answer = match outcome {
        Ok(answer) => answer,
        Err(error) => {
            state.metrics().record_answer("none", error.code(), &Default::default());
            let conversation_id = (!is_new).then_some(conversation_id.as_str());
            let record = audit_of_failure(&ids, user, channel, request, conversation_id, &error, started);
            state.store().write_audit(&record).await.map_err(ApiError::NotRecorded)?;
            return Err(error);
        }
    };
    let mut response = AskResponse {
        request_id: ids.id.clone(),
        client_request_id: ids.client.clone(),
        answer_id: new_id("ans"),
        conversation_id: conversation_id.clone(),
        chart: None,
        answer,
        analyst: None,
        review: None,
    };
    if let Err(error) = persist(state, user, channel, is_new, &mut response, &conversation, started).await {
        // The answer is not given (the transaction left nothing of it): the failure is
        // recorded instead, if the store takes it.
        state.metrics().record_answer("none", error.code(), &Default::default());
        let conversation_id = (!is_new).then_some(conversation_id.as_str());
        let record = audit_of_failure(&ids, user, channel, request, conversation_id, &error, started);
        if let Err(audit_error) = state.store().write_audit(&record).await {
            tracing::error!(%audit_error, "the failure could not be recorded in the audit log either");
        }
        return Err(error);
    }
    state.metrics().record_answer(
        route_label(&response.answer.route),
        outcome_name(response.answer.status),
        &response.answer.timings_ms,
    );
    if let Some(tokens) = &response.answer.tokens {
        state.metrics().model_tokens.with_label_values(&["prompt"]).inc_by(tokens.prompt_tokens);
        state.metrics().model_tokens.with_label_values(&["completion"]).inc_by(tokens.completion_tokens);
    }
    response.review = crate::review::enqueue_unsure_answer(state, user, channel, &response).await;
    Ok(response)
}

/// The verified question (promoted with `quarry verified add` or by an analyst) that
/// `question` matches, ignoring case and runs of whitespace. A store that fails only costs the
/// match: the pipeline answers instead.
async fn verified_match(state: &AppState, question: &str) -> Option<VerifiedMatch> {
    match state.store().verified_for_question(question).await {
        Ok(found) => found.map(|record| VerifiedMatch {
            id: record.id,
            question: record.question,
            sql: record.sql,
            verified_by: record.added_by,
            verified_at: record.updated_at,
        }),
        Err(error) => {
            tracing::warn!(%error, "could not look up verified questions; answering without them");
            None
        }
    }
}

/// Prepares the response's chart (setting `response.chart`) and stores the answer: its
/// conversation when it is new, its turn, its chart and its audit record, all or nothing,
/// committed before this returns (see [`quarry_store::Store::record_answer`]). A store failure is [`ApiError::NotRecorded`].
async fn persist(
    state: &AppState,
    user: &User,
    channel: Channel,
    is_new: bool,
    response: &mut AskResponse,
    conversation: &Conversation,
    started: Instant,
) -> Result<(), ApiError> {
    let chart = chart_of(&response.answer, &response.answer_id)?;
    response.chart = chart.as_ref().map(|(reference, _)| reference.clone());
    let response_json = serde_json::to_value(&*response)
        .map_err(|e| ApiError::Internal(format!("the answer could not be serialized: {e}")))?;
    let state_json = serde_json::to_value(conversation)
        .map_err(|e| ApiError::Internal(format!("the conversation could not be serialized: {e}")))?;
    let answer = NewAnswer {
        conversation: NewConversation {
            id: response.conversation_id.clone(),
            user_id: user.id.clone(),
            channel: channel.as_str().to_string(),
        },
        starts_conversation: is_new,
        turn: NewTurn {
            answer_id: response.answer_id.clone(),
            question: response.answer.question.clone(),
            answer: response_json,
            state: state_json,
            created_at: Utc::now(),
        },
        chart: chart.map(|(_, record)| record),
        audit: audit_of_answer(response, user, channel, started),
    };
    state.store().record_answer(answer).await.map_err(ApiError::NotRecorded)?;
    Ok(())
}

fn route_label(route: &str) -> &str {
    if route == "builtin" { "builtin" } else { "model" }
}

fn outcome_name(status: AnswerStatus) -> &'static str {
    match status {
        AnswerStatus::Answered => "answered",
        AnswerStatus::NeedsClarification => "needs_clarification",
        AnswerStatus::CannotAnswer => "cannot_answer",
    }
}

/// The answer's chart under a new random id: where the API serves it, and the record to
/// store with the answer. The record holds the chart's source, not images: the API draws the
/// SVG or PNG when it is asked for ([`draw_chart`]), so an answer whose image nobody fetches
/// (most API answers; only Slack shows the PNG) costs no drawing.
pub(crate) fn chart_of(answer: &Answer, answer_id: &str) -> Result<Option<(ChartRef, ChartRecord)>, ApiError> {
    let Some(chart) = &answer.chart else { return Ok(None) };
    let (Some(checked), Some(data)) = (&chart.checked, &chart.data) else { return Ok(None) };
    let source = serde_json::to_string(&checked.source(data))
        .map_err(|e| ApiError::Internal(format!("the chart could not be serialized: {e}")))?;
    let id = new_id("ch");
    let record = ChartRecord {
        id: id.clone(),
        answer_id: answer_id.to_string(),
        content: ChartContent::Source(source),
        created_at: Utc::now(),
    };
    let reference = ChartRef {
        svg_url: format!("/api/v1/charts/{id}.svg"),
        png_url: format!("/api/v1/charts/{id}.png"),
        id,
        kind: chart.kind,
        reason: chart.reason.clone(),
    };
    Ok(Some((reference, record)))
}

/// A stored chart as SVG ([`Size::WEB`]) or PNG ([`Size::SLACK`]): drawn from its source, on a
/// blocking thread, or the image drawn when it was stored (before schema version 4).
pub(crate) async fn draw_chart(record: ChartRecord, format: Format) -> Result<Vec<u8>, ApiError> {
    let source = match record.content {
        ChartContent::Rendered { svg, png } => {
            return Ok(match format {
                Format::Svg => svg.into_bytes(),
                Format::Png => png,
            });
        }
        ChartContent::Source(source) => source,
    };
    let id = record.id;
    let drawn = tokio::task::spawn_blocking(move || {
        let source: ChartSource = serde_json::from_str(&source)
            .map_err(|e| format!("its stored source cannot be read ({e}); the database was changed outside quarry"))?;
        let size = match format {
            Format::Svg => Size::WEB,
            Format::Png => Size::SLACK,
        };
        source.render(format, size).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("drawing chart {id} stopped: {e}")))?;
    drawn.map_err(|reason| ApiError::Internal(format!("chart {id} cannot be drawn: {reason}")))
}

fn audit_of_answer(response: &AskResponse, user: &User, channel: Channel, started: Instant) -> AuditRecord {
    let answer = &response.answer;
    let record = serde_json::json!({
        "request_id": response.request_id,
        "client_request_id": response.client_request_id,
        "user": user.id,
        "identified_by": user.via,
        "channel": channel.as_str(),
        "question": answer.question,
        "conversation_id": response.conversation_id,
        "answer_id": response.answer_id,
        "status": answer.status,
        "route": answer.route,
        "cached": answer.cached,
        "retrieval_hits": answer.retrieval_hits,
        "attempts": answer.attempt_log,
        "sql": answer.sql,
        "snapshot_id": answer.snapshot_id,
        "row_count": answer.rows.len(),
        "truncated": answer.truncated,
        "timings_ms": answer.timings_ms,
        "server_ms": started.elapsed().as_secs_f64() * 1e3,
        "tokens": answer.tokens,
        "notes": answer.notes,
        // Both routes' SQL and readings when the answer was cross-checked.
        "cross_check": answer.cross_check,
        "verified": answer.verified,
        "sql_notes": answer.sql_notes,
        "chart": response.chart.as_ref().map(|c| &c.id),
        "summary": answer.summary,
    });
    AuditRecord {
        id: response.request_id.clone(),
        client_request_id: response.client_request_id.clone(),
        created_at: Utc::now(),
        user_id: user.id.clone(),
        channel: channel.as_str().to_string(),
        question: answer.question.clone(),
        conversation_id: Some(response.conversation_id.clone()),
        answer_id: Some(response.answer_id.clone()),
        outcome: outcome_name(answer.status).to_string(),
        record,
    }
}

fn audit_of_failure(
    ids: &RequestIds,
    user: &User,
    channel: Channel,
    request: &AskRequest,
    conversation_id: Option<&str>,
    error: &ApiError,
    started: Instant,
) -> AuditRecord {
    let raw_model_output = match error {
        ApiError::Answer(quarry_answer::Error::Model(quarry_model_error)) => quarry_model_error.raw_output(),
        _ => None,
    };
    let record = serde_json::json!({
        "request_id": ids.id,
        "client_request_id": ids.client,
        "user": user.id,
        "identified_by": user.via,
        "channel": channel.as_str(),
        "question": request.question,
        "conversation_id": conversation_id,
        "error": {"code": error.code(), "message": error.to_string()},
        "raw_model_output": raw_model_output,
        "server_ms": started.elapsed().as_secs_f64() * 1e3,
    });
    AuditRecord {
        id: ids.id.clone(),
        client_request_id: ids.client.clone(),
        created_at: Utc::now(),
        user_id: user.id.clone(),
        channel: channel.as_str().to_string(),
        question: request.question.clone(),
        conversation_id: conversation_id.map(str::to_string),
        answer_id: None,
        outcome: error.code().to_string(),
        record,
    }
}
