//! `quarry review`: the review queue from the command line, on the same store as the server's
//! (questions quarry could not answer with confidence, handed to an analyst).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use quarry_server::review::{self, ReviewAnswerRequest, ReviewListParams};
use quarry_server::{AppState, User};
use quarry_settings::Settings;

use crate::serve_cmd::{open_pipeline, open_store, text_table};

/// `quarry review`.
#[derive(Subcommand)]
pub enum ReviewCommand {
    /// List the queue, oldest first.
    List {
        /// `open` or `answered` (default: every item).
        #[arg(long)]
        status: Option<String>,
        /// `cannot_answer`, `asked`, `thumbs_down` or `routes_disagree`.
        #[arg(long)]
        reason: Option<String>,
        /// Only this asker's items.
        #[arg(long)]
        asker: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one item with the asker's conversation, as JSON.
    Show {
        /// Its id, from `quarry review list`.
        id: String,
    },
    /// Answer an item: the answer goes into the asker's conversation (and to a Slack asker as a
    /// message); `--promote` makes the question and SQL a verified question.
    Answer {
        /// Its id, from `quarry review list`.
        id: String,
        /// The answer in words.
        #[arg(long)]
        text: String,
        /// The SQL behind it (it must pass the policy and run).
        #[arg(long)]
        sql: Option<String>,
        /// Promote the question and the SQL to a verified question.
        #[arg(long, requires = "sql")]
        promote: bool,
        /// Who answers (default: $USER); they must be an analyst of `[server] analysts`.
        #[arg(long)]
        by: Option<String>,
    },
}

/// Runs a review command. The CLI acts as the analyst it names, so `--by` must be one of
/// `[server] analysts`, as in the web app.
pub async fn review(settings: &Settings, command: ReviewCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    match command {
        ReviewCommand::List { status, reason, asker, limit, json } => {
            let params = ReviewListParams {
                status: status.map(|s| s.parse().map_err(anyhow::Error::msg)).transpose()?,
                reason: reason.map(|r| r.parse().map_err(anyhow::Error::msg)).transpose()?,
                asker,
                limit: Some(limit),
            };
            let state = AppState::new(settings.clone(), Arc::new(open_pipeline(settings, &store).await?), store)?;
            let items = review::list(&state, &database_reader(), params).await?.items;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = text_table(&["id", "entered", "status", "reason", "asker", "question", "answered by"]);
            for item in items {
                table.add_row(vec![
                    item.id,
                    item.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    item.status.to_string(),
                    item.reason.to_string(),
                    item.asker,
                    item.question,
                    item.answered_by.unwrap_or_default(),
                ]);
            }
            println!("{table}");
        }
        ReviewCommand::Show { id } => {
            let state = AppState::new(settings.clone(), Arc::new(open_pipeline(settings, &store).await?), store)?;
            let detail = review::detail(&state, &database_reader(), &id).await?;
            println!("{}", serde_json::to_string_pretty(&detail)?);
        }
        ReviewCommand::Answer { id, text, sql, promote, by } => {
            let analyst = answering_analyst(settings, by);
            if !analyst.analyst {
                anyhow::bail!(
                    "{} is not an analyst: add them to [server] analysts (or give --by with one who is)",
                    analyst.id
                );
            }
            let state = AppState::new(settings.clone(), Arc::new(open_pipeline(settings, &store).await?), store)?;
            let request = ReviewAnswerRequest { text, sql, promote };
            let item = review::answer(&state, &analyst, &id, &request)
                .await
                .with_context(|| format!("review item {id} was not answered"))?;
            println!(
                "answered {} for {} ({}){}",
                item.id,
                item.asker,
                item.delivery.as_deref().unwrap_or("not delivered"),
                item.verified_id.map(|v| format!("; promoted to verified question {v}")).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Who reads the queue from the command line: whoever can open the store's database can read
/// every item in it anyway, so the CLI reads as an analyst.
fn database_reader() -> User {
    User { id: std::env::var("USER").unwrap_or_else(|_| "cli".into()), via: "cli", analyst: true }
}

/// Who answers from the command line: `--by`, else `$USER`, an analyst only when `[server]
/// analysts` lists them, as in the web app.
fn answering_analyst(settings: &Settings, by: Option<String>) -> User {
    let id = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into());
    User::new(&settings.server, id, "cli", None)
}
