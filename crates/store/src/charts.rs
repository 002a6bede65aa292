//! Chart specifications.

use crate::error::{Result, db};
use crate::records::ChartRecord;
use crate::store::{Store, column, json, millis, time};

impl Store {
    /// Stores a chart specification; a chart with the same id is replaced.
    pub async fn put_chart(&self, chart: &ChartRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO charts (id, answer_id, spec, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET answer_id = excluded.answer_id, spec = excluded.spec, \
               created_at = excluded.created_at",
        )
        .bind(&chart.id)
        .bind(&chart.answer_id)
        .bind(chart.spec.to_string())
        .bind(millis(chart.created_at))
        .execute(&self.pool)
        .await
        .map_err(db("put_chart"))?;
        Ok(())
    }

    /// The chart with this id.
    pub async fn chart(&self, id: &str) -> Result<Option<ChartRecord>> {
        const OP: &str = "chart";
        let row = sqlx::query("SELECT id, answer_id, spec, created_at FROM charts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(OP))?;
        let Some(row) = row else { return Ok(None) };
        let spec: String = column(&row, "spec", OP)?;
        Ok(Some(ChartRecord {
            id: id.to_owned(),
            answer_id: column(&row, "answer_id", OP)?,
            spec: json(&spec, "chart", id)?,
            created_at: time(column(&row, "created_at", OP)?, "chart", id)?,
        }))
    }
}
