//! Questions that ask for rows rather than one number, read on any layer (inferred ones
//! included) from the tables, columns and values they name: listing ("list the names of
//! singers from France"), ordering ("sorted by age in descending order"), arg-max and arg-min
//! ("which stadium has the largest capacity", "the youngest singer"), several aggregates of
//! one column ("the average, minimum and maximum age"), aggregates per group of any column
//! ("number of concerts per year"), the group with the most rows ("which year has the most
//! concerts"), comparisons ("capacity between 5000 and 10000", "older than 30") and year
//! filters on year columns.
//!
//! The reading is strict: every content word must be a table, a column, a value or a cue it
//! acted on. Anything else and it gives no reading, so the question keeps the measure
//! reading's answer or refusal.

use std::collections::BTreeSet;

use chrono::Datelike;
use quarry_semantic::ColumnKind;

use crate::compile::CompiledQuery;
use crate::confidence::Evidence;
use crate::cues::COUNT_CUES;
use crate::interpret::{Interpreter, Question, Reading};
use crate::query::{
    AggregateFunc, ColumnRef, CompareOp, Filter, MeasureFilter, RowItem, RowOrder, RowSelect, SemanticQuery,
};
use crate::text::is_stopword;
use crate::vocab::Concept;
use crate::{Error, Result};

/// Words that ask for rows, or are grammar around them, and need no action.
#[rustfmt::skip]
const LISTING_WORDS: &[&str] = &[
    "list", "show", "give", "find", "return", "display", "tell", "get", "all", "every", "there", "have", "has",
    "had", "having", "whose", "both", "also", "please", "respectively", "corresponding", "along", "their", "them",
    "its", "his", "her", "information", "info", "details", "records", "record", "entries", "known", "stored",
    "listed", "recorded", "exist", "exists", "existing", "included", "each", "one", "ones", "any", "can", "could",
    "would", "will", "should", "just", "only", "sorted", "ordered", "order", "sort", "rank", "ranked", "arranged",
    "descending", "ascending", "decreasing", "increasing", "alphabetical", "alphabetically", "lexicographic",
    "lexicographically", "reverse", "desc", "asc", "according", "than", "as", "well", "out", "whole", "overall",
    "entire", "together", "altogether", "played", "listed", "offered", "exist", "held", "correspond",
    "corresponding", "correspondingly", "living", "live", "lives", "located", "released", "produced",
    "published", "came", "aired", "used", "shared",
];

/// Words naming an aggregate of the column that follows.
const AGGREGATE_WORDS: &[(&str, AggregateFunc)] = &[
    ("average", AggregateFunc::Avg),
    ("avg", AggregateFunc::Avg),
    ("mean", AggregateFunc::Avg),
    ("maximum", AggregateFunc::Max),
    ("max", AggregateFunc::Max),
    ("minimum", AggregateFunc::Min),
    ("min", AggregateFunc::Min),
    ("total", AggregateFunc::Sum),
    ("sum", AggregateFunc::Sum),
    ("combined", AggregateFunc::Sum),
    ("median", AggregateFunc::Median),
];

/// Superlatives: the row with the largest (`true`) or smallest value of the column named.
#[rustfmt::skip]
const SUPERLATIVES: &[(&str, bool)] = &[
    ("highest", true), ("largest", true), ("biggest", true), ("greatest", true), ("most", true), ("top", true),
    ("longest", true), ("heaviest", true), ("maximum", true), ("max", true),
    ("lowest", false), ("smallest", false), ("least", false), ("fewest", false), ("shortest", false),
    ("lightest", false), ("minimum", false), ("min", false),
];

/// Superlatives that name their column: "the youngest singer" is the smallest age.
const NAMED_SUPERLATIVES: &[(&str, &str, bool)] = &[
    ("youngest", "age", false),
    ("oldest", "age", true),
    ("heaviest", "weight", true),
    ("lightest", "weight", false),
    ("tallest", "height", true),
];

/// Comparatives that name their column: "older than 30" is `age > 30`.
const NAMED_COMPARATIVES: &[(&str, &str, CompareOp)] = &[
    ("older", "age", CompareOp::Gt),
    ("younger", "age", CompareOp::Lt),
    ("heavier", "weight", CompareOp::Gt),
    ("lighter", "weight", CompareOp::Lt),
    ("taller", "height", CompareOp::Gt),
    ("shorter", "height", CompareOp::Lt),
];

/// A value compared with a text column.
struct Literal {
    /// The values (several with "or").
    values: Vec<String>,
    /// The word after the last one taken.
    end: usize,
    /// Where "not" was, when the values are excluded.
    negation: Option<usize>,
    /// Contained in the column ("contains the substring"), not equal to it.
    contains: bool,
    /// Quoted in the question: compared as written.
    quoted: bool,
}

/// What a phrase of the question was read as.
#[derive(Debug, Clone)]
enum Part {
    /// A table, named as the thing the rows are of.
    Entity(String),
    /// A column; several candidates until resolved.
    Column(Vec<ColumnRef>),
    /// A known value of a dimension.
    Value { dimension: String, value: String },
}

/// A phrase and where it stands.
#[derive(Debug, Clone)]
struct Placed {
    start: usize,
    end: usize,
    part: Part,
}

impl Interpreter {
    /// Reads `question` as a question about rows; `None` when some content word is left
    /// unexplained or the question is not one this reading handles.
    pub(crate) fn read_rows(&self, question: &str) -> Option<Reading> {
        let (masked, literals) = mask_quoted(question);
        let q = self.take_apart(&masked, false);
        if !q.periods.is_empty() || q.time.trend || q.time.all_time && q.time.range.is_some() {
            return None;
        }
        let mut reading = RowReading::new(self, &q)?;
        reading.quoted = q
            .words
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let n: usize = w.strip_prefix("qv")?.parse().ok()?;
                Some((i, i + 1, literals.get(n)?.clone()))
            })
            .collect();
        let reading = reading.read()?;
        // A reading that cannot be compiled (a value or column only reached through a join
        // that multiplies rows) is no reading.
        match &reading {
            Reading::Query { query, .. } => self.compile(query).ok().map(|_| reading),
            _ => Some(reading),
        }
    }

    /// The column that names a row of `table`: its label, else a column called `name` or
    /// `title`, else `<entity>_name`.
    fn label_of(&self, table: &str) -> Option<String> {
        let def = self.layer().table(table)?;
        if let Some(label) = &def.label {
            return Some(label.clone());
        }
        let visible = |c: &&quarry_semantic::ColumnDef| !c.personal;
        def.columns
            .iter()
            .filter(visible)
            .find(|c| matches!(c.name.as_str(), "name" | "title"))
            .or_else(|| {
                def.columns.iter().filter(visible).find(|c| {
                    c.name.ends_with("_name")
                        && table.trim_end_matches('s').starts_with(c.name.trim_end_matches("_name"))
                })
            })
            .or_else(|| {
                // `airlines.airline`: the column named as the entity.
                let entity = crate::text::stem(table);
                def.columns.iter().filter(visible).find(|c| c.name == entity && c.kind != Some(ColumnKind::Number))
            })
            .map(|c| c.name.clone())
    }

    fn column_kind(&self, column: &ColumnRef) -> Option<ColumnKind> {
        self.layer().table(&column.table)?.column(&column.column)?.kind
    }

    /// The column of `table` called `word`, else its one column whose name ends with
    /// `_word`, of `kind`.
    fn column_named(&self, table: &str, word: &str, kind: ColumnKind) -> Option<ColumnRef> {
        let def = self.layer().table(table)?;
        let candidates: Vec<&quarry_semantic::ColumnDef> =
            def.columns.iter().filter(|c| !c.personal && c.kind == Some(kind)).collect();
        let exact = candidates.iter().find(|c| c.name == word);
        let suffixed: Vec<&&quarry_semantic::ColumnDef> =
            candidates.iter().filter(|c| c.name.ends_with(&format!("_{word}"))).collect();
        exact
            .or(if suffixed.len() == 1 { Some(suffixed[0]) } else { None })
            .map(|c| ColumnRef { table: table.to_string(), column: c.name.clone() })
    }
}

/// The state of one row reading.
struct RowReading<'a> {
    interpreter: &'a Interpreter,
    q: &'a Question,
    parts: Vec<Placed>,
    /// Word positions the reading acted on or that are grammar.
    covered: BTreeSet<usize>,
    base: String,
    /// Values read from the words after a text column, not known to the layer.
    literal_values: usize,
    /// Quoted strings of the question: first word, the word after the last, the text as
    /// written.
    quoted: Vec<(usize, usize, String)>,
    /// Positions of "or" inside a list of unquoted values after a text column.
    or_in_literal: BTreeSet<usize>,
}

