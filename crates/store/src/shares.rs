//! Conversation shares: how a conversation's owner lets others read it.

use chrono::Utc;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, db};
use crate::records::ShareRecord;
use crate::store::{Store, column, millis, time};

impl Store {
    /// The conversation's share, created if it has none yet: a conversation has one token, so
    /// every link to it is the same. Returns the share and whether this call created it.
    ///
    /// Fails with `not_found` when the conversation does not exist or is not `owner_id`'s,
    /// alike, so that a caller cannot tell someone else's conversation from a missing one.
    pub async fn share_conversation(&self, conversation_id: &str, owner_id: &str) -> Result<(ShareRecord, bool)> {
        const OP: &str = "share_conversation";
        // One statement checks ownership and inserts, so a concurrent share of the same
        // conversation is a no-op here rather than a second token.
        let inserted = sqlx::query(
            "INSERT INTO conversation_shares (token, conversation_id, created_by, created_at) \
             SELECT $1, id, user_id, $2 FROM conversations WHERE id = $3 AND user_id = $4 \
             ON CONFLICT (conversation_id) DO NOTHING",
        )
        .bind(new_token())
        .bind(millis(Utc::now()))
        .bind(conversation_id)
        .bind(owner_id)
        .execute(&self.pool)
        .await
        .map_err(db(OP))?;
        let row = sqlx::query(
            "SELECT s.token, s.conversation_id, s.created_by, s.created_at FROM conversation_shares s \
             JOIN conversations c ON c.id = s.conversation_id WHERE s.conversation_id = $1 AND c.user_id = $2",
        )
        .bind(conversation_id)
        .bind(owner_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(OP))?;
        match row {
            Some(row) => Ok((share_from(&row, OP)?, inserted.rows_affected() == 1)),
            None => Err(Error::NotFound { what: "conversation", id: conversation_id.to_owned() }),
        }
    }
}

/// A new share token: 128 random bits, as a link's only protection is that it cannot be guessed.
fn new_token() -> String {
    format!("sh-{:032x}", rand::random::<u128>())
}

fn share_from(row: &AnyRow, op: &'static str) -> Result<ShareRecord> {
    let token: String = column(row, "token", op)?;
    Ok(ShareRecord {
        conversation_id: column(row, "conversation_id", op)?,
        created_by: column(row, "created_by", op)?,
        created_at: time(column(row, "created_at", op)?, "share", &token)?,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with("sh-") && a.len() == 35, "{a}");
        assert_ne!(a, b);
    }
}
