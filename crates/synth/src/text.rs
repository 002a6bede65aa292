//! Normalization and tokenization of questions and vocabulary phrases, shared so that both
//! sides of a match are reduced the same way.

/// Lower-cases, unifies quotes and dashes, drops punctuation that carries no meaning, joins
/// thousands separators ("1,000" -> "1000") and splits hyphenated words ("sign-ups" ->
/// "sign ups") while keeping hyphens between digits ("1-10", "2025-03-01").
pub fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['’', '‘', '`'], "'").replace(['–', '—'], "-");
    let chars: Vec<char> = lowered.chars().collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        match c {
            ',' if prev.is_ascii_digit() && next.is_ascii_digit() => {}
            '-' if prev.is_ascii_digit() && next.is_ascii_digit() => out.push('-'),
            '.' if prev.is_ascii_digit() && next.is_ascii_digit() => out.push('.'),
            '.' if prev.is_alphabetic() && next.is_alphabetic() => out.push('.'),
            // Apostrophes inside words stay ("don't"); a possessive "'s" is dropped below.
            '\'' if prev.is_alphabetic() && next.is_alphabetic() && !is_possessive_s(&chars, i) => out.push('\''),
            '+' | '%' | '$' | '/' | '\'' | '&' | '>' | '<' | '=' => {
                out.push(' ');
                out.push(c);
                out.push(' ');
            }
            // "pricing_page_v2" is written as stored; vocabulary phrases read '_' as a space.
            '_' => out.push(' '),
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    // Possessives ("company's") carry no meaning for matching.
    let spaced = out.replace(" ' s ", " ").replace(" ' ", " ");
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the apostrophe at `i` starts a word-final "'s".
fn is_possessive_s(chars: &[char], i: usize) -> bool {
    chars.get(i + 1) == Some(&'s') && !chars.get(i + 2).is_some_and(|c| c.is_alphabetic())
}

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
    fn normalization_keeps_meaningful_symbols() {
        assert_eq!(normalize("Sign-ups by Channel, last month?"), "sign ups by channel last month");
        assert_eq!(normalize("Revenue > 1,000 in 2025-03-01"), "revenue > 1000 in 2025-03-01");
        assert_eq!(normalize("1-10 employees; 1000+"), "1-10 employees 1000 +");
        assert_eq!(normalize("company's MRR"), "company mrr");
        assert_eq!(normalize("what’s the U.S. share (%)"), "what the u.s share %");
    }

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