impl<'a> RowReading<'a> {
    fn new(interpreter: &'a Interpreter, q: &'a Question) -> Option<Self> {
        let layer = interpreter.layer();
        let mut parts = Vec::new();
        for m in &q.mentions {
            let columns: Vec<ColumnRef> = m
                .concepts
                .iter()
                .flat_map(|c| match c {
                    Concept::Column { table, column } => {
                        vec![ColumnRef { table: table.clone(), column: column.clone() }]
                    }
                    Concept::Dimension(name) => layer
                        .dimension(name)
                        .map(|d| {
                            d.columns()
                                .into_iter()
                                .map(|(t, c)| ColumnRef { table: t.to_string(), column: c.to_string() })
                                .collect()
                        })
                        .unwrap_or_default(),
                    _ => Vec::new(),
                })
                .collect();
            let entity = m.concepts.iter().find_map(|c| match c {
                Concept::Table(t) => Some(t.clone()),
                Concept::Metric(name) => layer
                    .metric(name)
                    .filter(|metric| crate::query::counts_rows(&metric.expression) && metric.filter.is_none())
                    .map(|metric| metric.table.clone()),
                _ => None,
            });
            let value = m.concepts.iter().find_map(|c| match c {
                Concept::Value { dimension, value } => Some((dimension.clone(), value.clone())),
                _ => None,
            });
            let part = if let Some(table) = entity {
                Part::Entity(table)
            } else if !columns.is_empty() {
                let mut columns = columns;
                columns.dedup();
                Part::Column(columns)
            } else if let Some((dimension, value)) = value {
                Part::Value { dimension, value }
            } else {
                // Metrics and segments are the measure reading's.
                return None;
            };
            parts.push(Placed { start: m.start, end: m.end, part });
        }
        // "the average age", where a table also has a column called `average`: the word
        // before another column is the aggregate.
        let aggregate_word = |p: &Placed| {
            p.end == p.start + 1
                && matches!(p.part, Part::Column(_))
                && AGGREGATE_WORDS.iter().any(|(w, _)| *w == q.word_at(p.start))
        };
        let next_is_column = |k: usize| {
            parts.get(k + 1).is_some_and(|n: &Placed| {
                matches!(n.part, Part::Column(_))
                    && (parts[k].end..n.start).all(|i| {
                        let w = q.word_at(i);
                        matches!(w, "and" | "or" | "the" | "of") || AGGREGATE_WORDS.iter().any(|(a, _)| *a == w)
                    })
            })
        };
        let keep: Vec<bool> = (0..parts.len()).map(|k| !(aggregate_word(&parts[k]) && next_is_column(k))).collect();
        let mut kept = keep.iter();
        parts.retain(|_| *kept.next().expect("one flag per part"));
        // "documents that have 2 or more paragraphs": the rows counted are the base.
        let counted = q.comparisons.iter().find_map(|c| {
            parts.iter().find_map(|p| match &p.part {
                Part::Entity(t) if p.start == c.token + 1 => Some(t.clone()),
                _ => None,
            })
        });
        let base = match counted {
            Some(table) => table,
            None => Self::base_table(interpreter, q, &parts)?,
        };
        Self::add_column_words(interpreter, q, &base, &mut parts);
        let covered = q
            .words
            .iter()
            .enumerate()
            // "number", "count", "total" are cues the reading must act on, not free words.
            .filter(|(_, w)| {
                (is_stopword(w) && !matches!(w.as_str(), "number" | "count" | "total" | "amount" | "value"))
                    || LISTING_WORDS.contains(&w.as_str())
            })
            .map(|(i, _)| i)
            .collect();
        Some(Self {
            interpreter,
            q,
            parts,
            covered,
            base,
            literal_values: 0,
            quoted: Vec::new(),
            or_in_literal: BTreeSet::new(),
        })
    }

