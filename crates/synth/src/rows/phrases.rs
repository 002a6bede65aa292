//! What the words of a row question name: the tables, columns and values it mentions
//! (vocabulary phrases, column names by their last word, names written as one word), the
//! table the rows are of, and the values, years, dates and orderings around them.

use std::collections::BTreeSet;

use quarry_semantic::ColumnKind;

use super::{
    AGGREGATE_WORDS, LISTING_WORDS, Literal, Part, Placed, RowReading, is_cue_word, is_order_word, names_by_last_word,
};
use crate::interpret::{Interpreter, Question};
use crate::query::ColumnRef;
use crate::text::is_stopword;
use crate::vocab::Concept;

impl<'a> RowReading<'a> {
    pub(super) fn new(interpreter: &'a Interpreter, q: &'a Question) -> Option<Self> {
        let layer = interpreter.layer();
        let mut parts = Vec::new();
        for m in &q.mentions {
            // "matches played in 2013": a verb the vocabulary stems to a table (`players`)
            // is grammar around the rows, not the table.
            let read = q.word_at(m.start);
            let verb =
                q.corrections.iter().find(|(_, r)| r == read).map(|(written, _)| written.as_str()).unwrap_or(read);
            if m.end == m.start + 1 && LISTING_WORDS.contains(&verb) && (verb.ends_with("ed") || verb.ends_with("ing"))
            {
                continue;
            }
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
        // "the document with the fewest paragraphs", when only the document's key is asked
        // for: the paragraphs are counted per document they hold.
        let counted = counted.or_else(|| {
            let first = parts.iter().find_map(|p| match &p.part {
                Part::Entity(t) => Some(t.clone()),
                _ => None,
            })?;
            parts.iter().find_map(|p| match &p.part {
                Part::Entity(t)
                    if *t != first
                        && p.start > 0
                        && matches!(q.word_at(p.start - 1), "most" | "fewest" | "least")
                        && interpreter.graph().path(t, &first).is_some_and(|path| path.len() == 1 && !path[0].fans_out)
                        // Flights hold two airports (source and destination): which one
                        // counts is not said.
                        && interpreter
                            .layer()
                            .joins
                            .iter()
                            .filter(|j| {
                                j.from_parts().is_some_and(|(table, _)| table == t)
                                    && j.to.split_once('.').is_some_and(|(table, _)| table == first)
                            })
                            .count()
                            == 1 =>
                {
                    Some(t.clone())
                }
                _ => None,
            })
        });
        let base = match counted {
            Some(table) => table,
            None => Self::base_table(interpreter, q, &parts)?,
        };
        Self::add_column_words(interpreter, q, &base, &mut parts);
        // "the names of albums" where only artists have a `name`: the albums' label, unless
        // another table is named right before ("their artist names").
        if let Some(label) = interpreter.label_of(&base) {
            for k in 0..parts.len() {
                let other = |p: &Placed| matches!(&p.part, Part::Entity(t) if *t != base);
                let owner_after = (parts[k].end..q.words.len())
                    .find(|&i| !matches!(q.word_at(i), "of" | "the" | "all" | "a" | "an"))
                    .filter(|&i| i > parts[k].end && q.word_at(parts[k].end) == "of");
                let owned_by_other = (k > 0 && parts[k - 1].end == parts[k].start && other(&parts[k - 1]))
                    || owner_after.is_some_and(|i| parts.iter().any(|p| p.start == i && other(p)));
                if let Part::Column(candidates) = &parts[k].part
                    && parts[k].end == parts[k].start + 1
                    && crate::text::stem(q.word_at(parts[k].start)) == "name"
                    && !candidates.iter().any(|c| c.table == base)
                    && !owned_by_other
                {
                    parts[k].part = Part::Column(vec![ColumnRef { table: base.clone(), column: label.clone() }]);
                }
            }
        }
        widen_column_phrases(q, &mut parts);
        // "miles per gallon (mpg)": a column named twice in a row is named once.
        parts.dedup_by(|next, prev| {
            let same = next.start == prev.end
                && matches!((&prev.part, &next.part), (Part::Column(a), Part::Column(b)) if a == b);
            if same {
                prev.end = next.end;
            }
            same
        });
        let covered = q
            .words
            .iter()
            .enumerate()
            // "number", "count", "total" are cues the reading must act on, not free words.
            .filter(|(_, w)| {
                let written = q.corrections.iter().find(|(_, r)| r == *w).map(|(written, _)| written.as_str());
                (is_stopword(w) && !matches!(w.as_str(), "number" | "count" | "total" | "amount" | "value"))
                    || LISTING_WORDS.contains(&w.as_str())
                    || written.is_some_and(|written| LISTING_WORDS.contains(&written))
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
            capitalized: BTreeSet::new(),
            possessive: BTreeSet::new(),
        })
    }

    /// Words no phrase of the vocabulary took that name a column of a table the question
    /// names by the column's last word ("the ids of templates" is `template_id`, "document
    /// descriptions" is `document_description`): one column of those tables, or none.
    pub(super) fn add_column_words(interpreter: &Interpreter, q: &Question, base: &str, parts: &mut Vec<Placed>) {
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
            // "teachers aged 32": the participle of a column's noun.
            let key = match key.strip_suffix('d') {
                Some(noun)
                    if word.ends_with("ed")
                        && noun.len() >= 3
                        && tables.iter().any(|t| {
                            interpreter.layer().table(t).is_some_and(|def| def.columns.iter().any(|c| c.name == noun))
                        }) =>
                {
                    noun.to_string()
                }
                _ => key,
            };
            // "the ids of documents" counted in paragraphs: the key the base holds of them.
            if !function_word
                && q.word_at(i + 1) == "of"
                && let Some(owner_at) = (i + 2..q.words.len()).find(|&j| !matches!(q.word_at(j), "the" | "a" | "an"))
                && let Some(Part::Entity(owner)) = parts
                    .iter()
                    .find(|p| p.start == owner_at)
                    .map(|p| &p.part)
                    .filter(|p| !matches!(p, Part::Entity(t) if t == base))
                && let Some(step) =
                    interpreter.graph().path(base, owner).filter(|path| path.len() == 1).map(|mut path| path.remove(0))
                && !step.fans_out
                && names_by_last_word(&step.right_column, owner, &key)
            {
                let column = ColumnRef { table: base.to_string(), column: step.left_column };
                let at = parts.iter().position(|p| p.start > i).unwrap_or(parts.len());
                parts.insert(at, Placed { start: i, end: i + 1, part: Part::Column(vec![column]) });
                continue;
            }
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
            // "the names of all cartoons", "airline names": the label, when no column is
            // called a name.
            let chosen = chosen.or_else(|| {
                (found.is_empty() && key == "name")
                    .then(|| interpreter.label_of(base))
                    .flatten()
                    .map(|label| ColumnRef { table: base.to_string(), column: label })
            });
            if let Some(column) = chosen {
                let at = parts.iter().position(|p| p.start > i).unwrap_or(parts.len());
                parts.insert(at, Placed { start: i, end: i + 1, part: Part::Column(vec![column]) });
            }
        }
    }

