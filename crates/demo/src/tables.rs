//! Turns the generated rows into Arrow tables with the contract's schemas, keys and
//! foreign keys.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Decimal128Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use quarry_snapshot::{ForeignKey, TableData};

use crate::accounts::Account;
use crate::billing::{Invoice, Subscription};
use crate::events::Event;
use crate::experiments::Assignment;
use crate::tickets::Ticket;
use crate::users::User;
use crate::{Error, Result};

/// Rows per record batch of the events table (the other tables are one batch each).
pub(crate) const EVENT_BATCH_ROWS: usize = 64 * 1024;

/// Column types of the contract.
#[derive(Debug, Clone, Copy)]
enum Sql {
    BigInt,
    Int,
    Varchar,
    Timestamp,
    Money,
    Boolean,
}

impl Sql {
    fn arrow(self) -> DataType {
        match self {
            Sql::BigInt => DataType::Int64,
            Sql::Int => DataType::Int32,
            Sql::Varchar => DataType::Utf8,
            Sql::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Sql::Money => DataType::Decimal128(12, 2),
            Sql::Boolean => DataType::Boolean,
        }
    }
}

/// `true` marks the columns the contract allows to be NULL.
const NULLABLE: bool = true;
const REQUIRED: bool = false;

fn schema(columns: &[(&str, Sql, bool)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns.iter().map(|&(name, sql, nullable)| Field::new(name, sql.arrow(), nullable)).collect::<Vec<_>>(),
    ))
}

fn foreign_key(column: &str, table: &str, ref_column: &str) -> ForeignKey {
    ForeignKey { columns: vec![column.into()], ref_table: table.into(), ref_columns: vec![ref_column.into()] }
}

/// A table of the contract with its keys.
pub(crate) fn table(
    name: &'static str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    primary_key: &[&str],
    foreign_keys: Vec<ForeignKey>,
) -> TableData {
    let mut data = TableData::new(name, schema, batches);
    data.primary_key = primary_key.iter().map(|c| c.to_string()).collect();
    data.foreign_keys = foreign_keys;
    data
}

fn batch(table: &'static str, schema: &SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| Error::Arrow { table, message: e.to_string() })
}

/// 1-based id of a 0-based position.
fn id(index: usize) -> i64 {
    index as i64 + 1
}

fn micros(seconds: i64) -> i64 {
    seconds * 1_000_000
}

fn timestamps(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(values.map(micros)))
}

fn optional_timestamps(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.map(|v| v.map(micros)).collect::<TimestampMicrosecondArray>())
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn optional_strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn big_ints(values: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(values))
}

fn money(table: &'static str, cents: impl Iterator<Item = i64>) -> Result<ArrayRef> {
    let array = Decimal128Array::from_iter_values(cents.map(i128::from))
        .with_precision_and_scale(12, 2)
        .map_err(|e| Error::Arrow { table, message: e.to_string() })?;
    Ok(Arc::new(array))
}

pub(crate) fn accounts(accounts: &[Account]) -> Result<TableData> {
    let schema = schema(&[
        ("account_id", Sql::BigInt, REQUIRED),
        ("name", Sql::Varchar, REQUIRED),
        ("industry", Sql::Varchar, REQUIRED),
        ("country", Sql::Varchar, REQUIRED),
        ("region", Sql::Varchar, REQUIRED),
        ("employee_band", Sql::Varchar, REQUIRED),
        ("created_at", Sql::Timestamp, REQUIRED),
    ]);
    let columns = vec![
        big_ints((0..accounts.len()).map(id)),
        strings(accounts.iter().map(|a| a.name.as_str())),
        strings(accounts.iter().map(|a| a.industry.as_str())),
        strings(accounts.iter().map(|a| a.country.as_str())),
        strings(accounts.iter().map(|a| a.country.region().as_str())),
        strings(accounts.iter().map(|a| a.band.as_str())),
        timestamps(accounts.iter().map(|a| a.created_at)),
    ];
    let batches = vec![batch("accounts", &schema, columns)?];
    Ok(table("accounts", schema, batches, &["account_id"], vec![]))
}

pub(crate) fn users(users: &[User], accounts: &[Account]) -> Result<TableData> {
    let schema = schema(&[
        ("user_id", Sql::BigInt, REQUIRED),
        ("account_id", Sql::BigInt, REQUIRED),
        ("email", Sql::Varchar, REQUIRED),
        ("full_name", Sql::Varchar, REQUIRED),
        ("role", Sql::Varchar, REQUIRED),
        ("signup_at", Sql::Timestamp, REQUIRED),
        ("signup_channel", Sql::Varchar, REQUIRED),
        ("signup_platform", Sql::Varchar, REQUIRED),
        ("country", Sql::Varchar, REQUIRED),
    ]);
    let emails: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "{}.{}{}@{}.example",
                u.first_name.to_ascii_lowercase(),
                u.last_name.to_ascii_lowercase(),
                id(i),
                accounts[u.account].domain
            )
        })
        .collect();
    let names: Vec<String> = users.iter().map(|u| format!("{} {}", u.first_name, u.last_name)).collect();
    let columns = vec![
        big_ints((0..users.len()).map(id)),
        big_ints(users.iter().map(|u| id(u.account))),
        strings(emails.iter().map(String::as_str)),
        strings(names.iter().map(String::as_str)),
        strings(users.iter().map(|u| u.role.as_str())),
        timestamps(users.iter().map(|u| u.signup_at)),
        strings(users.iter().map(|u| u.channel.as_str())),
        strings(users.iter().map(|u| u.platform.as_str())),
        strings(users.iter().map(|u| u.country.as_str())),
    ];
    let batches = vec![batch("users", &schema, columns)?];
    Ok(table("users", schema, batches, &["user_id"], vec![foreign_key("account_id", "accounts", "account_id")]))
}