    /// Words no phrase of the vocabulary took that name a column of a table the question
    /// names by the column's last word ("the ids of templates" is `template_id`, "document
    /// descriptions" is `document_description`): one column of those tables, or none.
    fn add_column_words(interpreter: &Interpreter, q: &Question, base: &str, parts: &mut Vec<Placed>) {
        let mut tables: Vec<String> = vec![base.to_string()];
        for p in parts.iter() {
            if let Part::Entity(t) = &p.part
                && !tables.contains(t)
            {
                tables.push(t.clone());
            }
        }
        for (i, word) in q.words.iter().enumerate() {
            if parts.iter().any(|p| (p.start..p.end).contains(&i)) || word.starts_with("__") {
                continue;
            }
            // Function words are never vocabulary, but some name a column ("date", "time").
            let function_word = is_stopword(word);
            if function_word
                && (word.len() < 4 || !matches!(word.as_str(), "date" | "time" | "value" | "amount" | "type"))
            {
                continue;
            }
            if !function_word && is_cue_word(word) {
                continue;
            }
            let key = if function_word { word.clone() } else { crate::text::stem(word) };
            // "the name of losers" is `loser_name`.
            if !function_word
                && q.word_at(i + 1) == "of"
                && !parts.iter().any(|p| (p.start..p.end).contains(&(i + 2)))
                && let Some(column) = tables.iter().find_map(|t| {
                    let def = interpreter.layer().table(t)?;
                    let owner = crate::text::stem(q.word_at(i + 2));
                    def.columns
                        .iter()
                        .find(|c| {
                            !c.personal && (c.name == format!("{owner}_{key}") || c.name == format!("{owner}{key}"))
                        })
                        .map(|c| ColumnRef { table: t.clone(), column: c.name.clone() })
                })
            {
                let at = parts.iter().position(|p| p.start > i).unwrap_or(parts.len());
                parts.insert(at, Placed { start: i, end: i + 3, part: Part::Column(vec![column]) });
                continue;
            }
            let found: Vec<ColumnRef> = tables
                .iter()
                .filter_map(|t| interpreter.layer().table(t).map(|def| (t, def)))
                .flat_map(|(t, def)| {
                    def.columns
                        .iter()
                        .filter(|c| !c.personal && names_by_last_word(&c.name, t, &key))
                        .map(move |c| ColumnRef { table: t.clone(), column: c.name.clone() })
                })
                .collect();
            // "the player" of `poker_player`, "the car" of `cars_data`: the base table named by
            // one word of its name.
            if !function_word && found.is_empty() && base.split('_').any(|w| crate::text::stem(w) == key) {
                let at = parts.iter().position(|p| p.start > i).unwrap_or(parts.len());
                parts.insert(at, Placed { start: i, end: i + 1, part: Part::Entity(base.to_string()) });
                continue;
            }
            // "for each country" is `country_code`: a column of the base table starting with
            // the word, when no column ends with it.
            let found = if found.is_empty() && !function_word {
                interpreter
                    .layer()
                    .table(base)
                    .map(|def| {
                        def.columns
                            .iter()
                            .filter(|c| {
                                !c.personal && c.name.split('_').next() == Some(key.as_str()) && c.name.contains('_')
                            })
                            .map(|c| ColumnRef { table: base.to_string(), column: c.name.clone() })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            } else {
                found
            };
            // On the base table first: "ids of templates" is the template's own id.
            let on_base: Vec<&ColumnRef> = found.iter().filter(|c| c.table == base).collect();
            let chosen = match (on_base.as_slice(), found.as_slice()) {
                ([one], _) => Some((*one).clone()),
                ([], [one]) => Some(one.clone()),
                _ => None,
            };
            if let Some(column) = chosen {
                let at = parts.iter().position(|p| p.start > i).unwrap_or(parts.len());
                parts.insert(at, Placed { start: i, end: i + 1, part: Part::Column(vec![column]) });
            }
        }
    }

    /// The table the rows are of: the first table named, else the one table every column
    /// named can be on.
    fn base_table(interpreter: &Interpreter, q: &Question, parts: &[Placed]) -> Option<String> {
        if let Some(table) = parts.iter().find_map(|p| match &p.part {
            Part::Entity(t) => Some(t.clone()),
            _ => None,
        }) {
            return Some(table);
        }
        let mut common: Option<BTreeSet<String>> = None;
        for p in parts {
            let tables: BTreeSet<String> = match &p.part {
                Part::Column(columns) => columns.iter().map(|c| c.table.clone()).collect(),
                Part::Value { dimension, .. } => interpreter
                    .layer()
                    .dimension(dimension)
                    .map(|d| d.columns().into_iter().map(|(t, _)| t.to_string()).collect())
                    .unwrap_or_default(),
                Part::Entity(_) => continue,
            };
            common = Some(match common {
                None => tables,
                Some(c) => c.intersection(&tables).cloned().collect(),
            });
        }
        let common = common?;
        if common.len() <= 1 {
            return common.into_iter().next();
        }
        // Several tables hold every column named ("template type code" is on the templates
        // and on their reference table): the one whose columns the other words name too.
        let score = |table: &str| {
            let Some(def) = interpreter.layer().table(table) else { return 0 };
            q.words
                .iter()
                .enumerate()
                .filter(|(i, w)| !parts.iter().any(|p| (p.start..p.end).contains(i)) && !is_cue_word(w))
                .filter(|(_, w)| {
                    let key = crate::text::stem(w);
                    def.columns.iter().any(|c| c.name.rsplit('_').next() == Some(key.as_str()))
                })
                .count()
        };
        let mut scored: Vec<(usize, String)> = common.into_iter().map(|t| (score(&t), t)).collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        (scored[0].0 > scored[1].0).then(|| scored.swap_remove(0).1)
    }

    fn word(&self, i: usize) -> &str {
        self.q.word_at(i)
    }

    /// The word at `i` as written, before any spelling correction: a value is not corrected
    /// to a vocabulary word.
    fn written(&self, i: usize) -> &str {
        let word = self.word(i);
        self.q.corrections.iter().find(|(_, read)| read == word).map(|(written, _)| written.as_str()).unwrap_or(word)
    }

    /// The positions before `start`, nearest first, skipping articles and "of".
    fn before(&self, start: usize) -> impl Iterator<Item = usize> + '_ {
        (0..start).rev().filter(|&i| !matches!(self.word(i), "the" | "a" | "an" | "of" | "its" | "their"))
    }

    /// Resolves a column phrase: on the base table, else on another table named, else on
    /// the nearest table the base joins to many-to-one.
    fn resolve(&self, columns: &[ColumnRef]) -> Option<ColumnRef> {
        if let Some(c) = columns.iter().find(|c| c.table == self.base) {
            return Some(c.clone());
        }
        let named: Vec<&String> = self
            .parts
            .iter()
            .filter_map(|p| match &p.part {
                Part::Entity(t) => Some(t),
                _ => None,
            })
            .collect();
        let graph = self.interpreter.graph();
        let on_named: Vec<&ColumnRef> = columns
            .iter()
            .filter(|c| named.contains(&&c.table) && graph.distance(&self.base, &c.table).is_some_and(|d| d < 100))
            .collect();
        if on_named.len() == 1 {
            return Some(on_named[0].clone());
        }
        let mut near: Vec<(usize, &ColumnRef)> = columns
            .iter()
            .filter_map(|c| graph.distance(&self.base, &c.table).filter(|d| *d < 100).map(|d| (d, c)))
            .collect();
        near.sort_by_key(|(d, _)| *d);
        match near.as_slice() {
            [(_, c)] => Some((*c).clone()),
            [(d0, c), (d1, _), ..] if d0 < d1 => Some((*c).clone()),
            _ => None,
        }
    }

    fn read(mut self) -> Option<Reading> {
        // "where is the youngest teacher from", "when was ...": asks for a place or a time the
        // reading cannot pick a column for.
        if matches!(self.word(0), "where" | "when" | "why") {
            return None;
        }
        let mut items: Vec<RowItem> = Vec::new();
        let mut filters: Vec<Filter> = Vec::new();
        let mut group_by: Vec<ColumnRef> = Vec::new();
        let mut order: Option<RowOrder> = None;
        let mut distinct = false;
        let mut count_rows = false;
        let mut entity_listed = false;
        let mut used_tables: BTreeSet<String> = BTreeSet::from([self.base.clone()]);
        let mut compared = vec![false; self.q.comparisons.len()];
        let mut top: Option<u64> = None;
        let mut having = None;
        let mut first_or_last: Option<bool> = None;
        for (k, cmp) in self.q.comparisons.iter().enumerate() {
            let counted = self
                .parts
                .iter()
                .any(|p| p.start == cmp.token + 1 && matches!(&p.part, Part::Entity(t) if *t == self.base));
            if counted {
                if having.is_some() {
                    return None;
                }
                compared[k] = true;
                self.covered.insert(cmp.token);
                having = Some(MeasureFilter { op: cmp.op, value: cmp.value.clone() });
            }
        }
        let descending_cue = self.descending_cue();

        // "how many", "number of", "count": rows counted (of the entity, or distinct values
        // of the column that follows).
        // "the number of final tables they made" names a numeric column, not a count.
        let mut column_numbers = BTreeSet::new();
        for p in &self.parts {
            let numeric = matches!(&p.part, Part::Column(cs) if cs.iter().all(|c| self.interpreter.column_kind(c) == Some(ColumnKind::Number)));
            if numeric
                && p.start >= 2
                && self.word(p.start - 1) == "of"
                && matches!(self.word(p.start - 2), "number" | "numbers")
            {
                column_numbers.extend([p.start - 2, p.start - 1]);
            }
        }
        let mut normalized = self.q.words.clone();
        for &i in &column_numbers {
            normalized[i] = "_".into();
        }
        let normalized = normalized.join(" ");
        self.covered.extend(column_numbers);
        let counting = COUNT_CUES
            .iter()
            .any(|cue| normalized.starts_with(&format!("{cue} ")) || normalized.contains(&format!(" {cue} ")));
        // "numbers of friends": a count metric's own phrase.
        let counting = counting
            || self.parts.iter().any(|p| {
                matches!(p.part, Part::Entity(_)) && matches!(self.word(p.start), "number" | "numbers" | "count")
            });
        if counting {
            for (i, w) in self.q.words.iter().enumerate() {
                if matches!(w.as_str(), "how" | "many" | "number" | "count" | "much") {
                    self.covered.insert(i);
                }
            }
        }
        let distinct_words = ["distinct", "different", "unique"];

        let parts = self.parts.clone();
        let resolved: Vec<Option<ColumnRef>> = parts
            .iter()
            .map(|p| match &p.part {
                Part::Column(candidates) => self.resolve(candidates),
                _ => None,
            })
            .collect();
        let mut taken_by_label: BTreeSet<usize> = BTreeSet::new();
        for (k, placed) in parts.iter().enumerate() {
            if taken_by_label.contains(&placed.start) {
                continue;
            }
            match &placed.part {
                Part::Entity(table) => {
                    self.covered.extend(placed.start..placed.end);
                    if *table != self.base && !used_tables.contains(table) {
                        // Another table named is only understood through a column or value of it.
                        let singular = crate::text::stem(table);
                        let consumed = parts.iter().zip(&resolved).any(|(p, r)| match &p.part {
                            Part::Column(_) => r.as_ref().is_some_and(|c| {
                                &c.table == table || (having.is_some() && c.column.starts_with(&format!("{singular}_")))
                            }),
                            Part::Value { dimension, .. } => self
                                .interpreter
                                .layer()
                                .dimension(dimension)
                                .is_some_and(|d| d.columns().iter().any(|(t, _)| t == table)),
                            Part::Entity(_) => false,
                        });
                        if !consumed {
                            return None;
                        }
                    }
                    if *table == self.base {
                        // "which singer", "list the stadiums": the label names the rows.
                        entity_listed = true;
                        // "the high schooler named Kyle": a value of the label.
                        // Spelling correction reads "named" as the column `name`: the word as written.
                        if matches!(self.written(placed.end), "named" | "called") {
                            let label = self.interpreter.label_of(&self.base)?;
                            let at = placed.end + 1;
                            let (end, condition) = match self.quoted.iter().find(|(s, _, _)| *s == at) {
                                Some((_, end, text)) => (*end, format!("{label} = {}", quote(text))),
                                None => {
                                    // A name may hold vocabulary words ("Plaza Museum"): it runs to
                                    // the next cue word or the end.
                                    let end = (at..self.q.words.len())
                                        .take_while(|&i| !is_cue_word(self.word(i)) && !self.word(i).starts_with("__"))
                                        .last()?
                                        + 1;
                                    if end - at > 4 {
                                        return None;
                                    }
                                    let words: Vec<&str> = (at..end).map(|i| self.written(i)).collect();
                                    let condition =
                                        format!("lower({label}) = {}", quote(&words.join(" ").to_lowercase()));
                                    self.literal_values += 1;
                                    (end, condition)
                                }
                            };
                            self.covered.extend(placed.end..end);
                            taken_by_label.extend(placed.end..end);
                            filters.push(Filter::Sql { table: self.base.clone(), condition });
                        }
                        // "the 3 albums with the highest sales".
                        if placed.start > 0
                            && !self.covered.contains(&(placed.start - 1))
                            && let Ok(n) = self.word(placed.start - 1).parse::<u64>()
                        {
                            self.covered.insert(placed.start - 1);
                            top = Some(n);
                        }
                        let previous = self.before(placed.start).next();
                        if let Some(d) = previous.filter(|&d| distinct_words.contains(&self.word(d))) {
                            // "how many different degrees": distinct names of the rows.
                            if !counting {
                                return None;
                            }
                            let label = self.interpreter.label_of(&self.base)?;
                            self.covered.insert(d);
                            items.push(RowItem::Aggregate {
                                func: AggregateFunc::CountDistinct,
                                column: Some(ColumnRef { table: self.base.clone(), column: label }),
                            });
                        }
                    }
                }
                Part::Value { dimension, value } => {
                    self.covered.extend(placed.start..placed.end);
                    let previous = self.before(placed.start).next();
                    let negation =
                        previous.filter(|&i| matches!(self.word(i), "not" | "except" | "excluding" | "besides"));
                    let negated = negation.is_some();
                    self.covered.extend(negation);
                    match filters.iter_mut().find(|f| matches!(f, Filter::Values { dimension: d, negated: n, .. } if d == dimension && *n == negated)) {
                        Some(Filter::Values { values, .. }) => values.push(value.clone()),
                        _ => filters.push(Filter::Values {
                            dimension: dimension.clone(),
                            values: vec![value.clone()],
                            negated,
                        }),
                    }
                    if let Some(d) = self.interpreter.layer().dimension(dimension) {
                        used_tables.extend(d.columns().into_iter().map(|(t, _)| t.to_string()));
                    }
                }
                Part::Column(_) => {
                    let column = resolved[k].clone()?;
                    // "the first student to register": an ordering, not the first name.
                    if placed.end == placed.start + 1
                        && matches!(self.word(placed.start), "first" | "last")
                        && matches!(parts.get(k + 1), Some(Placed { part: Part::Entity(t), .. }) if *t == self.base)
                    {
                        self.covered.insert(placed.start);
                        first_or_last = Some(self.word(placed.start) == "last");
                        continue;
                    }
                    if let Some(descending) = first_or_last
                        && placed.start > 0
                        && self.word(placed.start - 1) == "to"
                        && order.is_none()
                    {
                        self.covered.extend(placed.start - 1..placed.end);
                        order = Some(RowOrder { item: RowItem::Column(column), descending });
                        first_or_last = None;
                        continue;
                    }
                    used_tables.insert(column.table.clone());
                    self.covered.extend(placed.start..placed.end);
                    let kind = self.interpreter.column_kind(&column);
                    // "directed by Ben Jones": the column a value that follows is of.
                    if let Some(Placed { start, part: Part::Value { dimension, .. }, .. }) = parts.get(k + 1)
                        && *start <= placed.end + 1
                        && self
                            .interpreter
                            .layer()
                            .dimension(dimension)
                            .is_some_and(|d| d.columns().iter().any(|(t, c)| *t == column.table && *c == column.column))
                    {
                        self.covered.extend(placed.end..*start);
                        continue;
                    }
                    let previous_end = if k == 0 { 0 } else { parts[k - 1].end };
                    let window: Vec<usize> = (previous_end..placed.start).collect();

                    // A comparison right after the column: "capacity between 5000 and 10000",
                    // "age above 20", "grade 10".
                    // "with 8 cylinders", "over 6 cylinders": the number before the column.
                    if kind == Some(ColumnKind::Number)
                        && placed.start > 0
                        && !self.covered.contains(&(placed.start - 1))
                    {
                        let before = placed.start - 1;
                        let number = self.word(before).parse::<f64>().is_ok()
                            && !matches!(self.word(before.saturating_sub(1)), "top" | "first" | "last");
                        let comparison: Vec<usize> = self
                            .q
                            .comparisons
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| c.token == before)
                            .map(|(i, _)| i)
                            .collect();
                        if number || !comparison.is_empty() {
                            self.covered.insert(before);
                            if number {
                                filters.push(Filter::Compare {
                                    table: column.table.clone(),
                                    column: column.column.clone(),
                                    op: CompareOp::Eq,
                                    value: self.word(before).to_string(),
                                });
                            }
                            for i in comparison {
                                compared[i] = true;
                                let cmp = &self.q.comparisons[i];
                                filters.push(Filter::Compare {
                                    table: column.table.clone(),
                                    column: column.column.clone(),
                                    op: cmp.op,
                                    value: cmp.value.clone(),
                                });
                            }
                            continue;
                        }
                    }
                    // "a greater weight than 10".
                    if kind == Some(ColumnKind::Number)
                        && placed.start > 0
                        && self.word(placed.end) == "than"
                        && self.word(placed.end + 1).parse::<f64>().is_ok()
                    {
                        let op = match self.word(placed.start - 1) {
                            "greater" | "larger" | "higher" | "more" | "bigger" => Some(CompareOp::Gt),
                            "smaller" | "lower" | "less" | "fewer" => Some(CompareOp::Lt),
                            _ => None,
                        };
                        if let Some(op) = op {
                            self.covered.extend([placed.start - 1, placed.end, placed.end + 1]);
                            filters.push(Filter::Compare {
                                table: column.table.clone(),
                                column: column.column.clone(),
                                op,
                                value: self.word(placed.end + 1).to_string(),
                            });
                            continue;
                        }
                    }
                    let next = placed.end;
                    let next =
                        if matches!(self.word(next), "is" | "of" | "are" | "was" | "were") { next + 1 } else { next };
                    if self.q.comparisons.iter().any(|c| c.token == next) {
                        if kind != Some(ColumnKind::Number) {
                            return None;
                        }
                        for (i, cmp) in self.q.comparisons.iter().enumerate().filter(|(_, c)| c.token == next) {
                            compared[i] = true;
                            filters.push(Filter::Compare {
                                table: column.table.clone(),
                                column: column.column.clone(),
                                op: cmp.op,
                                value: cmp.value.clone(),
                            });
                        }
                        self.covered.insert(next);
                        continue;
                    }
                    // "grade 10", "birth years either 1948 or 1949".
                    if kind == Some(ColumnKind::Number) {
                        let mut at = next;
                        if self.word(at) == "either" {
                            at += 1;
                        }
                        let mut numbers = Vec::new();
                        while self.word(at).parse::<f64>().is_ok() {
                            numbers.push(at);
                            if self.word(at + 1) == "or" && self.word(at + 2).parse::<f64>().is_ok() {
                                at += 2;
                            } else {
                                break;
                            }
                        }
                        if let Some(&last) = numbers.last() {
                            self.covered.extend(placed.end..=last);
                            let list: Vec<String> = numbers.iter().map(|&i| self.word(i).to_string()).collect();
                            // "below age 30": the comparison word stands before the column.
                            let compared_before = window
                                .last()
                                .and_then(|&i| comparison_word(self.word(i)).map(|op| (i, op)))
                                .filter(|_| list.len() == 1);
                            if let Some((i, _)) = compared_before {
                                self.covered.insert(i);
                            }
                            filters.push(if list.len() == 1 {
                                Filter::Compare {
                                    table: column.table.clone(),
                                    column: column.column.clone(),
                                    op: compared_before.map_or(CompareOp::Eq, |(_, op)| op),
                                    value: list[0].to_string(),
                                }
                            } else {
                                Filter::Sql {
                                    table: column.table.clone(),
                                    condition: format!("{} IN ({})", column.column, list.join(", ")),
                                }
                            });
                            continue;
                        }
                    }
                    // "the city Anthony", "whose hometown is not 'X'", "a city that contains the
                    // substring 'West'", "with template type code PP or PPT": a quoted string,
                    // or words no phrase took right after a text column the question introduces,
                    // are values of it.
                    if kind == Some(ColumnKind::Text)
                        && let Some(literal) = self.literal_after(placed.start, placed.end, previous_end, &parts)
                    {
                        self.covered.extend(placed.end..literal.end);
                        let ors: Vec<usize> = (placed.end..literal.end).filter(|&i| self.word(i) == "or").collect();
                        self.or_in_literal.extend(ors);
                        self.covered.extend(literal.negation);
                        if !literal.quoted {
                            self.literal_values += literal.values.len();
                        }
                        let column_sql = if literal.quoted && !literal.contains {
                            column.column.clone()
                        } else {
                            format!("lower({})", column.column)
                        };
                        let values: Vec<String> = literal
                            .values
                            .iter()
                            .map(|v| {
                                let v = if literal.quoted && !literal.contains { v.clone() } else { v.to_lowercase() };
                                if literal.contains { quote(&format!("%{v}%")) } else { quote(&v) }
                            })
                            .collect();
                        let negated = literal.negation.is_some();
                        let condition = match (literal.contains, values.as_slice()) {
                            (true, _) => values
                                .iter()
                                .map(|v| format!("{column_sql} {}LIKE {v}", if negated { "NOT " } else { "" }))
                                .collect::<Vec<_>>()
                                .join(if negated { " AND " } else { " OR " }),
                            (false, [one]) => format!("{column_sql} {} {one}", if negated { "<>" } else { "=" }),
                            (false, many) => {
                                format!("{column_sql} {}IN ({})", if negated { "NOT " } else { "" }, many.join(", "))
                            }
                        };
                        filters.push(Filter::Sql { table: column.table.clone(), condition });
                        continue;
                    }
                    // "above age 20": the comparison word before, the number after.
                    if let Some(op) = window.last().and_then(|&i| comparison_word(self.word(i)).map(|op| (i, op)))
                        && self.word(next).parse::<f64>().is_ok()
                        && kind == Some(ColumnKind::Number)
                    {
                        self.covered.insert(op.0);
                        self.covered.insert(next);
                        filters.push(Filter::Compare {
                            table: column.table.clone(),
                            column: column.column.clone(),
                            op: op.1,
                            value: self.word(next).to_string(),
                        });
                        continue;
                    }

                    let nearest: Vec<usize> = self.before(placed.start).take_while(|i| *i >= previous_end).collect();
                    // Aggregates named before the column: "the average, minimum and maximum age".
                    let aggregates: Vec<(usize, AggregateFunc)> = nearest
                        .iter()
                        .take_while(|&&i| {
                            AGGREGATE_WORDS.iter().any(|(w, _)| *w == self.word(i))
                                || matches!(self.word(i), "and" | "or")
                                || (matches!(self.word(i), "number" | "numbers") && self.covered.contains(&i))
                        })
                        .filter_map(|&i| AGGREGATE_WORDS.iter().find(|(w, _)| *w == self.word(i)).map(|(_, f)| (i, *f)))
                        .collect();
                    let per_each =
                        self.q.words.iter().any(|w| matches!(w.as_str(), "each" | "respectively" | "corresponding"));
                    if counting && nearest.first().is_some_and(|&i| distinct_words.contains(&self.word(i))) && !per_each
                    {
                        self.covered.insert(nearest[0]);
                        items.push(RowItem::Aggregate { func: AggregateFunc::CountDistinct, column: Some(column) });
                        continue;
                    }
                    if !aggregates.is_empty() {
                        if kind != Some(ColumnKind::Number) {
                            return None;
                        }
                        for (i, func) in aggregates.iter().rev() {
                            self.covered.insert(*i);
                            items.push(RowItem::Aggregate { func: *func, column: Some(column.clone()) });
                        }
                        continue;
                    }
                    // A superlative before the column: "the highest capacity".
                    if let Some(&i) = nearest.first()
                        && let Some((_, descending)) = SUPERLATIVES.iter().find(|(w, _)| *w == self.word(i))
                    {
                        if kind != Some(ColumnKind::Number) && kind != Some(ColumnKind::Time) {
                            return None;
                        }
                        self.covered.insert(i);
                        if order.is_some() {
                            return None;
                        }
                        order = Some(RowOrder { item: RowItem::Column(column), descending: *descending });
                        continue;
                    }
                    // Ordering: "ordered by age", "sorted by name", "in descending order of age".
                    if (window.iter().any(|&i| is_order_word(self.word(i))) || self.ordered())
                        && nearest.first().is_some_and(|&i| {
                            is_order_word(self.word(i))
                                || matches!(
                                    self.word(i),
                                    "by" | "on" | "according" | "to" | "ascending" | "descending" | "alphabetical"
                                )
                        })
                    {
                        if order.is_some() {
                            return None;
                        }
                        let descending = descending_cue.unwrap_or(false);
                        order = Some(RowOrder { item: RowItem::Column(column), descending });
                        continue;
                    }
                    // Grouping: "for each year", "per country", "by country" with an aggregate.
                    if nearest.first().is_some_and(|&i| matches!(self.word(i), "each" | "per" | "every" | "by"))
                        || nearest.get(1).is_some_and(|&i| matches!(self.word(i), "each" | "every"))
                    {
                        group_by.push(column.clone());
                        items.insert(0, RowItem::Column(column));
                        continue;
                    }
                    if nearest.first().is_some_and(|&i| distinct_words.contains(&self.word(i))) {
                        self.covered.insert(nearest[0]);
                        distinct = true;
                    }
                    if !items.contains(&RowItem::Column(column.clone())) {
                        items.push(RowItem::Column(column));
                    }
                }
            }
        }
        // "in alphabetical order", "in descending order" with no column after: the column
        // listed is ordered.
        if order.is_none() && (self.ordered() || self.q.words.iter().any(|w| w.starts_with("alphabetical"))) {
            let listed: Vec<&ColumnRef> = items
                .iter()
                .filter_map(|i| match i {
                    RowItem::Column(c) => Some(c),
                    RowItem::Aggregate { .. } => None,
                })
                .collect();
            let alphabetical = self.q.words.iter().any(|w| w.starts_with("alphabetical"));
            let column = match listed.as_slice() {
                [only] => Some((*only).clone()),
                [] if entity_listed => {
                    self.interpreter.label_of(&self.base).map(|c| ColumnRef { table: self.base.clone(), column: c })
                }
                several if alphabetical => several
                    .iter()
                    .find(|c| self.interpreter.column_kind(c) == Some(ColumnKind::Text))
                    .map(|c| (*c).clone()),
                _ => None,
            };
            let column = column?;
            order = Some(RowOrder { item: RowItem::Column(column), descending: descending_cue.unwrap_or(false) });
        }

        // Comparisons with a comparative that names its column: "older than 30".
        for (i, cmp) in self.q.comparisons.iter().enumerate() {
            if compared[i] {
                continue;
            }
            // The comparative word is right before the comparison's own word ("older than").
            let found = (0..cmp.token).rev().take(2).find_map(|j| {
                NAMED_COMPARATIVES.iter().find(|(w, _, _)| *w == self.word(j)).map(|(_, col, op)| (j, *col, *op))
            });
            let (j, name, op) = found?;
            let column = self.interpreter.column_named(&self.base, name, ColumnKind::Number)?;
            self.covered.insert(j);
            self.covered.insert(cmp.token);
            compared[i] = true;
            let op = if cmp.op == CompareOp::Gt || cmp.op == CompareOp::Ge || cmp.op == CompareOp::Eq {
                op
            } else {
                return None;
            };
            filters.push(Filter::Compare { table: column.table, column: column.column, op, value: cmp.value.clone() });
        }
        // "older than 30" when the comparison pattern did not take it.
        for i in 0..self.q.words.len() {
            if self.covered.contains(&i) {
                continue;
            }
            let Some((_, name, op)) = NAMED_COMPARATIVES.iter().find(|(w, _, _)| *w == self.word(i)) else { continue };
            if self.word(i + 1) != "than" || self.word(i + 2).parse::<f64>().is_err() {
                continue;
            }
            let column = self.interpreter.column_named(&self.base, name, ColumnKind::Number)?;
            self.covered.extend([i, i + 1, i + 2]);
            filters.push(Filter::Compare {
                table: column.table,
                column: column.column,
                op: *op,
                value: self.word(i + 2).to_string(),
            });
        }
        if compared.iter().any(|c| !c) {
            return None;
        }
        // "the youngest singer", "the oldest teacher".
        for i in 0..self.q.words.len() {
            let Some((_, name, descending)) = NAMED_SUPERLATIVES.iter().find(|(w, _, _)| *w == self.word(i)) else {
                continue;
            };
            if self.covered.contains(&i) {
                continue;
            }
            // "the 3 youngest winners" is `winner_age`, when the table has several ages.
            let owner = crate::text::stem(self.word(i + 1));
            let column = self.interpreter.column_named(&self.base, name, ColumnKind::Number).or_else(|| {
                self.interpreter.column_named(&self.base, &format!("{owner}_{name}"), ColumnKind::Number)
            })?;
            if order.is_some() {
                return None;
            }
            self.covered.insert(i);
            if i > 0
                && let Ok(n) = self.word(i - 1).parse::<u64>()
            {
                self.covered.insert(i - 1);
                top = Some(n);
            }
            order = Some(RowOrder { item: RowItem::Column(column), descending: *descending });
        }
        if let Some(descending) = first_or_last {
            if order.is_some() {
                return None;
            }
            order = Some(RowOrder { item: RowItem::Column(self.date_column()?), descending });
        }
        // "the most recent treatment", "the latest transcript": the table's date, latest first.
        for i in 0..self.q.words.len() {
            let descending = match self.word(i) {
                "recent" | "recently" | "latest" | "newest" => true,
                "earliest" => false,
                _ => continue,
            };
            if self.covered.contains(&i) || order.is_some() {
                return None;
            }
            let column = self.date_column()?;
            self.covered.insert(i);
            if i > 0 && self.word(i - 1) == "most" {
                self.covered.insert(i - 1);
            }
            order = Some(RowOrder { item: RowItem::Column(column), descending });
        }

        // Time: a year column, or the table's time column.
        let mut time_range = None;
        let mut time_column = None;
        // Years the time phrases left: "in 2014 or 2015", "produced before 1980".
        let mut years: Vec<(usize, CompareOp, String)> = Vec::new();
        for (i, w) in self.q.words.iter().enumerate() {
            let is_year = w.len() == 4 && w.parse::<u32>().is_ok_and(|y| (1000..3000).contains(&y));
            if !is_year || self.covered.contains(&i) {
                continue;
            }
            let op = match self.word(i.saturating_sub(1)) {
                "before" => CompareOp::Lt,
                "after" => CompareOp::Gt,
                "since" => CompareOp::Ge,
                "in" | "year" | "or" | "and" | "of" => CompareOp::Eq,
                _ => continue,
            };
            years.push((i, op, w.clone()));
        }
        if !years.is_empty() {
            let column = self.year_column(&used_tables)?;
            let mut equal: Vec<String> = match &self.q.time.range {
                Some(range) => match year_filters(&column, range)?.as_slice() {
                    [Filter::Compare { op: CompareOp::Eq, value, .. }] => vec![value.clone()],
                    _ => return None,
                },
                None => Vec::new(),
            };
            for (i, op, year) in years {
                self.covered.extend([i.saturating_sub(1), i]);
                if op == CompareOp::Eq {
                    equal.push(year);
                } else {
                    filters.push(Filter::Compare {
                        table: column.table.clone(),
                        column: column.column.clone(),
                        op,
                        value: year,
                    });
                }
            }
            match equal.as_slice() {
                [] => {}
                [one] => filters.push(Filter::Compare {
                    table: column.table.clone(),
                    column: column.column.clone(),
                    op: CompareOp::Eq,
                    value: one.clone(),
                }),
                many => filters.push(Filter::Sql {
                    table: column.table.clone(),
                    condition: format!("{} IN ({})", column.column, many.join(", ")),
                }),
            }
        } else if let Some(range) = &self.q.time.range {
            if let Some(column) = self.year_column(&used_tables) {
                filters.extend(year_filters(&column, range)?);
            } else {
                let def = self.interpreter.layer().table(&self.base)?;
                let column = def.columns.iter().find(|c| !c.personal && c.kind == Some(ColumnKind::Time))?;
                time_column = Some(column.name.clone());
                time_range = Some(range.clone());
            }
        }
        if let Some(grain) = self.q.time.grain {
            if grain != crate::time::TimeGrain::Year || !group_by.is_empty() {
                return None;
            }
            let column = self.year_column(&used_tables)?;
            group_by.push(column.clone());
            items.insert(0, RowItem::Column(column));
        }

        // The group with the most rows: "which year has the most concerts".
        let superlative_count = self.q.words.iter().enumerate().find(|(i, w)| {
            let most_number =
                matches!(w.as_str(), "greatest" | "largest" | "highest" | "biggest" | "smallest" | "lowest")
                    && matches!(self.word(i + 1), "number" | "count")
                    && self.word(i + 2) == "of";
            !self.covered.contains(i) && (matches!(w.as_str(), "most" | "least" | "fewest") || most_number)
        });
        if let Some((i, w)) = superlative_count {
            // "most" before the entity ("the most concerts") or "most number of".
            let next_entity = parts.iter().find_map(|p| match &p.part {
                Part::Entity(t) if p.start > i => Some(t.clone()),
                _ => None,
            });
            if next_entity.is_some_and(|t| t != self.base) {
                return None;
            }
            if order.is_none() && group_by.len() <= 1 {
                if group_by.is_empty() {
                    let column = items.iter().find_map(|it| match it {
                        RowItem::Column(c) => Some(c.clone()),
                        RowItem::Aggregate { .. } => None,
                    })?;
                    group_by.push(column);
                }
                let descending = !matches!(w.as_str(), "least" | "fewest" | "smallest" | "lowest");
                self.covered.insert(i);
                if matches!(self.word(i + 1), "number" | "count") {
                    self.covered.extend([i + 1, i + 2]);
                }
                order = Some(RowOrder {
                    item: RowItem::Aggregate { func: AggregateFunc::Count, column: None },
                    descending,
                });
                items.push(RowItem::Aggregate { func: AggregateFunc::Count, column: None });
            }
        }

        if having.is_some() {
            let columns: Vec<ColumnRef> = items
                .iter()
                .filter_map(|i| match i {
                    RowItem::Column(c) => Some(c.clone()),
                    RowItem::Aggregate { .. } => None,
                })
                .collect();
            let key = self.interpreter.layer().table(&self.base).map(|t| t.primary_key.clone()).unwrap_or_default();
            // Groups of a unique key hold one row each: a count condition on them says nothing.
            let on_key = columns.iter().any(|c| c.table == self.base && key == [c.column.clone()]);
            if columns.is_empty() || !group_by.is_empty() || counting || on_key {
                return None;
            }
            // A name of a joined table is grouped by the key it is joined on as well: two
            // students may share a name.
            for c in &columns {
                if c.table != self.base
                    && let Some(step) =
                        self.interpreter.graph().path(&self.base, &c.table).and_then(|p| p.first().cloned())
                {
                    let key = ColumnRef { table: self.base.clone(), column: step.left_column };
                    if !group_by.contains(&key) {
                        group_by.push(key);
                    }
                }
            }
            group_by.extend(columns);
            items.push(RowItem::Aggregate { func: AggregateFunc::Count, column: None });
        }
        if counting && !items.iter().any(|i| matches!(i, RowItem::Aggregate { func: AggregateFunc::CountDistinct, .. }))
        {
            count_rows = true;
        }
        let plain: Vec<ColumnRef> = items
            .iter()
            .filter_map(|i| match i {
                RowItem::Column(c) => Some(c.clone()),
                RowItem::Aggregate { .. } => None,
            })
            .collect();
        if count_rows && group_by.is_empty() && !plain.is_empty() {
            // "the student ids and numbers of friends corresponding to each".
            if let Some(i) = self.q.words.iter().enumerate().position(|(i, w)| {
                !self.covered.contains(&i) && matches!(w.as_str(), "each" | "respectively" | "corresponding")
            }) {
                self.covered.insert(i);
                group_by = plain.clone();
            }
        }
        let counted_rows = RowItem::Aggregate { func: AggregateFunc::Count, column: None };
        if count_rows && !items.contains(&counted_rows) {
            if items.iter().any(|i| matches!(i, RowItem::Column(_))) && group_by.is_empty() {
                // "how many X" naming a column that is not a grouping: another question.
                return None;
            }
            items.push(RowItem::Aggregate { func: AggregateFunc::Count, column: None });
        }
        if !group_by.is_empty() && !items.iter().any(|i| matches!(i, RowItem::Aggregate { .. })) {
            // "list each charge type and its amount": nothing to aggregate, a listing.
            group_by.clear();
        }
        if !items.is_empty()
            && items.iter().all(|i| matches!(i, RowItem::Aggregate { .. }))
            && group_by.is_empty()
            && order.is_some()
        {
            // "the average age of the oldest singer": not a row question.
            return None;
        }
        if items.is_empty() {
            let listing = matches!(self.word(0), "list" | "show" | "find" | "give" | "return" | "display" | "which")
                || (self.word(0) == "what" && matches!(self.word(1), "are" | "were"));
            if !entity_listed && !listing {
                return None;
            }
            let label = self.interpreter.label_of(&self.base)?;
            items.push(RowItem::Column(ColumnRef { table: self.base.clone(), column: label }));
        }
        // Ordering direction words only count when there is an ordering.
        if order.is_some() {
            for (i, w) in self.q.words.iter().enumerate() {
                if matches!(
                    w.as_str(),
                    "highest" | "lowest" | "largest" | "smallest" | "oldest" | "youngest" | "to" | "from"
                ) && descending_cue.is_some()
                {
                    self.covered.insert(i);
                }
            }
        }
        let limit = match (&order, &self.q.ranking) {
            (Some(_), None) if top.is_some() => top,
            (Some(_), Some(ranking)) => ranking.limit,
            (Some(_), None) if !self.ordered() => Some(1),
            (None, Some(_)) => return None,
            _ => None,
        };
        if self.q.ranking.is_some() {
            self.covered
                .extend(self.q.words.iter().enumerate().filter(|(_, w)| w.starts_with("__rank")).map(|(i, _)| i));
        }
        // "born before 1945 and after 1955" cannot both hold of one row: it asks for values
        // shared by two sets of rows, not for rows.
        for f in &filters {
            let Filter::Compare { table, column, op: CompareOp::Lt | CompareOp::Le, value: upper } = f else {
                continue;
            };
            let contradicted = filters.iter().any(|g| {
                matches!(g, Filter::Compare { table: t, column: c, op: CompareOp::Gt | CompareOp::Ge, value: lower }
                    if t == table && c == column
                        && lower.parse::<f64>().ok().zip(upper.parse::<f64>().ok()).is_some_and(|(l, u)| l >= u))
            });
            if contradicted {
                return None;
            }
        }
        // "cylinders = 8 or year < 1980": conditions joined by "or" are not both required;
        // an "or" inside one list of values ("cat or dog", "2014 or 2015") is.
        let in_list = |i: usize| {
            let value_at = |j: usize| {
                self.parts.iter().any(|p| p.start <= j && j < p.end && matches!(p.part, Part::Value { .. }))
                    || self.quoted.iter().any(|(s, _, _)| *s == j)
                    || self.word(j).parse::<f64>().is_ok()
            };
            i > 0 && value_at(i - 1) && value_at(i + 1)
        };
        let disjunction =
            self.q.words.iter().enumerate().any(|(i, w)| w == "or" && !in_list(i) && !self.or_in_literal.contains(&i));
        if disjunction && filters.len() >= 2 {
            return None;
        }
        // Words left: every content word must have been acted on.
        let left: Vec<&String> = self
            .q
            .words
            .iter()
            .enumerate()
            .filter(|(i, w)| !self.covered.contains(i) && !w.starts_with("__cmp"))
            .map(|(_, w)| w)
            .collect();
        if !left.is_empty() {
            return None;
        }
        let content_words = self.q.words.iter().filter(|w| !is_stopword(w)).count();
        let far_joins = used_tables
            .iter()
            .filter(|t| self.interpreter.graph().path(&self.base, t).is_some_and(|p| p.len() >= 2))
            .count();
        let evidence = Evidence {
            content_words,
            linked_words: content_words,
            corrections: self.q.corrections.len(),
            assumptions: self.literal_values,
            measures: items.len(),
            far_joins,
            rows: true,
            ..Evidence::default()
        };
        let mut query = SemanticQuery::empty();
        query.filters = filters;
        query.time_range = time_range;
        query.time_column = time_column;
        query.rows = Some(RowSelect { table: self.base.clone(), items, distinct, group_by, order, limit, having });
        let assumptions = self.q.corrections.iter().map(|(w, r)| format!("read '{w}' as '{r}'")).collect();
        Some(Reading::Query { query, assumptions, ignored: Vec::new(), follow_up: false, evidence: Box::new(evidence) })
    }

