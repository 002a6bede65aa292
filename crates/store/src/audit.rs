//! The audit log: one record per request.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, db, is_unique_violation};
use crate::records::{AuditRecord, AuditSummary};
use crate::store::{Store, column, json, limit, millis, time};

/// Most candidates an `ambiguous` error lists.
const MAX_CANDIDATES: usize = 5;

impl Store {
    /// Appends a record to the audit log. Fails with `conflict` when its id is already there.
    pub async fn write_audit(&self, record: &AuditRecord) -> Result<()> {
        let text = record.record.to_string();
        let mut conn = self.pool.acquire().await.map_err(db("write_audit"))?;
        insert_audit(&mut conn, record, &text).await
    }

    /// The audit record with this id, or with the only id that starts with it.
    ///
    /// Fails with `ambiguous` (listing up to five candidates) when several ids start with it.
    pub async fn audit(&self, id_or_prefix: &str) -> Result<Option<AuditRecord>> {
        const OP: &str = "audit";
        let exact = sqlx::query(
            "SELECT id, client_request_id, created_at, user_id, channel, question, conversation_id, answer_id, \
               outcome, record FROM audit WHERE id = $1",
        )
        .bind(id_or_prefix)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(OP))?;
        if let Some(row) = exact {
            return audit_from(&row).map(Some);
        }
        if id_or_prefix.is_empty() {
            return Ok(None);
        }
        // substr rather than LIKE: LIKE treats `%` and `_` as wildcards, and ignores case on SQLite only.
        let rows = sqlx::query(
            "SELECT id, client_request_id, created_at, user_id, channel, question, conversation_id, answer_id, \
               outcome, record FROM audit WHERE substr(id, 1, length($1)) = $1 ORDER BY id LIMIT $2",
        )
        .bind(id_or_prefix)
        .bind(MAX_CANDIDATES as i64 + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(db(OP))?;
        match rows.as_slice() {
            [] => Ok(None),
            [row] => audit_from(row).map(Some),
            rows => {
                let candidates = rows
                    .iter()
                    .take(MAX_CANDIDATES)
                    .map(|row| column(row, "id", OP))
                    .collect::<Result<Vec<String>>>()?;
                Err(Error::Ambiguous { prefix: id_or_prefix.to_owned(), candidates })
            }
        }
    }

    /// The latest audit records, newest first.
    pub async fn list_audit(&self, max: u32) -> Result<Vec<AuditSummary>> {
        const OP: &str = "list_audit";
        let rows = sqlx::query(
            "SELECT id, created_at, user_id, channel, question, outcome FROM audit \
             ORDER BY created_at DESC, id DESC LIMIT $1",
        )
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db(OP))?;
        rows.iter()
            .map(|row| {
                let id: String = column(row, "id", OP)?;
                Ok(AuditSummary {
                    created_at: time(column(row, "created_at", OP)?, "audit record", &id)?,
                    user_id: column(row, "user_id", OP)?,
                    channel: column(row, "channel", OP)?,
                    question: column(row, "question", OP)?,
                    outcome: column(row, "outcome", OP)?,
                    id,
                })
            })
            .collect()
    }
}

/// Inserts `record` on `conn`, which may be inside a transaction (an answer's turn and its
/// audit record are written together); `text` is its document, serialized.
pub(crate) async fn insert_audit(conn: &mut AnyConnection, record: &AuditRecord, text: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (id, client_request_id, created_at, user_id, channel, question, conversation_id, \
           answer_id, outcome, record) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&record.id)
    .bind(record.client_request_id.as_deref())
    .bind(millis(record.created_at))
    .bind(&record.user_id)
    .bind(&record.channel)
    .bind(&record.question)
    .bind(record.conversation_id.as_deref())
    .bind(record.answer_id.as_deref())
    .bind(&record.outcome)
    .bind(text)
    .execute(conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => Error::Conflict { what: "audit record", id: record.id.clone() },
        false => db("write_audit")(e),
    })?;
    Ok(())
}

fn audit_from(row: &AnyRow) -> Result<AuditRecord> {
    const OP: &str = "audit";
    let id: String = column(row, "id", OP)?;
    let record: String = column(row, "record", OP)?;
    Ok(AuditRecord {
        client_request_id: column(row, "client_request_id", OP)?,
        created_at: time(column(row, "created_at", OP)?, "audit record", &id)?,
        user_id: column(row, "user_id", OP)?,
        channel: column(row, "channel", OP)?,
        question: column(row, "question", OP)?,
        conversation_id: column(row, "conversation_id", OP)?,
        answer_id: column(row, "answer_id", OP)?,
        outcome: column(row, "outcome", OP)?,
        record: json(&record, "audit record", &id)?,
        id,
    })
}
