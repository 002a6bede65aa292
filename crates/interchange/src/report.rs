//! What an import mapped, what it could not, and why.

use std::fmt;

use serde::Serialize;

use crate::Format;

/// A kind of construct of a source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Construct {
    /// A whole file or project.
    File,
    /// The model as a whole (name, description, instructions).
    Model,
    /// A table: a dbt semantic model, a Cube cube, a Cortex table, an OSI dataset, a Wren model.
    Table,
    /// A column documented on a table.
    Column,
    /// A dbt entity (a key).
    Entity,
    /// A categorical dimension.
    Dimension,
    /// A time dimension.
    TimeDimension,
    /// A measure or fact (an aggregation not yet named as a metric).
    Measure,
    /// A metric.
    Metric,
    /// A named filter or segment.
    Segment,
    /// A join or relationship.
    Join,
    /// A verified question with its SQL.
    VerifiedQuery,
    /// A view (a named query or a cube view).
    View,
    /// A calculated field.
    CalculatedField,
    /// A key of the file that the format's specification does not define.
    UnknownKey,
}

impl fmt::Display for Construct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Construct::File => "file",
            Construct::Model => "model",
            Construct::Table => "table",
            Construct::Column => "column",
            Construct::Entity => "entity",
            Construct::Dimension => "dimension",
            Construct::TimeDimension => "time dimension",
            Construct::Measure => "measure",
            Construct::Metric => "metric",
            Construct::Segment => "segment",
            Construct::Join => "join",
            Construct::VerifiedQuery => "verified query",
            Construct::View => "view",
            Construct::CalculatedField => "calculated field",
            Construct::UnknownKey => "unknown key",
        };
        f.write_str(name)
    }
}

/// A construct that became part of the quarry layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapped {
    /// What it was in the source.
    pub kind: Construct,
    /// Its name in the source (qualified by its table where names are per table).
    pub name: String,
    /// What it became, e.g. `metric revenue` or `segments[paid_plans]`.
    pub into: String,
    /// An assumption made on the way, if any (e.g. the time column a metric was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A construct that is not in the quarry layer, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmapped {
    /// What it was in the source.
    pub kind: Construct,
    /// Its name in the source.
    pub name: String,
    /// Why it was not mapped.
    pub reason: String,
}

/// The account of one import: every construct read is either mapped or unmapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The format read.
    pub format: Format,
    /// Constructs that became part of the layer.
    pub mapped: Vec<Mapped>,
    /// Constructs left out, each with its reason.
    pub unmapped: Vec<Unmapped>,
    /// What quarry added that the source did not say (e.g. undocumented snapshot columns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ImportReport {
    /// An empty report for `format`.
    pub fn new(format: Format) -> Self {
        Self { format, mapped: Vec::new(), unmapped: Vec::new(), notes: Vec::new() }
    }

    /// Records a mapped construct.
    pub fn mapped(&mut self, kind: Construct, name: impl Into<String>, into: impl Into<String>) {
        self.mapped.push(Mapped { kind, name: name.into(), into: into.into(), note: None });
    }

    /// Records a mapped construct with the assumption made.
    pub fn mapped_with_note(
        &mut self,
        kind: Construct,
        name: impl Into<String>,
        into: impl Into<String>,
        note: impl Into<String>,
    ) {
        self.mapped.push(Mapped { kind, name: name.into(), into: into.into(), note: Some(note.into()) });
    }

    /// Records a construct left out.
    pub fn unmapped(&mut self, kind: Construct, name: impl Into<String>, reason: impl Into<String>) {
        self.unmapped.push(Unmapped { kind, name: name.into(), reason: reason.into() });
    }

    /// The unmapped entry for `name`, if any.
    pub fn unmapped_named(&self, name: &str) -> Option<&Unmapped> {
        self.unmapped.iter().find(|u| u.name == name)
    }

    /// Moves the mapped entries that became `into` (e.g. `metric revenue`) to unmapped, when
    /// the snapshot turns out not to have what they need.
    pub(crate) fn retract(&mut self, into: &str, reason: &str) {
        let (gone, kept): (Vec<Mapped>, Vec<Mapped>) = self.mapped.drain(..).partition(|m| m.into == into);
        self.mapped = kept;
        for m in gone {
            self.unmapped(m.kind, m.name, reason);
        }
    }

    /// The report as text, one line per construct: mapped first, then left out.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "import from {}: {} constructs mapped, {} not mapped\n",
            self.format,
            self.mapped.len(),
            self.unmapped.len()
        );
        for m in &self.mapped {
            out.push_str(&format!("  mapped      {} {} -> {}", m.kind, m.name, m.into));
            if let Some(note) = &m.note {
                out.push_str(&format!(" ({note})"));
            }
            out.push('\n');
        }
        for u in &self.unmapped {
            out.push_str(&format!("  NOT MAPPED  {} {}: {}\n", u.kind, u.name, u.reason));
        }
        for note in &self.notes {
            out.push_str(&format!("  note        {note}\n"));
        }
        out
    }
}