    /// The year column a year phrase applies to: a column called `year` on a table named
    /// ("concerts in 2014" on the concert table), else the base table's one year column.
    fn year_column(&self, used: &BTreeSet<String>) -> Option<ColumnRef> {
        let named: Vec<String> = self
            .parts
            .iter()
            .filter_map(|p| match &p.part {
                Part::Entity(t) => Some(t.clone()),
                _ => None,
            })
            .chain(used.iter().cloned())
            .collect();
        let exact: Vec<ColumnRef> = named
            .iter()
            .filter_map(|t| {
                let def = self.interpreter.layer().table(t)?;
                def.columns
                    .iter()
                    .find(|c| c.name == "year" && c.kind == Some(ColumnKind::Number))
                    .map(|c| ColumnRef { table: t.clone(), column: c.name.clone() })
            })
            .collect();
        if let Some(first) = exact.first() {
            let reachable = first.table == self.base
                || self.interpreter.graph().distance(&self.base, &first.table).is_some_and(|d| d < 100);
            return reachable.then(|| first.clone());
        }
        self.interpreter.column_named(&self.base, "year", ColumnKind::Number)
    }

    /// The value a text column is compared with, from the words after it: a quoted string,
    /// or (when the column is introduced by "with", "whose", "in" ...) words no phrase took.
    fn literal_after(&self, start: usize, end: usize, previous_end: usize, parts: &[Placed]) -> Option<Literal> {
        let mut negation = (previous_end..start).find(|&i| matches!(self.word(i), "not" | "n't"));
        let mut contains = false;
        let mut at = end;
        loop {
            if self.quoted.iter().any(|(s, _, _)| *s == at) {
                break;
            }
            match self.word(at) {
                "is" | "are" | "was" | "of" | "named" | "called" | "=" | "'" | "equal" | "equals" | "to" | "the"
                | "a" | "that" | "which" | "has" | "have" | "with" | "string" | "text" | "phrase" => {}
                "not" | "isn't" => negation = Some(at),
                "contains" | "contain" | "containing" | "includes" | "include" | "including" | "like" | "substring"
                | "word" | "letter" | "letters" | "character" | "characters" => contains = true,
                _ => break,
            }
            at += 1;
        }
        if let Some((_, quoted_end, text)) = self.quoted.iter().find(|(s, _, _)| *s == at) {
            let mut values = vec![text.clone()];
            let mut end = *quoted_end;
            // "directed by 'X' or 'Y'".
            while self.word(end) == "or"
                && let Some((_, next_end, next)) = self.quoted.iter().find(|(s, _, _)| *s == end + 1)
            {
                values.push(next.clone());
                end = *next_end;
            }
            return Some(Literal { values, end, negation, contains, quoted: true });
        }
        let introduced = self.before(start).find(|&i| !matches!(self.word(i), "a" | "an" | "the")).is_some_and(|i| {
            matches!(
                self.word(i),
                "with"
                    | "whose"
                    | "where"
                    | "in"
                    | "at"
                    | "from"
                    | "for"
                    | "having"
                    | "named"
                    | "called"
                    | "have"
                    | "has"
            )
        });
        if !introduced {
            return None;
        }
        let mut values: Vec<Vec<usize>> = vec![Vec::new()];
        let mut end = at;
        while end < self.q.words.len() && !parts.iter().any(|p| (p.start..p.end).contains(&end)) {
            let w = self.word(end);
            if w == "'" {
                end += 1;
                continue;
            }
            if w == "or" && !values.last().is_some_and(Vec::is_empty) {
                values.push(Vec::new());
                end += 1;
                continue;
            }
            if is_cue_word(w) || w.starts_with("__") {
                break;
            }
            values.last_mut().expect("one list").push(end);
            end += 1;
        }
        if values.len() > 1 && values.last().is_some_and(Vec::is_empty) {
            values.pop();
        }
        if !values.iter().all(|v| !v.is_empty() && v.len() <= 4) {
            return None;
        }
        let values = values.iter().map(|v| v.iter().map(|&i| self.written(i)).collect::<Vec<_>>().join(" ")).collect();
        Some(Literal { values, end, negation, contains, quoted: false })
    }

