//! The store's behaviour, written once and run against SQLite in a temporary directory (always)
//! and against Postgres when `TEST_POSTGRES_URL` is set (each test in a fresh schema).

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use quarry_store::{
    AuditRecord, Backend, ChartContent, ChartRecord, NewAnswer, NewConversation, NewFeedback, NewReview, NewTurn,
    NewVerified, RateDecision, RateQuota, Rating, ReviewAnswer, ReviewFilter, ReviewReason, ReviewStatus, Store,
    StoreConfig,
};
use serde_json::json;
use sqlx::{AnyConnection, Connection, Executor};
use tempfile::TempDir;

/// A database for one test: a SQLite file in a temporary directory, or a fresh Postgres schema.
struct Fixture {
    config: StoreConfig,
    dir: TempDir,
    /// The server URL and the schema made for this test, on Postgres.
    postgres: Option<(String, String)>,
}

impl Fixture {
    fn sqlite() -> Fixture {
        Fixture { config: StoreConfig::default(), dir: tempfile::tempdir().unwrap(), postgres: None }
    }

    /// None when `TEST_POSTGRES_URL` is unset (the test is skipped), unless `REQUIRE_POSTGRES=1`.
    async fn postgres() -> Option<Fixture> {
        let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
            if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set");
            }
            eprintln!("skipped: set TEST_POSTGRES_URL to run the Postgres tests");
            return None;
        };
        sqlx::any::install_default_drivers();
        let schema = format!("quarry_test_{:016x}", rand::random::<u64>());
        let mut conn = AnyConnection::connect(&base).await.expect("TEST_POSTGRES_URL should be reachable");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.unwrap();
        conn.close().await.unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        let config = StoreConfig { url, ..StoreConfig::default() };
        Some(Fixture { config, dir: tempfile::tempdir().unwrap(), postgres: Some((base, schema)) })
    }

    async fn open(&self) -> Store {
        Store::open(&self.config, self.dir.path()).await.unwrap()
    }

    /// A URL for a connection of the test's own, beside the store's pool.
    fn raw_url(&self) -> String {
        match &self.postgres {
            Some(_) => self.config.url.clone(),
            None => format!("sqlite://{}", self.dir.path().join("quarry.db").display()),
        }
    }

    /// Drops the test's Postgres schema (left behind when the test fails, for a look).
    async fn finish(self) {
        if let Some((base, schema)) = &self.postgres {
            let mut conn = AnyConnection::connect(base).await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// Each test, once per backend: `store` tests get an open store, `fixture` tests open it themselves.
macro_rules! suite {
    (store: [$($store_test:ident),* $(,)?], fixture: [$($fixture_test:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $store_test() {
                    let fixture = super::Fixture::sqlite();
                    super::$store_test(fixture.open().await).await;
                    fixture.finish().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $fixture_test() {
                    let fixture = super::Fixture::sqlite();
                    super::$fixture_test(&fixture).await;
                    fixture.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $store_test() {
                    let Some(fixture) = super::Fixture::postgres().await else { return };
                    super::$store_test(fixture.open().await).await;
                    fixture.finish().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $fixture_test() {
                    let Some(fixture) = super::Fixture::postgres().await else { return };
                    super::$fixture_test(&fixture).await;
                    fixture.finish().await;
                }
            )*
        }
    };
}

suite! {
    store: [
        basics,
        conversation_round_trip,
        turns_are_numbered_and_the_first_question_titles,
        append_to_a_missing_conversation_is_not_found,
        feedback_is_one_per_user_and_answer,
        audit_round_trip_duplicates_and_prefixes,
        chart_round_trip,
        slack_triggers_are_claimed_once,
        latest_conversation_respects_user_channel_and_window,
        verified_questions_replace_by_normalized_text,
        an_answer_is_stored_only_with_its_audit_record,
        conversations_are_read_by_their_owner_or_with_their_share,
        feedback_is_taken_from_the_owner_or_a_share_holder,
        review_items_are_one_per_answer_and_filtered,
        a_review_is_answered_once_with_its_turn_and_audit_record,
        verified_questions_are_found_by_their_normalized_text,
        rate_limits_allow_a_burst_then_the_average_rate_per_key,
    ],
    fixture: [
        reopening_migrates_once_and_keeps_data,
        concurrent_appends_get_contiguous_sequence_numbers,
        concurrent_answers_are_committed_before_they_are_acknowledged,
        a_database_from_a_newer_quarry_is_refused,
        verified_keys_written_by_the_older_rule_are_recomputed_on_open,
        two_stores_share_one_rate_limit_on_postgres_and_count_their_own_on_sqlite,
    ],
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + seconds, 0).unwrap()
}

fn conversation(id: &str, user: &str, channel: &str) -> NewConversation {
    NewConversation { id: id.into(), user_id: user.into(), channel: channel.into() }
}

fn turn(answer_id: &str, question: &str, created_at: DateTime<Utc>) -> NewTurn {
    NewTurn {
        answer_id: answer_id.into(),
        question: question.into(),
        answer: json!({"text": format!("answer to {question}"), "rows": [1, 2.5, null]}),
        state: json!({"after": answer_id}),
        created_at,
    }
}

async fn basics(store: Store) {
    store.ping().await.unwrap();
    match store.backend() {
        Backend::Sqlite => assert!(store.describe().starts_with("sqlite://"), "{}", store.describe()),
        Backend::Postgres => assert!(!store.describe().contains(":quarry@"), "{}", store.describe()),
    }
}

async fn conversation_round_trip(store: Store) {
    let before = Utc::now() - Duration::seconds(1);
    let created = store.create_conversation(&conversation("c1", "ana", "web")).await.unwrap();
    assert_eq!((created.id.as_str(), created.user_id.as_str(), created.channel.as_str()), ("c1", "ana", "web"));
    assert_eq!(created.title, "");
    assert_eq!(created.state, serde_json::Value::Null);
    assert!(created.created_at >= before && created.created_at == created.updated_at);
    assert_eq!(store.conversation("c1").await.unwrap(), Some(created));
    assert_eq!(store.conversation("nope").await.unwrap(), None);

    let err = store.create_conversation(&conversation("c1", "bob", "api")).await.unwrap_err();
    assert_eq!(err.kind(), "conflict", "{err}");

    store.create_conversation(&conversation("c2", "ana", "slack")).await.unwrap();
    store.create_conversation(&conversation("c3", "bob", "web")).await.unwrap();
    store.append_turn("c1", &turn("a1", "first", Utc::now() + Duration::hours(1))).await.unwrap();
    store.append_turn("c1", &turn("a2", "second", Utc::now() + Duration::hours(2))).await.unwrap();

    let list = store.list_conversations("ana", 10).await.unwrap();
    let ids: Vec<(&str, u32)> = list.iter().map(|c| (c.id.as_str(), c.turns)).collect();
    assert_eq!(ids, [("c1", 2), ("c2", 0)], "newest first, with turn counts");
    assert_eq!(list[0].title, "first");
    assert_eq!(list[1].channel, "slack");
    assert_eq!(store.list_conversations("ana", 1).await.unwrap().len(), 1);
    assert!(store.list_conversations("nobody", 10).await.unwrap().is_empty());
}

async fn turns_are_numbered_and_the_first_question_titles(store: Store) {
    store.create_conversation(&conversation("c1", "ana", "web")).await.unwrap();
    let long = format!("{}   tail", "word ".repeat(40));
    let first = store.append_turn("c1", &turn("a1", &long, at(10))).await.unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.created_at, at(10));
    let second = store.append_turn("c1", &turn("a2", "and by region?", at(20))).await.unwrap();
    assert_eq!(second.seq, 2);

    let stored = store.conversation("c1").await.unwrap().unwrap();
    assert_eq!(stored.title.chars().count(), 120);
    assert!(long.starts_with(&stored.title), "the title is the first question, cut");
    assert_eq!(stored.state, json!({"after": "a2"}));
    assert_eq!(stored.updated_at, at(20));

    let turns = store.turns("c1").await.unwrap();
    assert_eq!(turns, vec![first.clone(), second.clone()]);
    assert_eq!(turns[1].answer, json!({"text": "answer to and by region?", "rows": [1, 2.5, null]}));

    assert_eq!(store.turn_by_answer("a2").await.unwrap(), Some(("c1".to_owned(), second)));
    assert_eq!(store.turn_by_answer("zz").await.unwrap(), None);

    // A reused answer id fails and leaves the conversation as it was (one transaction).
    let err = store.append_turn("c1", &turn("a1", "again", at(30))).await.unwrap_err();
    assert_eq!(err.kind(), "conflict", "{err}");
    let after = store.conversation("c1").await.unwrap().unwrap();
    assert_eq!((after.state, after.updated_at), (json!({"after": "a2"}), at(20)));
    assert_eq!(store.turns("c1").await.unwrap().len(), 2);
    assert_eq!(store.append_turn("c1", &turn("a3", "third", at(40))).await.unwrap().seq, 3);
}

async fn append_to_a_missing_conversation_is_not_found(store: Store) {
    let err = store.append_turn("ghost", &turn("a1", "hello", at(0))).await.unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");
    assert!(err.to_string().contains("ghost"), "{err}");
    assert_eq!(store.turn_by_answer("a1").await.unwrap(), None);
}

async fn feedback_is_one_per_user_and_answer(store: Store) {
    store.create_conversation(&conversation("c1", "ana", "web")).await.unwrap();
    store.append_turn("c1", &turn("a1", "q1", at(0))).await.unwrap();
    store.append_turn("c1", &turn("a2", "q2", at(1))).await.unwrap();
    let (share, _) = store.share_conversation("c1", "ana").await.unwrap();
    let feedback = |answer: &str, user: &str, rating, comment: Option<&str>| NewFeedback {
        answer_id: answer.into(),
        user_id: user.into(),
        rating,
        comment: comment.map(Into::into),
        // Bob rates Ana's answers through her share.
        share_token: (user != "ana").then(|| share.token.clone()),
    };

    let up = store.add_feedback(&feedback("a1", "ana", Rating::Up, None)).await.unwrap();
    assert!(up.id.starts_with("fb-") && up.id.len() == 19, "{}", up.id);
    assert_eq!((up.rating, up.comment.as_deref()), (Rating::Up, None));
    let down = store.add_feedback(&feedback("a1", "ana", Rating::Down, Some("wrong month"))).await.unwrap();
    assert_eq!(down.id, up.id, "a second rating replaces the first");
    assert_eq!((down.rating, down.comment.as_deref()), (Rating::Down, Some("wrong month")));
    let bob = store.add_feedback(&feedback("a1", "bob", Rating::Up, Some("great"))).await.unwrap();
    assert_ne!(bob.id, up.id);
    store.add_feedback(&feedback("a2", "ana", Rating::Up, None)).await.unwrap();

    let on_a1 = store.feedback_for("a1").await.unwrap();
    assert_eq!(on_a1.len(), 2);
    assert!(on_a1.contains(&down) && on_a1.contains(&bob));
    assert!(store.feedback_for("a3").await.unwrap().is_empty());
    // A conversation's view reads one user's feedback on all its answers at once.
    let anas = store.user_feedback_in_conversation("c1", "ana").await.unwrap();
    assert_eq!(
        anas.iter().map(|f| (f.answer_id.as_str(), f.rating)).collect::<Vec<_>>(),
        [("a1", Rating::Down), ("a2", Rating::Up)]
    );
    assert_eq!(store.user_feedback_in_conversation("c1", "bob").await.unwrap(), vec![bob.clone()]);
    assert!(store.user_feedback_in_conversation("c2", "ana").await.unwrap().is_empty());

    assert_eq!(store.list_feedback(10, None).await.unwrap().len(), 3);
    assert_eq!(store.list_feedback(2, None).await.unwrap().len(), 2);
    assert_eq!(store.list_feedback(10, Some(Rating::Down)).await.unwrap(), vec![down]);
    assert_eq!(store.list_feedback(10, Some(Rating::Up)).await.unwrap().len(), 2);

    let err = store.add_feedback(&feedback("nope", "ana", Rating::Up, None)).await.unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");
    assert_eq!(store.list_feedback(10, None).await.unwrap().len(), 3);
}

fn audit_record(id: &str, created_at: DateTime<Utc>, outcome: &str) -> AuditRecord {
    AuditRecord {
        id: id.into(),
        client_request_id: Some(format!("client-{id}")),
        created_at,
        user_id: "ana".into(),
        channel: "api".into(),
        question: format!("question {id}"),
        conversation_id: (outcome == "answered").then(|| "c1".into()),
        answer_id: (outcome == "answered").then(|| format!("ans-{id}")),
        outcome: outcome.into(),
        record: json!({"sql": "SELECT 1", "timings_ms": {"plan": 12}}),
    }
}

async fn audit_round_trip_duplicates_and_prefixes(store: Store) {
    let answered = audit_record("req-abc1", at(1), "answered");
    store.write_audit(&answered).await.unwrap();
    let failed = audit_record("req-abc2", at(2), "sql_rejected");
    store.write_audit(&failed).await.unwrap();
    for i in 0..6 {
        store.write_audit(&audit_record(&format!("req-x{i}"), at(10 + i), "cannot_answer")).await.unwrap();
    }

    assert_eq!(store.audit("req-abc1").await.unwrap(), Some(answered.clone()));
    assert_eq!(store.audit("req-abc2").await.unwrap(), Some(failed.clone()));
    assert_eq!(store.audit("req-abc2").await.unwrap().unwrap().conversation_id, None);
    let err = store.write_audit(&audit_record("req-abc1", at(3), "answered")).await.unwrap_err();
    assert_eq!(err.kind(), "conflict", "{err}");
    assert_eq!(store.audit("req-abc1").await.unwrap(), Some(answered.clone()), "the first record stays");

    // Prefixes.
    assert_eq!(store.audit("req-abc").await.unwrap_err().kind(), "ambiguous");
    match store.audit("req-x").await.unwrap_err() {
        quarry_store::Error::Ambiguous { prefix, candidates } => {
            assert_eq!(prefix, "req-x");
            assert_eq!(candidates, ["req-x0", "req-x1", "req-x2", "req-x3", "req-x4"], "at most five");
        }
        other => panic!("expected ambiguous, got {other}"),
    }
    assert_eq!(store.audit("req-x5").await.unwrap().unwrap().outcome, "cannot_answer");
    assert_eq!(store.audit("req-x").await.unwrap_err().to_string().matches("req-x").count(), 6);
    assert_eq!(store.audit("req-ab%").await.unwrap(), None, "% is not a wildcard");
    assert_eq!(store.audit("REQ-ABC1").await.unwrap(), None, "ids are case-sensitive");
    assert_eq!(store.audit("nope").await.unwrap(), None);
    assert_eq!(store.audit("").await.unwrap(), None);

    let list = store.list_audit(3).await.unwrap();
    let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["req-x5", "req-x4", "req-x3"], "newest first");
    let all = store.list_audit(100).await.unwrap();
    assert_eq!(all.len(), 8);
    let last = all.last().unwrap();
    assert_eq!((last.id.as_str(), last.created_at, last.outcome.as_str()), ("req-abc1", at(1), "answered"));
    assert_eq!(
        (last.user_id.as_str(), last.channel.as_str(), last.question.as_str()),
        ("ana", "api", "question req-abc1")
    );
}

async fn chart_round_trip(store: Store) {
    let chart = ChartRecord {
        id: "ch-1".into(),
        answer_id: "a1".into(),
        content: ChartContent::Rendered { svg: "<svg/>".into(), png: vec![0x89, b'P', b'N', b'G', 0, 255] },
        created_at: at(5),
    };
    store.put_chart(&chart).await.unwrap();
    assert_eq!(store.chart("ch-1").await.unwrap(), Some(chart.clone()));
    assert_eq!(store.chart("ch-2").await.unwrap(), None);
    let replaced = ChartRecord { content: ChartContent::Source(r#"{"spec": {}}"#.into()), ..chart };
    store.put_chart(&replaced).await.unwrap();
    assert_eq!(store.chart("ch-1").await.unwrap(), Some(replaced.clone()));
    let redrawn =
        ChartRecord { content: ChartContent::Rendered { svg: "<svg><g/></svg>".into(), png: vec![1] }, ..replaced };
    store.put_chart(&redrawn).await.unwrap();
    assert_eq!(store.chart("ch-1").await.unwrap(), Some(redrawn), "a source replaced by images keeps no source");
}

async fn slack_triggers_are_claimed_once(store: Store) {
    assert!(store.claim_slack_trigger("t1", at(0)).await.unwrap());
    assert!(!store.claim_slack_trigger("t1", at(1)).await.unwrap(), "a replay");
    assert!(store.claim_slack_trigger("t2", at(2)).await.unwrap());
    assert!(!store.claim_slack_trigger("t1", at(3600)).await.unwrap(), "still remembered after an hour");
    // A day later the claim is forgotten.
    let later = at(0) + Duration::hours(24) + Duration::seconds(1);
    assert!(store.claim_slack_trigger("t1", later).await.unwrap());
    assert!(!store.claim_slack_trigger("t1", later).await.unwrap());
}

async fn latest_conversation_respects_user_channel_and_window(store: Store) {
    for (id, user, channel, t) in [
        ("old", "ana", "slack", 0),
        ("recent", "ana", "slack", 100),
        ("web", "ana", "web", 200),
        ("bob", "bob", "slack", 300),
    ] {
        store.create_conversation(&conversation(id, user, channel)).await.unwrap();
        store.append_turn(id, &turn(&format!("a-{id}"), "q", at(t))).await.unwrap();
    }
    let latest = store.latest_conversation("ana", "slack", at(50)).await.unwrap().unwrap();
    assert_eq!(latest.id, "recent");
    assert_eq!(latest.state, json!({"after": "a-recent"}));
    assert_eq!(store.latest_conversation("ana", "slack", at(-10)).await.unwrap().unwrap().id, "recent");
    assert_eq!(
        store.latest_conversation("ana", "slack", at(100)).await.unwrap().unwrap().id,
        "recent",
        "at `since` counts"
    );
    assert_eq!(store.latest_conversation("ana", "slack", at(101)).await.unwrap(), None);
    assert_eq!(store.latest_conversation("ana", "web", at(0)).await.unwrap().unwrap().id, "web");
    assert_eq!(store.latest_conversation("carl", "slack", at(0)).await.unwrap(), None);
}

async fn verified_questions_replace_by_normalized_text(store: Store) {
    let verified = |question: &str, sql: &str, by: &str| NewVerified {
        question: question.into(),
        sql: sql.into(),
        added_by: by.into(),
        source_answer_id: None,
    };
    let first = store.add_verified(&verified("Revenue by region?", "SELECT 1", "ana")).await.unwrap();
    assert!(first.id.starts_with("vq-"), "{}", first.id);
    assert_eq!(first.created_at, first.updated_at);
    let other = store
        .add_verified(&NewVerified {
            source_answer_id: Some("a9".into()),
            ..verified("Orders per day", "SELECT 2", "bob")
        })
        .await
        .unwrap();
    assert_eq!(other.source_answer_id.as_deref(), Some("a9"));

    let replaced = store.add_verified(&verified("  revenue  BY\tregion ", "SELECT 3", "carl")).await.unwrap();
    assert_eq!((replaced.id.as_str(), replaced.created_at), (first.id.as_str(), first.created_at));
    assert_eq!((replaced.sql.as_str(), replaced.added_by.as_str()), ("SELECT 3", "carl"));
    assert_eq!(replaced.question, "  revenue  BY\tregion ");
    // Questions the planner reads alike are one: hyphens and closing punctuation do not count.
    let hyphen = store.add_verified(&verified("Orders per-day.", "SELECT 4", "dan")).await.unwrap();
    assert_eq!(hyphen.id, other.id);
    let other = hyphen;

    let list = store.list_verified().await.unwrap();
    assert_eq!(list, vec![replaced.clone(), other.clone()], "oldest first, no duplicate");

    assert!(store.remove_verified(&first.id).await.unwrap());
    assert!(!store.remove_verified(&first.id).await.unwrap());
    assert_eq!(store.list_verified().await.unwrap(), vec![other]);
}

fn new_answer(conversation: &str, user: &str, starts: bool, answer_id: &str, request_id: &str) -> NewAnswer {
    NewAnswer {
        conversation: self::conversation(conversation, user, "api"),
        starts_conversation: starts,
        turn: turn(answer_id, &format!("question of {answer_id}"), at(0)),
        chart: Some(ChartRecord {
            id: format!("ch-{answer_id}"),
            answer_id: answer_id.into(),
            content: ChartContent::Source("{}".into()),
            created_at: at(0),
        }),
        audit: AuditRecord {
            user_id: user.into(),
            conversation_id: Some(conversation.into()),
            answer_id: Some(answer_id.into()),
            ..audit_record(request_id, at(0), "answered")
        },
    }
}

async fn an_answer_is_stored_only_with_its_audit_record(store: Store) {
    let first = store.record_answer(new_answer("c1", "ana", true, "a1", "req-1")).await.unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(store.conversation("c1").await.unwrap().unwrap().user_id, "ana");
    let audit = store.audit("req-1").await.unwrap().expect("the audit record is stored with the answer");
    assert_eq!((audit.answer_id.as_deref(), audit.client_request_id.as_deref()), (Some("a1"), Some("client-req-1")));
    assert!(store.chart("ch-a1").await.unwrap().is_some());
    assert_eq!(store.record_answer(new_answer("c1", "ana", false, "a2", "req-2")).await.unwrap().seq, 2);

    // The audit write fails (its id is taken): nothing of the answer is stored.
    let err = store.record_answer(new_answer("c2", "bob", true, "b1", "req-1")).await.unwrap_err();
    assert_eq!(err.kind(), "conflict", "{err}");
    assert_eq!(store.conversation("c2").await.unwrap(), None, "no conversation without its first answer");
    assert_eq!(store.turn_by_answer("b1").await.unwrap(), None, "no turn without its audit record");
    assert_eq!(store.chart("ch-b1").await.unwrap(), None);
    let err = store.record_answer(new_answer("c1", "ana", false, "a3", "req-2")).await.unwrap_err();
    assert_eq!(err.kind(), "conflict", "{err}");
    assert_eq!(store.turns("c1").await.unwrap().len(), 2);
    assert_eq!(store.audit("req-1").await.unwrap().unwrap().user_id, "ana", "the first record stays");

    // Someone else's conversation cannot be continued, and a missing one is the same refusal.
    for (conversation, answer_id, request_id) in [("c1", "b2", "req-3"), ("ghost", "b3", "req-4")] {
        let err = store.record_answer(new_answer(conversation, "bob", false, answer_id, request_id)).await.unwrap_err();
        assert_eq!(err.kind(), "not_found", "{err}");
        assert_eq!(store.audit(request_id).await.unwrap(), None);
        assert_eq!(store.turn_by_answer(answer_id).await.unwrap(), None);
    }
}

async fn conversations_are_read_by_their_owner_or_with_their_share(store: Store) {
    store.create_conversation(&conversation("c1", "ana", "web")).await.unwrap();
    store.create_conversation(&conversation("c2", "ana", "web")).await.unwrap();
    store.append_turn("c1", &turn("a1", "q1", at(0))).await.unwrap();
    let read = |id: &'static str, user: &'static str, token: Option<String>| {
        let store = store.clone();
        async move { store.conversation_for_reader(id, user, token.as_deref()).await.unwrap().map(|c| c.id) }
    };
    assert_eq!(read("c1", "ana", None).await.as_deref(), Some("c1"), "the owner reads it");
    assert_eq!(read("c1", "bob", None).await, None, "others do not");
    assert_eq!(read("nope", "ana", None).await, None);

    let err = store.share_conversation("c1", "bob").await.unwrap_err();
    assert_eq!(err.kind(), "not_found", "only the owner shares: {err}");
    assert_eq!(store.share_conversation("nope", "ana").await.unwrap_err().kind(), "not_found");
    let (share, created) = store.share_conversation("c1", "ana").await.unwrap();
    assert!(created);
    assert!(share.token.starts_with("sh-") && share.token.len() == 35, "{}", share.token);
    assert_eq!((share.conversation_id.as_str(), share.created_by.as_str()), ("c1", "ana"));
    let (again, created) = store.share_conversation("c1", "ana").await.unwrap();
    assert_eq!((again, created), (share.clone(), false), "one share per conversation");
    assert!(store.share_conversation("c1", "bob").await.is_err(), "an existing share is not shown to others");

    assert_eq!(read("c1", "bob", Some(share.token.clone())).await.as_deref(), Some("c1"), "the share opens it");
    assert_eq!(read("c2", "bob", Some(share.token.clone())).await, None, "and only the conversation it is of");
    assert_eq!(read("c1", "bob", Some("sh-0".into())).await, None);
    assert_ne!(store.share_conversation("c2", "ana").await.unwrap().0.token, share.token);
}

async fn feedback_is_taken_from_the_owner_or_a_share_holder(store: Store) {
    store.create_conversation(&conversation("c1", "ana", "web")).await.unwrap();
    store.append_turn("c1", &turn("a1", "q1", at(0))).await.unwrap();
    store.create_conversation(&conversation("c2", "ana", "web")).await.unwrap();
    store.append_turn("c2", &turn("a2", "q2", at(0))).await.unwrap();
    let (other, _) = store.share_conversation("c2", "ana").await.unwrap();
    let feedback = |user: &str, share_token: Option<&str>| NewFeedback {
        answer_id: "a1".into(),
        user_id: user.into(),
        rating: Rating::Up,
        comment: None,
        share_token: share_token.map(Into::into),
    };
    store.add_feedback(&feedback("ana", None)).await.unwrap();
    for share_token in [None, Some("sh-0"), Some(other.token.as_str())] {
        let err = store.add_feedback(&feedback("bob", share_token)).await.unwrap_err();
        assert_eq!(err.kind(), "not_found", "{share_token:?}: {err}");
    }
    assert_eq!(store.feedback_for("a1").await.unwrap().len(), 1, "nothing of Bob's was stored");
    let (share, _) = store.share_conversation("c1", "ana").await.unwrap();
    let given = store.add_feedback(&feedback("bob", Some(&share.token))).await.unwrap();
    assert_eq!((given.answer_id.as_str(), given.user_id.as_str()), ("a1", "bob"));
    assert_eq!(store.feedback_for("a1").await.unwrap().len(), 2);
}

async fn reopening_migrates_once_and_keeps_data(fixture: &Fixture) {
    let store = fixture.open().await;
    store.create_conversation(&conversation("c1", "ana", "web")).await.unwrap();
    store.append_turn("c1", &turn("a1", "kept?", at(0))).await.unwrap();
    store.write_audit(&audit_record("req-1", at(0), "answered")).await.unwrap();
    assert!(store.claim_slack_trigger("t1", Utc::now()).await.unwrap());
    store.close().await;
    drop(store);

    for _ in 0..2 {
        let store = fixture.open().await;
        assert_eq!(store.conversation("c1").await.unwrap().unwrap().title, "kept?");
        assert_eq!(store.turns("c1").await.unwrap().len(), 1);
        assert!(store.audit("req-1").await.unwrap().is_some());
        assert!(!store.claim_slack_trigger("t1", Utc::now()).await.unwrap());
        store.close().await;
    }

    let mut conn = AnyConnection::connect(&fixture.raw_url()).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&mut conn).await.unwrap();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count();
    assert_eq!(applied, shipped as i64, "each migration is recorded once");
    conn.close().await.unwrap();
}

/// Issue 17: verified questions are keyed by the one question normaliser; keys written by the
/// older rule (lowercase and single spaces) are recomputed when the store opens, and two
/// questions that the new rule makes one are merged, keeping the one updated last.
async fn verified_keys_written_by_the_older_rule_are_recomputed_on_open(fixture: &Fixture) {
    let store = fixture.open().await;
    store.close().await;
    drop(store);
    let mut conn = AnyConnection::connect(&fixture.raw_url()).await.unwrap();
    let rows = [
        ("vq-old1", "Revenue by region?", "revenue by region?", "SELECT 1", 1),
        ("vq-old2", "revenue by region", "revenue by region", "SELECT 2", 2),
        ("vq-old3", "Sign-ups by channel", "sign-ups by channel", "SELECT 3", 3),
    ];
    for (id, question, key, sql, updated) in rows {
        sqlx::query(
            "INSERT INTO verified (id, question, question_key, sql_text, added_by, source_answer_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'ana', NULL, $5, $5)",
        )
        .bind(id)
        .bind(question)
        .bind(key)
        .bind(sql)
        .bind(updated as i64)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();

    let store = fixture.open().await;
    let ids: Vec<String> = store.list_verified().await.unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(ids, ["vq-old2", "vq-old3"], "the duplicate updated first is merged into the later one");
    let new = |question: &str| NewVerified {
        question: question.into(),
        sql: "SELECT 9".into(),
        added_by: "bob".into(),
        source_answer_id: None,
    };
    assert_eq!(store.add_verified(&new("sign ups by channel?")).await.unwrap().id, "vq-old3");
    assert_eq!(store.add_verified(&new("REVENUE BY REGION!")).await.unwrap().id, "vq-old2");
    assert_eq!(store.list_verified().await.unwrap().len(), 2);
    store.close().await;
}

/// Issue 19: answers recorded at once are committed in groups; each call returns only when
/// its answer is committed (another pool, as a restarted server would, reads it at once), and
/// follow-ups to one conversation keep contiguous turn numbers.
async fn concurrent_answers_are_committed_before_they_are_acknowledged(fixture: &Fixture) {
    const CONVERSATIONS: usize = 12;
    const FOLLOW_UPS: usize = 5;
    let store = fixture.open().await;
    let observer = fixture.open().await;
    let mut handles = Vec::new();
    for c in 0..CONVERSATIONS {
        let (store, observer) = (store.clone(), observer.clone());
        handles.push(tokio::spawn(async move {
            let conversation = format!("busy-{c}");
            for n in 0..=FOLLOW_UPS {
                let answer_id = format!("a-{c}-{n}");
                let new = new_answer(&conversation, "ana", n == 0, &answer_id, &format!("req-{c}-{n}"));
                let seq = store.record_answer(new).await.unwrap().seq;
                assert_eq!(seq as usize, n + 1);
                let audit = observer.audit(&format!("req-{c}-{n}")).await.unwrap();
                assert!(audit.is_some(), "answer {answer_id} was acknowledged before its commit");
                assert!(observer.chart(&format!("ch-{answer_id}")).await.unwrap().is_some());
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    for c in 0..CONVERSATIONS {
        let turns = observer.turns(&format!("busy-{c}")).await.unwrap();
        assert_eq!(turns.iter().map(|t| t.seq as usize).collect::<Vec<_>>(), (1..=FOLLOW_UPS + 1).collect::<Vec<_>>());
    }
    observer.close().await;
    store.close().await;
}

async fn concurrent_appends_get_contiguous_sequence_numbers(fixture: &Fixture) {
    const TASKS: usize = 8;
    const EACH: usize = 6;
    let store = fixture.open().await;
    store.create_conversation(&conversation("busy", "ana", "api")).await.unwrap();
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let answer_id = format!("a-{task}-{i}");
                seqs.push(store.append_turn("busy", &turn(&answer_id, "q", Utc::now())).await.unwrap().seq);
            }
            seqs
        }));
    }
    let mut seen = BTreeSet::new();
    for handle in handles {
        for seq in handle.await.unwrap() {
            assert!(seen.insert(seq), "seq {seq} given twice");
        }
    }
    let expected: BTreeSet<u32> = (1..=(TASKS * EACH) as u32).collect();
    assert_eq!(seen, expected);
    let stored: Vec<u32> = store.turns("busy").await.unwrap().iter().map(|t| t.seq).collect();
    assert_eq!(stored, expected.into_iter().collect::<Vec<_>>());
}

async fn a_database_from_a_newer_quarry_is_refused(fixture: &Fixture) {
    fixture.open().await.close().await;
    let mut conn = AnyConnection::connect(&fixture.raw_url()).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, $1, 0)",
    )
    .bind(vec![0u8; 48])
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let err = Store::open(&fixture.config, fixture.dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), "newer_database", "{err}");
    assert!(err.to_string().contains("9999") && err.to_string().contains("newer quarry"), "{err}");
}

/// Issue 20: the limit is kept in the store, as GCRA: `burst` at once, then one per interval.
async fn rate_limits_allow_a_burst_then_the_average_rate_per_key(store: Store) {
    let quota = RateQuota { per_minute: 6, burst: 3 };
    let t0 = at(1_000);
    let ms = |n: i64| t0 + Duration::milliseconds(n);
    for i in 0..3 {
        assert_eq!(store.take_rate_token("ana", quota, ms(i)).await.unwrap(), RateDecision::Allowed, "request {i}");
    }
    // The fourth, 2 ms after the first, waits for the first's interval (10 s) to pass.
    let refused = store.take_rate_token("ana", quota, ms(2)).await.unwrap();
    assert_eq!(refused, RateDecision::Refused { retry_after: std::time::Duration::from_millis(9_998) });
    // A refused request is not counted, and other keys have their own allowance.
    assert_eq!(store.take_rate_token("bob", quota, ms(3)).await.unwrap(), RateDecision::Allowed);
    assert!(matches!(store.take_rate_token("ana", quota, ms(9_999)).await.unwrap(), RateDecision::Refused { .. }));
    assert_eq!(store.take_rate_token("ana", quota, ms(10_000)).await.unwrap(), RateDecision::Allowed);
    assert!(matches!(store.take_rate_token("ana", quota, ms(10_001)).await.unwrap(), RateDecision::Refused { .. }));
    // Idle for long enough, the whole burst is back (and the old rows are gone).
    let later = ms(10 * 60_000);
    for i in 0..3 {
        assert_eq!(store.take_rate_token("ana", quota, later).await.unwrap(), RateDecision::Allowed, "again {i}");
    }
    assert!(matches!(store.take_rate_token("ana", quota, later).await.unwrap(), RateDecision::Refused { .. }));
}

/// Issue 20: two stores (as two server replicas) on one PostgreSQL database, asking at the same
/// time, let exactly the quota through between them. A SQLite file belongs to one server, so
/// each store counts its own (issue 19: written to the file, the counters held its one write
/// lock on every question).
async fn two_stores_share_one_rate_limit_on_postgres_and_count_their_own_on_sqlite(fixture: &Fixture) {
    const BURST: u32 = 5;
    let (first, second) = (fixture.open().await, fixture.open().await);
    let quota = RateQuota { per_minute: 1, burst: BURST };
    let now = Utc::now();
    let mut handles = Vec::new();
    for task in 0..12 {
        let store = if task % 2 == 0 { first.clone() } else { second.clone() };
        handles.push(tokio::spawn(async move { store.take_rate_token("ana", quota, now).await.unwrap() }));
    }
    let mut allowed = 0;
    for handle in handles {
        if handle.await.unwrap() == RateDecision::Allowed {
            allowed += 1;
        }
    }
    let expected = match first.backend() {
        Backend::Postgres => BURST,
        Backend::Sqlite => 2 * BURST,
    };
    assert_eq!(allowed, expected, "{:?}", first.backend());
    first.close().await;
    second.close().await;
}

fn new_review(answer_id: &str, asker: &str, conversation: &str, reason: ReviewReason) -> NewReview {
    NewReview {
        answer_id: answer_id.into(),
        asker_id: asker.into(),
        channel: "web".into(),
        conversation_id: conversation.into(),
        question: format!("question of {answer_id}"),
        reason,
        context: json!({"why": "not sure"}),
        reply_url: None,
        reply_url_expires_at: None,
    }
}

// Issue 21: the review queue.
async fn review_items_are_one_per_answer_and_filtered(store: Store) {
    store.record_answer(new_answer("c1", "ana", true, "a1", "req-1")).await.unwrap();
    store.record_answer(new_answer("c2", "bob", true, "b1", "req-2")).await.unwrap();
    let (first, created) =
        store.enqueue_review(&new_review("a1", "ana", "c1", ReviewReason::CannotAnswer)).await.unwrap();
    assert!(created && first.id.starts_with("rv-"), "{}", first.id);
    assert_eq!((first.status, first.reason), (ReviewStatus::Open, ReviewReason::CannotAnswer));
    assert_eq!(first.context, json!({"why": "not sure"}));
    // Asking about the same answer again (here from Slack) keeps the item and its reason, and
    // adds the reply URL it lacked.
    let again = NewReview {
        reply_url: Some("https://hooks.slack.com/x".into()),
        reply_url_expires_at: Some(at(1800)),
        ..new_review("a1", "ana", "c1", ReviewReason::Asked)
    };
    let (same, created) = store.enqueue_review(&again).await.unwrap();
    assert!(!created);
    assert_eq!((same.id.as_str(), same.reason), (first.id.as_str(), ReviewReason::CannotAnswer));
    assert_eq!(same.reply_url.as_deref(), Some("https://hooks.slack.com/x"));
    assert_eq!(same.reply_url_expires_at, Some(at(1800)));
    let (bobs, _) = store.enqueue_review(&new_review("b1", "bob", "c2", ReviewReason::ThumbsDown)).await.unwrap();
    let missing = store.enqueue_review(&new_review("nope", "ana", "c1", ReviewReason::Asked)).await.unwrap_err();
    assert_eq!(missing.kind(), "not_found", "{missing}");

    let all = ReviewFilter { limit: 10, ..ReviewFilter::default() };
    let ids = |items: Vec<quarry_store::ReviewRecord>| items.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_reviews(&all).await.unwrap()), [first.id.clone(), bobs.id.clone()], "oldest first");
    let only_bob = ReviewFilter { asker_id: Some("bob".into()), ..all.clone() };
    assert_eq!(ids(store.list_reviews(&only_bob).await.unwrap()), [bobs.id.as_str()]);
    let thumbs = ReviewFilter { reason: Some(ReviewReason::ThumbsDown), ..all.clone() };
    assert_eq!(ids(store.list_reviews(&thumbs).await.unwrap()), [bobs.id.as_str()]);
    let answered = ReviewFilter { status: Some(ReviewStatus::Answered), ..all.clone() };
    assert!(store.list_reviews(&answered).await.unwrap().is_empty());
    assert_eq!(store.list_reviews(&ReviewFilter { limit: 1, ..all }).await.unwrap().len(), 1);
    assert_eq!(store.open_review_count().await.unwrap(), 2);
    assert_eq!(store.review_for_answer("b1").await.unwrap().map(|r| r.id), Some(bobs.id.clone()));
    assert_eq!(ids(store.reviews_in_conversation("c2").await.unwrap()), [bobs.id.as_str()]);
    assert_eq!(ids(store.reviews_in_conversation("c1").await.unwrap()), [first.id.as_str()]);
    assert!(store.reviews_in_conversation("ghost").await.unwrap().is_empty());
    assert_eq!(store.review(&bobs.id).await.unwrap().unwrap(), bobs);
    assert_eq!(store.review("rv-nope").await.unwrap(), None);
}

