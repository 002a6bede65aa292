//! Shared fixtures: the demo layer with a hand-built manifest of the demo snapshot's schema,
//! a fixed prompt context, and scripted chat-completion answers.
#![allow(dead_code)]

use std::collections::BTreeMap;

use quarry_model::{PromptContext, Relevant, prompt_context_from_layer};
use quarry_semantic::SemanticLayer;
use quarry_snapshot::{ColumnEntry, Manifest, SnapshotSource, TableEntry};

/// The demo warehouse's schema as its manifest records it (Arrow type names), without
/// generating the data.
pub fn demo_manifest() -> Manifest {
    let big = "Int64";
    let int = "Int32";
    let text = "Utf8";
    let ts = "Timestamp(µs)";
    let money = "Decimal128(12, 2)";
    let tables: [(&str, &[(&str, &str)]); 7] = [
        (
            "accounts",
            &[
                ("account_id", big),
                ("name", text),
                ("industry", text),
                ("country", text),
                ("region", text),
                ("employee_band", text),
                ("created_at", ts),
            ],
        ),
        (
            "users",
            &[
                ("user_id", big),
                ("account_id", big),
                ("email", text),
                ("full_name", text),
                ("role", text),
                ("signup_at", ts),
                ("signup_channel", text),
                ("signup_platform", text),
                ("country", text),
            ],
        ),
        (
            "subscriptions",
            &[
                ("subscription_id", big),
                ("account_id", big),
                ("plan", text),
                ("billing_period", text),
                ("seats", int),
                ("mrr_usd", money),
                ("status", text),
                ("started_at", ts),
                ("ended_at", ts),
                ("cancel_reason", text),
            ],
        ),
        (
            "invoices",
            &[
                ("invoice_id", big),
                ("account_id", big),
                ("subscription_id", big),
                ("issued_at", ts),
                ("amount_usd", money),
                ("status", text),
                ("paid_at", ts),
            ],
        ),
        (
            "events",
            &[
                ("event_id", big),
                ("user_id", big),
                ("account_id", big),
                ("event_time", ts),
                ("event_name", text),
                ("feature", text),
                ("platform", text),
                ("session_id", big),
            ],
        ),
        (
            "support_tickets",
            &[
                ("ticket_id", big),
                ("account_id", big),
                ("user_id", big),
                ("created_at", ts),
                ("resolved_at", ts),
                ("priority", text),
                ("category", text),
                ("channel", text),
                ("first_response_minutes", int),
                ("csat_score", int),
            ],
        ),
        (
            "experiment_assignments",
            &[
                ("user_id", big),
                ("experiment_name", text),
                ("variant", text),
                ("assigned_at", ts),
                ("converted", "Boolean"),
                ("converted_at", ts),
            ],
        ),
    ];
    Manifest {
        format_version: 1,
        id: "snap-0123456789abcdef".into(),
        as_of: chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        created_at: chrono::DateTime::from_timestamp(1_767_139_200, 0).unwrap(),
        source: SnapshotSource::Demo { seed: 42, scale: 1 },
        source_dialect: None,
        tables: tables
            .iter()
            .map(|(name, columns)| TableEntry {
                name: name.to_string(),
                file: format!("{name}.parquet"),
                rows: 1000,
                bytes: 10_000,
                blake3: "0".repeat(64),
                columns: columns
                    .iter()
                    .map(|(c, t)| ColumnEntry { name: c.to_string(), data_type: t.to_string(), nullable: false })
                    .collect(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
            })
            .collect(),
        notes: Vec::new(),
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// What retrieval might find for "Revenue from German customers by plan last month".
pub fn revenue_relevant() -> Relevant {
    let mut sample_values = BTreeMap::new();
    sample_values.insert(("accounts".to_string(), "country".to_string()), strings(&["US", "DE", "GB", "FR"]));
    sample_values
        .insert(("subscriptions".to_string(), "plan".to_string()), strings(&["free", "starter", "pro", "enterprise"]));
    sample_values
        .insert(("invoices".to_string(), "status".to_string()), strings(&["paid", "open", "void", "refunded"]));
    // Personal: must never appear.
    sample_values.insert(("users".to_string(), "email".to_string()), strings(&["ana@example.com"]));
    Relevant {
        tables: strings(&["accounts", "subscriptions", "users"]),
        metrics: strings(&["revenue"]),
        verified: vec![2, 1],
        values: vec![
            ("accounts".into(), "country".into(), "DE".into()),
            ("users".into(), "email".into(), "ana@example.com".into()),
        ],
        sample_values,
    }
}

pub const REVENUE_QUESTION: &str = "Revenue from German customers by plan last month";

/// The fixed context of the golden prompts.
pub fn revenue_context() -> PromptContext {
    let layer = SemanticLayer::demo();
    prompt_context_from_layer(&layer, &demo_manifest(), REVENUE_QUESTION, &revenue_relevant())
}

/// A chat completion whose message content is `content`.
pub fn completion(content: &str, prompt_tokens: u64, completion_tokens: u64) -> serde_json::Value {
    serde_json::json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_767_139_200,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
    })
}

/// The JSON answer a model gives for `sql`.
pub fn sql_answer(sql: &str) -> String {
    serde_json::json!({"sql": sql, "explanation": "Sums paid invoices.", "chart": null, "cannot_answer": null})
        .to_string()
}