    /// The base table's one date column: a date or timestamp, else text named like a date.
    fn date_column(&self) -> Option<ColumnRef> {
        let def = self.interpreter.layer().table(&self.base)?;
        let visible = || def.columns.iter().filter(|c| !c.personal);
        let times: Vec<_> = visible().filter(|c| c.kind == Some(ColumnKind::Time)).collect();
        let dated: Vec<_> =
            visible().filter(|c| c.kind == Some(ColumnKind::Text) && c.name.split('_').any(|w| w == "date")).collect();
        let column = match (times.as_slice(), dated.as_slice()) {
            ([one], _) => one,
            ([], [one]) => one,
            _ => return None,
        };
        Some(ColumnRef { table: self.base.clone(), column: column.name.clone() })
    }

    /// Whether the question asks for an ordering ("ordered by") rather than one row.
    fn ordered(&self) -> bool {
        self.q
            .words
            .iter()
            .enumerate()
            .any(|(i, w)| is_order_word(w) && !self.parts.iter().any(|p| (p.start..p.end).contains(&i)))
    }

    /// `Some(true)` for "descending", "from the highest to the lowest", `Some(false)` for
    /// "ascending", "alphabetical"; `None` when the question does not say.
    fn descending_cue(&self) -> Option<bool> {
        let words = &self.q.words;
        if words.iter().any(|w| matches!(w.as_str(), "descending" | "decreasing" | "desc" | "reverse" | "reversed")) {
            return Some(true);
        }
        if words.iter().any(|w| {
            matches!(
                w.as_str(),
                "ascending"
                    | "increasing"
                    | "asc"
                    | "alphabetical"
                    | "alphabetically"
                    | "lexicographic"
                    | "lexicographically"
            )
        }) {
            return Some(false);
        }
        let position = |list: &[&str]| words.iter().position(|w| list.contains(&w.as_str()));
        let high = position(&[
            "highest", "largest", "oldest", "most", "biggest", "greatest", "longest", "old", "high", "large",
        ]);
        let low = position(&["lowest", "smallest", "youngest", "least", "fewest", "shortest", "young", "low", "small"]);
        match (high, low) {
            (Some(h), Some(l)) if words.iter().any(|w| w == "from") => Some(h < l),
            _ => None,
        }
    }
}

