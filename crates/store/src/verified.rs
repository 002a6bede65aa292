//! Verified questions: questions with SQL a person has checked.

use chrono::Utc;
use sqlx::any::AnyRow;

use crate::error::{Result, db};
use crate::records::{NewVerified, VerifiedRecord};
use crate::store::{Store, column, millis, new_id, returned_row, time};

impl Store {
    /// Adds a verified question.
    ///
    /// Questions are matched ignoring case and runs of whitespace (see [`normalize_question`]):
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

/// The key verified questions are matched on: lowercase, trimmed, whitespace runs as one space.
pub fn normalize_question(question: &str) -> String {
    let words: Vec<&str> = question.split_whitespace().collect();
    words.join(" ").to_lowercase()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_match_ignoring_case_and_whitespace() {
        assert_eq!(normalize_question("  Revenue\tBY  region?\n"), "revenue by region?");
        assert_eq!(normalize_question("ÉTÉ sales"), normalize_question("été   SALES"));
        assert_ne!(normalize_question("revenue by region"), normalize_question("revenue by regions"));
    }
}
