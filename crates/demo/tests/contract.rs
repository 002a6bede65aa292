//! Contract integrity: the scale-1 demo warehouse, read back from its Parquet files, obeys shared/demo-warehouse.md.
//!
//! The expected schemas and value domains below are copied from the contract by hand, not
//! taken from the generator, so that a change on either side fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDateTime};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use quarry_demo::{AS_OF, DemoConfig, write_demo};
use quarry_snapshot::{ForeignKey, Manifest, SnapshotSource};

/// 2024-01-01 00:00:00 in microseconds.
const START: i64 = 1_704_067_200_000_000;
/// 2025-12-31 23:59:59 in microseconds.
const END: i64 = 1_767_225_599_000_000;
const DAY: i64 = 86_400_000_000;
const DAYS: usize = 731;
/// Start of "last 30 days" for as_of 2025-12-31: 2025-12-02.
const LAST_30_DAYS: i64 = END + 1_000_000 - 30 * DAY;

const COUNTRIES: &[&str] = &["US", "CA", "BR", "MX", "GB", "DE", "FR", "NL", "ES", "SE", "IN", "JP", "AU", "SG"];
const PLATFORMS: &[&str] = &["web", "ios", "android"];

/// A contract column: name, SQL type, whether NULL is allowed.
type ContractColumn = (&'static str, &'static str, bool);

/// Every table of the contract with its columns in order.
const CONTRACT: &[(&str, &[ContractColumn])] = &[
    (
        "accounts",
        &[
            ("account_id", "BIGINT", false),
            ("name", "VARCHAR", false),
            ("industry", "VARCHAR", false),
            ("country", "VARCHAR", false),
            ("region", "VARCHAR", false),
            ("employee_band", "VARCHAR", false),
            ("created_at", "TIMESTAMP", false),
        ],
    ),
    (
        "users",
        &[
            ("user_id", "BIGINT", false),
            ("account_id", "BIGINT", false),
            ("email", "VARCHAR", false),
            ("full_name", "VARCHAR", false),
            ("role", "VARCHAR", false),
            ("signup_at", "TIMESTAMP", false),
            ("signup_channel", "VARCHAR", false),
            ("signup_platform", "VARCHAR", false),
            ("country", "VARCHAR", false),
        ],
    ),
    (
        "subscriptions",
        &[
            ("subscription_id", "BIGINT", false),
            ("account_id", "BIGINT", false),
            ("plan", "VARCHAR", false),
            ("billing_period", "VARCHAR", false),
            ("seats", "INT", false),
            ("mrr_usd", "DECIMAL(12,2)", false),
            ("status", "VARCHAR", false),
            ("started_at", "TIMESTAMP", false),
            ("ended_at", "TIMESTAMP", true),
            ("cancel_reason", "VARCHAR", true),
        ],
    ),
    (
        "invoices",
        &[
            ("invoice_id", "BIGINT", false),
            ("account_id", "BIGINT", false),
            ("subscription_id", "BIGINT", false),
            ("issued_at", "TIMESTAMP", false),
            ("amount_usd", "DECIMAL(12,2)", false),
            ("status", "VARCHAR", false),
            ("paid_at", "TIMESTAMP", true),
        ],
    ),
    (
        "events",
        &[
            ("event_id", "BIGINT", false),
            ("user_id", "BIGINT", false),
            ("account_id", "BIGINT", false),
            ("event_time", "TIMESTAMP", false),
            ("event_name", "VARCHAR", false),
            ("feature", "VARCHAR", true),
            ("platform", "VARCHAR", false),
            ("session_id", "BIGINT", false),
        ],
    ),
    (
        "support_tickets",
        &[
            ("ticket_id", "BIGINT", false),
            ("account_id", "BIGINT", false),
            ("user_id", "BIGINT", false),
            ("created_at", "TIMESTAMP", false),
            ("resolved_at", "TIMESTAMP", true),
            ("priority", "VARCHAR", false),
            ("category", "VARCHAR", false),
            ("channel", "VARCHAR", false),
            ("first_response_minutes", "INT", false),
            ("csat_score", "INT", true),
        ],
    ),
    (
        "experiment_assignments",
        &[
            ("user_id", "BIGINT", false),
            ("experiment_name", "VARCHAR", false),
            ("variant", "VARCHAR", false),
            ("assigned_at", "TIMESTAMP", false),
            ("converted", "BOOLEAN", false),
            ("converted_at", "TIMESTAMP", true),
        ],
    ),
];

