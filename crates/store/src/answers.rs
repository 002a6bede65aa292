//! Answers stored with their audit record, committed in groups.
//!
//! Every answer must be on disk before it is given, and with SQLite in `synchronous = FULL`
//! that is one fsync per commit: one transaction per answer capped the server at a few
//! hundred answers a second, with writers queueing on the database lock. Answers are
//! therefore queued and written by one writer task at a time: it takes every answer waiting,
//! writes them in one transaction (when one fails, the group is written again with each answer
//! in its own savepoint, so that only the failing one is rolled back) and commits them
//! together, then tells each caller how its answer went. A caller hears back
//! only after the commit that holds its answer returned, so nothing is acknowledged before it
//! is durable; answers that arrive during a commit form the next group.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::oneshot;

use crate::audit::insert_audit;
use crate::charts::insert_chart;
use crate::conversations::{TurnText, insert_conversation_with_turn, insert_turn, turn_record};
use crate::error::{Error, Result, db};
use crate::records::{NewAnswer, TurnRecord};
use crate::store::Store;

const OP: &str = "record_answer";

/// Most answers committed in one transaction: bounds how long one commit holds the
/// database and how much a failed commit takes with it.
const MAX_GROUP: usize = 256;

impl Store {
    /// Stores an answer: starts its conversation when the answer is the first (see
    /// [`NewAnswer::starts_conversation`]), appends its turn, stores its chart and writes its
    /// audit record, all or nothing. When any write fails nothing of the answer is stored: an
    /// answer is never kept without its audit record, nor a conversation without its first
    /// answer.
    ///
    /// Concurrent answers are committed together (see the module documentation); this returns
    /// once the transaction holding the answer has committed, so a returned answer is durable.
    /// An answer whose caller stops waiting (a dropped request) is still written.
    ///
    /// Fails with `conflict` when the new conversation's id, the answer id or the audit record's
    /// id is taken, and with `not_found` when a continued conversation does not exist or is not
    /// the asking user's; with `interrupted` when the process shuts down before the commit.
    pub async fn record_answer(&self, answer: NewAnswer) -> Result<TurnRecord> {
        let (reply, replied) = oneshot::channel();
        // Serialized here, on the caller's task, so that the one writer only writes.
        let queued = Queued {
            turn_text: TurnText::of(&answer.turn),
            audit_text: answer.audit.record.to_string(),
            answer,
            reply,
        };
        if self.answers.push(queued) {
            tokio::spawn(write_groups(self.pool.clone(), self.answers.clone()));
        }
        replied.await.unwrap_or(Err(Error::Interrupted { operation: OP }))
    }
}

/// Answers waiting for the writer.
#[derive(Debug, Default)]
pub(crate) struct AnswerQueue {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    waiting: Vec<Queued>,
    /// Whether a writer task is running (it takes what is waiting before it stops).
    writing: bool,
}

/// An answer to write, its documents already serialized, and where to say how it went.
#[derive(Debug)]
struct Queued {
    answer: NewAnswer,
    turn_text: TurnText,
    audit_text: String,
    reply: oneshot::Sender<Result<TurnRecord>>,
}

impl AnswerQueue {
    /// Queues an answer; true when no writer runs, so the caller must start one.
    fn push(&self, queued: Queued) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting.push(queued);
        !std::mem::replace(&mut state.writing, true)
    }

    /// The next group to write; none (and the writer is marked stopped) when nothing waits.
    fn next_group(&self) -> Option<Vec<Queued>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.waiting.is_empty() {
            state.writing = false;
            return None;
        }
        let take = state.waiting.len().min(MAX_GROUP);
        Some(state.waiting.drain(..take).collect())
    }
}

/// Marks the writer stopped however its task ends: a task dropped with its runtime, or a
/// panic, must not leave later answers waiting for a writer that is gone.
struct WriterRunning(Arc<AnswerQueue>);

impl Drop for WriterRunning {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.writing {
            state.writing = false;
            // Dropping their reply channels tells the callers their answers were interrupted.
            state.waiting.clear();
        }
    }
}

/// The writer: commits groups until nothing waits.
async fn write_groups(pool: AnyPool, queue: Arc<AnswerQueue>) {
    let running = WriterRunning(queue);
    while let Some(group) = running.0.next_group() {
        write_group(&pool, group).await;
    }
}

/// Writes one group in one transaction and answers each caller.
async fn write_group(pool: &AnyPool, group: Vec<Queued>) {
    let outcomes = match commit_group(pool, &group).await {
        Ok(outcomes) => outcomes,
        Err(error) => {
            // Nothing of the group was committed: each caller gets the cause.
            let error = Arc::new(error);
            group.iter().map(|_| Err(Error::Group(error.clone()))).collect()
        }
    };
    for (queued, outcome) in group.into_iter().zip(outcomes) {
        let outcome = outcome.and_then(|seq| turn_record(seq, queued.answer.turn));
        // A caller that stopped waiting (its request was dropped) needs no reply.
        let _ = queued.reply.send(outcome);
    }
}

