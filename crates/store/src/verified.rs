//! Verified questions: questions with SQL a person has checked.

use chrono::Utc;
use sqlx::any::AnyRow;

use quarry_question::normalize_question;

use crate::error::{Result, db};
use crate::records::{NewVerified, VerifiedRecord};
use crate::store::{Store, column, millis, new_id, returned_row, time};

impl Store {
    /// Adds a verified question.
    ///
    /// Questions are matched as the planner reads them (see [`normalize_question`]: case,
    /// spacing, closing punctuation and hyphens do not matter):
    /// adding a question that matches one already there replaces that one's text, SQL,
    /// `added_by` and source answer, keeping its id and `created_at`, instead of adding a
    /// duplicate.
    pub async fn add_verified(&self, new: &NewVerified) -> Result<VerifiedRecord> {
        const OP: &str = "add_verified";
        let now = millis(Utc::now());
        let rows = sqlx::query(
            "INSERT INTO verified (id, question, question_key, sql_text, added_by, source_answer_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (question_key) DO UPDATE SET question = excluded.question, sql_text = excluded.sql_text, \
               added_by = excluded.added_by, source_answer_id = excluded.source_answer_id, \
               updated_at = excluded.updated_at \
             RETURNING id, question, sql_text, added_by, source_answer_id, created_at, updated_at",
        )
        .bind(new_id("vq"))
        .bind(&new.question)
        .bind(normalize_question(&new.question))
        .bind(&new.sql)
        .bind(&new.added_by)
        .bind(new.source_answer_id.as_deref())
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db(OP))?;
        verified_from(&returned_row(rows, "verified question", &new.question)?, OP)
    }

    /// Every verified question, oldest first.
    pub async fn list_verified(&self) -> Result<Vec<VerifiedRecord>> {
        let rows = sqlx::query(
            "SELECT id, question, sql_text, added_by, source_answer_id, created_at, updated_at FROM verified \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("list_verified"))?;
        rows.iter().map(|row| verified_from(row, "list_verified")).collect()
    }

    /// The verified question that matches `question` (ignoring case and runs of whitespace, see
    /// [`normalize_question`]), if there is one.
    pub async fn verified_for_question(&self, question: &str) -> Result<Option<VerifiedRecord>> {
        let row = sqlx::query(
            "SELECT id, question, sql_text, added_by, source_answer_id, created_at, updated_at FROM verified \
             WHERE question_key = $1",
        )
        .bind(normalize_question(question))
        .fetch_optional(&self.pool)
        .await
        .map_err(db("verified_for_question"))?;
        row.map(|row| verified_from(&row, "verified_for_question")).transpose()
    }

    /// Removes a verified question; false when there was none with this id.
    pub async fn remove_verified(&self, id: &str) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM verified WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("remove_verified"))?;
        Ok(deleted.rows_affected() > 0)
    }
}

/// Recomputes the key of every verified question with [`normalize_question`], for databases
/// whose keys an earlier rule wrote (lowercase and single spaces only). The new rule is
/// coarser, so questions that were two may now be one ("Revenue by region?" and "revenue by
/// region"): the one updated last is kept, as [`Store::add_verified`] would have kept it.
/// Returns how many keys changed and how many duplicates were removed.
pub(crate) async fn rekey_verified(pool: &sqlx::AnyPool) -> Result<(usize, usize)> {
    const OP: &str = "rekey_verified";
    let mut tx = pool.begin().await.map_err(db(OP))?;
    let rows = sqlx::query("SELECT id, question, question_key FROM verified ORDER BY updated_at DESC, id DESC")
        .fetch_all(&mut *tx)
        .await
        .map_err(db(OP))?;
    let mut kept = std::collections::HashSet::new();
    let mut duplicates = Vec::new();
    let mut changed = Vec::new();
    for row in &rows {
        let id: String = column(row, "id", OP)?;
        let question: String = column(row, "question", OP)?;
        let stored: String = column(row, "question_key", OP)?;
        let key = normalize_question(&question);
        if !kept.insert(key.clone()) {
            duplicates.push(id);
        } else if key != stored {
            changed.push((id, key));
        }
    }
    for id in &duplicates {
        sqlx::query("DELETE FROM verified WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db(OP))?;
    }
    // Two passes, the first through keys no normalized question can have (it drops `#`), so that a key being moved never meets
    // the unique index before the row holding it has moved too.
    for (id, _) in &changed {
        sqlx::query("UPDATE verified SET question_key = $1 WHERE id = $2")
            .bind(format!("#rekey:{id}"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
    }
    for (id, key) in &changed {
        sqlx::query("UPDATE verified SET question_key = $1 WHERE id = $2")
            .bind(key)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db(OP))?;
    }
    tx.commit().await.map_err(db(OP))?;
    if !changed.is_empty() || !duplicates.is_empty() {
        tracing::info!(
            rekeyed = changed.len(),
            merged = duplicates.len(),
            "verified questions rekeyed with the shared question normaliser"
        );
    }
    Ok((changed.len(), duplicates.len()))
}

fn verified_from(row: &AnyRow, op: &'static str) -> Result<VerifiedRecord> {
    let id: String = column(row, "id", op)?;
    Ok(VerifiedRecord {
        question: column(row, "question", op)?,
        sql: column(row, "sql_text", op)?,
        added_by: column(row, "added_by", op)?,
        source_answer_id: column(row, "source_answer_id", op)?,
        created_at: time(column(row, "created_at", op)?, "verified question", &id)?,
        updated_at: time(column(row, "updated_at", op)?, "verified question", &id)?,
        id,
    })
}
