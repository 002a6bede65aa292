//! Deterministic generator of quarry's demo warehouse: the product analytics data of a
//! fictional B2B SaaS company, exactly as specified in `shared/demo-warehouse.md`.
//!
//! Seven tables (`accounts`, `users`, `subscriptions`, `invoices`, `events`,
//! `support_tickets`, `experiment_assignments`) cover 2024-01-01 to 2025-12-31 with the
//! rhythms of a real business: growth, weekly cycles, a December dip, office hours per
//! region, plans and regions that behave differently, experiments with real effects. The
//! same [`DemoConfig`] always gives byte-identical Parquet files, hence the same snapshot
//! id: every table draws from its own ChaCha stream of the seed, and nothing depends on
//! the wall clock or on hash-map order.
//!
//! [`write_demo`] writes the events table (five sixths of the rows) as it is generated, through
//! sorted runs spilled next to the output, so its memory does not grow with the event count;
//! the other tables are built and written one at a time.
//!
//! # Layout
//! - `vocab`: the contract's value domains and the word lists names are made from.
//! - `calendar`: the time window, day curves (growth, weekly cycle, holidays) and hours.
//! - `accounts`, `billing` (subscriptions, invoices), `users`, `experiments`, `events`,
//!   `tickets`: one generator per part of the business, in dependency order.
//! - `tables`: the Arrow schemas, keys and record batches.
//! - `install`: [`ensure_installed`], the demo snapshot of a data directory.
//!
//! ```no_run
//! use quarry_demo::{DemoConfig, write_demo};
//! let manifest = write_demo(std::path::Path::new("/tmp/quarry-demo"), &DemoConfig::default())?;
//! println!("{} rows in snapshot {}", manifest.total_rows(), manifest.id);
//! # Ok::<(), quarry_demo::Error>(())
//! ```

mod accounts;
mod billing;
mod calendar;
mod events;
mod experiments;
mod install;
mod random;
mod tables;
mod tickets;
mod users;
mod vocab;

use std::path::{Path, PathBuf};

pub use install::ensure_installed;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use quarry_snapshot::{ForeignKey, Manifest, SnapshotSource, SnapshotWriter, TableData};

use crate::random::{stream, streams};

/// The snapshot's as-of date: relative time phrases ("last month") resolve against it.
pub const AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2025, 12, 31) {
    Some(date) => date,
    None => panic!("2025-12-31 is a valid date"),
};

/// The largest supported scale (scale 100 is about 119 million rows). [`write_demo`] streams
/// the events, so its memory grows only with the other tables (a sixth of the rows);
/// [`generate`] holds everything in memory.
pub const MAX_SCALE: u32 = 100;

/// Events [`write_demo`] holds in memory before it spills a sorted run (22 bytes each on disk,
/// about 24 in memory).
const SPILL_ROWS: usize = 4 * 1024 * 1024;

/// Approximate row counts at scale 1.
const ACCOUNTS_PER_SCALE: f64 = 5_000.0;
const EVENTS_PER_SCALE: f64 = 1_000_000.0;
const TICKETS_PER_SCALE: f64 = 20_000.0;
const ASSIGNMENTS_PER_SCALE: f64 = 30_000.0;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong generating the demo warehouse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration asks for something the generator cannot produce.
    #[error("invalid demo configuration: {reason}")]
    InvalidConfig {
        /// What was wrong and what to use instead.
        reason: String,
    },
    /// The output directory already holds files; snapshots are only written into new or
    /// empty directories.
    #[error("{} is not empty; choose a new directory for the demo snapshot", path.display())]
    OutputNotEmpty {
        /// The directory given.
        path: std::path::PathBuf,
    },
    /// Writing the snapshot failed (disk full, permissions, ...).
    #[error("cannot write the demo snapshot: {0}")]
    Snapshot(#[from] quarry_snapshot::Error),
    /// The sorted runs of events that did not fit in memory could not be written or read back.
    #[error(
        "cannot use the temporary file {} for events sorted on disk: {source}; free disk space next to the output directory or choose another one",
        path.display()
    )]
    Spill {
        /// The run file or its directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Arrow refused a generated column: a bug in this crate.
    #[error("internal error building table {table}: {message} (this is a bug in quarry-demo)")]
    Arrow {
        /// The table being built.
        table: &'static str,
        /// Arrow's message.
        message: String,
    },
}

/// What to generate: the seed picks one of many equally plausible companies, the scale
/// multiplies the row counts (scale 1 is about a million events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DemoConfig {
    /// Random seed; the same seed and scale give byte-identical files.
    pub seed: u64,
    /// Row-count multiplier, 1..=[`MAX_SCALE`].
    pub scale: u32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { seed: 42, scale: 1 }
    }
}