async fn a_review_is_answered_once_with_its_turn_and_audit_record(store: Store) {
    store.record_answer(new_answer("c1", "ana", true, "a1", "req-1")).await.unwrap();
    let (item, _) = store.enqueue_review(&new_review("a1", "ana", "c1", ReviewReason::Asked)).await.unwrap();
    let answer = |audit_id: &str| ReviewAnswer {
        review_id: item.id.clone(),
        analyst: "carl".into(),
        text: "42 accounts churned".into(),
        sql: Some("SELECT 42".into()),
        verified_id: Some("vq-1".into()),
        turn: Some(NewTurn { state: json!({"analyst": true}), ..turn("an-1", "question of a1", at(60)) }),
        delivery: "conversation".into(),
        audit: AuditRecord {
            user_id: "carl".into(),
            outcome: "review_answered".into(),
            ..audit_record(audit_id, at(60), "review_answered")
        },
    };
    // A failed audit write leaves the item open and the conversation as it was.
    let mut clash = answer("req-1");
    clash.audit.id = "req-1".into();
    assert_eq!(store.answer_review(&clash).await.unwrap_err().kind(), "conflict");
    assert_eq!(store.review(&item.id).await.unwrap().unwrap().status, ReviewStatus::Open);
    assert_eq!(store.turns("c1").await.unwrap().len(), 1);

    let done = store.answer_review(&answer("req-9")).await.unwrap();
    assert_eq!(done.status, ReviewStatus::Answered);
    assert_eq!(
        (done.answered_by.as_deref(), done.answer_text.as_deref(), done.answer_sql.as_deref()),
        (Some("carl"), Some("42 accounts churned"), Some("SELECT 42"))
    );
    assert_eq!((done.verified_id.as_deref(), done.delivery.as_deref()), (Some("vq-1"), Some("conversation")));
    assert!(done.answered_at.is_some());
    let turns = store.turns("c1").await.unwrap();
    assert_eq!(turns.iter().map(|t| t.answer_id.as_str()).collect::<Vec<_>>(), ["a1", "an-1"]);
    assert_eq!(store.conversation("c1").await.unwrap().unwrap().state, json!({"analyst": true}));
    assert_eq!(store.audit("req-9").await.unwrap().unwrap().outcome, "review_answered");
    assert_eq!(store.open_review_count().await.unwrap(), 0);

    let twice = store.answer_review(&ReviewAnswer { turn: None, ..answer("req-10") }).await.unwrap_err();
    assert_eq!(twice.kind(), "conflict", "{twice}");
    assert_eq!(store.audit("req-10").await.unwrap(), None, "a refused answer leaves no audit record");
    let missing = ReviewAnswer { review_id: "rv-nope".into(), turn: None, ..answer("req-11") };
    assert_eq!(store.answer_review(&missing).await.unwrap_err().kind(), "not_found");

    let delivered = store.set_review_delivery(&item.id, "failed: no bot token").await.unwrap();
    assert_eq!(delivered.delivery.as_deref(), Some("failed: no bot token"));
    assert_eq!(store.set_review_delivery("rv-nope", "x").await.unwrap_err().kind(), "not_found");
}

