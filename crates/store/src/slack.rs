//! Slack replay protection.

use chrono::{DateTime, Duration, Utc};

use crate::error::{Result, db};
use crate::store::{Store, millis};

/// How long a claimed trigger id is remembered.
pub const SLACK_CLAIM_TTL: Duration = Duration::hours(24);

impl Store {
    /// Claims a Slack trigger id: true the first time it is seen, false for a replay. Atomic,
    /// so of several servers receiving the same trigger exactly one gets true. Claims older
    /// than [`SLACK_CLAIM_TTL`] are forgotten.
    pub async fn claim_slack_trigger(&self, trigger_id: &str, now: DateTime<Utc>) -> Result<bool> {
        sqlx::query("DELETE FROM slack_triggers WHERE claimed_at < $1")
            .bind(millis(now - SLACK_CLAIM_TTL))
            .execute(&self.pool)
            .await
            .map_err(db("claim_slack_trigger"))?;
        let inserted = sqlx::query(
            "INSERT INTO slack_triggers (trigger_id, claimed_at) VALUES ($1, $2) ON CONFLICT (trigger_id) DO NOTHING",
        )
        .bind(trigger_id)
        .bind(millis(now))
        .execute(&self.pool)
        .await
        .map_err(db("claim_slack_trigger"))?;
        Ok(inserted.rows_affected() == 1)
    }
}
