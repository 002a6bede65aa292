//! Per-key rate limits, kept where every server applying them can see them.
//!
//! The limit is the generic cell rate algorithm (GCRA, as `governor` implements it in memory):
//! each key has the time its next request is due, `next_at`. A request at `now` is allowed when
//! `next_at` is at most `burst - 1` intervals ahead of `now`, and pushes `next_at` one interval
//! further (from `now` when it had passed).
//!
//! On PostgreSQL, which replicas share, one upsert decides and records a request atomically,
//! so concurrent requests on several servers cannot both take the last place; its commit does
//! not wait for the disk (a crash may forget the last counts, which lets a few questions
//! through early). A SQLite file belongs to one server, so its counters are kept in the
//! process: written to the file, each question took the database's one write lock away from
//! the answers being committed, and waited for it in turn.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::AnyPool;

use crate::error::{Result, db};
use crate::store::{Store, column, millis};

/// A rate limit: `per_minute` requests a minute on average, of which `burst` may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateQuota {
    /// Requests a minute on average (0 is taken as 1).
    pub per_minute: u32,
    /// Requests allowed at once above the average (0 is taken as 1).
    pub burst: u32,
}

impl RateQuota {
    /// Milliseconds between two requests at the average rate.
    fn interval_ms(self) -> i64 {
        (60_000 / i64::from(self.per_minute.max(1))).max(1)
    }

    /// How far ahead of now `next_at` may be for a request to be allowed, in milliseconds.
    fn tolerance_ms(self) -> i64 {
        self.interval_ms() * (i64::from(self.burst.max(1)) - 1)
    }

    /// The decision on a request at `now` for a key whose next request is due at `next_at`
    /// (none: no request is pending), with the new due time when it is allowed. The upsert of
    /// [`SharedCounters::take`] is the same rule in SQL.
    fn decide(self, next_at: Option<i64>, now: i64) -> std::result::Result<i64, RateDecision> {
        match next_at {
            Some(next_at) if next_at > now + self.tolerance_ms() => Err(refused(next_at, self, now)),
            Some(next_at) => Ok(next_at.max(now) + self.interval_ms()),
            None => Ok(now + self.interval_ms()),
        }
    }
}

/// Whether a request was within its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Allowed, and counted.
    Allowed,
    /// Over the limit, and not counted.
    Refused {
        /// When a request would be allowed again.
        retry_after: Duration,
    },
}

fn refused(next_at: i64, quota: RateQuota, now: i64) -> RateDecision {
    let wait_ms = u64::try_from(next_at - quota.tolerance_ms() - now).unwrap_or(0);
    RateDecision::Refused { retry_after: Duration::from_millis(wait_ms) }
}

/// Where a store keeps its rate-limit counters.
#[derive(Debug)]
pub(crate) enum RateCounters {
    /// In this process, for a SQLite store.
    Local(Mutex<LocalCounters>),
    /// In the database, for a PostgreSQL store that replicas share.
    Shared(SharedCounters),
}

/// Counters in memory: each key's due time.
#[derive(Debug, Default)]
pub(crate) struct LocalCounters {
    next_at: HashMap<String, i64>,
    swept_at: i64,
}

/// Counters in the `rate_limits` table.
#[derive(Debug)]
pub(crate) struct SharedCounters {
    /// Connections whose commits do not wait for the disk (`synchronous_commit = off`).
    pub pool: AnyPool,
    /// When expired rows were last deleted, in unix milliseconds.
    pub swept_at: AtomicI64,
}

impl Store {
    /// Takes one request of `key`'s allowance under `quota` at `now`, or says how long to wait.
    /// On PostgreSQL, atomic across every process sharing the database; times come from the
    /// caller's clock, so replicas need synchronized clocks (as Slack's request signatures
    /// already require).
    pub async fn take_rate_token(&self, key: &str, quota: RateQuota, now: DateTime<Utc>) -> Result<RateDecision> {
        let now = millis(now);
        match self.rates.as_ref() {
            RateCounters::Local(counters) => {
                Ok(counters.lock().unwrap_or_else(PoisonError::into_inner).take(key, quota, now))
            }
            RateCounters::Shared(counters) => counters.take(key, quota, now).await,
        }
    }
}