/// Every closed value domain of the contract: (table, column, all values).
const DOMAINS: &[(&str, &str, &[&str])] = &[
    ("accounts", "industry", &["Software", "Retail", "Finance", "Healthcare", "Education", "Manufacturing", "Media"]),
    ("accounts", "country", COUNTRIES),
    ("accounts", "region", &["NA", "LATAM", "EMEA", "APAC"]),
    ("accounts", "employee_band", &["1-10", "11-50", "51-200", "201-1000", "1000+"]),
    ("users", "role", &["admin", "member", "viewer"]),
    ("users", "signup_channel", &["organic", "paid_search", "social", "referral", "partner"]),
    ("users", "signup_platform", PLATFORMS),
    ("users", "country", COUNTRIES),
    ("subscriptions", "plan", &["free", "starter", "pro", "enterprise"]),
    ("subscriptions", "billing_period", &["monthly", "annual"]),
    ("subscriptions", "status", &["active", "trialing", "past_due", "canceled"]),
    (
        "subscriptions",
        "cancel_reason",
        &["price", "missing_feature", "switched_competitor", "no_longer_needed", "support_experience"],
    ),
    ("invoices", "status", &["paid", "open", "void", "refunded"]),
    (
        "events",
        "event_name",
        &["login", "page_view", "feature_used", "report_created", "dashboard_viewed", "export", "invite_sent"],
    ),
    ("events", "feature", &["dashboards", "reports", "alerts", "integrations", "ai_assistant", "api"]),
    ("events", "platform", PLATFORMS),
    ("support_tickets", "priority", &["low", "normal", "high", "urgent"]),
    ("support_tickets", "category", &["billing", "bug", "how_to", "feature_request", "outage"]),
    ("support_tickets", "channel", &["email", "chat", "phone"]),
    ("experiment_assignments", "experiment_name", &["new_onboarding", "pricing_page_v2", "ai_assistant_launch"]),
    ("experiment_assignments", "variant", &["control", "treatment"]),
];

/// The warehouse written once by `write_demo` and read back from Parquet for all tests.
struct Warehouse {
    manifest: Manifest,
    tables: BTreeMap<String, RecordBatch>,
}

fn warehouse() -> &'static Warehouse {
    static WAREHOUSE: OnceLock<Warehouse> = OnceLock::new();
    WAREHOUSE.get_or_init(|| {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("demo");
        let manifest = write_demo(&dir, &DemoConfig::default()).expect("the demo warehouse is written");
        let mut tables = BTreeMap::new();
        for entry in &manifest.tables {
            let file = File::open(dir.join(&entry.file)).expect("table file exists");
            let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("valid Parquet").build().unwrap();
            let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().expect("readable batches");
            let schema = batches.first().expect("at least one batch").schema();
            tables.insert(entry.name.clone(), concat_batches(&schema, &batches).unwrap());
        }
        Warehouse { manifest, tables }
    })
}

fn table(name: &str) -> &'static RecordBatch {
    warehouse().tables.get(name).unwrap_or_else(|| panic!("table {name} missing"))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a dyn Array {
    batch.column_by_name(name).unwrap_or_else(|| panic!("column {name} missing")).as_ref()
}

fn ids(t: &str, c: &str) -> Vec<i64> {
    let array = column(table(t), c);
    assert_eq!(array.null_count(), 0, "{t}.{c} has nulls");
    array.as_primitive::<Int64Type>().values().to_vec()
}

fn times(t: &str, c: &str) -> Vec<Option<i64>> {
    column(table(t), c).as_primitive::<TimestampMicrosecondType>().iter().collect()
}

fn required_times(t: &str, c: &str) -> Vec<i64> {
    times(t, c).into_iter().map(|v| v.unwrap_or_else(|| panic!("{t}.{c} has a null"))).collect()
}

