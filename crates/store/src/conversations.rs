//! Conversations and their turns.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, db, is_unique_violation};
use crate::records::{ConversationRecord, ConversationSummary, NewConversation, NewTurn, TurnRecord};
use crate::store::{Store, column, json, limit, millis, small, time};

/// Longest title, in characters.
pub const TITLE_CHARS: usize = 120;

impl Store {
    /// Starts a conversation with no turns, an empty title and a `null` state.
    ///
    /// Fails with `conflict` when the id is taken.
    pub async fn create_conversation(&self, new: &NewConversation) -> Result<ConversationRecord> {
        let mut conn = self.pool.acquire().await.map_err(db("create_conversation"))?;
        insert_conversation(&mut conn, new, Utc::now()).await?;
        drop(conn);
        self.conversation(&new.id).await?.ok_or_else(|| Error::NotFound { what: "conversation", id: new.id.clone() })
    }

    /// The conversation with this id.
    pub async fn conversation(&self, id: &str) -> Result<Option<ConversationRecord>> {
        let row = sqlx::query(
            "SELECT id, user_id, channel, title, state, created_at, updated_at FROM conversations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("conversation"))?;
        row.map(|row| conversation_from(&row, "conversation")).transpose()
    }

    /// The user's conversations, most recently updated first.
    pub async fn list_conversations(&self, user_id: &str, max: u32) -> Result<Vec<ConversationSummary>> {
        const OP: &str = "list_conversations";
        let rows = sqlx::query(
            "SELECT c.id, c.title, c.channel, c.created_at, c.updated_at, \
               (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS turns \
             FROM conversations c WHERE c.user_id = $1 ORDER BY c.updated_at DESC, c.id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db(OP))?;
        rows.iter()
            .map(|row| {
                let id: String = column(row, "id", OP)?;
                Ok(ConversationSummary {
                    title: column(row, "title", OP)?,
                    channel: column(row, "channel", OP)?,
                    created_at: time(column(row, "created_at", OP)?, "conversation", &id)?,
                    updated_at: time(column(row, "updated_at", OP)?, "conversation", &id)?,
                    turns: small(column(row, "turns", OP)?, "conversation", &id)?,
                    id,
                })
            })
            .collect()
    }

    /// Adds a turn to a conversation, in one transaction: the turn gets the next sequence
    /// number, and the conversation takes the turn's state and time (its `updated_at`), and
    /// the question as its title when it has none yet.
    ///
    /// Fails with `not_found` when the conversation does not exist and `conflict` when the
    /// answer id is already used. Concurrent appends to one conversation are serialized and
    /// get distinct, contiguous sequence numbers.
    pub async fn append_turn(&self, conversation_id: &str, turn: &NewTurn) -> Result<TurnRecord> {
        let text = TurnText::of(turn);
        let mut tx = self.pool.begin().await.map_err(db("append_turn"))?;
        let seq = insert_turn(&mut tx, conversation_id, None, turn, &text).await?;
        tx.commit().await.map_err(db("append_turn"))?;
        turn_record(seq, turn.clone())
    }

    /// The conversation with this id if `user_id` may read it: they own it, or `share_token` is
    /// its share's token. None when it does not exist or they may not read it, alike, so that
    /// a caller cannot tell someone else's conversation from a missing one.
    pub async fn conversation_for_reader(
        &self,
        id: &str,
        user_id: &str,
        share_token: Option<&str>,
    ) -> Result<Option<ConversationRecord>> {
        let row = sqlx::query(
            "SELECT c.id, c.user_id, c.channel, c.title, c.state, c.created_at, c.updated_at FROM conversations c \
             WHERE c.id = $1 AND (c.user_id = $2 OR EXISTS ( \
               SELECT 1 FROM conversation_shares s WHERE s.conversation_id = c.id AND s.token = $3))",
        )
        .bind(id)
        .bind(user_id)
        .bind(share_token)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("conversation_for_reader"))?;
        row.map(|row| conversation_from(&row, "conversation_for_reader")).transpose()
    }

    /// A conversation's turns, oldest first; empty when it has none or does not exist.
    pub async fn turns(&self, conversation_id: &str) -> Result<Vec<TurnRecord>> {
        let rows = sqlx::query(
            "SELECT seq, answer_id, question, answer, created_at FROM turns \
             WHERE conversation_id = $1 ORDER BY seq",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db("turns"))?;
        rows.iter().map(|row| turn_from(row, "turns")).collect()
    }

    /// The turn that gave this answer, and its conversation's id.
    pub async fn turn_by_answer(&self, answer_id: &str) -> Result<Option<(String, TurnRecord)>> {
        const OP: &str = "turn_by_answer";
        let row = sqlx::query(
            "SELECT conversation_id, seq, answer_id, question, answer, created_at FROM turns WHERE answer_id = $1",
        )
        .bind(answer_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db(OP))?;
        row.map(|row| Ok((column(&row, "conversation_id", OP)?, turn_from(&row, OP)?))).transpose()
    }

    /// The user's most recently updated conversation on this channel, if it was updated at or
    /// after `since` (a Slack follow-up continues a conversation within a time window).
    pub async fn latest_conversation(
        &self,
        user_id: &str,
        channel: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<ConversationRecord>> {
        let row = sqlx::query(
            "SELECT id, user_id, channel, title, state, created_at, updated_at FROM conversations \
             WHERE user_id = $1 AND channel = $2 AND updated_at >= $3 ORDER BY updated_at DESC, id DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(channel)
        .bind(millis(since))
        .fetch_optional(&self.pool)
        .await
        .map_err(db("latest_conversation"))?;
        row.map(|row| conversation_from(&row, "latest_conversation")).transpose()
    }
}

/// A turn's JSON documents as stored, serialized before the write.
#[derive(Debug, Clone)]
pub(crate) struct TurnText {
    answer: String,
    state: String,
}

impl TurnText {
    pub(crate) fn of(turn: &NewTurn) -> Self {
        TurnText { answer: turn.answer.to_string(), state: turn.state.to_string() }
    }
}

/// The record of `turn`, stored as number `seq`, as reading it back gives it (its time to the
/// millisecond).
pub(crate) fn turn_record(seq: u32, turn: NewTurn) -> Result<TurnRecord> {
    Ok(TurnRecord {
        seq,
        created_at: time(millis(turn.created_at), "turn", &turn.answer_id)?,
        answer_id: turn.answer_id,
        question: turn.question,
        answer: turn.answer,
    })
}

/// Adds a turn to a conversation inside the caller's transaction `conn` and returns its
/// sequence number; see [`Store::append_turn`]. `text` is `turn`'s documents
/// ([`TurnText::of`]). With `owner`, the conversation must also be that user's (else
/// `not_found`, as for a missing one).
pub(crate) async fn insert_turn(
    conn: &mut AnyConnection,
    conversation_id: &str,
    owner: Option<&str>,
    turn: &NewTurn,
    text: &TurnText,
) -> Result<u32> {
    const OP: &str = "append_turn";
    // The update comes first: it locks the conversation's row (Postgres) or takes the
    // database's write lock (SQLite), so concurrent appends wait here for each other
    // instead of reading the same last sequence number.
    let updated = sqlx::query(
        "UPDATE conversations SET state = $2, updated_at = $3, \
           title = CASE WHEN title = '' THEN $4 ELSE title END \
         WHERE id = $1 AND ($5 IS NULL OR user_id = $5)",
    )
    .bind(conversation_id)
    .bind(&text.state)
    .bind(millis(turn.created_at))
    .bind(title_of(&turn.question))
    .bind(owner)
    .execute(&mut *conn)
    .await
    .map_err(db(OP))?;
    if updated.rows_affected() == 0 {
        return Err(Error::NotFound { what: "conversation", id: conversation_id.to_owned() });
    }
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id = $1")
        .bind(conversation_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db(OP))?;
    insert_turn_row(conn, conversation_id, seq, turn, text).await
}

/// Starts conversation `new` with `turn` as its first, inside the caller's transaction `conn`:
/// what [`insert_conversation`] and then [`insert_turn`] store, in two statements instead of
/// four (most answers start a conversation).
pub(crate) async fn insert_conversation_with_turn(
    conn: &mut AnyConnection,
    new: &NewConversation,
    turn: &NewTurn,
    text: &TurnText,
    now: DateTime<Utc>,
) -> Result<u32> {
    let started =
        ConversationStart { title: &title_of(&turn.question), state: &text.state, updated_at: turn.created_at };
    insert_conversation_as(conn, new, now, started).await?;
    insert_turn_row(conn, &new.id, 1, turn, text).await
}

/// The turn's own row, numbered `seq`.
async fn insert_turn_row(
    conn: &mut AnyConnection,
    conversation_id: &str,
    seq: i64,
    turn: &NewTurn,
    text: &TurnText,
) -> Result<u32> {
    sqlx::query(
        "INSERT INTO turns (conversation_id, seq, answer_id, question, answer, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(conversation_id)
    .bind(seq)
    .bind(&turn.answer_id)
    .bind(&turn.question)
    .bind(&text.answer)
    .bind(millis(turn.created_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => Error::Conflict { what: "answer", id: turn.answer_id.clone() },
        false => db("append_turn")(e),
    })?;
    small(seq, "turn", &turn.answer_id)
}

/// Starts a conversation inside the caller's transaction `conn`; see
/// [`Store::create_conversation`].
pub(crate) async fn insert_conversation(
    conn: &mut AnyConnection,
    new: &NewConversation,
    now: DateTime<Utc>,
) -> Result<()> {
    insert_conversation_as(conn, new, now, ConversationStart { title: "", state: "null", updated_at: now }).await
}

/// What a new conversation's row holds besides its identity.
struct ConversationStart<'a> {
    title: &'a str,
    state: &'a str,
    updated_at: DateTime<Utc>,
}

async fn insert_conversation_as(
    conn: &mut AnyConnection,
    new: &NewConversation,
    created_at: DateTime<Utc>,
    start: ConversationStart<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO conversations (id, user_id, channel, title, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&new.id)
    .bind(&new.user_id)
    .bind(&new.channel)
    .bind(start.title)
    .bind(start.state)
    .bind(millis(created_at))
    .bind(millis(start.updated_at))
    .execute(conn)
    .await
    .map_err(|e| match is_unique_violation(&e) {
        true => Error::Conflict { what: "conversation", id: new.id.clone() },
        false => db("create_conversation")(e),
    })?;
    Ok(())
}

/// A conversation's title from its first question: whitespace runs become one space, cut to
/// [`TITLE_CHARS`] characters.
pub fn title_of(question: &str) -> String {
    let words: Vec<&str> = question.split_whitespace().collect();
    words.join(" ").chars().take(TITLE_CHARS).collect()
}

fn conversation_from(row: &AnyRow, op: &'static str) -> Result<ConversationRecord> {
    let id: String = column(row, "id", op)?;
    let state: String = column(row, "state", op)?;
    Ok(ConversationRecord {
        user_id: column(row, "user_id", op)?,
        channel: column(row, "channel", op)?,
        title: column(row, "title", op)?,
        state: json(&state, "conversation", &id)?,
        created_at: time(column(row, "created_at", op)?, "conversation", &id)?,
        updated_at: time(column(row, "updated_at", op)?, "conversation", &id)?,
        id,
    })
}

fn turn_from(row: &AnyRow, op: &'static str) -> Result<TurnRecord> {
    let answer_id: String = column(row, "answer_id", op)?;
    let answer: String = column(row, "answer", op)?;
    Ok(TurnRecord {
        seq: small(column(row, "seq", op)?, "turn", &answer_id)?,
        question: column(row, "question", op)?,
        answer: json(&answer, "turn", &answer_id)?,
        created_at: time(column(row, "created_at", op)?, "turn", &answer_id)?,
        answer_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_one_line_and_at_most_120_characters() {
        assert_eq!(title_of("  revenue\nby   region? "), "revenue by region?");
        let long = "é".repeat(200);
        assert_eq!(title_of(&long).chars().count(), TITLE_CHARS);
        assert_eq!(title_of(""), "");
    }
}
