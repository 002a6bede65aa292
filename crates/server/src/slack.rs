//! `POST /slack/commands`: the `/ask` slash command. The request is verified (signature,
//! age, replay), acknowledged at once with an ephemeral "working on it", answered in the
//! background, and the answer posted to the command's `response_url` as Block Kit.

use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use chrono::Utc;
use quarry_answer::{AnswerStatus, StageEvent};
use quarry_settings::SlackVisibility;
use quarry_slack::{
    AnswerKind, ChartFormat, CommandPolicy, ResponseType, SIGNATURE_HEADER, SlackAnswer, SlashCommand, TIMESTAMP_HEADER,
};
use serde_json::Value;

use crate::answering::{self, AskRequest, AskResponse, Channel};
use crate::error::ApiError;
use crate::identity::User;
use crate::request_id::current_request_id;
use crate::state::AppState;

/// Handles one slash command; see the module documentation.
pub async fn command(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = |name: &str| state.metrics().slack_commands.with_label_values(&[name]).inc();
    let verifier = state.slack().ok_or(ApiError::SlackDisabled)?;
    let body = body.map_err(|_| ApiError::PayloadTooLarge)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(error) = verifier.verify(header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), &body, SystemTime::now()) {
        outcome("bad_signature");
        return Err(error.into());
    }
    let slack = &state.config().server.slack;
    let policy =
        CommandPolicy { allow_http: slack.allow_http_response_url, allowed_hosts: slack.response_hosts.clone() };
    let command = SlashCommand::parse(&body, &policy)?;
    if !state.store().claim_slack_trigger(&command.trigger_id, Utc::now()).await? {
        outcome("replay");
        tracing::warn!(trigger_id = %command.trigger_id, "a replayed Slack command was dropped");
        return Ok(Json(quarry_slack::error_message(
            "This command was already received; its answer is on the way.",
            None,
        )));
    }
    let Some(question) = command.question().map(str::to_string) else {
        outcome("help");
        return Ok(Json(quarry_slack::help_message(&command.command, state.suggestions())));
    };
    let user = User { id: command.user_key(), via: "slack" };
    if let Err(error) = answering::admit(&state, &user, Channel::Slack, &question) {
        outcome(error.code());
        return Ok(Json(quarry_slack::error_message(&error.to_string(), None)));
    }
    outcome("accepted");
    let request_id = current_request_id().unwrap_or_else(crate::request_id::new_request_id);
    let ack = quarry_slack::ack_message(&question);
    let background = state.clone();
    tokio::spawn(crate::request_id::scoped(request_id, async move {
        answer_in_background(background, user, command, question).await;
    }));
    Ok(Json(ack))
}

/// Answers the question and posts the answer (or the error, in plain words) to Slack.
async fn answer_in_background(state: AppState, user: User, command: SlashCommand, question: String) {
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
        Ok(response) => quarry_slack::answer_message(&slack_answer(&state, &response), response_type(&state)),
        Err(error) => quarry_slack::error_message(&error.to_string(), hint(&error)),
    };
    let responder = state.responder();
    match responder.post(&command.response_url, &payload).await {
        Ok(()) => {}
        // Slack refuses a whole message when it cannot fetch an image (e.g. a private
        // public_base_url); the answer without the chart is better than none.
        Err(quarry_slack::PostError::Status { status: 400, .. }) => {
            let plain = quarry_slack::without_images(&payload);
            if let Err(error) = responder.post(&command.response_url, &plain).await {
                tracing::error!(%error, "could not post the answer to Slack");
            }
        }
        Err(error) => tracing::error!(%error, "could not post the answer to Slack"),
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

/// The Block Kit input for an answer, with a signed chart link and a link to the web chat.
fn slack_answer(state: &AppState, response: &AskResponse) -> SlackAnswer {
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
        chart_title: answer.chart.as_ref().map(|_| answer.question.clone()),
        conversation_url: Some(format!("{base}/#c={}", response.conversation_id)),
        clarification_options: answer.clarification.as_ref().map(|c| c.options.clone()).unwrap_or_default(),
        notes: answer.notes.clone(),
        route: answer.route.clone(),
        snapshot_id: answer.snapshot_id.clone(),
    }
}
