//! quarry on a real Ballista cluster (a scheduler and two executors, separate processes on
//! loopback): the demo eval set gives the results of the local engine, an executor killed
//! mid-run is survived or reported, and nothing hangs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Cluster, EXECUTOR_TIMEOUT_SECONDS, demo, settings};
use futures::StreamExt;
use quarry_answer::{Conversation, Pipeline, SqlAnswer};
use quarry_eval::{ResultTable, Tolerance, has_top_level_order_by, load_cases, score_rows};

fn table(answer: &SqlAnswer) -> ResultTable {
    let result = answer.result.as_ref().expect("run_sql keeps the result");
    ResultTable::from_schema_and_batches(&result.schema, &result.batches)
}

/// Whether `actual` is `expected`, up to the order of rows that tie on the query's ORDER BY
/// keys (engines may return tied rows in any order: more partitions, another order).
fn same_result(sql: &str, expected: &ResultTable, actual: &ResultTable) -> Result<(), String> {
    let ordered = has_top_level_order_by(sql);
    let verdict = score_rows(expected, ordered, actual, Tolerance::DEFAULT);
    if verdict.ex {
        return Ok(());
    }
    if !ordered && expected.len() == actual.len() && limit(sql).is_some_and(|n| n == expected.len()) {
        // A LIMIT without ORDER BY: any rows are right, on either engine.
        return Ok(());
    }
    let as_bags = score_rows(expected, false, actual, Tolerance::DEFAULT);
    if !ordered || !as_bags.ex {
        return Err(format!("{:?}", verdict.detail));
    }
    let keys = order_keys(sql, &expected.columns).ok_or_else(|| format!("{:?} (sort keys unknown)", verdict.detail))?;
    let project = |t: &ResultTable| {
        let rows = t.rows.iter().map(|row| keys.iter().map(|&k| row[k].clone()).collect()).collect();
        ResultTable::new(keys.iter().map(|&k| t.columns[k].clone()).collect(), rows)
    };
    let by_keys = score_rows(&project(expected), true, &project(actual), Tolerance::DEFAULT);
    if by_keys.ex { Ok(()) } else { Err(format!("out of order on the sort keys: {:?}", by_keys.detail)) }
}

fn parse(sql: &str) -> Option<Box<datafusion::sql::sqlparser::ast::Query>> {
    use datafusion::sql::sqlparser::ast::Statement;
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    match Parser::parse_sql(&GenericDialect {}, sql).ok()?.pop()? {
        Statement::Query(query) => Some(query),
        _ => None,
    }
}