fn texts(t: &str, c: &str) -> Vec<Option<&'static str>> {
    column(table(t), c).as_string::<i32>().iter().collect()
}

fn required_texts(t: &str, c: &str) -> Vec<&'static str> {
    texts(t, c).into_iter().map(|v| v.unwrap_or_else(|| panic!("{t}.{c} has a null"))).collect()
}

fn int32s(t: &str, c: &str) -> Vec<Option<i32>> {
    column(table(t), c).as_primitive::<Int32Type>().iter().collect()
}

fn cents(t: &str, c: &str) -> Vec<i128> {
    let array = column(table(t), c);
    assert_eq!(array.null_count(), 0, "{t}.{c} has nulls");
    array.as_primitive::<Decimal128Type>().values().to_vec()
}

fn booleans(t: &str, c: &str) -> Vec<bool> {
    let array = column(table(t), c);
    assert_eq!(array.null_count(), 0, "{t}.{c} has nulls");
    array.as_boolean().iter().map(|v| v.unwrap_or(false)).collect()
}

fn date_time(micros: i64) -> NaiveDateTime {
    DateTime::from_timestamp_micros(micros).expect("valid timestamp").naive_utc()
}

/// Day index from 2024-01-01.
fn day(micros: i64) -> usize {
    ((micros - START) / DAY) as usize
}

/// Position (id - 1) of every id of a table whose ids are exactly 1..=N.
fn assert_dense_ids(t: &str, c: &str) -> usize {
    let values = ids(t, c);
    assert!(values.iter().enumerate().all(|(i, &v)| v == i as i64 + 1), "{t}.{c} is not 1..N in order");
    values.len()
}

fn arrow_type(sql: &str) -> DataType {
    match sql {
        "BIGINT" => DataType::Int64,
        "INT" => DataType::Int32,
        "VARCHAR" => DataType::Utf8,
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "DECIMAL(12,2)" => DataType::Decimal128(12, 2),
        "BOOLEAN" => DataType::Boolean,
        other => panic!("unknown contract type {other}"),
    }
}

#[test]
fn manifest_describes_the_demo_snapshot() {
    let manifest = &warehouse().manifest;
    assert_eq!(manifest.as_of, AS_OF);
    assert_eq!(manifest.as_of.to_string(), "2025-12-31");
    assert_eq!(manifest.source, SnapshotSource::Demo { seed: 42, scale: 1 });
    assert!(manifest.id.starts_with("snap-"));
    let names: BTreeSet<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    let expected: BTreeSet<&str> = CONTRACT.iter().map(|(t, _)| *t).collect();
    assert_eq!(names, expected);
    assert!(manifest.notes.iter().any(|n| n.contains("fictional")));
}

#[test]
fn manifest_declares_the_join_graph() {
    let manifest = &warehouse().manifest;
    let fk = |c: &str, t: &str, r: &str| ForeignKey {
        columns: vec![c.into()],
        ref_table: t.into(),
        ref_columns: vec![r.into()],
    };
    let expected: &[(&str, &[&str], Vec<ForeignKey>)] = &[
        ("accounts", &["account_id"], vec![]),
        ("users", &["user_id"], vec![fk("account_id", "accounts", "account_id")]),
        ("subscriptions", &["subscription_id"], vec![fk("account_id", "accounts", "account_id")]),
        (
            "invoices",
            &["invoice_id"],
            vec![fk("account_id", "accounts", "account_id"), fk("subscription_id", "subscriptions", "subscription_id")],
        ),
        ("events", &["event_id"], vec![fk("user_id", "users", "user_id"), fk("account_id", "accounts", "account_id")]),
        (
            "support_tickets",
            &["ticket_id"],
            vec![fk("account_id", "accounts", "account_id"), fk("user_id", "users", "user_id")],
        ),
        ("experiment_assignments", &["user_id", "experiment_name"], vec![fk("user_id", "users", "user_id")]),
    ];
    for (name, primary_key, foreign_keys) in expected {
        let entry = manifest.table(name).unwrap();
        assert_eq!(&entry.primary_key, primary_key, "{name}");
        assert_eq!(&entry.foreign_keys, foreign_keys, "{name}");
    }
}

