//! Rendered charts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::AnyConnection;

use crate::error::{Error, Result, db};
use crate::records::ChartRecord;
use crate::store::{Store, column, millis, time};

impl Store {
    /// Stores a rendered chart; a chart with the same id is replaced.
    pub async fn put_chart(&self, chart: &ChartRecord) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db("put_chart"))?;
        insert_chart(&mut conn, chart).await
    }

    /// The chart with this id.
    pub async fn chart(&self, id: &str) -> Result<Option<ChartRecord>> {
        const OP: &str = "chart";
        let row = sqlx::query("SELECT id, answer_id, svg, png_base64, created_at FROM charts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(OP))?;
        let Some(row) = row else { return Ok(None) };
        let png: String = column(&row, "png_base64", OP)?;
        let png = STANDARD.decode(png).map_err(|e| Error::Corrupt {
            what: "chart",
            id: id.to_owned(),
            reason: format!("its PNG is not base64: {e}"),
        })?;
        Ok(Some(ChartRecord {
            id: id.to_owned(),
            answer_id: column(&row, "answer_id", OP)?,
            svg: column(&row, "svg", OP)?,
            png,
            created_at: time(column(&row, "created_at", OP)?, "chart", id)?,
        }))
    }
}

/// Stores `chart` on `conn`, which may be inside a transaction (an answer's chart is stored
/// with its turn); see [`Store::put_chart`].
pub(crate) async fn insert_chart(conn: &mut AnyConnection, chart: &ChartRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO charts (id, answer_id, svg, png_base64, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET answer_id = excluded.answer_id, svg = excluded.svg, \
           png_base64 = excluded.png_base64, created_at = excluded.created_at",
    )
    .bind(&chart.id)
    .bind(&chart.answer_id)
    .bind(&chart.svg)
    .bind(STANDARD.encode(&chart.png))
    .bind(millis(chart.created_at))
    .execute(conn)
    .await
    .map_err(db("put_chart"))?;
    Ok(())
}