/// `question` with each quoted string ("directed by \"Ben Jones\"", "named 'Summer Show'")
/// replaced by one placeholder word (`qv0`, `qv1` ...: digits keep it from spelling
/// correction), and the strings as written: a quoted value is read as it is, never as time
/// phrases or vocabulary.
fn mask_quoted(question: &str) -> (String, Vec<String>) {
    static QUOTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#""([^"]+)"|“([^”]+)”|``([^']+)''|(?:^|[\s(])'([^']+)'(?:[\s.,?!)]|$)"#)
            .expect("valid regex")
    });
    let mut literals = Vec::new();
    let masked = QUOTED
        .replace_all(question, |caps: &regex::Captures| {
            let text = (1..=4).find_map(|k| caps.get(k)).map(|m| m.as_str().trim()).unwrap_or("");
            literals.push(text.to_string());
            format!(" qv{} ", literals.len() - 1)
        })
        .into_owned();
    (masked, literals)
}

/// Words the reading acts on as cues, never column names.
fn is_cue_word(word: &str) -> bool {
    is_stopword(word)
        || LISTING_WORDS.contains(&word)
        || AGGREGATE_WORDS.iter().any(|(w, _)| *w == word)
        || SUPERLATIVES.iter().any(|(w, _)| *w == word)
        || NAMED_SUPERLATIVES.iter().any(|(w, _, _)| *w == word)
        || NAMED_COMPARATIVES.iter().any(|(w, _, _)| *w == word)
        || comparison_word(word).is_some()
        || matches!(word, "distinct" | "different" | "unique" | "number" | "count" | "not" | "no")
        || word.parse::<f64>().is_ok()
}