#[test]
fn schemas_match_the_contract_exactly() {
    for (name, columns) in CONTRACT {
        let schema = table(name).schema();
        let actual: Vec<(String, DataType, bool)> =
            schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable())).collect();
        let expected: Vec<(String, DataType, bool)> =
            columns.iter().map(|(c, sql, nullable)| (c.to_string(), arrow_type(sql), *nullable)).collect();
        assert_eq!(actual, expected, "schema of {name}");
        let entry = warehouse().manifest.table(name).unwrap();
        assert_eq!(entry.rows, table(name).num_rows() as u64);
        for (column, (c, _, nullable)) in entry.columns.iter().zip(columns.iter()) {
            assert_eq!((column.name.as_str(), column.nullable), (*c, *nullable), "manifest column of {name}");
        }
    }
}

#[test]
fn non_nullable_columns_hold_no_nulls() {
    for (name, columns) in CONTRACT {
        for (c, _, nullable) in *columns {
            if !nullable {
                assert_eq!(column(table(name), c).null_count(), 0, "{name}.{c}");
            }
        }
    }
}

#[test]
fn every_domain_holds_exactly_its_values_and_all_of_them() {
    for (t, c, values) in DOMAINS {
        let actual: BTreeSet<&str> = texts(t, c).into_iter().flatten().collect();
        let expected: BTreeSet<&str> = values.iter().copied().collect();
        assert_eq!(actual, expected, "values of {t}.{c}");
    }
    let scores: BTreeSet<i32> = int32s("support_tickets", "csat_score").into_iter().flatten().collect();
    assert_eq!(scores, (1..=5).collect::<BTreeSet<i32>>());
    let converted: BTreeSet<bool> = booleans("experiment_assignments", "converted").into_iter().collect();
    assert_eq!(converted, BTreeSet::from([false, true]));
}

#[test]
fn row_counts_are_about_the_contract_sizes() {
    let rows = |t: &str| table(t).num_rows();
    assert_eq!(rows("accounts"), 5_000);
    let expected = [
        ("users", 42_000, 60_000),
        ("subscriptions", 6_500, 9_500),
        ("invoices", 48_000, 72_000),
        ("events", 950_000, 1_060_000),
        ("support_tickets", 18_000, 22_000),
        ("experiment_assignments", 26_000, 34_000),
    ];
    for (t, lo, hi) in expected {
        assert!((lo..=hi).contains(&rows(t)), "{t} has {} rows, expected {lo}..={hi}", rows(t));
    }
}

#[test]
fn primary_keys_are_unique() {
    for (t, c) in [
        ("accounts", "account_id"),
        ("users", "user_id"),
        ("subscriptions", "subscription_id"),
        ("invoices", "invoice_id"),
        ("events", "event_id"),
        ("support_tickets", "ticket_id"),
    ] {
        assert_dense_ids(t, c);
    }
    let users = ids("experiment_assignments", "user_id");
    let experiments = required_texts("experiment_assignments", "experiment_name");
    let keys: BTreeSet<(i64, &str)> = users.into_iter().zip(experiments).collect();
    assert_eq!(keys.len(), table("experiment_assignments").num_rows(), "(user_id, experiment_name) repeats");
    let emails: BTreeSet<&str> = required_texts("users", "email").into_iter().collect();
    assert_eq!(emails.len(), table("users").num_rows(), "emails repeat");
}

#[test]
fn foreign_keys_resolve_and_agree() {
    let accounts = assert_dense_ids("accounts", "account_id") as i64;
    let users = assert_dense_ids("users", "user_id") as i64;
    let subscriptions = assert_dense_ids("subscriptions", "subscription_id") as i64;
    let in_range = |values: Vec<i64>, n: i64, what: &str| {
        assert!(values.iter().all(|&v| (1..=n).contains(&v)), "{what} does not resolve");
    };
    for t in ["users", "subscriptions", "invoices", "events", "support_tickets"] {
        in_range(ids(t, "account_id"), accounts, &format!("{t}.account_id"));
    }
    for t in ["events", "support_tickets", "experiment_assignments"] {
        in_range(ids(t, "user_id"), users, &format!("{t}.user_id"));
    }
    in_range(ids("invoices", "subscription_id"), subscriptions, "invoices.subscription_id");

    let account_of_user = ids("users", "account_id");
    for t in ["events", "support_tickets"] {
        for (user, account) in ids(t, "user_id").into_iter().zip(ids(t, "account_id")) {
            assert_eq!(account_of_user[user as usize - 1], account, "{t}: user {user} is not in account {account}");
        }
    }
    let account_of_subscription = ids("subscriptions", "account_id");
    for (sub, account) in ids("invoices", "subscription_id").into_iter().zip(ids("invoices", "account_id")) {
        assert_eq!(account_of_subscription[sub as usize - 1], account, "invoice of subscription {sub}");
    }
}

