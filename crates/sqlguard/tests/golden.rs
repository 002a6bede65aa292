//! Golden snapshots of rewritten SQL for admitted queries and of refusal messages.

mod common;

use std::fmt::Write;

fn render_admitted(cases: &[&str]) -> String {
    let policy = common::demo_policy();
    let mut out = String::new();
    for sql in cases {
        let query = policy.check(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
        let how = match (query.limit_added, query.limit_capped) {
            (true, _) => "added",
            (_, true) => "capped",
            _ => "kept",
        };
        writeln!(out, "in:    {sql}\nout:   {}\nlimit: {} ({how})\n", query.sql, query.limit).unwrap();
    }
    out
}

fn render_refused(cases: &[&str]) -> String {
    let policy = common::demo_policy();
    let mut out = String::new();
    for sql in cases {
        let error = policy.check(sql).map(|query| query.sql).expect_err(sql);
        writeln!(out, "in:    {sql}\nkind:  {}\nerror: {error}\n", error.kind()).unwrap();
    }
    out
}

#[test]
fn rewritten_sql_of_admitted_queries() {
    insta::assert_snapshot!(render_admitted(&[
        "select date_trunc('month', signup_at) as month, count(*) as signups from USERS group by 1 order by 1",
        "SELECT event_id FROM events ORDER BY event_time DESC LIMIT 25",
        "SELECT event_id FROM events LIMIT 250000 OFFSET 10",
        "SELECT plan FROM subscriptions UNION SELECT 'none' ORDER BY 1",
        "WITH paid AS (SELECT account_id, sum(amount_usd) AS revenue FROM invoices WHERE status = 'paid' GROUP BY 1)\n\
         SELECT a.region, sum(p.revenue) FROM paid p JOIN accounts a ON a.account_id = p.account_id GROUP BY a.region",
        "SELECT ticket_id FROM support_tickets ORDER BY csat_score NULLS LAST FETCH FIRST 5 ROWS ONLY",
        "SELECT account_id FROM accounts LIMIT 10, 20",
        "SELECT 1 /* /* nested */ ; DROP TABLE users */ AS one",
    ]));
}

#[test]
fn messages_of_refused_queries() {
    insta::assert_snapshot!(render_refused(&[
        "SELECT email FROM users",
        "SELECT * FROM users u JOIN accounts a ON a.account_id = u.account_id",
        "SELECT to_json(u) FROM users u",
        "DROP TABLE users",
        "SELECT 1; DELETE FROM users",
        "SELECT * FROM \"Users\"",
        "SELECT * FROM read_parquet('s3://bucket/users.parquet')",
        "SELECT count(*) FROM us\u{0435}rs",
        "SELECT event_id FROM events LIMIT -1",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t",
    ]));
}