pub(crate) fn subscriptions(subscriptions: &[Subscription]) -> Result<TableData> {
    let schema = schema(&[
        ("subscription_id", Sql::BigInt, REQUIRED),
        ("account_id", Sql::BigInt, REQUIRED),
        ("plan", Sql::Varchar, REQUIRED),
        ("billing_period", Sql::Varchar, REQUIRED),
        ("seats", Sql::Int, REQUIRED),
        ("mrr_usd", Sql::Money, REQUIRED),
        ("status", Sql::Varchar, REQUIRED),
        ("started_at", Sql::Timestamp, REQUIRED),
        ("ended_at", Sql::Timestamp, NULLABLE),
        ("cancel_reason", Sql::Varchar, NULLABLE),
    ]);
    let columns = vec![
        big_ints((0..subscriptions.len()).map(id)),
        big_ints(subscriptions.iter().map(|s| id(s.account))),
        strings(subscriptions.iter().map(|s| s.plan.as_str())),
        strings(subscriptions.iter().map(|s| s.billing.as_str())),
        Arc::new(Int32Array::from_iter_values(subscriptions.iter().map(|s| s.seats))),
        money("subscriptions", subscriptions.iter().map(|s| s.mrr_cents))?,
        strings(subscriptions.iter().map(|s| s.status.as_str())),
        timestamps(subscriptions.iter().map(|s| s.started_at)),
        optional_timestamps(subscriptions.iter().map(|s| s.ended_at)),
        optional_strings(subscriptions.iter().map(|s| s.cancel_reason.map(|r| r.as_str()))),
    ];
    let batches = vec![batch("subscriptions", &schema, columns)?];
    Ok(table(
        "subscriptions",
        schema,
        batches,
        &["subscription_id"],
        vec![foreign_key("account_id", "accounts", "account_id")],
    ))
}

pub(crate) fn invoices(invoices: &[Invoice]) -> Result<TableData> {
    let schema = schema(&[
        ("invoice_id", Sql::BigInt, REQUIRED),
        ("account_id", Sql::BigInt, REQUIRED),
        ("subscription_id", Sql::BigInt, REQUIRED),
        ("issued_at", Sql::Timestamp, REQUIRED),
        ("amount_usd", Sql::Money, REQUIRED),
        ("status", Sql::Varchar, REQUIRED),
        ("paid_at", Sql::Timestamp, NULLABLE),
    ]);
    let columns = vec![
        big_ints((0..invoices.len()).map(id)),
        big_ints(invoices.iter().map(|i| id(i.account))),
        big_ints(invoices.iter().map(|i| id(i.subscription))),
        timestamps(invoices.iter().map(|i| i.issued_at)),
        money("invoices", invoices.iter().map(|i| i.amount_cents))?,
        strings(invoices.iter().map(|i| i.status.as_str())),
        optional_timestamps(invoices.iter().map(|i| i.paid_at)),
    ];
    let batches = vec![batch("invoices", &schema, columns)?];
    Ok(table(
        "invoices",
        schema,
        batches,
        &["invoice_id"],
        vec![
            foreign_key("account_id", "accounts", "account_id"),
            foreign_key("subscription_id", "subscriptions", "subscription_id"),
        ],
    ))
}

/// The schema of the events table.
pub(crate) fn events_schema() -> SchemaRef {
    schema(&[
        ("event_id", Sql::BigInt, REQUIRED),
        ("user_id", Sql::BigInt, REQUIRED),
        ("account_id", Sql::BigInt, REQUIRED),
        ("event_time", Sql::Timestamp, REQUIRED),
        ("event_name", Sql::Varchar, REQUIRED),
        ("feature", Sql::Varchar, NULLABLE),
        ("platform", Sql::Varchar, REQUIRED),
        ("session_id", Sql::BigInt, REQUIRED),
    ])
}

/// The events table's primary key.
pub(crate) const EVENTS_KEY: &[&str] = &["event_id"];

/// The events table's foreign keys.
pub(crate) fn events_foreign_keys() -> Vec<ForeignKey> {
    vec![foreign_key("user_id", "users", "user_id"), foreign_key("account_id", "accounts", "account_id")]
}

