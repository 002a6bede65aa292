//! The Slack endpoints. `POST /slack/commands`, the `/ask` slash command: the request is
//! verified (signature, age, replay), acknowledged at once with an ephemeral "working on it",
//! answered in the background, and the answer posted to the command's `response_url` as Block
//! Kit. `POST /slack/interactions`, a click on one of a clarification's option buttons: verified
//! the same way, its option's question is answered the same way, in the same conversation, and
//! posted to the click's `response_url` (after a "working on it" there: Slack shows nothing of
//! an interaction's HTTP response).

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use quarry_answer::{AnswerStatus, StageEvent};
use quarry_settings::SlackVisibility;
use quarry_slack::{
    AnswerKind, BlockAction, ChartFormat, CommandPolicy, ResponseType, SIGNATURE_HEADER, SlackAnswer, SlashCommand,
    TIMESTAMP_HEADER,
};
use serde_json::Value;

use crate::answering::{self, AskRequest, AskResponse, Channel};
use crate::error::ApiError;
use crate::identity::User;
use crate::request_id::RequestIds;
use crate::review::{self, ReviewRequest};
use crate::sharing;
use crate::state::AppState;
use quarry_store::ReviewRecord;

/// Handles one slash command; see the module documentation.
pub async fn command(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = |name: &str| state.metrics().slack_commands.with_label_values(&[name]).inc();
    let body = verified_body(&state, &headers, body).inspect_err(|error| {
        if matches!(error, ApiError::SlackSignature(_)) {
            outcome("bad_signature");
        }
    })?;
    let command = SlashCommand::parse(&body, &response_policy(&state))?;
    if !first_delivery(&state, &command.trigger_id).await? {
        outcome("replay");
        return Ok(Json(quarry_slack::error_message(
            "This command was already received; its answer is on the way.",
            None,
        )));
    }
    let Some(question) = command.question().map(str::to_string) else {
        outcome("help");
        return Ok(Json(quarry_slack::help_message(&command.command, state.suggestions())));
    };
    let user = User::new(&state.config().server, command.user_key(), "slack", None);
    match start_answering(&state, user, question, command.response_url, AckVia::Response).await {
        Ok(ack) => {
            outcome("accepted");
            Ok(Json(ack))
        }
        Err(error) => {
            outcome(error.code());
            Ok(Json(quarry_slack::error_message(&error.to_string(), None)))
        }
    }
}

/// Handles one click on an option button; see the module documentation. Slack only needs the
/// 200 within three seconds: everything the user sees is posted to the click's `response_url`.
pub async fn interaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let outcome = |name: &str| state.metrics().slack_interactions.with_label_values(&[name]).inc();
    let body = verified_body(&state, &headers, body).inspect_err(|error| {
        if matches!(error, ApiError::SlackSignature(_)) {
            outcome("bad_signature");
        }
    })?;
    let action = BlockAction::parse(&body, &response_policy(&state)).inspect_err(|_| outcome("bad_payload"))?;
    if !first_delivery(&state, &action.trigger_id).await? {
        outcome("replay");
        return Ok(StatusCode::OK);
    }
    let user = User::new(&state.config().server, action.user_key(), "slack", None);
    if let Some(answer_id) = action.ask_analyst_about() {
        tracing::info!(%answer_id, "a Slack user asked for an analyst");
        outcome("ask_analyst");
        let request = ReviewRequest { answer_id: answer_id.to_string(), note: None };
        let state = state.clone();
        tokio::spawn(crate::request_id::scoped(RequestIds::current(), async move {
            let reply = match review::ask_analyst(&state, &user, &request, Some(action.response_url.clone())).await {
                Ok((item, _)) => quarry_slack::error_message(
                    &format!("Sent to an analyst: \"{}\". You will get their answer here as a message.", item.question),
                    None,
                ),
                Err(error) => quarry_slack::error_message(&error.to_string(), None),
            };
            post(&state, &action.response_url, &reply).await;
        }));
        return Ok(StatusCode::OK);
    }
    tracing::info!(action_id = %action.action_id, channel = ?action.channel_id, "a Slack option was picked");
    let question = action.question().to_string();
    match start_answering(&state, user, question, action.response_url.clone(), AckVia::ResponseUrl).await {
        Ok(_) => outcome("accepted"),
        Err(error) => {
            outcome(error.code());
            let refusal = quarry_slack::error_message(&error.to_string(), None);
            let state = state.clone();
            tokio::spawn(crate::request_id::scoped(RequestIds::current(), async move {
                post(&state, &action.response_url, &refusal).await;
            }));
        }
    }
    Ok(StatusCode::OK)
}

