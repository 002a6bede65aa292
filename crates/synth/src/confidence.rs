//! How sure the planner is that it read a question right, from what the reading explains.
//!
//! A reading records its [`Evidence`]: how many of the question's content words it linked to
//! the semantic layer, which words named nothing, what it corrected, assumed or inferred. The
//! [`ConfidenceModel`] turns that into a probability with a logistic model whose weights are
//! fitted on labeled questions (`quarry eval calibrate`), so that 0.9 means about 9 answers in
//! 10 right. The fitted weights ship in `eval/confidence-model.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a reading explains of its question, and what it had to guess.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    /// Words of the question that are not grammar (stopwords, cue words, time phrases).
    pub content_words: usize,
    /// Content words linked to a metric, dimension, value, column or table.
    pub linked_words: usize,
    /// Content words that name nothing in the layer and were left out of the reading.
    pub unknown_words: Vec<String>,
    /// Unknown words where a filter value goes ("from narnia", "for acme"): leaving one out
    /// drops a filter the question asked for.
    pub unknown_values: Vec<String>,
    /// Words of conversation around the question ("our CFO keeps asking"), left out.
    pub filler_words: Vec<String>,
    /// Misspelled words read as a vocabulary word.
    pub corrections: usize,
    /// Assumptions made where the question was silent (besides corrections).
    pub assumptions: usize,
    /// No metric was named: the measure was inferred (a count of what the question names,
    /// an aggregate of a column).
    pub inferred_measure: bool,
    /// A dimension became a grouping without a cue ("by", "per", "which").
    pub implicit_grouping: bool,
    /// The question continued the previous one.
    pub follow_up: bool,
    /// Number of measures.
    pub measures: usize,
    /// Phrases that name several kinds of things (a metric and a value, a value and a
    /// segment), settled by the reading's rules.
    pub ambiguous_phrases: usize,
    /// Filters and groupings two or more joins away from the measure's table.
    pub far_joins: usize,
    /// Phrases naming another table, or a dimension, that the reading linked and then left
    /// out ("students who have friends" read as all students).
    pub unused_phrases: usize,
    /// A plain count named only by a table word, with no count cue, grouping, window or
    /// filter ("what are the names of the sections" read as a count of sections).
    pub bare_count: bool,
    /// The question asked for rows (a list, a lookup, the row with the largest value) and
    /// was read by the row reading rather than as measures.
    #[serde(default)]
    pub rows: bool,
}

impl Evidence {
    /// Share of the content words the reading linked (1 when there are none).
    pub fn linked_share(&self) -> f64 {
        if self.content_words == 0 { 1.0 } else { self.linked_words as f64 / self.content_words as f64 }
    }

    /// The named features the model weighs.
    pub fn features(&self) -> BTreeMap<String, f64> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        BTreeMap::from([
            ("unknown_words".to_string(), self.unknown_words.len().min(4) as f64),
            ("filler_words".to_string(), (self.filler_words.len().min(8) as f64) / 4.0),
            ("unlinked_share".to_string(), 1.0 - self.linked_share()),
            ("corrections".to_string(), self.corrections.min(3) as f64),
            ("assumptions".to_string(), self.assumptions.min(4) as f64),
            ("inferred_measure".to_string(), flag(self.inferred_measure)),
            ("implicit_grouping".to_string(), flag(self.implicit_grouping)),
            ("follow_up".to_string(), flag(self.follow_up)),
            ("several_measures".to_string(), flag(self.measures > 1)),
            ("ambiguous_phrases".to_string(), self.ambiguous_phrases.min(3) as f64),
            ("far_joins".to_string(), self.far_joins.min(3) as f64),
            ("unused_phrases".to_string(), self.unused_phrases.min(3) as f64),
            ("bare_count".to_string(), flag(self.bare_count)),
            ("rows".to_string(), flag(self.rows)),
        ])
    }
}

/// A logistic model from [`Evidence`] features to the probability that a reading is right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceModel {
    /// The intercept.
    pub bias: f64,
    /// One weight per feature name of [`Evidence::features`]; a missing name weighs 0.
    pub weights: BTreeMap<String, f64>,
    /// Where the weights came from (labeled sets, cases, date), for the record.
    #[serde(default)]
    pub fitted_on: String,
}