/// The group's transaction, committed once. Returns each answer's turn number or why it was
/// not stored; an error fails the whole group.
///
/// The answers are first written straight into the transaction; only when one of them fails
/// is the group written again with each answer in a savepoint, so that the failing one rolls
/// back alone. A savepoint per answer on every group was two more statements per answer,
/// each a round trip to the database.
async fn commit_group(pool: &AnyPool, group: &[Queued]) -> Result<Vec<Result<u32>>> {
    let mut tx = pool.begin().await.map_err(db(OP))?;
    let mut seqs = Vec::with_capacity(group.len());
    for queued in group {
        match write_answer(&mut tx, queued).await {
            Ok(seq) => seqs.push(seq),
            Err(error) => {
                tx.rollback().await.map_err(db(OP))?;
                if group.len() == 1 {
                    return Ok(vec![Err(error)]);
                }
                return commit_group_in_savepoints(pool, group).await;
            }
        }
    }
    tx.commit().await.map_err(db(OP))?;
    Ok(seqs.into_iter().map(Ok).collect())
}

/// The group's transaction with each answer's writes in a savepoint.
async fn commit_group_in_savepoints(pool: &AnyPool, group: &[Queued]) -> Result<Vec<Result<u32>>> {
    let mut tx = pool.begin().await.map_err(db(OP))?;
    let mut outcomes = Vec::with_capacity(group.len());
    for queued in group {
        let mut savepoint = Connection::begin(&mut *tx).await.map_err(db(OP))?;
        match write_answer(&mut savepoint, queued).await {
            Ok(seq) => {
                savepoint.commit().await.map_err(db(OP))?;
                outcomes.push(Ok(seq));
            }
            Err(error) => {
                savepoint.rollback().await.map_err(db(OP))?;
                outcomes.push(Err(error));
            }
        }
    }
    tx.commit().await.map_err(db(OP))?;
    Ok(outcomes)
}