async fn verified_questions_are_found_by_their_normalized_text(store: Store) {
    let added = store
        .add_verified(&NewVerified {
            question: "How many accounts churned in March?".into(),
            sql: "SELECT 42".into(),
            added_by: "carl".into(),
            source_answer_id: None,
        })
        .await
        .unwrap();
    let found = store.verified_for_question("  how many ACCOUNTS churned in march? ").await.unwrap();
    assert_eq!(found, Some(added));
    assert_eq!(store.verified_for_question("how many accounts churned in april?").await.unwrap(), None);
}

// Opening failures: no database server needed.

#[tokio::test]
async fn an_unsupported_url_is_refused_without_leaking_the_password() {
    let config = StoreConfig { url: "mysql://root:hunter2@db/quarry".into(), ..StoreConfig::default() };
    let err = Store::open(&config, &std::env::temp_dir()).await.unwrap_err();
    assert_eq!(err.kind(), "invalid_url", "{err}");
    assert!(err.to_string().contains("mysql://root:***@db/quarry"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn an_unreachable_postgres_says_which_url_and_what_to_do() {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let config = StoreConfig {
        url: "postgres://quarry:hunter2@127.0.0.1:1/quarry".into(),
        acquire_timeout_ms: 2000,
        ..StoreConfig::default()
    };
    let err = Store::open(&config, &std::env::temp_dir()).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    let message = err.to_string();
    assert!(message.contains("postgres://quarry:***@127.0.0.1:1/quarry"), "{message}");
    assert!(message.contains("running and reachable"), "{message}");
    assert!(message.contains("refused"), "the cause, not just a pool timeout: {message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn an_unwritable_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be made under a regular file, even by root.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let err = Store::open(&StoreConfig::default(), &file.join("data")).await.unwrap_err();
    assert_eq!(err.kind(), "io", "{err}");
    assert!(err.to_string().contains(&file.join("data").display().to_string()), "{err}");
}

#[tokio::test]
async fn a_sqlite_path_that_is_a_directory_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig { url: "sqlite://db".into(), ..StoreConfig::default() };
    std::fs::create_dir(dir.path().join("db")).unwrap();
    let err = Store::open(&config, dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    assert!(err.to_string().contains(&dir.path().join("db").display().to_string()), "{err}");
}

#[tokio::test]
async fn sqlite_is_opened_in_wal_mode_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig::default(), &dir.path().join("nested/data")).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let path: PathBuf = dir.path().join("nested/data/quarry.db");
    assert!(path.is_file(), "the file and its directories are created");
    store.close().await;
    let mut conn = AnyConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
    conn.close().await.unwrap();
}
