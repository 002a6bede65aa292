//! Answers stored with their audit record, in one transaction.

use chrono::Utc;

use crate::audit::insert_audit;
use crate::charts::insert_chart;
use crate::conversations::{insert_conversation, insert_turn};
use crate::error::{Result, db};
use crate::records::{NewAnswer, TurnRecord};
use crate::store::Store;

impl Store {
    /// Stores an answer: starts its conversation when the answer is the first (see
    /// [`NewAnswer::starts_conversation`]), appends its turn, stores its chart and writes its
    /// audit record, in one transaction. When any write fails nothing is stored: an answer is
    /// never kept without its audit record, nor a conversation without its first answer.
    ///
    /// Fails with `conflict` when the new conversation's id, the answer id or the audit record's
    /// id is taken, and with `not_found` when a continued conversation does not exist or is not
    /// the asking user's.
    pub async fn record_answer(&self, answer: &NewAnswer) -> Result<TurnRecord> {
        const OP: &str = "record_answer";
        let mut tx = self.pool.begin().await.map_err(db(OP))?;
        if answer.starts_conversation {
            insert_conversation(&mut tx, &answer.conversation, Utc::now()).await?;
        }
        let owner = Some(answer.conversation.user_id.as_str());
        let turn = insert_turn(&mut tx, &answer.conversation.id, owner, &answer.turn).await?;
        if let Some(chart) = &answer.chart {
            insert_chart(&mut tx, chart).await?;
        }
        insert_audit(&mut tx, &answer.audit).await?;
        tx.commit().await.map_err(db(OP))?;
        Ok(turn)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone};
    use serde_json::json;

    use super::*;
    use crate::{AuditRecord, ChartRecord, NewConversation, NewTurn, StoreConfig};

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000 + seconds, 0).unwrap()
    }

    /// The answer `n` of `user` in `conversation`, with a chart and an audit record.
    fn answer(conversation: &str, user: &str, starts: bool, n: u32) -> NewAnswer {
        let answer_id = format!("ans-{conversation}-{n}");
        NewAnswer {
            conversation: NewConversation { id: conversation.into(), user_id: user.into(), channel: "api".into() },
            starts_conversation: starts,
            turn: NewTurn {
                answer_id: answer_id.clone(),
                question: format!("question {n}"),
                answer: json!({"text": format!("answer {n}")}),
                state: json!({"after": n}),
                created_at: at(i64::from(n)),
            },
            chart: Some(ChartRecord {
                id: format!("ch-{answer_id}"),
                answer_id: answer_id.clone(),
                svg: "<svg/>".into(),
                png: vec![0x89, b'P'],
                created_at: at(i64::from(n)),
            }),
            audit: AuditRecord {
                id: format!("req-{answer_id}"),
                client_request_id: Some("client-1234".into()),
                created_at: at(i64::from(n)),
                user_id: user.into(),
                channel: "api".into(),
                question: format!("question {n}"),
                conversation_id: Some(conversation.into()),
                answer_id: Some(answer_id),
                outcome: "answered".into(),
                record: json!({"n": n}),
            },
        }
    }

    async fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::default(), dir.path()).await.unwrap();
        (dir, store)
    }

    /// Whether anything of `answer` is in the store.
    async fn any_trace(store: &Store, answer: &NewAnswer) -> bool {
        store.turn_by_answer(&answer.turn.answer_id).await.unwrap().is_some()
            || store.audit(&answer.audit.id).await.unwrap().is_some()
            || store.chart(&answer.chart.as_ref().unwrap().id).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn an_answer_is_stored_with_its_conversation_chart_and_audit_record() {
        let (_dir, store) = open().await;
        let first = answer("c1", "ana", true, 1);
        assert_eq!(store.record_answer(&first).await.unwrap().seq, 1);
        let second = answer("c1", "ana", false, 2);
        assert_eq!(store.record_answer(&second).await.unwrap().seq, 2);

        let conversation = store.conversation("c1").await.unwrap().unwrap();
        assert_eq!((conversation.user_id.as_str(), conversation.title.as_str()), ("ana", "question 1"));
        assert_eq!(conversation.state, json!({"after": 2}));
        for stored in [&first, &second] {
            assert_eq!(store.audit(&stored.audit.id).await.unwrap().as_ref(), Some(&stored.audit));
            assert!(store.chart(&stored.chart.as_ref().unwrap().id).await.unwrap().is_some());
        }
        assert_eq!(store.turns("c1").await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_failed_audit_write_leaves_no_turn_no_chart_and_no_new_conversation() {
        let (_dir, store) = open().await;
        store.record_answer(&answer("kept", "ana", true, 1)).await.unwrap();
        // The database refuses every audit record from now on, as a broken disk or a
        // constraint would, after the turn and the chart were written in the transaction.
        sqlx::query("CREATE TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected'); END")
            .execute(&store.pool)
            .await
            .unwrap();

        let starting = answer("new", "ana", true, 1);
        let error = store.record_answer(&starting).await.unwrap_err();
        assert_eq!(error.kind(), "database", "{error}");
        assert!(!any_trace(&store, &starting).await, "nothing of the refused answer is stored");
        assert_eq!(store.conversation("new").await.unwrap(), None, "no conversation without its first answer");

        let continuing = answer("kept", "ana", false, 2);
        store.record_answer(&continuing).await.unwrap_err();
        assert!(!any_trace(&store, &continuing).await);
        let kept = store.conversation("kept").await.unwrap().unwrap();
        assert_eq!((kept.state, kept.updated_at), (json!({"after": 1}), at(1)), "the conversation is as it was");
        assert_eq!(store.turns("kept").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_duplicate_audit_id_stores_nothing_of_the_answer() {
        let (_dir, store) = open().await;
        let first = answer("c1", "ana", true, 1);
        store.record_answer(&first).await.unwrap();
        let mut reused = answer("c2", "bob", true, 1);
        reused.audit.id = first.audit.id.clone();
        let error = store.record_answer(&reused).await.unwrap_err();
        assert_eq!(error.kind(), "conflict", "{error}");
        assert_eq!(store.conversation("c2").await.unwrap(), None);
        assert_eq!(store.turn_by_answer(&reused.turn.answer_id).await.unwrap(), None, "no orphan turn");
        assert_eq!(store.audit(&first.audit.id).await.unwrap().as_ref(), Some(&first.audit), "the first is kept");
    }

    #[tokio::test]
    async fn someone_elses_conversation_cannot_be_continued() {
        let (_dir, store) = open().await;
        store.record_answer(&answer("c1", "ana", true, 1)).await.unwrap();
        let intruding = answer("c1", "bob", false, 2);
        let error = store.record_answer(&intruding).await.unwrap_err();
        assert_eq!(error.kind(), "not_found", "{error}");
        assert!(!any_trace(&store, &intruding).await);
        assert_eq!(store.turns("c1").await.unwrap().len(), 1);
    }
}