#[test]
fn every_timestamp_is_inside_the_window() {
    for (name, columns) in CONTRACT {
        for (c, sql, _) in *columns {
            if *sql != "TIMESTAMP" {
                continue;
            }
            for value in times(name, c).into_iter().flatten() {
                assert!((START..=END).contains(&value), "{name}.{c} = {} is outside the window", date_time(value));
            }
        }
    }
}

#[test]
fn regions_follow_countries() {
    let mapping: BTreeMap<&str, &str> = [
        ("US", "NA"),
        ("CA", "NA"),
        ("BR", "LATAM"),
        ("MX", "LATAM"),
        ("GB", "EMEA"),
        ("DE", "EMEA"),
        ("FR", "EMEA"),
        ("NL", "EMEA"),
        ("ES", "EMEA"),
        ("SE", "EMEA"),
        ("IN", "APAC"),
        ("JP", "APAC"),
        ("AU", "APAC"),
        ("SG", "APAC"),
    ]
    .into();
    for (country, region) in required_texts("accounts", "country").into_iter().zip(required_texts("accounts", "region"))
    {
        assert_eq!(mapping[country], region, "{country}");
    }
    let mut per_region: BTreeMap<&str, usize> = BTreeMap::new();
    for region in required_texts("accounts", "region") {
        *per_region.entry(region).or_default() += 1;
    }
    let biggest = per_region.iter().max_by_key(|(_, n)| **n).unwrap().0;
    assert_eq!(*biggest, "NA", "{per_region:?}");

    let account_country = required_texts("accounts", "country");
    let user_accounts = ids("users", "account_id");
    let user_countries = required_texts("users", "country");
    let home =
        user_accounts.iter().zip(&user_countries).filter(|(a, c)| account_country[**a as usize - 1] == **c).count();
    let share = home as f64 / user_countries.len() as f64;
    assert!((0.8..0.97).contains(&share), "{share} of users live in their account's country");
}

#[test]
fn users_sign_up_after_their_account_and_look_real() {
    let created = required_times("accounts", "created_at");
    let accounts = ids("users", "account_id");
    let signups = required_times("users", "signup_at");
    for (account, signup) in accounts.iter().zip(&signups) {
        assert!(*signup >= created[*account as usize - 1], "user signed up before account {account} existed");
    }
    let users_per_account = accounts.iter().collect::<BTreeSet<_>>().len();
    assert_eq!(users_per_account, created.len(), "every account has a user");
    for (email, name) in required_texts("users", "email").into_iter().zip(required_texts("users", "full_name")) {
        let (local, domain) = email.split_once('@').expect("an @");
        assert!(domain.ends_with(".example") && !local.is_empty(), "{email}");
        let mut parts = name.split(' ');
        let (first, last) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(parts.next().is_none(), "{name}");
        assert!(local.starts_with(&format!("{}.{}", first.to_lowercase(), last.to_lowercase())), "{email} / {name}");
    }
}

