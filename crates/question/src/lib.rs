//! The one normaliser of question text.
//!
//! Every part of quarry that compares questions reduces them with [`normalize_question`]: the
//! built-in planner before it reads a question, retrieval before it splits words, the answer
//! cache in its keys and the store in the keys of verified questions. One rule means that two
//! questions the planner reads alike ("Sign-ups by channel?" and "sign ups by channel") are
//! one question to the cache and to verified questions too, and that a change of the rule is
//! made, tested and migrated in one place.
//!
//! The crate has no dependencies, so that every crate that needs it (`quarry-store` among
//! them, which depends on no other quarry crate) can.
//!
//! ```
//! use quarry_question::normalize_question;
//! assert_eq!(normalize_question("  Sign-ups by Channel, last month? "), "sign ups by channel last month");
//! assert_eq!(normalize_question("Revenue in 2024?"), normalize_question("revenue in  2024"));
//! ```

/// Lower-cases, unifies quotes and dashes, drops punctuation that carries no meaning, joins
/// thousands separators ("1,000" -> "1000") and splits hyphenated words ("sign-ups" ->
/// "sign ups") while keeping hyphens between digits ("1-10", "2025-03-01").
pub fn normalize_question(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_keeps_meaningful_symbols() {
        assert_eq!(normalize_question("Sign-ups by Channel, last month?"), "sign ups by channel last month");
        assert_eq!(normalize_question("Revenue > 1,000 in 2025-03-01"), "revenue > 1000 in 2025-03-01");
        assert_eq!(normalize_question("1-10 employees; 1000+"), "1-10 employees 1000 +");
        assert_eq!(normalize_question("company's MRR"), "company mrr");
        assert_eq!(normalize_question("what’s the U.S. share (%)"), "what the u.s share %");
    }

    #[test]
    fn case_spacing_and_closing_punctuation_do_not_matter() {
        assert_eq!(normalize_question("  Revenue   in 2024? "), "revenue in 2024");
        assert_eq!(normalize_question("revenue in 2024!"), "revenue in 2024");
        assert_eq!(normalize_question("Revenue in 2024"), normalize_question("revenue in 2024."));
        assert_eq!(normalize_question("  Revenue\tBY  region?\n"), "revenue by region");
        assert_eq!(normalize_question("ÉTÉ sales"), normalize_question("été   SALES"));
    }

    #[test]
    fn different_questions_stay_different() {
        assert_ne!(normalize_question("revenue in 2024"), normalize_question("revenue in 2025"));
        assert_ne!(normalize_question("revenue by region"), normalize_question("revenue by regions"));
        assert_ne!(normalize_question("revenue > 1000"), normalize_question("revenue < 1000"));
        assert_ne!(normalize_question("share of pro"), normalize_question("% of pro"));
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        for question in ["Sign-ups by Channel, last month?", "what’s the U.S. share (%)", "Kyle's id", "1,000+ users"]
        {
            let once = normalize_question(question);
            assert_eq!(normalize_question(&once), once, "{question}");
        }
    }
}