    /// The table the rows are of: the first table named, else the one table every column
    /// named can be on.
    pub(super) fn base_table(interpreter: &Interpreter, q: &Question, parts: &[Placed]) -> Option<String> {
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

    /// Whether `column` is the base's key to `table`, one many-to-one step away.
    pub(super) fn holds_key_of(&self, column: &ColumnRef, table: &str) -> bool {
        column.table == self.base
            && self
                .interpreter
                .graph()
                .path(&self.base, table)
                .is_some_and(|path| path.len() == 1 && path[0].left_column == column.column && !path[0].fans_out)
    }

    pub(super) fn word(&self, i: usize) -> &str {
        self.q.word_at(i)
    }

    /// The word at `i` as written, before any spelling correction: a value is not corrected
    /// to a vocabulary word.
    pub(super) fn written(&self, i: usize) -> &str {
        let word = self.word(i);
        self.q.corrections.iter().find(|(_, read)| read == word).map(|(written, _)| written.as_str()).unwrap_or(word)
    }

    /// The positions before `start`, nearest first, skipping articles and "of".
    pub(super) fn before(&self, start: usize) -> impl Iterator<Item = usize> + '_ {
        (0..start).rev().filter(|&i| !matches!(self.word(i), "the" | "a" | "an" | "of" | "its" | "their"))
    }

    /// The words of "for (all the) different (number of)" before a column, nearest first in
    /// `nearest`: a grouping by that column rather than a count of its distinct values.
    pub(super) fn grouping_by_distinct(&self, nearest: &[usize]) -> Option<Vec<usize>> {
        let mut words = nearest.iter().copied().peekable();
        let mut taken = Vec::new();
        while let Some(i) = words.next_if(|&i| matches!(self.word(i), "number" | "numbers")) {
            taken.push(i);
        }
        taken.push(words.next_if(|&i| matches!(self.word(i), "different" | "distinct" | "unique"))?);
        while let Some(i) = words.next_if(|&i| matches!(self.word(i), "all" | "each")) {
            taken.push(i);
        }
        taken.push(words.next_if(|&i| matches!(self.word(i), "for" | "by" | "across" | "per"))?);
        Some(taken)
    }