impl DemoConfig {
    fn validate(&self) -> Result<()> {
        if self.scale == 0 || self.scale > MAX_SCALE {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "scale must be between 1 and {MAX_SCALE} (scale N generates about N million events), got {}",
                    self.scale
                ),
            });
        }
        Ok(())
    }
}

/// Generates the seven tables of the demo warehouse, in contract order.
pub fn generate(config: &DemoConfig) -> Result<Vec<TableData>> {
    config.validate()?;
    generate_in_memory(config.seed, f64::from(config.scale), events::Spill::NONE)
}

/// Generates the demo warehouse into `dir` (created if missing; it must be empty) as a
/// snapshot with `as_of` [`AS_OF`], and returns its manifest.
pub fn write_demo(dir: &Path, config: &DemoConfig) -> Result<Manifest> {
    config.validate()?;
    // Checked before generating, which takes seconds; the snapshot writer checks again.
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::OutputNotEmpty { path: dir.to_path_buf() });
    }
    let mut writer = SnapshotWriter::create(dir)?;
    // Beside the output: on the same disk, which has room for the snapshot it will hold.
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let runs = tempfile::Builder::new()
        .prefix(".quarry-demo-events-")
        .tempdir_in(parent)
        .map_err(|source| Error::Spill { path: parent.to_path_buf(), source })?;
    let spill = events::Spill { dir: Some(runs.path()), rows: SPILL_ROWS };
    generate_sized(config.seed, f64::from(config.scale), spill, &mut writer)?;
    drop(runs);
    let notes = vec![
        format!(
            "synthetic demo warehouse generated by quarry-demo (seed {}, scale {}); every company, person and \
             email address in it is fictional",
            config.seed, config.scale
        ),
        "timestamps are UTC without time zone, from 2024-01-01 00:00:00 to 2025-12-31 23:59:59".to_string(),
    ];
    let source = SnapshotSource::Demo { seed: config.seed, scale: config.scale };
    let dialect = source.default_dialect();
    Ok(writer.finish(AS_OF, source, dialect, notes)?)
}

/// Generates the warehouse at `rows_factor` times the scale-1 row counts (e.g. 0.05 for
/// 50,000 events), so that tests of the generator itself run in a fraction of a second. It
/// runs the same code as [`generate`]; only the sizes differ. Not part of the stable API.
#[doc(hidden)]
pub fn generate_fraction(seed: u64, rows_factor: f64) -> Result<Vec<TableData>> {
    if !(rows_factor > 0.0 && rows_factor <= f64::from(MAX_SCALE)) {
        return Err(Error::InvalidConfig {
            reason: format!("rows factor must be above 0 and at most {MAX_SCALE}, got {rows_factor}"),
        });
    }
    generate_in_memory(seed, rows_factor, events::Spill::NONE)
}

/// [`generate_fraction`] with the events sorted through run files of `spill_rows` events in
/// `spill_dir`, as [`write_demo`] sorts them; for tests that the result is the same. Not
/// part of the stable API.
#[doc(hidden)]
pub fn generate_fraction_spilled(
    seed: u64,
    rows_factor: f64,
    spill_dir: &Path,
    spill_rows: usize,
) -> Result<Vec<TableData>> {
    generate_in_memory(seed, rows_factor, events::Spill { dir: Some(spill_dir), rows: spill_rows.max(1) })
}

/// Receives the generated tables one at a time, in contract order.
trait TableSink {
    /// A whole table.
    fn table(&mut self, table: TableData) -> Result<()>;

    /// A table given a batch at a time.
    fn batches(
        &mut self,
        name: &'static str,
        schema: SchemaRef,
        primary_key: &[&str],
        foreign_keys: Vec<ForeignKey>,
        batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
    ) -> Result<()>;
}

/// Collects the tables in memory.
impl TableSink for Vec<TableData> {
    fn table(&mut self, table: TableData) -> Result<()> {
        self.push(table);
        Ok(())
    }

    fn batches(
        &mut self,
        name: &'static str,
        schema: SchemaRef,
        primary_key: &[&str],
        foreign_keys: Vec<ForeignKey>,
        batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
    ) -> Result<()> {
        let batches = batches.collect::<Result<Vec<_>>>()?;
        self.push(tables::table(name, schema, batches, primary_key, foreign_keys));
        Ok(())
    }
}

/// Writes each table to the snapshot as it comes, a batch at a time.
impl TableSink for SnapshotWriter {
    fn table(&mut self, table: TableData) -> Result<()> {
        let mut file = SnapshotWriter::table(self, &table.name, table.schema)?;
        for batch in &table.batches {
            file.write(batch)?;
        }
        file.finish(table.primary_key, table.foreign_keys)?;
        Ok(())
    }

