//! The review queue: questions handed to an analyst, and the analysts' answers.

use chrono::Utc;
use sqlx::any::AnyRow;

use crate::audit::insert_audit;
use crate::conversations::{TurnText, insert_turn};
use crate::error::{Error, Result, db, is_foreign_key_violation};
use crate::records::{NewReview, ReviewAnswer, ReviewFilter, ReviewRecord, ReviewStatus};
use crate::store::{Store, column, json, limit, millis, new_id, returned_row, time};

const COLUMNS: &str = "id, created_at, updated_at, status, reason, asker_id, channel, conversation_id, answer_id, \
    question, context, reply_url, reply_url_expires_at, answered_by, answered_at, answer_text, answer_sql, \
    verified_id, delivery";

impl Store {
    /// Puts a question in the review queue. An answer has one item: when it already has one,
    /// that item is returned unchanged (but for a Slack `reply_url` it lacked), with `false`;
    /// a new item comes with `true`.
    ///
    /// Fails with `not_found` when no turn has the answer id.
    pub async fn enqueue_review(&self, new: &NewReview) -> Result<(ReviewRecord, bool)> {
        const OP: &str = "enqueue_review";
        let id = new_id("rv");
        let now = millis(Utc::now());
        let sql = format!(
            "INSERT INTO review_items (id, created_at, updated_at, status, reason, asker_id, channel, conversation_id, \
               answer_id, question, context, reply_url, reply_url_expires_at) \
             VALUES ($1, $2, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (answer_id) DO UPDATE SET \
               reply_url = COALESCE(review_items.reply_url, excluded.reply_url), \
               reply_url_expires_at = COALESCE(review_items.reply_url_expires_at, excluded.reply_url_expires_at) \
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .bind(now)
            .bind(new.reason.as_str())
            .bind(&new.asker_id)
            .bind(&new.channel)
            .bind(&new.conversation_id)
            .bind(&new.answer_id)
            .bind(&new.question)
            .bind(new.context.to_string())
            .bind(new.reply_url.as_deref())
            .bind(new.reply_url_expires_at.map(millis))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| match is_foreign_key_violation(&e) {
                true => Error::NotFound { what: "answer", id: new.answer_id.clone() },
                false => db(OP)(e),
            })?;
        let record = review_from(&returned_row(rows, "review item", &new.answer_id)?, OP)?;
        let created = record.id == id;
        Ok((record, created))
    }