#[test]
fn subscriptions_follow_the_status_and_price_rules() {
    let created = required_times("accounts", "created_at");
    let accounts = ids("subscriptions", "account_id");
    let plans = required_texts("subscriptions", "plan");
    let mrr = cents("subscriptions", "mrr_usd");
    let seats = int32s("subscriptions", "seats");
    let status = required_texts("subscriptions", "status");
    let started = required_times("subscriptions", "started_at");
    let ended = times("subscriptions", "ended_at");
    let reasons = texts("subscriptions", "cancel_reason");
    for i in 0..plans.len() {
        assert_eq!(plans[i] == "free", mrr[i] == 0, "subscription {}: plan {} with mrr {}", i + 1, plans[i], mrr[i]);
        assert!(mrr[i] >= 0);
        assert!(seats[i].is_some_and(|s| s >= 1));
        let canceled = status[i] == "canceled";
        assert_eq!(canceled, ended[i].is_some(), "ended_at of subscription {}", i + 1);
        assert_eq!(canceled, reasons[i].is_some(), "cancel_reason of subscription {}", i + 1);
        if let Some(end) = ended[i] {
            assert!(end >= started[i]);
        }
        assert!(started[i] >= created[accounts[i] as usize - 1]);
    }
    let active = status.iter().filter(|s| **s == "active").count();
    assert!(active * 2 > status.len(), "only {active} of {} subscriptions are active", status.len());

    let mean = |plan: &str, values: &dyn Fn(usize) -> f64| {
        let rows: Vec<usize> = (0..plans.len()).filter(|&i| plans[i] == plan && status[i] == "active").collect();
        rows.iter().map(|&i| values(i)).sum::<f64>() / rows.len() as f64
    };
    let mrr_of = |i: usize| mrr[i] as f64;
    let seats_of = |i: usize| f64::from(seats[i].unwrap());
    assert!(mean("enterprise", &mrr_of) > 2.0 * mean("pro", &mrr_of));
    assert!(mean("pro", &mrr_of) > 2.0 * mean("starter", &mrr_of));
    assert!(mean("starter", &mrr_of) > 0.0);
    assert!(mean("enterprise", &seats_of) > 3.0 * mean("starter", &seats_of));
}

#[test]
fn invoices_belong_to_live_paid_subscriptions_and_are_paid_after_issue() {
    let plans = required_texts("subscriptions", "plan");
    let periods = required_texts("subscriptions", "billing_period");
    let status = required_texts("subscriptions", "status");
    let started = required_times("subscriptions", "started_at");
    let ended = times("subscriptions", "ended_at");
    let subs = ids("invoices", "subscription_id");
    let issued = required_times("invoices", "issued_at");
    let amounts = cents("invoices", "amount_usd");
    let invoice_status = required_texts("invoices", "status");
    let paid = times("invoices", "paid_at");
    let mut per_subscription = vec![0usize; plans.len()];
    for i in 0..subs.len() {
        let s = subs[i] as usize - 1;
        per_subscription[s] += 1;
        assert_ne!(plans[s], "free", "invoice {} bills a free subscription", i + 1);
        assert!(amounts[i] > 0);
        assert!(issued[i] >= started[s], "invoice {} issued before its subscription started", i + 1);
        assert!(issued[i] <= ended[s].unwrap_or(END), "invoice {} issued after its subscription ended", i + 1);
        let settled = matches!(invoice_status[i], "paid" | "refunded");
        assert_eq!(settled, paid[i].is_some(), "paid_at of invoice {}", i + 1);
        if let Some(p) = paid[i] {
            assert!(p >= issued[i]);
        }
    }
    // While a subscription lives it is invoiced every month (monthly) or year (annual),
    // from the end of its two-week trial at the latest.
    let month = 31 * DAY;
    let trial = 14 * DAY;
    for s in 0..plans.len() {
        if plans[s] == "free" || status[s] == "trialing" {
            continue;
        }
        let billed_span = ended[s].unwrap_or(END) - started[s] - trial;
        let expected = match periods[s] {
            "monthly" => billed_span / month,
            _ => billed_span / (366 * DAY),
        };
        assert!(
            per_subscription[s] as i64 >= expected,
            "subscription {} ({} {}) has {} invoices, expected at least {expected}",
            s + 1,
            plans[s],
            periods[s],
            per_subscription[s]
        );
    }
}

