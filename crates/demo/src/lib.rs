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
//! # Layout
//! - `vocab`: the contract's value domains and the word lists names are made from.
//! - `calendar`: the time window, day curves (growth, weekly cycle, holidays) and hours.
//! - `accounts`, `billing` (subscriptions, invoices), `users`, `experiments`, `events`,
//!   `tickets`: one generator per part of the business, in dependency order.
//! - `tables`: the Arrow schemas, keys and record batches.
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

use std::path::Path;

pub use install::ensure_installed;

use chrono::NaiveDate;
use quarry_snapshot::{Manifest, SnapshotSource, TableData};

use crate::random::{stream, streams};

/// The snapshot's as-of date: relative time phrases ("last month") resolve against it.
pub const AS_OF: NaiveDate = match NaiveDate::from_ymd_opt(2025, 12, 31) {
    Some(date) => date,
    None => panic!("2025-12-31 is a valid date"),
};

/// The largest supported scale: memory grows with it (scale N holds about N million events
/// in memory before writing).
pub const MAX_SCALE: u32 = 50;

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
    generate_sized(config.seed, f64::from(config.scale))
}

/// Generates the demo warehouse into `dir` (created if missing; it must be empty) as a
/// snapshot with `as_of` [`AS_OF`], and returns its manifest.
pub fn write_demo(dir: &Path, config: &DemoConfig) -> Result<Manifest> {
    config.validate()?;
    // Checked before generating, which takes seconds; the snapshot writer checks again.
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::OutputNotEmpty { path: dir.to_path_buf() });
    }
    let tables = generate(config)?;
    let notes = vec![
        format!(
            "synthetic demo warehouse generated by quarry-demo (seed {}, scale {}); every company, person and \
             email address in it is fictional",
            config.seed, config.scale
        ),
        "timestamps are UTC without time zone, from 2024-01-01 00:00:00 to 2025-12-31 23:59:59".to_string(),
    ];
    let source = SnapshotSource::Demo { seed: config.seed, scale: config.scale };
    Ok(quarry_snapshot::write_snapshot(dir, tables, AS_OF, source, notes)?)
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
    generate_sized(seed, rows_factor)
}

/// The generator proper; `factor` multiplies the scale-1 row counts.
fn generate_sized(seed: u64, factor: f64) -> Result<Vec<TableData>> {
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
    let events = events::generate(&mut stream(seed, streams::EVENTS), &event_inputs, EVENTS_PER_SCALE * factor);
    let tickets = tickets::generate(
        &mut stream(seed, streams::TICKETS),
        &calendar,
        &accounts,
        &standings,
        &users,
        &lifecycles,
        TICKETS_PER_SCALE * factor,
    );
    let invoices = billing::generate_invoices(&mut stream(seed, streams::INVOICES), &subscriptions, &accounts);

    Ok(vec![
        tables::accounts(&accounts)?,
        tables::users(&users, &accounts)?,
        tables::subscriptions(&subscriptions)?,
        tables::invoices(&invoices)?,
        tables::events(&events, &users)?,
        tables::support_tickets(&tickets)?,
        tables::experiment_assignments(&assignments)?,
    ])
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
            assert!(message.contains("between 1 and 50"), "{message}");
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
        for factor in [0.0, -1.0, f64::NAN, 51.0] {
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