/// The body of a request to a Slack endpoint, once it is known to come from Slack: refused when
/// Slack is not set up, when the body is too large, or when the signature does not verify.
fn verified_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    let verifier = state.slack().ok_or(ApiError::SlackDisabled)?;
    let body = body.map_err(|_| ApiError::PayloadTooLarge)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    verifier.verify(header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), &body, SystemTime::now())?;
    Ok(body)
}

/// Which `response_url`s the settings let quarry post to.
fn response_policy(state: &AppState) -> CommandPolicy {
    let slack = &state.config().server.slack;
    CommandPolicy { allow_http: slack.allow_http_response_url, allowed_hosts: slack.response_hosts.clone() }
}

/// Claims a request's `trigger_id`: false when it was claimed before (Slack retried a request
/// it thought lost, or someone replays one), which is then not answered again.
async fn first_delivery(state: &AppState, trigger_id: &str) -> Result<bool, ApiError> {
    let first = state.store().claim_slack_trigger(trigger_id, Utc::now()).await?;
    if !first {
        tracing::warn!(%trigger_id, "a replayed Slack request was dropped");
    }
    Ok(first)
}

/// Where the user sees that quarry is working on their question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckVia {
    /// In the HTTP response (Slack shows a slash command's).
    Response,
    /// Posted to the `response_url` before the answer (Slack shows nothing of an interaction's
    /// response).
    ResponseUrl,
}

/// Admits `question` for `user` (or refuses it, with why), then answers it in the background in
/// the user's Slack conversation and posts the answer to `response_url`. Returns the
/// acknowledgement, "working on it".
async fn start_answering(
    state: &AppState,
    user: User,
    question: String,
    response_url: String,
    ack_via: AckVia,
) -> Result<Value, ApiError> {
    answering::admit(state, &user, Channel::Slack, &question).await?;
    let ids = RequestIds::current();
    let ack = quarry_slack::ack_message(&question);
    let early = (ack_via == AckVia::ResponseUrl).then(|| ack.clone());
    let background = state.clone();
    tokio::spawn(crate::request_id::scoped(ids, async move {
        if let Some(ack) = early {
            post(&background, &response_url, &ack).await;
        }
        answer_in_background(background, user, response_url, question).await;
    }));
    Ok(ack)
}

/// Answers the question and posts the answer (or the error, in plain words) to Slack.
async fn answer_in_background(state: AppState, user: User, response_url: String, question: String) {
    let window = Duration::from_secs(state.config().server.slack.conversation_window_minutes * 60);
    let since = Utc::now() - chrono::Duration::from_std(window).unwrap_or_default();
    let conversation_id = match state.store().latest_conversation(&user.id, Channel::Slack.as_str(), since).await {
        Ok(found) => found.map(|c| c.id),
        Err(error) => {
            tracing::warn!(%error, "could not look up the Slack user's conversation; starting a new one");
            None
        }
    };
    let request = AskRequest { question, conversation_id };
    let payload = match answering::answer(&state, &user, Channel::Slack, &request, &|_: StageEvent| {}).await {
        Ok(response) => {
            let link = conversation_link(&state, &user, &response.conversation_id).await;
            let message = quarry_slack::answer_message(&slack_answer(&state, &response, link), response_type(&state));
            quarry_slack::with_ask_analyst_button(&message, &response.answer_id)
        }
        Err(error) => quarry_slack::error_message(&error.to_string(), hint(&error)),
    };
    post(&state, &response_url, &payload).await;
}

/// Sends an analyst's answer to the Slack user who asked: a direct message with the bot token
/// when one is set, else the question's `response_url` while it is valid. Returns how it went,
/// as [`quarry_store::ReviewRecord::delivery`] records it.
pub async fn deliver_analyst_answer(state: &AppState, item: &ReviewRecord, response: &AskResponse) -> String {
    let asker = User { id: item.asker_id.clone(), via: "slack", analyst: false };
    let link = conversation_link(state, &asker, &item.conversation_id).await;
    let analyst = response.analyst.as_ref().map_or("an analyst", |mark| mark.by.as_str());
    let message = quarry_slack::answer_message(&slack_answer(state, response, link), ResponseType::Ephemeral);
    let message = quarry_slack::with_answered_by(&message, analyst);
    if let Some(client) = state.slack_web() {
        // `slack:TEAM:USER`: a message to the user id opens the app's direct message with them.
        let Some(user_id) = item.asker_id.rsplit(':').next().filter(|_| item.asker_id.starts_with("slack:")) else {
            return format!("failed: the asker {} is not a Slack user", item.asker_id);
        };
        return match client.post_message(user_id, &message).await {
            Ok(()) => "slack_message".into(),
            Err(error) => {
                tracing::error!(%error, review_id = %item.id, "the analyst's answer could not be sent to Slack");
                format!("failed: {error}")
            }
        };
    }
    match (&item.reply_url, item.reply_url_expires_at) {
        (Some(url), Some(expires)) if expires > Utc::now() => match state.responder().post(url, &message).await {
            Ok(()) => "slack_response_url".into(),
            Err(error) => format!("failed: {error}"),
        },
        _ => "failed: no [server.slack] bot_token is set, and the question's response_url has expired (Slack keeps               it 30 minutes) or it came without one; set bot_token to message askers at any time"
            .into(),
    }
}