/// One answer's writes, inside the caller's transaction.
async fn write_answer(conn: &mut AnyConnection, queued: &Queued) -> Result<u32> {
    let answer = &queued.answer;
    let seq = if answer.starts_conversation {
        insert_conversation_with_turn(conn, &answer.conversation, &answer.turn, &queued.turn_text, Utc::now()).await?
    } else {
        let owner = Some(answer.conversation.user_id.as_str());
        insert_turn(conn, &answer.conversation.id, owner, &answer.turn, &queued.turn_text).await?
    };
    if let Some(chart) = &answer.chart {
        insert_chart(conn, chart).await?;
    }
    insert_audit(conn, &answer.audit, &queued.audit_text).await?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone};
    use serde_json::json;

    use super::*;
    use crate::{AuditRecord, ChartContent, ChartRecord, NewConversation, NewTurn, StoreConfig};

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
                content: ChartContent::Source(format!("{{\"n\": {n}}}")),
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
        assert_eq!(store.record_answer(first.clone()).await.unwrap().seq, 1);
        let second = answer("c1", "ana", false, 2);
        assert_eq!(store.record_answer(second.clone()).await.unwrap().seq, 2);

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
        store.record_answer(answer("kept", "ana", true, 1)).await.unwrap();
        // The database refuses every audit record from now on, as a broken disk or a
        // constraint would, after the turn and the chart were written in the transaction.
        sqlx::query("CREATE TRIGGER audit_fails BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected'); END")
            .execute(&store.pool)
            .await
            .unwrap();

        let starting = answer("new", "ana", true, 1);
        let error = store.record_answer(starting.clone()).await.unwrap_err();
        assert_eq!(error.kind(), "database", "{error}");
        assert!(!any_trace(&store, &starting).await, "nothing of the refused answer is stored");
        assert_eq!(store.conversation("new").await.unwrap(), None, "no conversation without its first answer");

        let continuing = answer("kept", "ana", false, 2);
        store.record_answer(continuing.clone()).await.unwrap_err();
        assert!(!any_trace(&store, &continuing).await);
        let kept = store.conversation("kept").await.unwrap().unwrap();
        assert_eq!((kept.state, kept.updated_at), (json!({"after": 1}), at(1)), "the conversation is as it was");
        assert_eq!(store.turns("kept").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_duplicate_audit_id_stores_nothing_of_the_answer() {
        let (_dir, store) = open().await;
        let first = answer("c1", "ana", true, 1);
        store.record_answer(first.clone()).await.unwrap();
        let mut reused = answer("c2", "bob", true, 1);
        reused.audit.id = first.audit.id.clone();
        let error = store.record_answer(reused.clone()).await.unwrap_err();
        assert_eq!(error.kind(), "conflict", "{error}");
        assert_eq!(store.conversation("c2").await.unwrap(), None);
        assert_eq!(store.turn_by_answer(&reused.turn.answer_id).await.unwrap(), None, "no orphan turn");
        assert_eq!(store.audit(&first.audit.id).await.unwrap().as_ref(), Some(&first.audit), "the first is kept");
    }

    #[tokio::test]
    async fn someone_elses_conversation_cannot_be_continued() {
        let (_dir, store) = open().await;
        store.record_answer(answer("c1", "ana", true, 1)).await.unwrap();
        let intruding = answer("c1", "bob", false, 2);
        let error = store.record_answer(intruding.clone()).await.unwrap_err();
        assert_eq!(error.kind(), "not_found", "{error}");
        assert!(!any_trace(&store, &intruding).await);
        assert_eq!(store.turns("c1").await.unwrap().len(), 1);
    }

    /// Issue 19: concurrent answers are committed in groups, and each is acknowledged only
    /// once it is committed: another connection (as after a crash, a new process) reads every
    /// acknowledged answer the moment its call returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_answers_are_all_stored_and_acknowledged_only_once_committed() {
        let (dir, store) = open().await;
        let observer =
            Store::open(&StoreConfig { max_connections: 4, ..StoreConfig::default() }, dir.path()).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..200u32 {
            let (store, observer) = (store.clone(), observer.clone());
            tasks.push(tokio::spawn(async move {
                // Every fourth continues a conversation started before it in the same task.
                let conversation = format!("c{}", n / 4);
                let new = answer(&conversation, "ana", n % 4 == 0, n);
                let wanted = new.clone();
                let seq = if n % 4 == 0 {
                    store.record_answer(new).await.unwrap().seq
                } else {
                    // Wait for the conversation's first answer, as a follow-up does.
                    while observer.conversation(&conversation).await.unwrap().is_none() {
                        tokio::task::yield_now().await;
                    }
                    store.record_answer(new).await.unwrap().seq
                };
                let audit = observer.audit(&wanted.audit.id).await.unwrap();
                assert_eq!(audit.as_ref(), Some(&wanted.audit), "answer {n} was acknowledged before it was committed");
                let (conversation_id, turn) = observer.turn_by_answer(&wanted.turn.answer_id).await.unwrap().unwrap();
                assert_eq!((conversation_id, turn.seq), (conversation, seq));
                assert!(observer.chart(&wanted.chart.as_ref().unwrap().id).await.unwrap().is_some());
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        for c in 0..50 {
            let turns = observer.turns(&format!("c{c}")).await.unwrap();
            let seqs: Vec<u32> = turns.iter().map(|t| t.seq).collect();
            assert_eq!(seqs, vec![1, 2, 3, 4], "conversation c{c} has contiguous turns");
        }
    }

    /// Issue 19: an answer that fails inside a group rolls back alone; the answers committed
    /// with it are stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_answer_in_a_group_leaves_the_others_stored() {
        let (_dir, store) = open().await;
        store.record_answer(answer("taken", "ana", true, 0)).await.unwrap();
        let mut tasks = Vec::new();
        for n in 1..=60u32 {
            let store = store.clone();
            let mut new = answer(&format!("g{n}"), "bob", true, n);
            if n % 10 == 0 {
                // Its conversation id is taken: refused after nothing else was written.
                new.conversation.id = "taken".into();
            } else if n % 10 == 5 {
                // Its audit id is taken: refused after its conversation, turn and chart.
                new.audit.id = answer("taken", "ana", true, 0).audit.id;
            }
            tasks.push(tokio::spawn(async move { (n, new.clone(), store.record_answer(new).await) }));
        }
        for task in tasks {
            let (n, new, outcome) = task.await.unwrap();
            if n % 5 == 0 {
                assert_eq!(outcome.unwrap_err().kind(), "conflict", "answer {n}");
                assert_eq!(store.turn_by_answer(&new.turn.answer_id).await.unwrap(), None, "answer {n}");
                assert!(store.chart(&new.chart.as_ref().unwrap().id).await.unwrap().is_none(), "answer {n}");
            } else {
                assert_eq!(outcome.unwrap().seq, 1, "answer {n}");
                assert_eq!(store.audit(&new.audit.id).await.unwrap().as_ref(), Some(&new.audit));
            }
        }
        assert_eq!(store.conversation("g5").await.unwrap(), None, "no conversation without its first answer");
        assert_eq!(store.turns("taken").await.unwrap().len(), 1);
    }
}
