//! Normalization and tokenization of questions and vocabulary phrases, shared so that both
//! sides of a match are reduced the same way.

/// The one question normaliser (see `quarry-question`), under the name the planner reads it by.
pub use quarry_question::normalize_question as normalize;

/// Splits normalized text into tokens.
pub fn tokens(normalized: &str) -> Vec<String> {
    normalized.split_whitespace().map(str::to_string).collect()
}

/// A light stemmer for English plurals, so that "channels" matches "channel" and
/// "companies" matches "company". Tokens with digits are kept as they are.
pub fn stem(token: &str) -> String {
    if token == "ids" {
        return "id".to_string();
    }
    if token.chars().any(|c| c.is_ascii_digit()) || token.len() <= 3 {
        return token.to_string();
    }
    if let Some(base) = token.strip_suffix("ies")
        && base.len() >= 2
    {
        return format!("{base}y");
    }
    for suffix in ["sses", "shes", "ches", "xes"] {
        if token.ends_with(suffix) {
            return token[..token.len() - 2].to_string();
        }
    }
    if token.ends_with('s') && !token.ends_with("ss") && !token.ends_with("us") && !token.ends_with("is") {
        return token[..token.len() - 1].to_string();
    }
    token.to_string()
}

/// Normalized, stemmed tokens of a phrase, with underscores read as spaces.
pub fn phrase_key(phrase: &str) -> Vec<String> {
    tokens(&normalize(&phrase.replace('_', " "))).iter().map(|t| stem(t)).collect()
}

/// Words that carry no meaning for planning.
pub fn is_stopword(token: &str) -> bool {
    const STOP: &[&str] = &[
        "a",
        "an",
        "the",
        "of",
        "for",
        "in",
        "on",
        "at",
        "to",
        "from",
        "by",
        "per",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "we",
        "our",
        "us",
        "i",
        "me",
        "my",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "how",
        "many",
        "much",
        "show",
        "tell",
        "give",
        "list",
        "get",
        "find",
        "display",
        "see",
        "want",
        "need",
        "please",
        "can",
        "could",
        "would",
        "should",
        "there",
        "have",
        "has",
        "had",
        "number",
        "count",
        "total",
        "all",
        "each",
        "every",
        "some",
        "any",
        "as",
        "than",
        "into",
        "over",
        "across",
        "during",
        "within",
        "about",
        "between",
        "up",
        "so",
        "far",
        "did",
        "got",
        "get",
        "make",
        "made",
        "come",
        "came",
        "broken",
        "down",
        "break",
        "split",
        "group",
        "grouped",
        "breakdown",
        "value",
        "amount",
        "overall",
        "current",
        "currently",
        "right",
        "now",
        "today",
        "'",
        "?",
        "s",
        "like",
        "look",
        "looks",
        "looking",
        "'s",
        "what's",
        "whats",
        "by",
        "vs",
        "versus",
        "compare",
        "compared",
        "when",
        "where",
        "much",
        "did",
        "give",
        "me",
        "let",
        "know",
        "time",
        "report",
        "data",
        "stats",
        "statistic",
        "statistics",
        "metric",
        "metrics",
        "figure",
        "figures",
        "numbers",
        "kpi",
        "just",
        "only",
        "also",
        "too",
        "well",
        "then",
        "again",
        "same",
        "instead",
        "rather",
        "about",
        "roughly",
        "approximately",
        "exactly",
        "still",
        "yet",
        "ever",
        "period",
        "date",
        "dates",
        "being",
        "get",
        "got",
        "brought",
        "bring",
        "generated",
        "generate",
        "drove",
        "drive",
        "driven",
        "produced",
        "came",
        "coming",
        "happened",
        "occurred",
        "recorded",
        "logged",
        "seen",
        "saw",
        "see",
        "had",
        "has",
        "gotten",
        "performing",
        "performed",
        "perform",
        "doing",
    ];
    STOP.contains(&token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_reduces_plurals_only() {
        assert_eq!(stem("channels"), "channel");
        assert_eq!(stem("companies"), "company");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("analysis"), "analysis");
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("boxes"), "box");
        assert_eq!(stem("q2"), "q2");
        assert_eq!(phrase_key("paid_search"), vec!["paid", "search"]);
    }
}
