//! Grounding the built-in planner's unknown words through the retrieval index: a word the
//! planner's vocabulary does not know ("switching", "experiance") is searched in the same
//! index and with the same hybrid matching as `quarry search`; when its best hit names a
//! metric, dimension or value of the layer and one of that concept's names is spelled like the
//! word (same stem, or within the edit distance `quarry search` corrects), the question is read
//! again with the word replaced by that name, and the new reading is kept when it is surer.

use quarry_retrieve::{Hit, Kind, LazyIndex};
use quarry_semantic::SemanticLayer;

use crate::planner::PlanOutcome;
use crate::query::SemanticQuery;
use crate::synthesizer::BuiltinSynthesizer;

/// Words of the question the planner did not know, grounded through the retrieval index:
/// the question is read again with each replaced by the name it was grounded to, and that
/// reading is kept when it is surer. The replacement is an assumption of the answer and
/// counts, for confidence, as a correction.
pub(crate) async fn ground_unknown_words(
    builtin: &BuiltinSynthesizer,
    index: &LazyIndex,
    question: &str,
    context: Option<&SemanticQuery>,
    outcome: PlanOutcome,
) -> PlanOutcome {
    // Words of the layer itself that an answer left unused ("the best rank of losers" read as
    // a count) are no misspellings: grounding them would read them as some other concept.
    let interpreter = builtin.planner().interpreter();
    let unknown: Vec<String> = match &outcome {
        PlanOutcome::Sql(plan) => plan
            .explanation
            .evidence
            .unknown_words
            .iter()
            .filter(|w| !interpreter.knows_layer_word(w))
            .cloned()
            .collect(),
        PlanOutcome::CannotAnswer { not_understood, .. } => {
            not_understood.iter().filter(|w| !w.contains(' ')).cloned().collect()
        }
        PlanOutcome::Clarify { .. } => Vec::new(),
    };
    if unknown.is_empty() {
        return outcome;
    }
    let groundings = ground_words(index, builtin.layer(), &unknown).await;
    if groundings.is_empty() {
        return outcome;
    }
    let planner = builtin.planner();
    let mut grounded = planner.plan(&rewrite(question, &groundings), context);
    let PlanOutcome::Sql(plan) = &mut grounded else { return outcome };
    // A word grounded to a concept two joins away ("onboard" to the onboarding experiment
    // in a question about accounts) more likely names something else.
    let far_before = match &outcome {
        PlanOutcome::Sql(before) => before.explanation.evidence.far_joins,
        _ => 0,
    };
    if plan.explanation.evidence.far_joins > far_before {
        return outcome;
    }
    plan.explanation.evidence.corrections += groundings.len();
    plan.confidence = planner.confidence_of(&plan.explanation.evidence);
    if let PlanOutcome::Sql(before) = &outcome
        && before.confidence >= plan.confidence
    {
        return outcome;
    }
    for grounding in &groundings {
        plan.explanation.assumptions.push(format!(
            "read '{}' as '{}' (grounded in the retrieval index: {})",
            grounding.word, grounding.phrase, grounding.id
        ));
    }
    grounded
}

/// A word of a question linked to a concept of the layer by the retrieval index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grounding {
    /// The word as the question has it.
    pub(crate) word: String,
    /// The name of the concept to read instead ("switched competitor").
    pub(crate) phrase: String,
    /// The index document it was grounded to (`value:cancel_reason=switched_competitor`).
    pub(crate) id: String,
}

/// Hits looked at per word, best first: the first spelled like the word grounds it (a
/// dimension whose values name the word often ranks above the value itself).
const HITS_PER_WORD: usize = 3;

/// Grounds each of `words` through `index`; words the index cannot link to a concept spelled
/// like them are left out. A store that cannot be reached grounds nothing.
pub(crate) async fn ground_words(index: &LazyIndex, layer: &SemanticLayer, words: &[String]) -> Vec<Grounding> {
    let mut found = Vec::new();
    for word in words.iter().filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic)) {
        let hits = match index.search(word, &[Kind::Metric, Kind::Dimension, Kind::Value], HITS_PER_WORD).await {
            Ok(hits) => hits,
            Err(error) => {
                tracing::debug!(%error, "grounding through the index is unavailable");
                return found;
            }
        };
        if let Some(grounding) = hits.iter().find_map(|hit| ground_hit(layer, word, hit)) {
            found.push(grounding);
        }
    }
    found
}

