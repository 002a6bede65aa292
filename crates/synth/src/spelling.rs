//! Misspellings and abbreviations read as the vocabulary word they stand for.

use crate::cues::{is_filler, is_known_word};
use crate::interpret::{Interpreter, MIN_CORRECTED_LEN};

impl Interpreter {
    /// Misspelled names ("revnue", "Germny", "acounts") and consonant-skeleton
    /// abbreviations ("accts", "usrs"): a word that nothing else knows is read as the
    /// vocabulary word within one edit (two for words of eight letters or more) that starts
    /// with the same letter, or whose letters it keeps in order without the vowels. Among
    /// equally close words the one sharing the longest subsequence wins ("acounts" is
    /// "accounts", not "amounts"); a tie after that, or no candidate, leaves the word as
    /// written. Returns the text and the corrections.
    pub(crate) fn correct_spelling(&self, text: &str) -> (String, Vec<(String, String)>) {
        let mut corrections = Vec::new();
        let words: Vec<String> = text
            .split(' ')
            .map(|word| {
                let length = word.chars().count();
                let stemmed = crate::text::stem(word);
                let unknown = length >= 3
                    && word.chars().all(|c| c.is_ascii_alphabetic())
                    && !is_known_word(word)
                    && !is_filler(word)
                    && !self.layer_words.contains(&stemmed)
                    && !self.all_vocab_words.contains(&stemmed);
                if !unknown {
                    return word.to_string();
                }
                match self.closest_vocabulary_word(&stemmed, length) {
                    Some(candidate) => {
                        corrections.push((word.to_string(), candidate.clone()));
                        candidate
                    }
                    None => word.to_string(),
                }
            })
            .collect();
        (words.join(" "), corrections)
    }

    pub(crate) fn closest_vocabulary_word(&self, stemmed: &str, length: usize) -> Option<String> {
        let first = stemmed.chars().next();
        let consonants = stemmed.chars().skip(1).all(|c| !"aeiou".contains(c));
        if consonants && length >= 4 {
            let mut found = self.vocab_words.iter().filter(|c| {
                c.chars().next() == first
                    && c.len() > stemmed.len()
                    && c.len() <= 2 * stemmed.len()
                    && is_subsequence(stemmed, c)
            });
            if let (Some(only), None) = (found.next(), found.next()) {
                return Some(only.clone());
            }
        }
        // "mmr" for "mrr": a three-letter acronym one letter off another.
        if consonants && length == 3 {
            let mut found = self.all_vocab_words.iter().filter(|c| {
                c.len() == 3
                    && c.chars().all(|ch| ch.is_ascii_alphabetic() && !"aeiou".contains(ch))
                    && strsim::damerau_levenshtein(stemmed, c) == 1
                    && c.chars().next() == first
            });
            if let (Some(only), None) = (found.next(), found.next()) {
                return Some(only.clone());
            }
        }
        if length < MIN_CORRECTED_LEN {
            return None;
        }
        let allowed = if length >= 8 { 2 } else { 1 };
        let mut best: Option<(usize, std::cmp::Reverse<usize>, &String)> = None;
        let mut tied = false;
        for candidate in self.vocab_words.iter().filter(|c| c.chars().next() == first) {
            // "signpus" is "signups" with two letters swapped: the plural counts too.
            let distance = strsim::damerau_levenshtein(stemmed, candidate)
                .min(strsim::damerau_levenshtein(stemmed, &format!("{candidate}s")));
            if distance > allowed {
                continue;
            }
            let key = (distance, std::cmp::Reverse(common_subsequence(stemmed, candidate)));
            match best {
                Some((d, l, _)) if (d, l) < key => {}
                Some((d, l, _)) if (d, l) == key => tied = true,
                _ => {
                    best = Some((key.0, key.1, candidate));
                    tied = false;
                }
            }
        }
        best.filter(|_| !tied).map(|(_, _, c)| c.clone())
    }
}

/// Whether the letters of `short` appear in `long` in order.
fn is_subsequence(short: &str, long: &str) -> bool {
    let mut letters = long.chars();
    short.chars().all(|c| letters.any(|l| l == c))
}

/// Length of the longest common subsequence of two words.
fn common_subsequence(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row = vec![0usize; b.len() + 1];
    for ca in a.chars() {
        let mut diagonal = 0;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb { diagonal + 1 } else { row[j + 1].max(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()]
}