/// The highest confidence of a reading that left out an unknown filter value.
pub const UNKNOWN_VALUE_CAP: f64 = 0.4;

/// The fitted model shipped with quarry.
const SHIPPED_MODEL: &str = include_str!("../../../eval/confidence-model.json");

impl Default for ConfidenceModel {
    fn default() -> Self {
        serde_json::from_str(SHIPPED_MODEL).expect("eval/confidence-model.json is a valid confidence model")
    }
}

impl ConfidenceModel {
    /// The probability that a reading with `evidence` is right. A reading that left out a
    /// word in the place of a filter value is never above [`UNKNOWN_VALUE_CAP`], whatever
    /// the fit says: labeled sets have few such questions, and the answer would drop the filter.
    pub fn confidence(&self, evidence: &Evidence) -> f64 {
        let fitted = self.confidence_of(&evidence.features());
        if evidence.unknown_values.is_empty() { fitted } else { fitted.min(UNKNOWN_VALUE_CAP) }
    }

    /// The probability that a reading with these named features is right.
    pub fn confidence_of(&self, features: &BTreeMap<String, f64>) -> f64 {
        let z = self.bias
            + features.iter().map(|(name, value)| self.weights.get(name).copied().unwrap_or(0.0) * value).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }

    /// Fits the model on `(features, right)` samples by L2-regularized logistic regression
    /// (full-batch gradient descent: a few hundred samples and ten features need no more).
    pub fn fit(samples: &[(BTreeMap<String, f64>, bool)], l2: f64, fitted_on: impl Into<String>) -> Self {
        let names: Vec<String> = samples
            .iter()
            .flat_map(|(f, _)| f.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let rows: Vec<(Vec<f64>, f64)> = samples
            .iter()
            .map(|(f, right)| {
                (names.iter().map(|n| f.get(n).copied().unwrap_or(0.0)).collect(), if *right { 1.0 } else { 0.0 })
            })
            .collect();
        let mut weights = vec![0.0; names.len()];
        let mut bias = 0.0;
        let n = rows.len().max(1) as f64;
        for _ in 0..5000 {
            let mut grad = vec![0.0; names.len()];
            let mut grad_bias = 0.0;
            for (x, y) in &rows {
                let z = bias + x.iter().zip(&weights).map(|(a, w)| a * w).sum::<f64>();
                let error = 1.0 / (1.0 + (-z).exp()) - y;
                grad_bias += error;
                for (g, a) in grad.iter_mut().zip(x) {
                    *g += error * a;
                }
            }
            bias -= 0.5 * grad_bias / n;
            for (w, g) in weights.iter_mut().zip(&grad) {
                *w -= 0.5 * (g / n + l2 * *w);
            }
        }
        let round = |v: f64| (v * 1e4).round() / 1e4;
        Self {
            bias: round(bias),
            weights: names.into_iter().zip(weights.into_iter().map(round)).collect(),
            fitted_on: fitted_on.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(unknown: usize) -> Evidence {
        Evidence {
            content_words: 3,
            linked_words: 3 - unknown.min(3),
            unknown_words: vec!["x".into(); unknown],
            measures: 1,
            ..Evidence::default()
        }
    }

    #[test]
    fn the_shipped_model_loads_and_trusts_a_fully_linked_reading_more() {
        let model = ConfidenceModel::default();
        assert!(model.confidence(&evidence(0)) > model.confidence(&evidence(1)));
        assert!(model.confidence(&evidence(1)) > model.confidence(&evidence(2)));
    }

    #[test]
    fn fitting_learns_that_unknown_words_predict_wrong_readings() {
        let mut samples = Vec::new();
        for i in 0..200 {
            let unknown = i % 3;
            // Right when nothing is unknown, mostly wrong otherwise.
            let right = unknown == 0 || i % 7 == 0;
            samples.push((evidence(unknown).features(), right));
        }
        let model = ConfidenceModel::fit(&samples, 0.001, "test");
        assert!(model.weights["unknown_words"] < -0.5, "{model:?}");
        assert!(model.confidence(&evidence(0)) > 0.8);
        assert!(model.confidence(&evidence(2)) < 0.3);
    }
}