/// Whether `column` of `table` is named by `word` (stemmed) as its last word: `template_id`
/// by "id", `pettype` of `pets` by "type", `surfacearea` by "area".
fn names_by_last_word(column: &str, table: &str, word: &str) -> bool {
    if column.rsplit('_').next() == Some(word) {
        return true;
    }
    let entity = crate::text::stem(table);
    column == format!("{entity}{word}")
        || (word.len() >= 4 && column.len() > word.len() + 2 && column.ends_with(word) && !column.contains('_'))
}

fn is_order_word(word: &str) -> bool {
    matches!(word, "order" | "ordered" | "sorted" | "sort" | "ranked" | "rank" | "arranged")
}

/// A comparison word that stands before a column: "above age 20".
fn comparison_word(word: &str) -> Option<CompareOp> {
    match word {
        "above" | "over" | "exceeding" => Some(CompareOp::Gt),
        "below" | "under" => Some(CompareOp::Lt),
        _ => None,
    }
}

/// Conditions on a year column for a range that starts and ends on year boundaries.
fn year_filters(column: &ColumnRef, range: &crate::time::TimeRange) -> Option<Vec<Filter>> {
    let year = |d: chrono::NaiveDate| (d.month() == 1 && d.day() == 1).then_some(d.year());
    let filter = |op: CompareOp, y: i32| Filter::Compare {
        table: column.table.clone(),
        column: column.column.clone(),
        op,
        value: y.to_string(),
    };
    match (range.start, range.end) {
        (Some(s), Some(e)) if year(s)? + 1 == year(e)? => Some(vec![filter(CompareOp::Eq, year(s)?)]),
        (Some(s), Some(e)) => Some(vec![filter(CompareOp::Ge, year(s)?), filter(CompareOp::Lt, year(e)?)]),
        (Some(s), None) => Some(vec![filter(CompareOp::Ge, year(s)?)]),
        (None, Some(e)) => Some(vec![filter(CompareOp::Lt, year(e)?)]),
        (None, None) => Some(Vec::new()),
    }
}