/// The name of the concept `hit` grounds to that is spelled like `word`, if there is one.
fn ground_hit(layer: &SemanticLayer, word: &str, hit: &Hit) -> Option<Grounding> {
    let text = |key: &str| hit.payload.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let names: Vec<String> = match hit.kind {
        Kind::Metric => {
            let metric = layer.metric(&text("metric")?)?;
            std::iter::once(metric.name.replace('_', " "))
                .chain(std::iter::once(metric.label.clone()))
                .chain(metric.synonyms.iter().cloned())
                .collect()
        }
        Kind::Dimension => {
            let dimension = layer.dimension(&text("dimension")?)?;
            std::iter::once(dimension.name.replace('_', " "))
                .chain(std::iter::once(dimension.label.clone()))
                .chain(dimension.synonyms.iter().cloned())
                .collect()
        }
        Kind::Value => {
            // Only values of the layer's dimensions: the planner cannot filter on others.
            let dimension = layer.dimension(&text("dimension")?)?;
            let stored = text("value")?;
            let value = dimension.values.iter().find(|v| v.value == stored)?;
            std::iter::once(value.value.replace('_', " ")).chain(value.synonyms.iter().cloned()).collect()
        }
        _ => return None,
    };
    let word = word.to_lowercase();
    let phrase = names.into_iter().find(|name| {
        name.to_lowercase().split(|c: char| !c.is_alphanumeric()).any(|part| spelled_alike(&word, part))
    })?;
    Some(Grounding { word, phrase: phrase.to_lowercase(), id: hit.id.clone() })
}

/// Whether `a` and `b` are one word spelled two ways: the same first five letters ("switching"
/// / "switched"), or within one edit for words of five to seven letters and two for longer
/// ones.
fn spelled_alike(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() || a == b {
        return !a.is_empty() && a == b;
    }
    let shared = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    if shared >= 5 {
        return true;
    }
    // Short words are not corrected: at four letters one edit makes another word ("lost",
    // "cost").
    let allowed = match a.chars().count() {
        0..=4 => return false,
        5..=7 => 1,
        _ => 2,
    };
    b.chars().count() >= 4 && strsim::damerau_levenshtein(a, b) <= allowed
}

/// `question` with each grounded word replaced, as a whole word, by the name it was grounded
/// to.
pub(crate) fn rewrite(question: &str, groundings: &[Grounding]) -> String {
    question
        .split_inclusive(|c: char| !c.is_alphanumeric() && c != '\'' && c != '_')
        .map(|piece| {
            let word_end = piece.find(|c: char| !c.is_alphanumeric() && c != '\'' && c != '_').unwrap_or(piece.len());
            let (word, rest) = piece.split_at(word_end);
            match groundings.iter().find(|g| g.word.eq_ignore_ascii_case(word)) {
                Some(grounding) => format!("{}{rest}", grounding.phrase),
                None => piece.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_spelled_alike_share_a_stem_or_are_a_few_edits_apart() {
        assert!(spelled_alike("switching", "switched"));
        assert!(spelled_alike("experiance", "experience"));
        assert!(spelled_alike("canda", "canada"));
        assert!(!spelled_alike("tiny", "total"));
        assert!(!spelled_alike("lost", "cost"), "four-letter words are not corrected");
        assert!(!spelled_alike("blamed", "based"), "two edits are too many below eight letters");
    }

    #[test]
    fn grounded_words_are_replaced_as_whole_words() {
        let grounding =
            Grounding { word: "switching".into(), phrase: "switched competitor".into(), id: "value:x".into() };
        assert_eq!(
            rewrite("what % were people switching to a competitor?", std::slice::from_ref(&grounding)),
            "what % were people switched competitor to a competitor?"
        );
        assert_eq!(rewrite("switchingly", &[grounding]), "switchingly");
    }
}