#[test]
fn events_happen_after_signup_and_sessions_belong_to_one_user() {
    let signups = required_times("users", "signup_at");
    let users = ids("events", "user_id");
    let event_times = required_times("events", "event_time");
    let names = required_texts("events", "event_name");
    let features = texts("events", "feature");
    let sessions = ids("events", "session_id");
    assert!(event_times.windows(2).all(|w| w[0] <= w[1]), "events are stored by time");
    // Session ids are 1..N, numbered in order of the sessions' first events.
    let mut session_user: Vec<i64> = Vec::new();
    for i in 0..users.len() {
        assert!(event_times[i] >= signups[users[i] as usize - 1], "event {} before its user's signup", i + 1);
        assert_eq!(names[i] == "feature_used", features[i].is_some(), "feature of event {}", i + 1);
        let session = sessions[i] as usize;
        assert!((1..=session_user.len() + 1).contains(&session), "session {session} out of order");
        if session > session_user.len() {
            session_user.push(users[i]);
        }
        assert_eq!(session_user[session - 1], users[i], "session {session} spans two users");
    }
}

#[test]
fn tickets_come_from_signed_up_users_and_are_rated_only_when_resolved() {
    let signups = required_times("users", "signup_at");
    let users = ids("support_tickets", "user_id");
    let created = required_times("support_tickets", "created_at");
    let resolved = times("support_tickets", "resolved_at");
    let response = int32s("support_tickets", "first_response_minutes");
    let csat = int32s("support_tickets", "csat_score");
    for i in 0..users.len() {
        assert!(created[i] >= signups[users[i] as usize - 1], "ticket {} before its user's signup", i + 1);
        if let Some(r) = resolved[i] {
            assert!(r >= created[i]);
        } else {
            assert!(csat[i].is_none(), "unresolved ticket {} has a rating", i + 1);
        }
        assert!(response[i].is_some_and(|m| m >= 0));
        assert!(csat[i].is_none_or(|s| (1..=5).contains(&s)));
    }
    assert!(csat.iter().any(Option::is_none) && csat.iter().any(Option::is_some));

    // Unresolved tickets pile up among recent ones.
    let unresolved_share = |recent: bool| {
        let rows: Vec<usize> = (0..users.len()).filter(|&i| (created[i] >= LAST_30_DAYS) == recent).collect();
        rows.iter().filter(|&&i| resolved[i].is_none()).count() as f64 / rows.len() as f64
    };
    assert!(unresolved_share(false) > 0.0);
    assert!(unresolved_share(true) > 2.0 * unresolved_share(false));

    // Slow first responses get worse ratings.
    let mean_csat = |fast: bool| {
        let scores: Vec<i32> = (0..users.len())
            .filter(|&i| if fast { response[i].unwrap() <= 10 } else { response[i].unwrap() >= 240 })
            .filter_map(|i| csat[i])
            .collect();
        f64::from(scores.iter().sum::<i32>()) / scores.len() as f64
    };
    assert!(mean_csat(true) > mean_csat(false) + 0.8, "{} vs {}", mean_csat(true), mean_csat(false));
}

#[test]
fn experiments_convert_after_assignment_and_treatment_wins_where_it_should() {
    let signups = required_times("users", "signup_at");
    let users = ids("experiment_assignments", "user_id");
    let experiments = required_texts("experiment_assignments", "experiment_name");
    let variants = required_texts("experiment_assignments", "variant");
    let assigned = required_times("experiment_assignments", "assigned_at");
    let converted = booleans("experiment_assignments", "converted");
    let converted_at = times("experiment_assignments", "converted_at");
    for i in 0..users.len() {
        assert!(assigned[i] >= signups[users[i] as usize - 1]);
        assert_eq!(converted[i], converted_at[i].is_some(), "converted_at of assignment {}", i + 1);
        if let Some(t) = converted_at[i] {
            assert!(t >= assigned[i]);
        }
    }
    let rate = |experiment: &str, variant: &str| {
        let rows: Vec<usize> =
            (0..users.len()).filter(|&i| experiments[i] == experiment && variants[i] == variant).collect();
        assert!(rows.len() > 1_000, "{experiment}/{variant} has {} assignments", rows.len());
        rows.iter().filter(|&&i| converted[i]).count() as f64 / rows.len() as f64
    };
    assert!(rate("ai_assistant_launch", "treatment") > rate("ai_assistant_launch", "control") + 0.08);
    assert!(rate("new_onboarding", "treatment") > rate("new_onboarding", "control") + 0.02);
    assert!((rate("pricing_page_v2", "treatment") - rate("pricing_page_v2", "control")).abs() < 0.03);
}