    /// The review item with this id.
    pub async fn review(&self, id: &str) -> Result<Option<ReviewRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM review_items WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db("review"))?;
        row.map(|row| review_from(&row, "review")).transpose()
    }

    /// The review item about this answer, if it has one.
    pub async fn review_for_answer(&self, answer_id: &str) -> Result<Option<ReviewRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM review_items WHERE answer_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(answer_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("review_for_answer"))?;
        row.map(|row| review_from(&row, "review_for_answer")).transpose()
    }

    /// The review items about the answers of one conversation, in one query (what its view
    /// shows beside its turns).
    pub async fn reviews_in_conversation(&self, conversation_id: &str) -> Result<Vec<ReviewRecord>> {
        const OP: &str = "reviews_in_conversation";
        // Through the turns' answer ids, which both tables index (review_items.conversation_id
        // has no index).
        let sql = format!(
            "SELECT {COLUMNS} FROM review_items WHERE answer_id IN \
               (SELECT answer_id FROM turns WHERE conversation_id = $1)"
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(conversation_id).fetch_all(&self.pool).await.map_err(db(OP))?;
        rows.iter().map(|row| review_from(row, OP)).collect()
    }

    /// The review items `filter` selects, oldest first (the queue's order: the longest
    /// waiting is answered first).
    pub async fn list_reviews(&self, filter: &ReviewFilter) -> Result<Vec<ReviewRecord>> {
        const OP: &str = "list_reviews";
        let sql = format!(
            "SELECT {COLUMNS} FROM review_items \
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR reason = $2) AND ($3 IS NULL OR asker_id = $3) \
             ORDER BY created_at, id LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.status.map(ReviewStatus::as_str))
            .bind(filter.reason.map(|r| r.as_str()))
            .bind(filter.asker_id.as_deref())
            .bind(limit(filter.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db(OP))?;
        rows.iter().map(|row| review_from(row, OP)).collect()
    }

    /// How many items wait for an analyst.
    pub async fn open_review_count(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM review_items WHERE status = 'open'")
            .fetch_one(&self.pool)
            .await
            .map_err(db("open_review_count"))?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Records an analyst's answer, in one transaction: the item becomes answered, the answer's
    /// turn is added to the asker's conversation (when [`ReviewAnswer::turn`] is given), and
    /// the audit record is written. Nothing is stored when any of it fails.
    ///
    /// Fails with `not_found` when there is no such item and `conflict` when it was answered
    /// already (by someone else, in between): an item is answered once.
    pub async fn answer_review(&self, answer: &ReviewAnswer) -> Result<ReviewRecord> {
        const OP: &str = "answer_review";
        let mut tx = self.pool.begin().await.map_err(db(OP))?;
        let now = millis(Utc::now());
        let sql = format!(
            "UPDATE review_items SET status = 'answered', updated_at = $2, answered_by = $3, answered_at = $2, \
               answer_text = $4, answer_sql = $5, verified_id = $6, delivery = $7 \
             WHERE id = $1 AND status = 'open' RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&answer.review_id)
            .bind(now)
            .bind(&answer.analyst)
            .bind(&answer.text)
            .bind(answer.sql.as_deref())
            .bind(answer.verified_id.as_deref())
            .bind(&answer.delivery)
            .fetch_all(&mut *tx)
            .await
            .map_err(db(OP))?;
        let Some(row) = rows.first() else {
            drop(tx);
            return Err(match self.review(&answer.review_id).await? {
                Some(_) => Error::Conflict { what: "answer to review item", id: answer.review_id.clone() },
                None => Error::NotFound { what: "review item", id: answer.review_id.clone() },
            });
        };
        let record = review_from(row, OP)?;
        if let Some(turn) = &answer.turn {
            insert_turn(&mut tx, &record.conversation_id, None, turn, &TurnText::of(turn)).await?;
        }
        insert_audit(&mut tx, &answer.audit, &answer.audit.record.to_string()).await?;
        tx.commit().await.map_err(db(OP))?;
        Ok(record)
    }

    /// Records how an answered item's answer reached its asker (or why it did not).
    pub async fn set_review_delivery(&self, id: &str, delivery: &str) -> Result<ReviewRecord> {
        const OP: &str = "set_review_delivery";
        let sql = format!("UPDATE review_items SET delivery = $2, updated_at = $3 WHERE id = $1 RETURNING {COLUMNS}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(delivery)
            .bind(millis(Utc::now()))
            .fetch_all(&self.pool)
            .await
            .map_err(db(OP))?;
        match rows.first() {
            Some(row) => review_from(row, OP),
            None => Err(Error::NotFound { what: "review item", id: id.to_owned() }),
        }
    }
}

fn review_from(row: &AnyRow, op: &'static str) -> Result<ReviewRecord> {
    let id: String = column(row, "id", op)?;
    let corrupt = |reason: String| Error::Corrupt { what: "review item", id: id.clone(), reason };
    let status: String = column(row, "status", op)?;
    let reason: String = column(row, "reason", op)?;
    let context: String = column(row, "context", op)?;
    let optional_time = |name: &str| -> Result<Option<chrono::DateTime<Utc>>> {
        let ms: Option<i64> = column(row, name, op)?;
        ms.map(|ms| time(ms, "review item", &id)).transpose()
    };
    Ok(ReviewRecord {
        created_at: time(column(row, "created_at", op)?, "review item", &id)?,
        updated_at: time(column(row, "updated_at", op)?, "review item", &id)?,
        status: status.parse().map_err(corrupt)?,
        reason: reason.parse().map_err(corrupt)?,
        asker_id: column(row, "asker_id", op)?,
        channel: column(row, "channel", op)?,
        conversation_id: column(row, "conversation_id", op)?,
        answer_id: column(row, "answer_id", op)?,
        question: column(row, "question", op)?,
        context: json(&context, "review item", &id)?,
        reply_url: column(row, "reply_url", op)?,
        reply_url_expires_at: optional_time("reply_url_expires_at")?,
        answered_by: column(row, "answered_by", op)?,
        answered_at: optional_time("answered_at")?,
        answer_text: column(row, "answer_text", op)?,
        answer_sql: column(row, "answer_sql", op)?,
        verified_id: column(row, "verified_id", op)?,
        delivery: column(row, "delivery", op)?,
        id,
    })
}
