//! Opening a store: the pool, the SQLite settings and the migrations.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row, SqlSafeStr};

use crate::config::{Backend, StoreConfig, Target};
use crate::error::{Error, Result, db};
use crate::rate_limits::{RateCounters, SharedCounters};

/// The schema migrations, oldest first. Shipped migrations never change (their checksums are
/// recorded in the database); a schema change is a new file with the next version.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "request ids and shares", include_str!("../migrations/0002_request_ids_and_shares.sql")),
    (3, "review queue", include_str!("../migrations/0003_review_queue.sql")),
    (4, "chart sources", include_str!("../migrations/0004_chart_sources.sql")),
    (5, "rate limits", include_str!("../migrations/0005_rate_limits.sql")),
];

/// Durable storage for conversations, feedback, the audit log, chart specs, Slack replay
/// claims and verified questions. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// Rate-limit counters (shared by clones).
    pub(crate) rates: Arc<RateCounters>,
    /// Answers waiting to be committed together (shared by clones).
    pub(crate) answers: Arc<crate::answers::AnswerQueue>,
    backend: Backend,
    described: Arc<str>,
}

impl Store {
    /// Opens the store `config` names, creating the SQLite file (and its directories) when
    /// missing, and brings its schema up to date.
    ///
    /// SQLite runs with a write-ahead log and `synchronous=FULL`, so a write that returned is on
    /// disk even if the process is killed right after. Rate-limit counters alone are not
    /// durable (see [`Store::take_rate_token`]).
    pub async fn open(config: &StoreConfig, data_dir: &Path) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let target = Target::resolve(&config.url, data_dir)?;
        let described = target.describe();
        let backend = target.backend();
        if let Target::Sqlite { path, .. } = &target
            && let Some(dir) = path.parent()
        {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        }

        let wait = Duration::from_millis(config.acquire_timeout_ms);
        let durable = pool_options(backend, config, Durability::Full).max_connections(config.max_connections.max(1));
        let hint = match backend {
            Backend::Sqlite => "check that the file and its directory are writable and that store.url is right",
            Backend::Postgres => {
                "check that the server is running and reachable, and that the user, password and database in store.url are right"
            }
        };
        let unavailable = |source| Error::Unavailable { url: described.clone(), hint, source };

        // One connection first, outside the pool: the pool would report only that it timed
        // out, this reports why (refused, bad password, …). On SQLite it also switches the
        // file to write-ahead logging, which is stored in the file and needs the database
        // to itself.
        let mut first = match tokio::time::timeout(wait, AnyConnection::connect(target.url())).await {
            Ok(connected) => connected.map_err(unavailable)?,
            Err(_) => {
                let timeout = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {} ms (store.acquire_timeout_ms)", config.acquire_timeout_ms),
                );
                return Err(unavailable(sqlx::Error::Io(timeout)));
            }
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&mut first).await.map_err(unavailable)?;
        }
        first.close().await.map_err(unavailable)?;
        let pool = durable.connect(target.url()).await.map_err(unavailable)?;

        migrate(&pool, &described).await?;
        crate::verified::rekey_verified(&pool).await?;
        let rates = match backend {
            Backend::Sqlite => RateCounters::Local(Default::default()),
            Backend::Postgres => RateCounters::Shared(SharedCounters {
                pool: pool_options(backend, config, Durability::Relaxed)
                    .max_connections(COUNTER_CONNECTIONS)
                    .connect(target.url())
                    .await
                    .map_err(unavailable)?,
                swept_at: AtomicI64::default(),
            }),
        };
        tracing::debug!(store = %described, "store opened");
        Ok(Store { pool, rates: Arc::new(rates), answers: Arc::default(), backend, described: described.into() })
    }

    /// Which engine the store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store's URL for logs and messages, password masked.
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// Checks that the database answers (`SELECT 1`), for readiness probes.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db("ping"))?;
        Ok(())
    }

    /// Closes every connection; waits for those in use to be returned. Later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
        if let RateCounters::Shared(counters) = self.rates.as_ref() {
            counters.pool.close().await;
        }
    }
}

/// Connections of a PostgreSQL store's pool for rate-limit counters: few, since each write is
/// short.
const COUNTER_CONNECTIONS: u32 = 2;

/// When a commit returns, relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// On disk (SQLite `synchronous = FULL`; PostgreSQL's default): what the store promises for
    /// every record.
    Full,
    /// In the database's log but maybe not yet on disk: SQLite `synchronous = NORMAL` with a
    /// write-ahead log survives the process being killed but maybe not the machine losing
    /// power; PostgreSQL `synchronous_commit = off` may lose the last commits of a crash.
    Relaxed,
}