/// The top-level LIMIT of a query, when it is a number.
fn limit(sql: &str) -> Option<usize> {
    use datafusion::sql::sqlparser::ast::{Expr, LimitClause, Value};
    match parse(sql)?.limit_clause? {
        LimitClause::LimitOffset { limit: Some(Expr::Value(value)), .. } => match value.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The result columns a query's top-level ORDER BY sorts on, when each key names one (by
/// name or position).
fn order_keys(sql: &str, columns: &[String]) -> Option<Vec<usize>> {
    use datafusion::sql::sqlparser::ast::{Expr, OrderByKind, Value};
    let query = parse(sql)?;
    let OrderByKind::Expressions(keys) = &query.order_by.as_ref()?.kind else { return None };
    keys.iter()
        .map(|key| match &key.expr {
            Expr::Identifier(ident) => columns.iter().position(|c| c.eq_ignore_ascii_case(&ident.value)),
            Expr::CompoundIdentifier(parts) => {
                let name = &parts.last()?.value;
                columns.iter().position(|c| c.eq_ignore_ascii_case(name))
            }
            Expr::Value(value) => match &value.value {
                Value::Number(n, _) => n.parse::<usize>().ok()?.checked_sub(1),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The gold SQL of every case of the demo eval set.
fn demo_queries() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/questions/demo.jsonl");
    let (cases, errors) = load_cases(&path).expect("the demo set loads");
    assert!(errors.is_empty(), "{errors:?}");
    cases.into_iter().filter_map(|case| Some((case.id, case.gold_sql?))).collect()
}

/// Runs `sql` on the cluster pipeline, retrying while the executors are still registering.
async fn first_run(cluster: &Cluster, pipeline: &Pipeline, sql: &str) -> SqlAnswer {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match pipeline.run_sql(sql).await {
            Ok(answer) => return answer,
            Err(error) if Instant::now() < deadline => {
                eprintln!("cluster not ready yet: {error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("the cluster never answered: {error}\n{}", cluster.logs()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_eval_set_gives_the_local_engines_results_on_a_two_executor_cluster() {
    let cluster = Cluster::start(2);
    let local = quarry_bootstrap::open_pipeline_on(&settings(None), demo()).await.expect("the local pipeline opens");
    let remote = quarry_bootstrap::open_pipeline_on(&settings(Some(&cluster)), demo())
        .await
        .expect("the cluster pipeline opens");
    let queries = demo_queries();
    assert!(queries.len() > 200, "the demo set has its gold SQL: {}", queries.len());
    first_run(&cluster, &remote, &queries[0].1).await;

    let distinct: BTreeSet<&String> = queries.iter().map(|(_, sql)| sql).collect();
    // Several at once: a job's time on the cluster is mostly waiting between its stages.
    let compared = futures::stream::iter(&queries)
        .map(|(name, sql)| {
            let (local, remote) = (&local, &remote);
            async move {
                let expected = local.run_sql(sql).await;
                let actual = remote.run_sql(sql).await;
                match (expected, actual) {
                    (Ok(expected), Ok(actual)) => match same_result(sql, &table(&expected), &table(&actual)) {
                        Err(detail) => Some(format!("{name}: {detail}\n  {sql}")),
                        Ok(()) if expected.truncated != actual.truncated => {
                            Some(format!("{name}: truncated {} here, {} there", expected.truncated, actual.truncated))
                        }
                        Ok(()) => None,
                    },
                    (Err(expected), Err(actual)) if expected.kind() == actual.kind() => None,
                    (expected, actual) => Some(format!(
                        "{name}: local {:?}, cluster {:?}\n  {sql}",
                        expected.map(|a| a.rows.len()).map_err(|e| e.to_string()),
                        actual.map(|a| a.rows.len()).map_err(|e| e.to_string()),
                    )),
                }
            }
        })
        .buffer_unordered(6)
        .collect::<Vec<_>>()
        .await;
    let mismatches: Vec<String> = compared.into_iter().flatten().collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} queries differ:\n{}\n{}",
        mismatches.len(),
        queries.len(),
        mismatches.join("\n"),
        cluster.logs()
    );
    eprintln!("{} queries ({} distinct) gave the same results on the cluster", queries.len(), distinct.len());

    // Asked whole, questions get the same SQL and rows: the engine does not change the answer.
    for question in ["monthly revenue in 2025", "top 5 countries by revenue this year", "signups by channel last month"]
    {
        let here = local.ask(question, &mut Conversation::default()).await.expect("answers here");
        let there = remote.ask(question, &mut Conversation::default()).await.expect("answers on the cluster");
        assert_eq!(here.sql, there.sql, "{question}");
        assert_eq!(here.rows, there.rows, "{question}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_killed_mid_run_is_survived_or_reported_and_nothing_hangs() {
    let mut cluster = Cluster::start(2);
    let local = quarry_bootstrap::open_pipeline_on(&settings(None), demo()).await.expect("the local pipeline opens");
    let mut remote_settings = settings(Some(&cluster));
    remote_settings.executor.timeout_ms = 60_000;
    let remote = Arc::new(quarry_bootstrap::open_pipeline_on(&remote_settings, demo()).await.expect("opens"));
    // Queries with a shuffle (grouping, joins), so that tasks of one query run on both executors.
    let queries = [
        "SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan ORDER BY plan",
        "SELECT e.event_name, COUNT(DISTINCT e.user_id) AS users FROM events e JOIN users u ON u.user_id = e.user_id GROUP BY e.event_name ORDER BY e.event_name",
        "SELECT date_trunc('month', event_time) AS month, COUNT(*) AS events FROM events GROUP BY 1 ORDER BY 1",
    ];
    let mut expected = Vec::new();
    for sql in queries {
        expected.push(table(&local.run_sql(sql).await.expect("runs locally")));
    }
    first_run(&cluster, &remote, queries[0]).await;

    let started = Instant::now();
    let kill_at = Duration::from_secs(2);
    let runner = {
        let remote = Arc::clone(&remote);
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            // Until each query has been answered once well after the scheduler dropped the
            // dead executor (or two minutes have passed).
            let late = kill_at + Duration::from_secs(EXECUTOR_TIMEOUT_SECONDS * 2);
            let began = Instant::now();
            let mut answered_late = 0;
            while answered_late < queries.len() && began.elapsed() < Duration::from_secs(120) {
                for (index, sql) in queries.iter().enumerate() {
                    let asked = began.elapsed();
                    let outcome = remote.run_sql(sql).await;
                    answered_late += usize::from(asked > late && outcome.is_ok());
                    outcomes.push((index, asked, began.elapsed(), outcome));
                }
            }
            outcomes
        })
    };
    tokio::time::sleep(kill_at).await;
    let victim = &mut cluster.executors[0];
    victim.kill().expect("the executor is killed");
    victim.wait().expect("reaped");
    let killed = started.elapsed();

    let outcomes = tokio::time::timeout(Duration::from_secs(300), runner)
        .await
        .unwrap_or_else(|_| panic!("queries hung after an executor was killed\n{}", cluster.logs()))
        .expect("the runner finishes");
    let mut failures = Vec::new();
    let mut late_successes = 0;
    for (index, asked, finished, outcome) in &outcomes {
        eprintln!(
            "query {index} asked at {asked:?} (kill at {killed:?}) took {:?}: {}",
            finished.saturating_sub(*asked),
            outcome.as_ref().map_or_else(|e| e.to_string(), |a| format!("{} rows", a.rows.len()))
        );
        // Each query ended well within its own limit: nothing hung.
        assert!(
            finished.saturating_sub(*asked) < Duration::from_secs(60),
            "a query took {:?}",
            finished.saturating_sub(*asked)
        );
        match outcome {
            Ok(answer) => {
                let verdict = score_rows(&expected[*index], true, &table(answer), Tolerance::DEFAULT);
                assert!(verdict.ex, "a result after the kill differs: {:?}", verdict.detail);
                if *asked > killed + Duration::from_secs(EXECUTOR_TIMEOUT_SECONDS * 2) {
                    late_successes += 1;
                }
            }
            Err(error) => {
                let message = error.to_string();
                assert!(
                    matches!(
                        error.kind(),
                        quarry_answer::ErrorKind::ClusterUnavailable | quarry_answer::ErrorKind::ExecutionError
                    ),
                    "an unclear error: {} {message}",
                    error.kind()
                );
                failures.push(message);
            }
        }
    }
    eprintln!(
        "{} queries around the kill: {} failed ({:?}), {late_successes} answered by the remaining executor afterwards",
        outcomes.len(),
        failures.len(),
        failures.first()
    );
    assert!(late_successes > 0, "the remaining executor answered nothing after the kill\n{}", cluster.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_its_time_limit_is_cancelled_on_the_cluster() {
    let cluster = Cluster::start(2);
    let patient = quarry_bootstrap::open_pipeline_on(&settings(Some(&cluster)), demo()).await.expect("opens");
    first_run(&cluster, &patient, "SELECT COUNT(*) AS users FROM users").await;
    let mut hasty = settings(Some(&cluster));
    hasty.executor.timeout_ms = 100;
    let hasty = quarry_bootstrap::open_pipeline_on(&hasty, demo()).await.expect("opens");

    // A self-join of events on the session: far longer than 100 ms on two executors.
    let heavy = "SELECT a.platform, COUNT(*) AS pairs FROM events a JOIN events b ON a.session_id = b.session_id GROUP BY a.platform ORDER BY a.platform";
    let started = Instant::now();
    let error = hasty.run_sql(heavy).await.expect_err("the query passes its time limit");
    assert_eq!(error.kind(), quarry_answer::ErrorKind::Timeout, "{error}");
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout returned after {:?}", started.elapsed());

    let deadline = Instant::now() + Duration::from_secs(15);
    while !cluster.scheduler_log().contains("Received cancellation request for job") {
        assert!(Instant::now() < deadline, "the job was not cancelled on the cluster\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sandbox applies before anything is sent: a cartesian join over the limit is refused.
    let mut strict = settings(Some(&cluster));
    strict.executor.max_cartesian_rows = 1_000;
    let strict = quarry_bootstrap::open_pipeline_on(&strict, demo()).await.expect("opens");
    let error = strict
        .run_sql("SELECT COUNT(*) AS pairs FROM accounts a JOIN accounts b ON a.created_at < b.created_at")
        .await
        .expect_err("a cartesian join over the limit");
    assert_eq!(error.kind(), quarry_answer::ErrorKind::CartesianJoin, "{error}");

    // The cluster goes on answering.
    let answer = patient.run_sql("SELECT COUNT(*) AS users FROM users").await.expect("answers after a cancellation");
    assert_eq!(answer.rows.len(), 1);
}

#[tokio::test]
async fn an_unreachable_scheduler_is_a_clear_error_at_once() {
    let mut settings = settings(None);
    settings.executor.engine = quarry_exec::ExecutionEngine::Ballista;
    settings.executor.ballista_url = Some(format!("df://127.0.0.1:{}", common::free_port()));
    let started = Instant::now();
    let error = quarry_bootstrap::open_pipeline_on(&settings, demo()).await.expect_err("nothing listens there");
    let message = error.to_string();
    assert!(message.contains("cannot run the query") && message.contains("quarry-cluster scheduler"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
}