/// Events per day of the window.
fn events_per_day() -> Vec<usize> {
    let mut per_day = vec![0usize; DAYS];
    for t in required_times("events", "event_time") {
        per_day[day(t)] += 1;
    }
    per_day
}

#[test]
fn every_day_has_events_including_today() {
    let per_day = events_per_day();
    for (d, n) in per_day.iter().enumerate() {
        assert!(*n > 0, "no events on {}", date_time(START + d as i64 * DAY).date());
    }
    assert!(per_day[DAYS - 1] > 500, "only {} events today", per_day[DAYS - 1]);
}

#[test]
fn weekdays_are_busier_than_weekends() {
    let per_day = events_per_day();
    // 2024-01-01 was a Monday.
    let (mut weekday, mut weekend) = ((0usize, 0usize), (0usize, 0usize));
    for (d, n) in per_day.iter().enumerate() {
        let slot = if d % 7 >= 5 { &mut weekend } else { &mut weekday };
        slot.0 += n;
        slot.1 += 1;
    }
    let weekday_mean = weekday.0 as f64 / weekday.1 as f64;
    let weekend_mean = weekend.0 as f64 / weekend.1 as f64;
    assert!(weekday_mean > 1.5 * weekend_mean, "{weekday_mean} vs {weekend_mean}");

    let mut signups = [0usize; 7];
    for t in required_times("users", "signup_at") {
        signups[day(t) % 7] += 1;
    }
    assert!(signups[2] > 2 * signups[6], "Wednesday vs Sunday signups: {signups:?}");
}

#[test]
fn the_business_grows_from_2024_to_2025() {
    let count_by_year = |values: Vec<i64>| {
        let mut years = [0usize; 2];
        for t in values {
            years[(date_time(t).year() - 2024) as usize] += 1;
        }
        years
    };
    let events = count_by_year(required_times("events", "event_time"));
    assert!(events[1] as f64 > 1.5 * events[0] as f64, "events {events:?}");
    let signups = count_by_year(required_times("users", "signup_at"));
    assert!(signups[1] > signups[0], "signups {signups:?}");
    let accounts = count_by_year(required_times("accounts", "created_at"));
    assert!(accounts[1] > accounts[0], "new accounts {accounts:?}");
    let tickets = count_by_year(required_times("support_tickets", "created_at"));
    assert!(tickets[1] > tickets[0], "tickets {tickets:?}");
}

#[test]
fn december_dips_below_november() {
    let per_day = events_per_day();
    for year in [2024, 2025] {
        let mean = |month: u32| {
            let days: Vec<usize> = (0..DAYS)
                .filter(|&d| {
                    let date = date_time(START + d as i64 * DAY).date();
                    date.year() == year && date.month() == month
                })
                .collect();
            days.iter().map(|&d| per_day[d]).sum::<usize>() as f64 / days.len() as f64
        };
        assert!(mean(12) < 0.95 * mean(11), "{year}: December {} vs November {}", mean(12), mean(11));
    }
}

#[test]
fn the_last_30_days_have_data_in_every_table() {
    let recent = |t: &str, c: &str| times(t, c).into_iter().flatten().filter(|&v| v >= LAST_30_DAYS).count();
    let minimums = [
        ("accounts", "created_at", 100),
        ("users", "signup_at", 1_000),
        ("subscriptions", "started_at", 100),
        ("subscriptions", "ended_at", 30),
        ("invoices", "issued_at", 2_000),
        ("invoices", "paid_at", 1_000),
        ("events", "event_time", 50_000),
        ("support_tickets", "created_at", 500),
        ("support_tickets", "resolved_at", 300),
        ("experiment_assignments", "assigned_at", 500),
        ("experiment_assignments", "converted_at", 50),
    ];
    for (t, c, min) in minimums {
        let n = recent(t, c);
        assert!(n >= min, "{t}.{c}: {n} rows in the last 30 days, expected at least {min}");
    }
}