/// The settings every connection of a pool gets (SQLite and PostgreSQL forget them when a
/// connection closes). SQLite writers wait for each other as long as callers wait for a
/// connection.
fn pool_options(backend: Backend, config: &StoreConfig, durability: Durability) -> AnyPoolOptions {
    let wait = Duration::from_millis(config.acquire_timeout_ms);
    let settings = match (backend, durability) {
        // A SQLite store's counters are not in the file, so it has no relaxed pool.
        (Backend::Sqlite, _) => format!(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
            config.acquire_timeout_ms.min(i32::MAX as u64)
        ),
        (Backend::Postgres, Durability::Full) => return AnyPoolOptions::new().acquire_timeout(wait),
        (Backend::Postgres, Durability::Relaxed) => "SET synchronous_commit = off".to_string(),
    };
    let settings: Arc<str> = settings.into();
    AnyPoolOptions::new().acquire_timeout(wait).after_connect(move |conn, _| {
        let settings = settings.clone();
        Box::pin(async move {
            sqlx::raw_sql(AssertSqlSafe(settings.to_string())).execute(conn).await?;
            Ok(())
        })
    })
}

async fn migrate(pool: &AnyPool, described: &str) -> Result<()> {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    match Migrator::with_migrations(migrations).run(pool).await {
        Ok(()) => Ok(()),
        Err(MigrateError::VersionMissing(version)) => Err(Error::NewerDatabase { url: described.to_owned(), version }),
        Err(source) => Err(Error::Migration { url: described.to_owned(), source }),
    }
}

/// A time as stored: unix milliseconds.
pub(crate) fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

/// A column of a row, or what went wrong reading it.
pub(crate) fn column<'r, T>(row: &'r AnyRow, name: &str, operation: &'static str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name).map_err(db(operation))
}

/// Reads stored unix milliseconds back.
pub(crate) fn time(ms: i64, what: &'static str, id: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::Corrupt {
        what,
        id: id.to_owned(),
        reason: format!("timestamp {ms} ms is out of range"),
    })
}

/// Reads a stored JSON document back.
pub(crate) fn json(text: &str, what: &'static str, id: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt { what, id: id.to_owned(), reason: format!("bad JSON: {e}") })
}

/// A count or sequence number as the API gives it.
pub(crate) fn small(n: i64, what: &'static str, id: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Corrupt { what, id: id.to_owned(), reason: format!("{n} is out of range") })
}

/// A new record id: `prefix`, a dash and 16 random hex digits.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// The one row an `INSERT … RETURNING` gave back. Such statements are run with `fetch_all`,
/// never `fetch_one`: SQLite commits the statement only when it is stepped to its end, so
/// `fetch_one` can return the row of a write that then fails (a full disk) and is rolled back.
pub(crate) fn returned_row(rows: Vec<AnyRow>, what: &'static str, id: &str) -> Result<AnyRow> {
    rows.into_iter().next().ok_or_else(|| Error::Corrupt {
        what,
        id: id.to_owned(),
        reason: "the write returned no row".into(),
    })
}

/// A limit as bound in SQL.
pub(crate) fn limit(n: u32) -> i64 {
    i64::from(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChartContent, ChartRecord, StoreConfig};

    /// Issue 19: charts drawn before schema version 4 keep their images; new charts are
    /// stored as their source.
    #[tokio::test]
    async fn charts_stored_with_images_before_version_4_are_read_after_the_migration() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let target = Target::resolve("", dir.path()).unwrap();
        let pool = AnyPoolOptions::new().max_connections(1).connect(target.url()).await.unwrap();
        let before_4 = MIGRATIONS
            .iter()
            .filter(|(version, _, _)| *version < 4)
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect();
        Migrator::with_migrations(before_4).run(&pool).await.unwrap();
        sqlx::query("INSERT INTO charts (id, answer_id, svg, png_base64, created_at) VALUES ('ch-old', 'a1', '<svg/>', 'iVBO', 5)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;

        let store = Store::open(&StoreConfig::default(), dir.path()).await.unwrap();
        let old = store.chart("ch-old").await.unwrap().unwrap();
        assert_eq!(old.content, ChartContent::Rendered { svg: "<svg/>".into(), png: vec![0x89, 0x50, 0x4e] });
        let new = ChartRecord {
            id: "ch-new".into(),
            answer_id: "a2".into(),
            content: ChartContent::Source("{}".into()),
            created_at: old.created_at,
        };
        store.put_chart(&new).await.unwrap();
        assert_eq!(store.chart("ch-new").await.unwrap(), Some(new));
        // A row with neither a source nor images is refused by the table itself.
        let empty = sqlx::query("INSERT INTO charts (id, answer_id, created_at) VALUES ('ch-empty', 'a3', 5)")
            .execute(&store.pool)
            .await;
        assert!(empty.is_err(), "{empty:?}");
    }
}
