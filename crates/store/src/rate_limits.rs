//! Per-key rate limits kept in the database, so that every replica of the server sharing it
//! applies one limit.
//!
//! The limit is the generic cell rate algorithm (GCRA, as `governor` implements it in memory):
//! each key has the time its next request is due, `next_at`. A request at `now` is allowed when
//! `next_at` is at most `burst - 1` intervals ahead of `now`, and pushes `next_at` one interval
//! further (from `now` when it had passed). One upsert decides and records it atomically, so
//! concurrent requests on several servers cannot both take the last place.

use std::time::Duration;

use chrono::{DateTime, Utc};

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

impl Store {
    /// Takes one request of `key`'s allowance under `quota` at `now`, or says how long to wait.
    /// Atomic across every process sharing the database; times come from the caller's clock,
    /// so replicas need synchronized clocks (as Slack's request signatures already require).
    pub async fn take_rate_token(&self, key: &str, quota: RateQuota, now: DateTime<Utc>) -> Result<RateDecision> {
        let now = millis(now);
        let (interval, tolerance) = (quota.interval_ms(), quota.tolerance_ms());
        // A due time that has passed allows what no row allows: forgetting it keeps the table
        // as small as the number of users active in the last burst's span.
        sqlx::query("DELETE FROM rate_limits WHERE next_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(db("take_rate_token"))?;
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
        let wait_ms = u64::try_from(next_at - tolerance - now).unwrap_or(0);
        Ok(RateDecision::Refused { retry_after: Duration::from_millis(wait_ms) })
    }
}

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
}
