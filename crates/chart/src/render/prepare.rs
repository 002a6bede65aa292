//! From a view and the data to rows of keys: channels resolved, time bucketed, aggregated.

use std::cmp::Ordering;

use crate::data::{ChartData, Column, Values};
use crate::format;
use crate::render::axis::truncate_time;
use crate::spec::{Channel, FieldType, SortOrder, View};

/// A value on a channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Num(f64),
    Time(i64),
    Cat(String),
}

impl Key {
    pub(crate) fn num(&self) -> Option<f64> {
        match self {
            Key::Num(n) => Some(*n),
            Key::Time(t) => Some(*t as f64),
            Key::Cat(_) => None,
        }
    }

    pub(crate) fn compare(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.total_cmp(b),
            (Key::Time(a), Key::Time(b)) => a.cmp(b),
            (Key::Cat(a), Key::Cat(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)),
            },
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Num(_) => 0,
            Key::Time(_) => 1,
            Key::Cat(_) => 2,
        }
    }

    pub(crate) fn same(&self, other: &Key) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

/// One row after channels are resolved (and aggregated).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub x: Option<Key>,
    pub y: Option<Key>,
    pub color: Option<Key>,
    pub theta: Option<Key>,
    pub column: Option<Key>,
}

impl Row {
    fn get(&self, slot: usize) -> &Option<Key> {
        match slot {
            0 => &self.x,
            1 => &self.y,
            2 => &self.color,
            3 => &self.theta,
            _ => &self.column,
        }
    }

    fn set(&mut self, slot: usize, key: Option<Key>) {
        match slot {
            0 => self.x = key,
            1 => self.y = key,
            2 => self.color = key,
            3 => self.theta = key,
            _ => self.column = key,
        }
    }
}

fn keys(channel: &Channel, data: &ChartData) -> Vec<Option<Key>> {
    let rows = data.num_rows();
    let Some(name) = &channel.field else { return vec![Some(Key::Num(1.0)); rows] };
    let Some(column) = data.column(name) else { return vec![None; rows] };
    match channel.ty {
        FieldType::Quantitative => match &column.values {
            Values::Number(v) => v.iter().map(|x| x.map(Key::Num)).collect(),
            // Only a count reaches here with a non-numeric column: every row counts one.
            _ => (0..rows).map(|r| column.label(r).map(|_| Key::Num(1.0))).collect(),
        },
        FieldType::Temporal => {
            let times = match &column.values {
                Values::Time(v) => v.clone(),
                _ => data.text_as_time(name).unwrap_or_else(|| vec![None; rows]),
            };
            times
                .into_iter()
                .map(|t| t.map(|t| Key::Time(channel.time_unit.map_or(t, |g| truncate_time(t, g)))))
                .collect()
        }
        FieldType::Nominal | FieldType::Ordinal => {
            (0..rows).map(|r| Some(Key::Cat(label(column, r, channel)))).collect()
        }
    }
}

fn label(column: &Column, row: usize, channel: &Channel) -> String {
    match (&column.values, channel.time_unit) {
        (Values::Time(v), Some(grain)) => v[row].map(|t| format::date_label(truncate_time(t, grain), grain)),
        _ => column.label(row),
    }
    .unwrap_or_else(|| "(null)".into())
}

/// The rows of a view: every channel resolved, time bucketed, aggregates applied per group
/// of the other channels (first-seen order).
pub(crate) fn rows(view: &View, data: &ChartData) -> Vec<Row> {
    let channels = [&view.x, &view.y, &view.color, &view.theta, &view.column];
    let resolved: Vec<Option<Vec<Option<Key>>>> = channels.iter().map(|c| c.as_ref().map(|c| keys(c, data))).collect();
    let mut rows: Vec<Row> = (0..data.num_rows())
        .map(|r| {
            let mut row = Row { x: None, y: None, color: None, theta: None, column: None };
            for (slot, keys) in resolved.iter().enumerate() {
                if let Some(keys) = keys {
                    row.set(slot, keys[r].clone());
                }
            }
            row
        })
        .collect();
    let aggregated: Vec<usize> = channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.as_ref().is_some_and(|c| c.aggregate.is_some()))
        .map(|(i, _)| i)
        .collect();
    if aggregated.is_empty() {
        return rows;
    }
    let grouping: Vec<usize> = (0..5).filter(|s| channels[*s].is_some() && !aggregated.contains(s)).collect();
    let mut groups: Vec<(Row, Vec<usize>)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let found = groups.iter_mut().find(|(first, _)| {
            grouping.iter().all(|s| match (first.get(*s), row.get(*s)) {
                (Some(a), Some(b)) => a.same(b),
                (None, None) => true,
                _ => false,
            })
        });
        match found {
            Some((_, members)) => members.push(index),
            None => groups.push((row.clone(), vec![index])),
        }
    }
    rows = groups
        .into_iter()
        .map(|(mut first, members)| {
            for slot in &aggregated {
                let Some(aggregate) = channels[*slot].as_ref().and_then(|c| c.aggregate) else { continue };
                let values: Vec<f64> =
                    members.iter().filter_map(|m| rows[*m].get(*slot).as_ref().and_then(Key::num)).collect();
                first.set(*slot, aggregate.apply(&values, members.len()).map(Key::Num));
            }
            first
        })
        .collect();
    rows
}

/// Distinct keys of a channel in the order its `sort` asks for; `measure` gives each key's
/// total for sorting by value.
pub(crate) fn ordered(keys: Vec<Key>, sort: &SortOrder, measure: impl Fn(&Key) -> f64) -> Vec<Key> {
    let mut distinct: Vec<Key> = Vec::new();
    for key in keys {
        if !distinct.iter().any(|k| k.same(&key)) {
            distinct.push(key);
        }
    }
    match sort {
        SortOrder::Ascending => distinct.sort_by(Key::compare),
        SortOrder::Descending => distinct.sort_by(|a, b| b.compare(a)),
        SortOrder::ByMeasure { descending } => {
            distinct.sort_by(|a, b| {
                let order = measure(a).total_cmp(&measure(b));
                if *descending { order.reverse() } else { order }
            });
            // The folded rest reads best last, whatever its size.
            if let Some(i) = distinct.iter().position(|k| *k == Key::Cat("Other".into())) {
                let other = distinct.remove(i);
                distinct.push(other);
            }
        }
        SortOrder::Custom(listed) => {
            let position = |k: &Key| match k {
                Key::Cat(c) => listed.iter().position(|l| l == c).unwrap_or(usize::MAX),
                _ => usize::MAX,
            };
            distinct.sort_by_key(position);
        }
        SortOrder::None => {}
    }
    distinct
}