impl LocalCounters {
    fn take(&mut self, key: &str, quota: RateQuota, now: i64) -> RateDecision {
        if now - self.swept_at >= SWEEP_EVERY_MS || now < self.swept_at {
            self.next_at.retain(|_, next_at| *next_at >= now);
            self.swept_at = now;
        }
        match quota.decide(self.next_at.get(key).copied(), now) {
            Ok(next_at) => {
                self.next_at.insert(key.to_string(), next_at);
                RateDecision::Allowed
            }
            Err(refused) => refused,
        }
    }
}

impl SharedCounters {
    async fn take(&self, key: &str, quota: RateQuota, now: i64) -> Result<RateDecision> {
        let (interval, tolerance) = (quota.interval_ms(), quota.tolerance_ms());
        self.sweep(now).await?;
        let taken = sqlx::query(
            "INSERT INTO rate_limits (limit_key, next_at) VALUES ($1, $2 + $3) \
             ON CONFLICT (limit_key) DO UPDATE \
             SET next_at = CASE WHEN rate_limits.next_at < $2 THEN $2 ELSE rate_limits.next_at END + $3 \
             WHERE rate_limits.next_at <= $2 + $4 \
             RETURNING next_at",
        )
        .bind(key)
        .bind(now)
        .bind(interval)
        .bind(tolerance)
        .fetch_all(&self.pool)
        .await
        .map_err(db("take_rate_token"))?;
        if !taken.is_empty() {
            return Ok(RateDecision::Allowed);
        }
        let due = sqlx::query("SELECT next_at FROM rate_limits WHERE limit_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("take_rate_token"))?;
        let next_at: i64 = match &due {
            Some(row) => column(row, "next_at", "take_rate_token")?,
            // Forgotten in between: its time has passed, so the wait is over.
            None => now,
        };
        Ok(refused(next_at, quota, now))
    }

    /// Deletes the rows whose due time has passed, at most once a minute of the callers'
    /// clock. Such a row allows what no row allows, so forgetting it keeps the table as small
    /// as the number of users active in the last burst's span; doing it on every request was
    /// a second write per question.
    async fn sweep(&self, now: i64) -> Result<()> {
        let last = self.swept_at.load(Ordering::Relaxed);
        if now >= last && now - last < SWEEP_EVERY_MS {
            return Ok(());
        }
        if self.swept_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return Ok(()); // another request is sweeping
        }
        sqlx::query("DELETE FROM rate_limits WHERE next_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db("take_rate_token"))?;
        Ok(())
    }
}

/// How often expired counters are forgotten, in milliseconds.
const SWEEP_EVERY_MS: i64 = 60_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_and_tolerance_follow_the_quota() {
        let quota = RateQuota { per_minute: 60, burst: 10 };
        assert_eq!((quota.interval_ms(), quota.tolerance_ms()), (1000, 9000));
        let zero = RateQuota { per_minute: 0, burst: 0 };
        assert_eq!((zero.interval_ms(), zero.tolerance_ms()), (60_000, 0));
        let fast = RateQuota { per_minute: 1_000_000, burst: 1 };
        assert_eq!(fast.interval_ms(), 1, "never a zero interval");
    }

    /// The in-memory counters follow the rule the SQL upsert implements.
    #[test]
    fn the_rule_allows_a_burst_then_one_request_per_interval() {
        let quota = RateQuota { per_minute: 6, burst: 3 };
        assert_eq!(quota.decide(None, 100), Ok(10_100));
        assert_eq!(quota.decide(Some(50), 100), Ok(10_100), "a due time that passed counts from now");
        assert_eq!(quota.decide(Some(20_100), 100), Ok(30_100), "within the burst");
        assert_eq!(
            quota.decide(Some(20_101), 100),
            Err(RateDecision::Refused { retry_after: Duration::from_millis(1) }),
            "one millisecond past the burst"
        );
        let mut counters = LocalCounters::default();
        let taken: Vec<_> = (0..4).map(|i| counters.take("ana", quota, 1_000 + i)).collect();
        assert_eq!(&taken[..3], [RateDecision::Allowed; 3]);
        assert_eq!(taken[3], RateDecision::Refused { retry_after: Duration::from_millis(9_997) });
        assert_eq!(counters.take("ana", quota, 10 * 60_000), RateDecision::Allowed);
        assert_eq!(counters.next_at.len(), 1, "expired keys are forgotten");
    }
}
