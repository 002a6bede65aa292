//! The row reading itself: what each phrase of the question is for (a listed column, an
//! aggregate, an ordering, a grouping, a condition), what the question counts, and whether
//! every content word was acted on.

use std::collections::BTreeSet;

use quarry_semantic::ColumnKind;

use super::{
    AGGREGATE_WORDS, NAMED_COMPARATIVES, NAMED_SUPERLATIVES, Part, Placed, RowReading, SUPERLATIVES, comparison_word,
    is_cue_word, is_order_word, year_filters,
};
use crate::compile::quote;
use crate::confidence::Evidence;
use crate::cues::COUNT_CUES;
use crate::interpret::Reading;
use crate::query::{
    AggregateFunc, ColumnRef, CompareOp, Filter, MeasureFilter, RowItem, RowOrder, RowSelect, SemanticQuery,
};
use crate::text::is_stopword;

impl RowReading<'_> {
    pub(super) fn read(mut self) -> Option<Reading> {
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
            // "the number of tickets" naming `num_of_ticket` as a whole counts nothing.
            if numeric && p.end > p.start + 1 && matches!(self.word(p.start), "number" | "numbers") {
                column_numbers.insert(p.start);
            }
        }
        let mut normalized = self.q.words.clone();
        for &i in &column_numbers {
            normalized[i] = "_".into();
        }
        let normalized = normalized.join(" ");
        self.covered.extend(column_numbers.iter().copied());
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
                // "the age of pets" where only students have an `age`: the base's own
                // `pet_age` named by its last word comes before a column reached by a join,
                // unless the question names that column's table ("by stadium name").
                Part::Column(candidates)
                    if !candidates.iter().any(|c| {
                        c.table == self.base
                            || self.parts.iter().any(|q| matches!(&q.part, Part::Entity(t) if *t == c.table))
                    }) =>
                {
                    self.base_column_by_last_word(p).or_else(|| self.resolve(candidates))
                }
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
                    // "store locations": the entity names whose column follows; it lists nothing.
                    if *table == self.base
                        && parts.get(k + 1).is_some_and(|next| next.start == placed.end)
                        // Not its label ("the venue named X" is a row named by its label) unless
                        // its distinct values are asked for ("the distinct battle names").
                        && resolved.get(k + 1).is_some_and(|r| {
                            r.as_ref().is_some_and(|c| {
                                c.table == *table
                                    && (self.interpreter.label_of(table).as_ref() != Some(&c.column)
                                        || self
                                            .before(placed.start)
                                            .next()
                                            .is_some_and(|i| distinct_words.contains(&self.word(i))))
                            })
                        })
                        && parts.iter().filter(|p| matches!(&p.part, Part::Entity(t) if t == table)).count() == 1
                    {
                        continue;
                    }
                    if *table != self.base && !used_tables.contains(table) {
                        // Another table named is only understood through a column or value of it.
                        let singular = crate::text::stem(table);
                        let only_keys_of_named = parts.iter().zip(&resolved).all(|(p, r)| {
                            !matches!(p.part, Part::Column(_))
                                || r.as_ref().is_some_and(|r| {
                                    self.holds_key_of(r, table) || r.column.starts_with(&format!("{singular}_"))
                                })
                        });
                        let consumed = parts.iter().zip(&resolved).any(|(p, r)| match &p.part {
                            Part::Column(_) => r.as_ref().is_some_and(|c| {
                                &c.table == table
                                    || (having.is_some()
                                        && c.column.starts_with(&format!("{singular}_"))
                                        && only_keys_of_named)
                                    // "the ids of documents with 2 paragraphs": the key the
                                    // base holds of the table named, when no other column
                                    // is asked for ("the names and ids of courses" are the
                                    // courses' own).
                                    || (self.holds_key_of(c, table) && only_keys_of_named)
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
                        } else if let Some((_, end, text)) =
                            self.quoted.iter().find(|(s, _, _)| *s == placed.end).cloned()
                        {
                            // `airline "JetBlue Airways"`, `airport 'AKO'`: a quoted value right
                            // after the entity names one of its rows.
                            let column = self.interpreter.naming_column(&self.base, &text)?;
                            self.covered.extend(placed.end..end);
                            taken_by_label.extend(placed.end..end);
                            filters.push(Filter::Sql {
                                table: self.base.clone(),
                                condition: format!("{column} = {}", quote(&text)),
                            });
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
                    let negating = |i: usize| matches!(self.word(i), "not" | "except" | "excluding" | "besides");
                    // "people who are not from Russia".
                    let negation = previous.filter(|&i| negating(i)).or_else(|| {
                        previous
                            .filter(|&i| matches!(self.word(i), "from" | "in"))
                            .and_then(|i| self.before(i).next())
                            .filter(|&i| negating(i))
                    });
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
                    // "in year 2014 or 2015", "in years of 2013": the year filter below.
                    let year_at = |i: usize| is_year(self.word(i));
                    if placed.end == placed.start + 1
                        && matches!(self.word(placed.start), "year" | "years")
                        && (year_at(placed.end)
                            || (self.word(placed.end) == "of" && year_at(placed.end + 1))
                            // The time phrase took "year 2014" but for the word "year".
                            || (self.q.time.range.is_some()
                                && (placed.end >= self.q.words.len()
                                    || matches!(self.word(placed.end), "or" | "and"))))
                    {
                        self.covered.extend(placed.start..=placed.end);
                        continue;
                    }
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
                    // "the different store locations": the entity right before its own column
                    // is part of the column's phrase; the words before it still apply.
                    let entity_before = k > 0
                        && parts[k - 1].end == placed.start
                        && matches!(&parts[k - 1].part, Part::Entity(t) if *t == column.table)
                        && self.before(parts[k - 1].start).next().is_some_and(|i| {
                            let w = self.word(i);
                            distinct_words.contains(&w)
                                || AGGREGATE_WORDS.iter().any(|(a, _)| *a == w)
                                || matches!(w, "each" | "every" | "per" | "by")
                        });
                    let skipped = if entity_before { 2 } else { 1 };
                    let previous_end = k.checked_sub(skipped).map_or(0, |j| parts[j].end);
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

                    let entity_words = if entity_before { parts[k - 1].start..parts[k - 1].end } else { 0..0 };
                    let nearest: Vec<usize> = self
                        .before(placed.start)
                        .filter(|i| !entity_words.contains(i))
                        .take_while(|i| *i >= previous_end)
                        .collect();
                    // Aggregates named before the column: "the average, minimum and maximum age".
                    // "the maximum and minimum values of area codes": the words between are
                    // grammar.
                    let run: Vec<usize> = nearest
                        .iter()
                        .copied()
                        .take_while(|&i| {
                            AGGREGATE_WORDS.iter().any(|(w, _)| *w == self.word(i))
                                || matches!(self.word(i), "and" | "or")
                                || (matches!(self.word(i), "number" | "numbers") && self.covered.contains(&i))
                                || (matches!(self.word(i), "value" | "values" | "of")
                                    && nearest
                                        .iter()
                                        .any(|&j| j < i && AGGREGATE_WORDS.iter().any(|(w, _)| *w == self.word(j))))
                        })
                        .collect();
                    let aggregates: Vec<(usize, AggregateFunc)> = run
                        .iter()
                        .filter_map(|&i| AGGREGATE_WORDS.iter().find(|(w, _)| *w == self.word(i)).map(|(_, f)| (i, *f)))
                        .collect();
                    if !aggregates.is_empty() {
                        let grammar: Vec<usize> =
                            run.iter().copied().filter(|&i| matches!(self.word(i), "value" | "values")).collect();
                        self.covered.extend(grammar);
                    }
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
                        // "different citizenships and the number of singers of each
                        // citizenship": listed once.
                        let item = RowItem::Column(column);
                        if !items.contains(&item) {
                            items.insert(0, item);
                        }
                        continue;
                    }
                    // "the maximum for all the different cylinders", "for different number of
                    // cylinders": one row per value, beside an aggregate.
                    if let Some(words) = self.grouping_by_distinct(&nearest)
                        && items.iter().any(|i| matches!(i, RowItem::Aggregate { .. }))
                    {
                        self.covered.extend(words);
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
                NAMED_COMPARATIVES.iter().find(|(w, _, _)| *w == self.word(j)).map(|(_, col, op)| (Some(j), *col, *op))
            });
            // ... or it is the comparison's own word ("older than 1", "not older than 30").
            let found = found.or_else(|| {
                let comparative = cmp.words.trim_start_matches("not ").trim_start_matches("no ");
                let comparative = comparative.strip_suffix(" than")?;
                NAMED_COMPARATIVES.iter().find(|(w, _, _)| *w == comparative).map(|(_, col, _)| (None, *col, cmp.op))
            });
            let (j, name, op) = found?;
            let column = self.interpreter.column_named(&self.base, name, ColumnKind::Number)?;
            self.covered.extend(j);
            self.covered.insert(cmp.token);
            compared[i] = true;
            // "older than" before "less than 30" says two things at once.
            if j.is_some() && !matches!(cmp.op, CompareOp::Gt | CompareOp::Ge | CompareOp::Eq) {
                return None;
            }
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
            let by_age = self
                .interpreter
                .column_named(&self.base, name, ColumnKind::Number)
                .or_else(|| self.interpreter.column_named(&self.base, &format!("{owner}_{name}"), ColumnKind::Number));
            // Without an age, "the oldest player" is the earliest birth date.
            let (column, descending) = match by_age {
                Some(column) => (column, *descending),
                None if *name == "age" => (self.birth_column()?, !*descending),
                None => return None,
            };
            let descending = &descending;
            if let Some(descending) = self.ranged_order() {
                // "ordered by age from the oldest to the youngest": a direction, read below.
                if order.is_none() {
                    order = Some(RowOrder { item: RowItem::Column(column), descending });
                }
                continue;
            }
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
            if !is_year(w) || self.covered.contains(&i) {
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
                    && self.word(i + 2) == "of"
                    // "the largest number of products" where `number_products` is a column.
                    && !column_numbers.contains(&(i + 1));
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
                    let columns: Vec<&ColumnRef> = items
                        .iter()
                        .filter_map(|it| match it {
                            RowItem::Column(c) => Some(c),
                            RowItem::Aggregate { .. } => None,
                        })
                        .collect();
                    // "the date and id of the transcript with the fewest results": the
                    // group is the transcript, which no one listed column is.
                    let [column] = columns.as_slice() else {
                        return None;
                    };
                    group_by.push((*column).clone());
                }
                let descending = !matches!(w.as_str(), "least" | "fewest" | "smallest" | "lowest");
                self.covered.insert(i);
                // "the most common hometown": the value most rows have.
                if matches!(self.word(i + 1), "common" | "popular" | "frequent" | "frequently") {
                    self.covered.insert(i + 1);
                }
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
        if group_by.is_empty()
            && having.is_none()
            && !count_rows
            && items.iter().any(|i| matches!(i, RowItem::Aggregate { .. }))
            && items.iter().any(|i| matches!(i, RowItem::Column(_)))
        {
            // An aggregate beside a plain column with nothing to group by is no one query.
            return None;
        }
        // The distinct values of a column per value of that column: 1 in every group.
        if items.iter().any(|i| {
            matches!(i, RowItem::Aggregate { func: AggregateFunc::CountDistinct, column: Some(c) } if group_by.contains(c))
        }) {
            return None;
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
            if let Some(i) =
                self.q.words.iter().position(|w| matches!(w.as_str(), "each" | "respectively" | "corresponding"))
            {
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
                    "highest"
                        | "lowest"
                        | "largest"
                        | "smallest"
                        | "oldest"
                        | "youngest"
                        | "high"
                        | "low"
                        | "old"
                        | "young"
                        | "to"
                        | "from"
                ) && descending_cue.is_some()
                {
                    self.covered.insert(i);
                }
            }
        }
        let limit = match (&order, &self.q.ranking) {
            (Some(_), None) if top.is_some() => top,
            (Some(_), Some(ranking)) => ranking.limit,
            (Some(_), None) if !self.ordered() && self.ranged_order().is_none() => Some(1),
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
        // "the state of Hawaii or the state of Wisconsin": two values of one text column are
        // one condition when "or" joins them, and no row's when nothing does.
        let equality = |f: &Filter| match f {
            Filter::Sql { table, condition } => condition
                .split_once(" = ")
                .filter(|(column, _)| !column.contains(' ') && !column.starts_with('('))
                .map(|(column, value)| (table.clone(), column.to_string(), value.to_string())),
            _ => None,
        };
        let mut merged: Vec<Filter> = Vec::new();
        for f in &filters {
            let Some((table, column, _)) = equality(f) else {
                merged.push(f.clone());
                continue;
            };
            let same: Vec<String> = filters
                .iter()
                .filter_map(&equality)
                .filter(|(t, c, _)| *t == table && *c == column)
                .map(|(_, _, v)| v)
                .collect();
            match same.as_slice() {
                [_] => merged.push(f.clone()),
                values => {
                    if !self.q.words.iter().any(|w| w == "or") {
                        return None;
                    }
                    let condition = format!("{column} IN ({})", values.join(", "));
                    if !merged.iter().any(|m| matches!(m, Filter::Sql { condition: c, .. } if *c == condition)) {
                        merged.push(Filter::Sql { table, condition });
                    }
                }
            }
        }
        let disjunction = disjunction && merged.len() == filters.len();
        let mut filters = merged;
        if disjunction && filters.len() >= 2 {
            return None;
        }
        // "Which continent is Anguilla in?": capitalized words no phrase took, in one run,
        // name a row by its label.
        let unread: Vec<usize> =
            (0..self.q.words.len()).filter(|i| !self.covered.contains(i) && !self.word(*i).starts_with("__")).collect();
        if !unread.is_empty()
            && unread.len() <= 3
            && unread.windows(2).all(|w| w[1] == w[0] + 1)
            && unread.iter().all(|&i| self.capitalized.contains(self.written(i)))
            // "French singers": a word before a table or column describes it, it is no name.
            // ("Kyle's id" is a name all the same).
            && (!self.parts.iter().any(|p| p.start == unread[unread.len() - 1] + 1)
                || self.possessive.contains(self.written(unread[unread.len() - 1])))
            // "the feature type name of feature AirCon": a name after another table is its row's.
            && !self.parts.iter().any(|p| p.end == unread[0] && matches!(&p.part, Part::Entity(t) if *t != self.base))
            // "on TV": an acronym is rarely a row's name.
            && !unread.iter().all(|&i| self.written(i).len() <= 3)
            && let Some(label) = self.interpreter.label_of(&self.base)
            && self.interpreter.column_kind(&ColumnRef { table: self.base.clone(), column: label.clone() })
                == Some(ColumnKind::Text)
        {
            let name: Vec<&str> = unread.iter().map(|&i| self.written(i)).collect();
            filters.push(Filter::Sql {
                table: self.base.clone(),
                condition: format!("lower({label}) = {}", quote(&name.join(" "))),
            });
            self.literal_values += 1;
            self.covered.extend(unread);
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
}

/// A year written as four digits ("2014").
fn is_year(word: &str) -> bool {
    word.len() == 4 && word.parse::<u32>().is_ok_and(|y| (1000..3000).contains(&y))
}