/// The events table from sorted, renumbered events, built [`EVENT_BATCH_ROWS`] at a time as
/// `events` yields them: memory holds one batch.
pub(crate) struct EventBatches<'a, I> {
    events: I,
    users: &'a [User],
    schema: SchemaRef,
    /// The position of the next event, its id minus one.
    next: usize,
    chunk: Vec<Event>,
}

impl<'a, I: Iterator<Item = Result<Event>>> EventBatches<'a, I> {
    /// Batches of `events` (in storage order); `users` gives each event's account.
    pub(crate) fn new(events: I, users: &'a [User]) -> Self {
        EventBatches { events, users, schema: events_schema(), next: 0, chunk: Vec::with_capacity(EVENT_BATCH_ROWS) }
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        self.chunk.clear();
        while self.chunk.len() < EVENT_BATCH_ROWS {
            match self.events.next() {
                Some(event) => self.chunk.push(event?),
                None => break,
            }
        }
        if self.chunk.is_empty() {
            return Ok(None);
        }
        let (chunk, users, first) = (&self.chunk, self.users, self.next);
        let columns = vec![
            big_ints((first..first + chunk.len()).map(id)),
            big_ints(chunk.iter().map(|e| id(e.user as usize))),
            big_ints(chunk.iter().map(|e| id(users[e.user as usize].account))),
            timestamps(chunk.iter().map(|e| e.time)),
            strings(chunk.iter().map(|e| e.name.as_str())),
            optional_strings(chunk.iter().map(|e| e.feature.map(|f| f.as_str()))),
            strings(chunk.iter().map(|e| e.platform.as_str())),
            big_ints(chunk.iter().map(|e| id(e.session as usize))),
        ];
        self.next += chunk.len();
        batch("events", &self.schema, columns).map(Some)
    }
}

impl<I: Iterator<Item = Result<Event>>> Iterator for EventBatches<'_, I> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        self.next_batch().transpose()
    }
}

pub(crate) fn support_tickets(tickets: &[Ticket]) -> Result<TableData> {
    let schema = schema(&[
        ("ticket_id", Sql::BigInt, REQUIRED),
        ("account_id", Sql::BigInt, REQUIRED),
        ("user_id", Sql::BigInt, REQUIRED),
        ("created_at", Sql::Timestamp, REQUIRED),
        ("resolved_at", Sql::Timestamp, NULLABLE),
        ("priority", Sql::Varchar, REQUIRED),
        ("category", Sql::Varchar, REQUIRED),
        ("channel", Sql::Varchar, REQUIRED),
        ("first_response_minutes", Sql::Int, REQUIRED),
        ("csat_score", Sql::Int, NULLABLE),
    ]);
    let columns = vec![
        big_ints((0..tickets.len()).map(id)),
        big_ints(tickets.iter().map(|t| id(t.account))),
        big_ints(tickets.iter().map(|t| id(t.user))),
        timestamps(tickets.iter().map(|t| t.created_at)),
        optional_timestamps(tickets.iter().map(|t| t.resolved_at)),
        strings(tickets.iter().map(|t| t.priority.as_str())),
        strings(tickets.iter().map(|t| t.category.as_str())),
        strings(tickets.iter().map(|t| t.channel.as_str())),
        Arc::new(Int32Array::from_iter_values(tickets.iter().map(|t| t.first_response_minutes))),
        Arc::new(tickets.iter().map(|t| t.csat_score).collect::<Int32Array>()),
    ];
    let batches = vec![batch("support_tickets", &schema, columns)?];
    Ok(table(
        "support_tickets",
        schema,
        batches,
        &["ticket_id"],
        vec![foreign_key("account_id", "accounts", "account_id"), foreign_key("user_id", "users", "user_id")],
    ))
}

pub(crate) fn experiment_assignments(assignments: &[Assignment]) -> Result<TableData> {
    let schema = schema(&[
        ("user_id", Sql::BigInt, REQUIRED),
        ("experiment_name", Sql::Varchar, REQUIRED),
        ("variant", Sql::Varchar, REQUIRED),
        ("assigned_at", Sql::Timestamp, REQUIRED),
        ("converted", Sql::Boolean, REQUIRED),
        ("converted_at", Sql::Timestamp, NULLABLE),
    ]);
    let columns = vec![
        big_ints(assignments.iter().map(|a| id(a.user))),
        strings(assignments.iter().map(|a| a.experiment.as_str())),
        strings(assignments.iter().map(|a| a.variant.as_str())),
        timestamps(assignments.iter().map(|a| a.assigned_at)),
        Arc::new(assignments.iter().map(|a| Some(a.converted_at.is_some())).collect::<BooleanArray>()),
        optional_timestamps(assignments.iter().map(|a| a.converted_at)),
    ];
    let batches = vec![batch("experiment_assignments", &schema, columns)?];
    Ok(table(
        "experiment_assignments",
        schema,
        batches,
        &["user_id", "experiment_name"],
        vec![foreign_key("user_id", "users", "user_id")],
    ))
}