impl Interpreter {
    /// Compiles a row question to SQL.
    pub(crate) fn compile_rows(&self, query: &SemanticQuery, rows: &RowSelect) -> Result<CompiledQuery> {
        let mut tables: Vec<String> = Vec::new();
        let mut note = |t: &str| {
            if t != rows.table && !tables.iter().any(|x| x == t) {
                tables.push(t.to_string());
            }
        };
        let item_columns = |item: &RowItem| match item {
            RowItem::Column(c) => Some(c.clone()),
            RowItem::Aggregate { column, .. } => column.clone(),
        };
        for c in rows.items.iter().filter_map(item_columns).chain(rows.group_by.iter().cloned()) {
            note(&c.table);
        }
        if let Some(c) = rows.order.as_ref().and_then(|o| item_columns(&o.item)) {
            note(&c.table);
        }
        let mut value_columns = Vec::new();
        for filter in &query.filters {
            match filter {
                Filter::Values { dimension, values, negated } => {
                    let (table, column) = self.dimension_column(&rows.table, dimension, &[])?;
                    note(&table);
                    value_columns.push((ColumnRef { table, column }, values.clone(), *negated));
                }
                Filter::Compare { table, .. } | Filter::Null { table, .. } | Filter::Sql { table, .. } => note(table),
                Filter::Segment { name } => {
                    return Err(Error::UnknownName { kind: "segment in a row question", name: name.clone() });
                }
            }
        }
        let mut joins = Vec::new();
        for table in &tables {
            let path = self
                .graph()
                .path(&rows.table, table)
                .ok_or_else(|| Error::Unjoinable { from: rows.table.clone(), to: table.clone() })?;
            for step in path {
                if !joins.iter().any(|j: &crate::graph::JoinStep| j.right_table == step.right_table) {
                    joins.push(step);
                }
            }
        }
        // Through a join that multiplies rows, a list repeats rows and an aggregate counts
        // them several times: neither is what was asked.
        if joins.iter().any(|j| j.fans_out) {
            return Err(Error::FanOut {
                measure: format!("the rows of {}", rows.table),
                table: joins.iter().find(|j| j.fans_out).map(|j| j.right_table.clone()).unwrap_or_default(),
            });
        }
        let qualified = !joins.is_empty();
        let col = |c: &ColumnRef| if qualified { format!("{}.{}", c.table, c.column) } else { c.column.clone() };
        let item_sql = |item: &RowItem| match item {
            RowItem::Column(c) => col(c),
            RowItem::Aggregate { func: AggregateFunc::Count, column: None } => "COUNT(*)".to_string(),
            RowItem::Aggregate { func: AggregateFunc::CountDistinct, column: Some(c) } => {
                format!("COUNT(DISTINCT {})", col(c))
            }
            RowItem::Aggregate { func, column } => {
                format!("{}({})", func.sql().0, column.as_ref().map(&col).unwrap_or_else(|| "*".into()))
            }
        };
        let item_name = |item: &RowItem| match item {
            RowItem::Column(c) => c.column.clone(),
            RowItem::Aggregate { func: AggregateFunc::Count, column: None } => "count".to_string(),
            RowItem::Aggregate { func, column } => {
                format!("{}_{}", func.sql().1, column.as_ref().map(|c| c.column.as_str()).unwrap_or("rows"))
            }
        };

        let mut items = rows.items.clone();
        if let Some(order) = &rows.order
            && !items.contains(&order.item)
            && !(rows.distinct && matches!(order.item, RowItem::Aggregate { .. }))
        {
            items.push(order.item.clone());
        }
        let mut select_list = Vec::new();
        let mut columns: Vec<String> = Vec::new();
        for item in &items {
            let mut name = item_name(item);
            if columns.contains(&name)
                && let RowItem::Column(c) = item
            {
                name = format!("{}_{}", c.table, c.column);
            }
            let sql = item_sql(item);
            if sql == name || (qualified && matches!(item, RowItem::Column(c) if c.column == name)) {
                select_list.push(sql);
            } else {
                select_list.push(format!("{sql} AS {name}"));
            }
            columns.push(name);
        }

        let mut where_sql = Vec::new();
        let mut conditions = Vec::new();
        for (column, values, negated) in &value_columns {
            let sql = if values.len() == 1 {
                format!("{} {} {}", col(column), if *negated { "<>" } else { "=" }, quote(&values[0]))
            } else {
                let list = values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
                format!("{} {}IN ({list})", col(column), if *negated { "NOT " } else { "" })
            };
            conditions.push(sql.clone());
            where_sql.push(sql);
        }
        for filter in &query.filters {
            let sql = match filter {
                Filter::Compare { table, column, op, value } => {
                    format!("{} {} {value}", col(&ColumnRef { table: table.clone(), column: column.clone() }), op.sql())
                }
                Filter::Null { table, column, is_null } => format!(
                    "{} IS {}NULL",
                    col(&ColumnRef { table: table.clone(), column: column.clone() }),
                    if *is_null { "" } else { "NOT " }
                ),
                Filter::Sql { table, condition } => {
                    let columns = self
                        .layer()
                        .table(table)
                        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
                        .unwrap_or_default();
                    format!("({})", crate::compile::qualify_expression(condition, table, &columns, qualified))
                }
                Filter::Values { .. } | Filter::Segment { .. } => continue,
            };
            conditions.push(sql.clone());
            where_sql.push(sql);
        }
        if let (Some(range), Some(time_column)) = (&query.time_range, &query.time_column) {
            let column = col(&ColumnRef { table: rows.table.clone(), column: time_column.clone() });
            if let Some(start) = range.start {
                where_sql.push(format!("{column} >= TIMESTAMP '{start} 00:00:00'"));
            }
            if let Some(end) = range.end {
                where_sql.push(format!("{column} < TIMESTAMP '{end} 00:00:00'"));
            }
            conditions.push(format!("{column} in {} ({})", range_text(range), range.phrase));
        }

        let mut sql = format!(
            "SELECT {}{} FROM {}",
            if rows.distinct { "DISTINCT " } else { "" },
            select_list.join(", "),
            rows.table
        );
        for step in &joins {
            sql.push_str(&format!(
                " JOIN {} ON {}.{} = {}.{}",
                step.right_table, step.left_table, step.left_column, step.right_table, step.right_column
            ));
        }
        if !where_sql.is_empty() {
            sql.push_str(&format!(" WHERE {}", where_sql.join(" AND ")));
        }
        if !rows.group_by.is_empty() {
            sql.push_str(&format!(" GROUP BY {}", rows.group_by.iter().map(&col).collect::<Vec<_>>().join(", ")));
        }
        if let Some(having) = &rows.having {
            sql.push_str(&format!(" HAVING COUNT(*) {} {}", having.op.sql(), having.value));
            conditions.push(format!("groups with COUNT(*) {} {}", having.op.sql(), having.value));
        }
        if let Some(order) = &rows.order {
            // The row with the largest value is never one without a value; a full ordering
            // keeps the engine's (and the source's) place for them.
            sql.push_str(&format!(
                " ORDER BY {} {}{}",
                item_sql(&order.item),
                if order.descending { "DESC" } else { "ASC" },
                if rows.limit.is_some() { " NULLS LAST" } else { "" }
            ));
        }
        if let Some(limit) = rows.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(CompiledQuery { sql, columns, conditions })
    }
}

fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn range_text(range: &crate::time::TimeRange) -> String {
    format!(
        "[{}, {})",
        range.start.map(|d| d.to_string()).unwrap_or_else(|| "-inf".into()),
        range.end.map(|d| d.to_string()).unwrap_or_else(|| "+inf".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_become_one_placeholder_each_and_keep_their_case() {
        let (masked, literals) = mask_quoted(r#"cartoons directed by "Ben Jones" or 'A Love of a Lifetime'?"#);
        assert_eq!(literals, ["Ben Jones", "A Love of a Lifetime"]);
        assert_eq!(masked.split_whitespace().collect::<Vec<_>>(), ["cartoons", "directed", "by", "qv0", "or", "qv1"]);
        // An apostrophe inside a word is not a quote.
        assert!(mask_quoted("the singer's songs").1.is_empty());
    }

    #[test]
    fn a_column_is_named_by_its_last_word() {
        assert!(names_by_last_word("template_id", "templates", "id"));
        assert!(names_by_last_word("pettype", "pets", "type"));
        assert!(names_by_last_word("surfacearea", "country", "area"));
        assert!(!names_by_last_word("template_type_code", "templates", "type"));
        assert!(!names_by_last_word("id", "templates", "area"));
    }

    #[test]
    fn year_ranges_become_conditions_on_a_year_column() {
        let column = ColumnRef { table: "albums".into(), column: "year".into() };
        let date = |y| chrono::NaiveDate::from_ymd_opt(y, 1, 1);
        let range = |start, end| crate::time::TimeRange { start, end, phrase: String::new() };
        let sql = |filters: Vec<Filter>| {
            filters
                .iter()
                .map(|f| match f {
                    Filter::Compare { op, value, .. } => format!("{} {value}", op.sql()),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(sql(year_filters(&column, &range(date(2014), date(2015))).unwrap()), ["= 2014"]);
        assert_eq!(sql(year_filters(&column, &range(date(2010), date(2013))).unwrap()), [">= 2010", "< 2013"]);
        assert_eq!(sql(year_filters(&column, &range(None, date(1980))).unwrap()), ["< 1980"]);
        // A month is not a whole year: no condition on a year column can say it.
        let march = range(chrono::NaiveDate::from_ymd_opt(2014, 3, 1), chrono::NaiveDate::from_ymd_opt(2014, 4, 1));
        assert!(year_filters(&column, &march).is_none());
    }
}