    fn batches(
        &mut self,
        name: &'static str,
        schema: SchemaRef,
        primary_key: &[&str],
        foreign_keys: Vec<ForeignKey>,
        batches: &mut dyn Iterator<Item = Result<RecordBatch>>,
    ) -> Result<()> {
        let mut file = SnapshotWriter::table(self, name, schema)?;
        for batch in batches {
            file.write(&batch?)?;
        }
        file.finish(primary_key.iter().map(|c| c.to_string()).collect(), foreign_keys)?;
        Ok(())
    }
}

/// The warehouse as tables in memory.
fn generate_in_memory(seed: u64, factor: f64, spill: events::Spill<'_>) -> Result<Vec<TableData>> {
    let mut tables = Vec::with_capacity(7);
    generate_sized(seed, factor, spill, &mut tables)?;
    Ok(tables)
}

/// The generator proper; `factor` multiplies the scale-1 row counts. Tables go to `sink` in
/// contract order, each dropped once given.
fn generate_sized(seed: u64, factor: f64, spill: events::Spill<'_>, sink: &mut dyn TableSink) -> Result<()> {
    let calendar = calendar::Calendar::new(&mut stream(seed, streams::CALENDAR));
    let account_count = ((ACCOUNTS_PER_SCALE * factor).round() as usize).max(1);
    let accounts = accounts::generate(&mut stream(seed, streams::ACCOUNTS), &calendar, account_count);
    let (subscriptions, standings) =
        billing::generate_subscriptions(&mut stream(seed, streams::SUBSCRIPTIONS), &accounts);
    let users = users::generate(&mut stream(seed, streams::USERS), &calendar, &accounts, &standings);
    let lifecycles = users::lifecycles(&mut stream(seed, streams::LIFECYCLES), &users, &accounts, &standings);
    let assignments = experiments::generate(
        &mut stream(seed, streams::EXPERIMENTS),
        &calendar,
        &users,
        &lifecycles,
        ASSIGNMENTS_PER_SCALE * factor,
    );
    let ai_conversions = experiments::ai_assistant_conversions(&assignments);
    let event_inputs = events::EventInputs {
        calendar: &calendar,
        standings: &standings,
        users: &users,
        lifecycles: &lifecycles,
        ai_conversions: &ai_conversions,
    };
    sink.table(tables::accounts(&accounts)?)?;
    sink.table(tables::users(&users, &accounts)?)?;
    sink.table(tables::subscriptions(&subscriptions)?)?;
    let invoices = billing::generate_invoices(&mut stream(seed, streams::INVOICES), &subscriptions, &accounts);
    sink.table(tables::invoices(&invoices)?)?;
    drop((invoices, subscriptions));
    let events = events::generate(&mut stream(seed, streams::EVENTS), &event_inputs, EVENTS_PER_SCALE * factor, spill)?;
    let mut batches = tables::EventBatches::new(events.ordered()?, &users);
    let schema = tables::events_schema();
    sink.batches("events", schema, tables::EVENTS_KEY, tables::events_foreign_keys(), &mut batches)?;
    drop(batches);
    let tickets = tickets::generate(
        &mut stream(seed, streams::TICKETS),
        &calendar,
        &accounts,
        &standings,
        &users,
        &lifecycles,
        TICKETS_PER_SCALE * factor,
    );
    sink.table(tables::support_tickets(&tickets)?)?;
    drop(tickets);
    sink.table(tables::experiment_assignments(&assignments)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_is_the_contract_date() {
        assert_eq!(AS_OF.to_string(), "2025-12-31");
    }

    #[test]
    fn scale_out_of_range_is_refused_with_the_allowed_range() {
        for scale in [0, MAX_SCALE + 1] {
            let err = generate(&DemoConfig { seed: 1, scale }).unwrap_err();
            let message = err.to_string();
            assert!(message.contains("between 1 and 100"), "{message}");
        }
    }

    #[test]
    fn a_non_empty_output_directory_is_refused_before_generating() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
        let err = write_demo(dir.path(), &DemoConfig::default()).unwrap_err();
        assert!(matches!(err, Error::OutputNotEmpty { .. }), "{err:?}");
        assert!(err.to_string().contains("choose a new directory"), "{err}");
    }

    #[test]
    fn a_rows_factor_out_of_range_is_refused() {
        for factor in [0.0, -1.0, f64::NAN, 101.0] {
            let message = generate_fraction(1, factor).unwrap_err().to_string();
            assert!(message.contains("rows factor"), "{message}");
        }
    }

    #[test]
    fn a_small_warehouse_has_all_tables_in_contract_order() {
        let tables = generate_fraction(3, 0.02).unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["accounts", "users", "subscriptions", "invoices", "events", "support_tickets", "experiment_assignments"]
        );
        for table in &tables {
            assert!(table.batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0, "{} is empty", table.name);
            assert!(!table.primary_key.is_empty());
        }
    }
}
