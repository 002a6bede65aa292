//! Text normalization shared by the built-in embedder: words, light stemming, stop words and
//! a fixed hash.

/// Words that carry no meaning for retrieval. Country and value codes that look like words
/// ("us", "no", "not", "open") are deliberately absent. Time words are here because time
/// phrases are resolved by the planner, not by retrieval: "revenue last month" is about
/// revenue, and "month" would pull it towards monthly recurring revenue. "monthly", "daily"
/// and "current" stay: they name metrics and values.
const STOP_WORDS: &str = "\
    a about across after ago all an and any are as at be been before being between by can could day did \
    do does during each every for from get give got had has have how i in into is it its last list many \
    me month mtd much my next of on or our past per please previous qtd quarter s should show since tell \
    than that the their them then there these they this those to today until vs was we week were what \
    when where which who whom why will with would year yesterday you your ytd";

/// The normalized words of `text`: reduced by the one question normaliser (lower case,
/// "1,000" as 1000, as the planner reads it), split on anything that is not a letter or a
/// digit (so `paid_search` is "paid search"), plurals reduced to the singular, stop words
/// dropped.
pub(crate) fn words(text: &str) -> Vec<String> {
    quarry_question::normalize_question(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(stem)
        .filter(|word| !is_stop_word(word) && !is_year(word))
        .collect()
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.split_whitespace().any(|stop| stop == word)
}

/// A calendar year such as 2025: a time phrase, like the time words among the stop words.
fn is_year(word: &str) -> bool {
    word.len() == 4 && word.parse::<u32>().is_ok_and(|year| (1900..=2100).contains(&year))
}

/// The words of each phrase of `text`, phrases being separated by `. , ; : ( ) ! ?` or a
/// line break; phrases without words are left out.
pub(crate) fn phrases(text: &str) -> Vec<Vec<String>> {
    text.split(['.', ',', ';', ':', '(', ')', '!', '?', '\n']).map(words).filter(|phrase| !phrase.is_empty()).collect()
}

/// Reduces English plurals to the singular: "countries" -> "country", "users" -> "user",
/// "searches" -> "search". Words of three letters or fewer ("ios", "us") and endings that
/// are not plurals ("status", "analysis", "business") are kept.
pub(crate) fn stem(word: &str) -> String {
    let len = word.chars().count();
    if len <= 3 || !word.is_ascii() {
        return word.to_string();
    }
    if let Some(base) = word.strip_suffix("ies")
        && len > 4
    {
        return format!("{base}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zzes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_string();
    }
    word.strip_suffix('s').unwrap_or(word).to_string()
}

/// The words of a corpus, for correcting misspelled query words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vocabulary {
    words: std::collections::BTreeSet<String>,
}

impl Vocabulary {
    /// The normalized words of `texts`.
    pub(crate) fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        Self { words: texts.into_iter().flat_map(words).collect() }
    }

    /// For each word of `query` that the corpus does not contain, the closest corpus word
    /// within one edit (words of 4-5 letters) or two (longer words), if there is exactly one
    /// best candidate: "revnue" -> "revenue", "germny" -> "germany". Short words are left
    /// alone: at three letters every edit makes another word.
    pub(crate) fn corrections(&self, query: &str) -> Vec<String> {
        let mut corrections = Vec::new();
        for word in words(query) {
            let length = word.chars().count();
            if length < 4 || self.words.contains(&word) || !word.chars().all(char::is_alphabetic) {
                continue;
            }
            let allowed = if length <= 5 { 1 } else { 2 };
            let mut best: Option<(usize, &String, bool)> = None;
            for candidate in &self.words {
                if candidate.chars().count().abs_diff(length) > allowed {
                    continue;
                }
                let distance = strsim::damerau_levenshtein(&word, candidate);
                if distance > allowed {
                    continue;
                }
                best = match best {
                    Some((d, _, _)) if distance > d => best,
                    Some((d, w, _)) if distance == d => Some((d, w, true)),
                    _ => Some((distance, candidate, false)),
                };
            }
            if let Some((_, candidate, false)) = best
                && !corrections.contains(candidate)
            {
                corrections.push(candidate.clone());
            }
        }
        corrections
    }
}

/// 64-bit FNV-1a: fixed across runs, platforms and Rust versions, unlike std's hasher.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// An identifier written for people: `active_users` -> `active users`.
pub(crate) fn humanize(identifier: &str) -> String {
    identifier.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_singular_without_stop_words() {
        assert_eq!(
            words("How many Users signed up in the US by countries?"),
            ["user", "signed", "up", "us", "country"]
        );
        assert_eq!(words("paid_search"), ["paid", "search"]);
        assert_eq!(words("Revenue-by-region in 2025, last month"), ["revenue", "region"]);
        assert_eq!(words("1000+ employees, 201-1000"), ["1000", "employee", "201", "1000"]);
    }

    #[test]
    fn phrases_split_on_punctuation() {
        assert_eq!(
            phrases("Revenue (revenue). Also called: sales, paid invoices."),
            [vec!["revenue"], vec!["revenue"], vec!["also", "called"], vec!["sale"], vec!["paid", "invoice"]]
        );
    }

    #[test]
    fn stemming_handles_plural_forms_and_keeps_non_plurals() {
        for (word, expected) in [
            ("countries", "country"),
            ("searches", "search"),
            ("classes", "class"),
            ("sales", "sale"),
            ("subs", "sub"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("business", "business"),
            ("ios", "ios"),
            ("bus", "bus"),
            ("mau", "mau"),
        ] {
            assert_eq!(stem(word), expected, "{word}");
        }
    }

    #[test]
    fn misspelled_words_are_corrected_to_the_single_closest_corpus_word() {
        let vocabulary = Vocabulary::new(["Revenue, refunds and signups in Germany", "active users", "plan tier"]);
        assert_eq!(vocabulary.corrections("revnue in germny"), ["revenue", "germany"]);
        assert_eq!(vocabulary.corrections("signups by plan"), Vec::<String>::new(), "known words stay");
        assert_eq!(vocabulary.corrections("xyzzy"), Vec::<String>::new(), "nothing close");
        // "plam" is one edit from "plan" only; "tiers" is a plural of a known word.
        assert_eq!(vocabulary.corrections("plam tiers"), ["plan"]);
        let ambiguous = Vocabulary::new(["cart card"]);
        assert_eq!(ambiguous.corrections("carx"), Vec::<String>::new(), "a tie corrects nothing");
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