    /// Resolves a column phrase: on the base table, else on another table named, else on
    /// the nearest table the base joins to many-to-one.
    pub(super) fn resolve(&self, columns: &[ColumnRef]) -> Option<ColumnRef> {
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

    /// The one column of the base table a one-word mention names by its last word (`pet_age`
    /// by "age"), if exactly one does.
    pub(super) fn base_column_by_last_word(&self, placed: &Placed) -> Option<ColumnRef> {
        if placed.end != placed.start + 1 {
            return None;
        }
        let key = crate::text::stem(self.word(placed.start));
        let def = self.interpreter.layer().table(&self.base)?;
        let mut named = def.columns.iter().filter(|c| !c.personal && names_by_last_word(&c.name, &self.base, &key));
        let column = named.next()?;
        named.next().is_none().then(|| ColumnRef { table: self.base.clone(), column: column.name.clone() })
    }

    /// The year column a year phrase applies to: a column called `year` on a table named
    /// ("concerts in 2014" on the concert table), else the base table's one year column.
    pub(super) fn year_column(&self, used: &BTreeSet<String>) -> Option<ColumnRef> {
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
    pub(super) fn literal_after(
        &self,
        start: usize,
        end: usize,
        previous_end: usize,
        parts: &[Placed],
    ) -> Option<Literal> {
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
        let introduced =
            self.before(start).find(|&i| !matches!(self.word(i), "a" | "an" | "the" | "either")).is_some_and(|i| {
                matches!(
                    self.word(i),
                    // "in the state of Hawaii or the state of Wisconsin".
                    "or" | "with"
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

    /// The base table's one column of birth dates (`birth_date`, `date_of_birth`, `dob`),
    /// whatever its type: the order of ages when there is no age.
    pub(super) fn birth_column(&self) -> Option<ColumnRef> {
        let def = self.interpreter.layer().table(&self.base)?;
        let births: Vec<&str> = def
            .columns
            .iter()
            .filter(|c| !c.personal)
            .map(|c| c.name.as_str())
            .filter(|name| {
                let name = name.to_lowercase();
                name == "dob" || (name.contains("birth") && !name.contains("place") && !name.contains("country"))
            })
            .collect();
        match births.as_slice() {
            [one] => Some(ColumnRef { table: self.base.clone(), column: one.to_string() }),
            _ => None,
        }
    }

    /// The base table's one date column: a date or timestamp, else text named like a date.
    pub(super) fn date_column(&self) -> Option<ColumnRef> {
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
    pub(super) fn ordered(&self) -> bool {
        self.q
            .words
            .iter()
            .enumerate()
            .any(|(i, w)| is_order_word(w) && !self.parts.iter().any(|p| (p.start..p.end).contains(&i)))
    }

    /// `Some(true)` for "descending", "from the highest to the lowest", `Some(false)` for
    /// "ascending", "alphabetical"; `None` when the question does not say.
    pub(super) fn descending_cue(&self) -> Option<bool> {
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
        self.ranged_order()
    }

    /// `Some(true)` for "from the oldest to the youngest", `Some(false)` for "from low to
    /// high": a direction through all the rows, not a pick of the extreme one.
    pub(super) fn ranged_order(&self) -> Option<bool> {
        let words = &self.q.words;
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

/// "the template type codes" is `template_type_code` although the phrase found was "codes":
/// the words just before a column phrase that are earlier words of the column's name belong
/// to the phrase.
fn widen_column_phrases(q: &Question, parts: &mut [Placed]) {
    for k in 0..parts.len() {
        let floor = if k == 0 { 0 } else { parts[k - 1].end };
        let Part::Column(columns) = &parts[k].part else { continue };
        let mut start = parts[k].start;
        while start > floor {
            let word = q.word_at(start - 1);
            let acts = AGGREGATE_WORDS.iter().any(|(w, _)| *w == word)
                || super::SUPERLATIVES.iter().any(|(w, _)| *w == word)
                || matches!(word, "number" | "numbers" | "count" | "distinct" | "different" | "unique" | "not" | "no");
            let key = crate::text::stem(word);
            let in_name = |c: &ColumnRef| {
                let tokens: Vec<&str> = c.column.split('_').collect();
                tokens.len() > 1 && tokens[..tokens.len() - 1].iter().any(|t| crate::text::stem(t) == key)
            };
            if acts || key.is_empty() || !columns.iter().all(in_name) {
                break;
            }
            start -= 1;
        }
        parts[k].start = start;
    }
}
