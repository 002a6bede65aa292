//! `quarry serve`, and the commands over what the server stores: `quarry audit`,
//! `quarry feedback` and `quarry verified`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use quarry_answer::Pipeline;
use quarry_bootstrap::resolve_snapshot;
use quarry_semantic::VerifiedQuery;
use quarry_settings::Settings;
use quarry_store::{NewVerified, Rating, Store};

/// Opens the configured database (creating and migrating it on first use).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let home = settings.home_dir()?;
    Store::open(&settings.storage, &home).await.context("cannot open the database ([storage] url)")
}

/// The pipeline, with the verified questions promoted into the store.
pub async fn open_pipeline(settings: &Settings, store: &Store) -> anyhow::Result<Pipeline> {
    let verified =
        store.list_verified().await?.into_iter().map(|v| VerifiedQuery { question: v.question, sql: v.sql }).collect();
    Ok(quarry_bootstrap::open_pipeline_with_verified(settings, resolve_snapshot(settings)?, verified).await?)
}

/// `quarry serve`.
pub async fn serve(settings: Settings, addr: Option<String>) -> anyhow::Result<ExitCode> {
    let mut settings = settings;
    if let Some(addr) = addr {
        settings.server.addr = addr;
    }
    let addr: SocketAddr = settings
        .server
        .addr
        .parse()
        .with_context(|| format!("--addr {} is not HOST:PORT (e.g. 127.0.0.1:8080)", settings.server.addr))?;
    let store = open_store(&settings).await?;
    let pipeline = Arc::new(open_pipeline(&settings, &store).await?);
    let snapshot = pipeline.snapshot().manifest.id.clone();
    let notice = crate::own_data::demo_notice(&settings, pipeline.snapshot(), true);
    let backend = store.describe().to_string();
    let state = quarry_server::AppState::new(settings.clone(), pipeline, store)?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr}; is another server using the port? Try --addr 127.0.0.1:0")
    })?;
    let bound = listener.local_addr()?;
    eprintln!("quarry serving snapshot {snapshot} on http://{bound} (database: {backend})");
    eprintln!("  web chat: http://{bound}/   API: http://{bound}/api/v1/openapi.json   metrics: /metrics");
    if let Some(notice) = notice {
        eprintln!("  note: {notice}");
    }
    quarry_server::serve_on(state, listener).await?;
    Ok(ExitCode::SUCCESS)
}

/// `quarry audit`.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print one audit record: request id, user, question, retrieval hits, prompt hash, raw
    /// model output, every SQL attempt and its verdict, snapshot, rows, timings, tokens.
    Show {
        /// The request id (or an unambiguous prefix), from the x-request-id header or an error.
        id: String,
    },
    /// List the latest audit records.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs an audit command.
pub async fn audit(settings: &Settings, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    match command {
        AuditCommand::Show { id } => {
            let record = store
                .audit(&id)
                .await?
                .with_context(|| format!("there is no audit record {id}; `quarry audit list` shows the latest"))?;
            crate::output::print_json(&record.record)?;
        }
        AuditCommand::List { limit } => {
            let mut table = text_table(&["request id", "time", "user", "channel", "outcome", "question"]);
            for record in store.list_audit(limit).await? {
                table.add_row(vec![
                    record.id,
                    record.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    record.user_id,
                    record.channel,
                    record.outcome,
                    record.question,
                ]);
            }
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `quarry feedback`.
#[derive(Subcommand)]
pub enum FeedbackCommand {
    /// List the latest feedback, to find answers worth promoting with `quarry verified add`.
    List {
        /// Only `up` or `down`.
        #[arg(long)]
        rating: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs a feedback command.
pub async fn feedback(settings: &Settings, command: FeedbackCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let FeedbackCommand::List { rating, limit } = command;
    let rating: Option<Rating> =
        rating.map(|r| r.parse().map_err(|_| anyhow::anyhow!("--rating must be up or down, not {r}"))).transpose()?;
    let mut table = text_table(&["answer id", "time", "user", "rating", "comment", "question"]);
    for record in store.list_feedback(limit, rating).await? {
        let question =
            store.turn_by_answer(&record.answer_id).await?.map(|(_, turn)| turn.question).unwrap_or_default();
        table.add_row(vec![
            record.answer_id,
            record.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            record.user_id,
            record.rating.to_string(),
            record.comment.unwrap_or_default(),
            question,
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// `quarry verified`.
#[derive(Subcommand)]
pub enum VerifiedCommand {
    /// Promote a question and its SQL into the verified set that retrieval and the model's
    /// examples use: from an answer (`--answer ID`, e.g. one with a thumbs up) or given
    /// (`--question Q --sql SQL`). The SQL must pass the policy and run.
    Add {
        /// An answer id from the web chat, the API or `quarry feedback list`.
        #[arg(long, conflicts_with_all = ["question", "sql"], required_unless_present = "question")]
        answer: Option<String>,
        /// The question.
        #[arg(long, requires = "sql")]
        question: Option<String>,
        /// The SQL that answers it.
        #[arg(long, requires = "question")]
        sql: Option<String>,
        /// Who checked it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// List the promoted verified questions.
    List,
    /// Remove a promoted verified question.
    Remove {
        /// Its id, from `quarry verified list`.
        id: String,
    },
}

/// Runs a verified command.
pub async fn verified(settings: &Settings, command: VerifiedCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    match command {
        VerifiedCommand::Add { answer, question, sql, by } => {
            let (question, sql, source) = match answer {
                Some(answer_id) => {
                    let (_, turn) = store.turn_by_answer(&answer_id).await?.with_context(|| {
                        format!("there is no answer {answer_id}; `quarry feedback list` shows answers with feedback")
                    })?;
                    let response: quarry_server::AskResponse = serde_json::from_value(turn.answer)
                        .with_context(|| format!("the stored answer {answer_id} cannot be read"))?;
                    // The SQL as written, before the policy added its row limit.
                    let written =
                        response.answer.attempt_log.iter().rev().find(|a| a.verdict == "ok").map(|a| a.sql.clone());
                    let sql = written
                        .or(response.answer.sql)
                        .with_context(|| format!("answer {answer_id} has no SQL (it was not answered)"))?;
                    (turn.question, sql, Some(answer_id))
                }
                None => (question.unwrap_or_default(), sql.unwrap_or_default(), None),
            };
            // The SQL must still pass the policy and run on the current snapshot.
            let pipeline = quarry_bootstrap::open_pipeline(settings).await?;
            let checked = pipeline.run_sql(&sql).await.context("the SQL does not pass the policy or does not run")?;
            let added_by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "cli".into());
            let record = store.add_verified(&NewVerified { question, sql, added_by, source_answer_id: source }).await?;
            println!(
                "verified {}: {:?} ({} rows on snapshot {}); the retrieval index picks it up on the next start",
                record.id,
                record.question,
                checked.rows.len(),
                checked.snapshot_id
            );
        }
        VerifiedCommand::List => {
            let mut table = text_table(&["id", "question", "sql", "added by", "from answer"]);
            for record in store.list_verified().await? {
                table.add_row(vec![
                    record.id,
                    record.question,
                    record.sql,
                    record.added_by,
                    record.source_answer_id.unwrap_or_default(),
                ]);
            }
            println!("{table}");
        }
        VerifiedCommand::Remove { id } => {
            if !store.remove_verified(&id).await? {
                anyhow::bail!("there is no verified question {id}; `quarry verified list` shows them");
            }
            println!("removed {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn text_table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header(header.to_vec());
    table
}