/// Posts `payload` to `response_url`; failures are logged, as there is no one left to tell.
async fn post(state: &AppState, response_url: &str, payload: &Value) {
    let responder = state.responder();
    match responder.post(response_url, payload).await {
        Ok(()) => {}
        // Slack refuses a whole message when it cannot fetch an image (e.g. a private
        // public_base_url); the answer without the chart is better than none.
        Err(quarry_slack::PostError::Status { status: 400, .. }) => {
            let plain = quarry_slack::without_images(payload);
            if let Err(error) = responder.post(response_url, &plain).await {
                tracing::error!(%error, "could not post to Slack");
            }
        }
        Err(error) => tracing::error!(%error, "could not post to Slack"),
    }
}

fn response_type(state: &AppState) -> ResponseType {
    match state.config().server.slack.visibility {
        SlackVisibility::Ephemeral => ResponseType::Ephemeral,
        SlackVisibility::InChannel => ResponseType::InChannel,
    }
}

fn hint(error: &ApiError) -> Option<&'static str> {
    match error.code() {
        "rate_limited" | "busy" => Some("Wait a moment and ask again."),
        "timeout" | "resource_limit" => Some("Ask for a shorter period or fewer groups."),
        "policy_rejected" | "repairs_exhausted" => Some("Rephrase the question, or ask it more simply."),
        _ => None,
    }
}

/// The web chat's link to the Slack user's conversation: its share link, as the people who
/// open it (in the web chat, under their own identity) are not the Slack user. None, and the
/// answer goes without the link, when the share cannot be made.
async fn conversation_link(state: &AppState, user: &User, conversation_id: &str) -> Option<String> {
    match sharing::share(state, user, conversation_id).await {
        Ok((share, _)) => Some(share.url),
        Err(error) => {
            tracing::warn!(%error, "no link to the conversation");
            None
        }
    }
}

/// The Block Kit input for an answer, with a signed chart link and `conversation_url`, the
/// link to the conversation in the web chat.
fn slack_answer(state: &AppState, response: &AskResponse, conversation_url: Option<String>) -> SlackAnswer {
    let answer = &response.answer;
    let base = state.base_url();
    let chart_image_url = response.chart.as_ref().and_then(|chart| {
        state
            .links()
            .url(&base, &chart.id, ChartFormat::Png, SystemTime::now())
            .map_err(|error| tracing::warn!(%error, "no chart link"))
            .ok()
    });
    SlackAnswer {
        question: answer.question.clone(),
        status: match answer.status {
            AnswerStatus::Answered => AnswerKind::Answered,
            AnswerStatus::NeedsClarification => AnswerKind::NeedsClarification,
            AnswerStatus::CannotAnswer => AnswerKind::CannotAnswer,
        },
        summary: answer.summary.clone(),
        columns: answer.columns.iter().map(|c| c.name.clone()).collect(),
        rows: answer.rows.clone(),
        truncated: answer.truncated,
        sql: answer.sql.clone(),
        chart_image_url,
        // The chart's own title: a follow-up's names what it changed ("only EMEA" alone would not).
        chart_title: answer.chart.as_ref().map(|chart| {
            chart
                .spec
                .as_ref()
                .and_then(|spec| spec["title"].as_str())
                .map_or_else(|| answer.question.clone(), str::to_string)
        }),
        conversation_url,
        clarification_options: answer.clarification.as_ref().map(|c| c.options.clone()).unwrap_or_default(),
        // The cross-check's verdict first: whether two independent routes agree is the first
        // thing to know about a number.
        notes: answer
            .cross_check
            .iter()
            .map(|check| check.message.clone())
            .chain(answer.notes.iter().cloned())
            .collect(),
        route: answer.route.clone(),
        snapshot_id: answer.snapshot_id.clone(),
    }
}
