//! The semantic layer: what the data means, in the words product managers use.
//!
//! A [`SemanticLayer`] describes the tables and columns of a snapshot (with descriptions,
//! keys and personal-data flags), the join graph, the metrics with their one definition
//! each, the dimensions people group and filter by, synonyms for all of them and for known
//! values ('Germany' is `country = 'DE'`), and verified question/SQL pairs.
//!
//! It is loaded from YAML ([`SemanticLayer::from_yaml_file`]), checked on its own
//! ([`SemanticLayer::check`]) and against a snapshot ([`SemanticLayer::validate_against`]):
//! every table, column and join must exist and every metric expression must parse and plan.
//! [`starter_layer`] writes a first layer for a user's own snapshot.
//!
//! ```
//! let layer = quarry_semantic::SemanticLayer::demo();
//! let revenue = layer.metric("revenue").unwrap();
//! assert_eq!(revenue.expression, "SUM(amount_usd)");
//! ```

mod error;
mod layer;
mod starter;
mod validate;

pub use error::{Error, Problem, Result};
pub use layer::{
    ColumnDef, ColumnKind, Dimension, DimensionValue, JoinDef, Metric, MetricFormat, Segment, SemanticLayer, TableDef,
    TimeConventions, VerifiedQuery, WeekStart,
};
pub use starter::starter_layer;

/// The demo warehouse's semantic layer, as checked in under `schemas/`.
pub const DEMO_LAYER_YAML: &str = include_str!("../../../schemas/demo.semantic.yaml");
