//! Answers' charts: their sources, or images drawn before schema version 4.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::AnyConnection;

use crate::error::{Error, Result, db};
use crate::records::{ChartContent, ChartRecord};
use crate::store::{Store, column, millis, time};

impl Store {
    /// Stores a chart; a chart with the same id is replaced.
    pub async fn put_chart(&self, chart: &ChartRecord) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db("put_chart"))?;
        insert_chart(&mut conn, chart).await
    }

    /// The chart with this id.
    pub async fn chart(&self, id: &str) -> Result<Option<ChartRecord>> {
        const OP: &str = "chart";
        let row = sqlx::query("SELECT id, answer_id, source, svg, png_base64, created_at FROM charts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db(OP))?;
        let Some(row) = row else { return Ok(None) };
        let source: Option<String> = column(&row, "source", OP)?;
        let svg: Option<String> = column(&row, "svg", OP)?;
        let png: Option<String> = column(&row, "png_base64", OP)?;
        let corrupt = |reason: String| Error::Corrupt { what: "chart", id: id.to_owned(), reason };
        let content = match (source, svg, png) {
            (Some(source), _, _) => ChartContent::Source(source),
            (None, Some(svg), Some(png)) => {
                let png = STANDARD.decode(png).map_err(|e| corrupt(format!("its PNG is not base64: {e}")))?;
                ChartContent::Rendered { svg, png }
            }
            _ => return Err(corrupt("it has neither a source nor both images".into())),
        };
        Ok(Some(ChartRecord {
            id: id.to_owned(),
            answer_id: column(&row, "answer_id", OP)?,
            content,
            created_at: time(column(&row, "created_at", OP)?, "chart", id)?,
        }))
    }
}

/// Stores `chart` on `conn`, which may be inside a transaction (an answer's chart is stored
/// with its turn); see [`Store::put_chart`].
pub(crate) async fn insert_chart(conn: &mut AnyConnection, chart: &ChartRecord) -> Result<()> {
    let (source, svg, png) = match &chart.content {
        ChartContent::Source(source) => (Some(source.as_str()), None, None),
        ChartContent::Rendered { svg, png } => (None, Some(svg.as_str()), Some(STANDARD.encode(png))),
    };
    sqlx::query(
        "INSERT INTO charts (id, answer_id, source, svg, png_base64, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET answer_id = excluded.answer_id, source = excluded.source, \
           svg = excluded.svg, png_base64 = excluded.png_base64, created_at = excluded.created_at",
    )
    .bind(&chart.id)
    .bind(&chart.answer_id)
    .bind(source)
    .bind(svg)
    .bind(png)
    .bind(millis(chart.created_at))
    .execute(conn)
    .await
    .map_err(db("put_chart"))?;
    Ok(())
}
