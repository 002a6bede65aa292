//! The planner's vocabulary, built from the semantic layer: every name, label and synonym of
//! metrics, dimensions, values, segments, tables and columns, reduced to stemmed token keys.

use std::collections::HashMap;

use quarry_semantic::SemanticLayer;

use crate::text::{is_stopword, normalize, phrase_key, stem};

/// Something a phrase of a question can name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Concept {
    /// A metric, by name.
    Metric(String),
    /// A segment, by name.
    Segment(String),
    /// A known value of a dimension.
    Value {
        /// Dimension name.
        dimension: String,
        /// Stored value.
        value: String,
    },
    /// A dimension, by name.
    Dimension(String),
    /// A column.
    Column {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
    /// A table, by name.
    Table(String),
}

/// A phrase of the question that names one or more concepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// Index of the first token.
    pub start: usize,
    /// Index after the last token.
    pub end: usize,
    /// The words as written.
    pub text: String,
    /// Everything the phrase can mean, most specific kind first.
    pub concepts: Vec<Concept>,
}

/// Phrase index over a semantic layer.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    phrases: HashMap<Vec<String>, Vec<Concept>>,
    /// One-word phrases whose stem is a function word but which are not one as written
    /// ("reports" stems to "report", which "give me a report" uses as a function word):
    /// matched as written, unstemmed.
    exact: HashMap<String, Vec<Concept>>,
    longest: usize,
}

impl Vocabulary {
    /// Builds the index from a layer. Personal-data columns are left out: questions cannot
    /// name them.
    pub fn new(layer: &SemanticLayer) -> Self {
        let mut vocab = Vocabulary::default();
        for metric in &layer.metrics {
            let concept = Concept::Metric(metric.name.clone());
            vocab.add(&metric.name, &concept);
            vocab.add(&metric.label, &concept);
            for synonym in &metric.synonyms {
                vocab.add(synonym, &concept);
            }
        }
        for segment in &layer.segments {
            let concept = Concept::Segment(segment.name.clone());
            for synonym in &segment.synonyms {
                vocab.add(synonym, &concept);
            }
        }
        for dimension in &layer.dimensions {
            let concept = Concept::Dimension(dimension.name.clone());
            vocab.add(&dimension.name, &concept);
            vocab.add(&dimension.label, &concept);
            for synonym in &dimension.synonyms {
                vocab.add(synonym, &concept);
            }
            for (_, column) in dimension.columns() {
                vocab.add(column, &concept);
            }
            for value in &dimension.values {
                let concept = Concept::Value { dimension: dimension.name.clone(), value: value.value.clone() };
                vocab.add(&value.value, &concept);
                for synonym in &value.synonyms {
                    vocab.add(synonym, &concept);
                }
            }
        }
        for table in &layer.tables {
            let concept = Concept::Table(table.name.clone());
            vocab.add(&table.name, &concept);
            for synonym in &table.synonyms {
                vocab.add(synonym, &concept);
            }
            for column in table.columns.iter().filter(|c| !c.personal) {
                let concept = Concept::Column { table: table.name.clone(), column: column.name.clone() };
                vocab.add(&column.name, &concept);
                for synonym in &column.synonyms {
                    vocab.add(synonym, &concept);
                }
            }
        }
        for concepts in vocab.phrases.values_mut().chain(vocab.exact.values_mut()) {
            concepts.sort();
            concepts.dedup();
        }
        vocab
    }

    fn add(&mut self, phrase: &str, concept: &Concept) {
        let key = phrase_key(phrase);
        // A one-word phrase that is also a function word ("in" for India, "us" for the
        // United States) would match everywhere; such values need a longer synonym.
        if key.is_empty() {
            return;
        }
        if key.len() == 1 && is_stopword(&key[0]) {
            let written = normalize(&phrase.replace('_', " "));
            if !written.contains(' ') && !is_stopword(&written) {
                let entry = self.exact.entry(written).or_default();
                if !entry.contains(concept) {
                    entry.push(concept.clone());
                }
            }
            return;
        }
        self.longest = self.longest.max(key.len());
        let entry = self.phrases.entry(key).or_default();
        if !entry.contains(concept) {
            entry.push(concept.clone());
        }
    }

    /// Every word of every phrase (stemmed), for spelling correction.
    pub fn words(&self) -> std::collections::BTreeSet<String> {
        self.phrases.keys().flatten().cloned().collect()
    }

    /// Finds the longest phrases of the vocabulary in `tokens`, left to right.
    pub fn mentions(&self, tokens: &[String]) -> Vec<Mention> {
        let stems: Vec<String> = tokens.iter().map(|t| stem(t)).collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < stems.len() {
            let mut matched = None;
            for len in (1..=self.longest.min(stems.len() - i)).rev() {
                if let Some(concepts) = self.phrases.get(&stems[i..i + len]) {
                    matched = Some((len, concepts.clone()));
                    break;
                }
            }
            if matched.is_none()
                && let Some(concepts) = self.exact.get(&tokens[i])
            {
                matched = Some((1, concepts.clone()));
            }
            // Names written as one word ("lifeexpectancy", "highschooler", "pettype") are
            // asked in two or three ("life expectancy", "high schoolers", "pet type").
            if matched.is_none() {
                matched = (2..=3.min(stems.len() - i)).rev().find_map(|len| {
                    let joined: String = tokens[i..i + len - 1].concat() + &stems[i + len - 1];
                    let concepts = self.phrases.get(std::slice::from_ref(&joined))?;
                    (joined.len() >= 6).then(|| (len, concepts.clone()))
                });
            }
            // A name that is an acronym of the words ("miles per gallon" is `mpg`).
            if matched.is_none() {
                matched = (3..=4.min(stems.len() - i)).rev().find_map(|len| {
                    let words = &tokens[i..i + len];
                    if is_stopword(&words[0]) || is_stopword(&words[len - 1]) {
                        return None;
                    }
                    let initials: String = words.iter().filter_map(|t| t.chars().next()).collect();
                    let concepts = self.phrases.get(std::slice::from_ref(&initials))?;
                    let columns: Vec<Concept> =
                        concepts.iter().filter(|c| matches!(c, Concept::Column { .. })).cloned().collect();
                    (!columns.is_empty()).then_some((len, columns))
                });
            }
            // Names abbreviated into one word ("indepyear") asked in full ("independence
            // year"): the first word starts with the name's head, the second is its tail.
            if matched.is_none() && i + 1 < stems.len() && !is_stopword(&tokens[i]) {
                let tail = &stems[i + 1];
                let mut heads: Vec<(&String, &Vec<Concept>)> = self
                    .phrases
                    .iter()
                    .filter_map(|(key, concepts)| match key.as_slice() {
                        [name] => Some((name, concepts)),
                        _ => None,
                    })
                    .filter(|(name, _)| {
                        name.strip_suffix(tail.as_str()).is_some_and(|head| {
                            head.len() >= 3 && head.len() < tokens[i].len() && tokens[i].starts_with(head)
                        })
                    })
                    .collect();
                heads.sort();
                if let [(_, concepts)] = heads.as_slice() {
                    matched = Some((2, (*concepts).clone()));
                }
            }
            match matched {
                Some((len, concepts)) => {
                    found.push(Mention { start: i, end: i + len, text: tokens[i..i + len].join(" "), concepts });
                    i += len;
                }
                None => i += 1,
            }
        }
        found
    }
}
