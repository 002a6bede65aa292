//! Read-only, versioned snapshots of a warehouse, the only data quarry ever queries.
//!
//! A snapshot is a directory holding one Parquet file per table and a `manifest.json`
//! ([`Manifest`]) that records the snapshot id (a content hash of the files), the `as_of`
//! date that relative time phrases resolve against, row counts, Arrow schemas, the creation
//! time and where the data came from. Snapshots are written once ([`write_snapshot`]),
//! installed into a [`SnapshotStore`] under quarry's data directory and never changed
//! afterwards: files are made read-only and their hashes can be re-checked with
//! [`Snapshot::verify`].
//!
//! Users' own data comes in through [`import`]: a directory of CSV and Parquet files, a
//! SQLite database, or the tables of a PostgreSQL schema ([`import::postgres`], streamed in
//! bounded memory through [`SnapshotWriter`]).
//!
//! ```no_run
//! use quarry_snapshot::SnapshotStore;
//! let store = SnapshotStore::new("/tmp/quarry-home/snapshots");
//! for snapshot in store.list()? {
//!     println!("{} as of {}", snapshot.manifest.id, snapshot.manifest.as_of);
//! }
//! # Ok::<(), quarry_snapshot::Error>(())
//! ```

mod error;
pub mod import;
mod manifest;
mod store;
mod writer;

pub use error::{Error, Result};
pub use manifest::{ColumnEntry, ForeignKey, MANIFEST_FILE, Manifest, SnapshotSource, SourceDialect, TableEntry};
pub use store::{Snapshot, SnapshotStore};
pub use writer::{SnapshotWriter, TableData, TableWriter, write_snapshot};
