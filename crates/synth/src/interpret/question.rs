//! A question taken apart before it is read: the time phrases, windows set side by side, the
//! ranking number and the comparisons are taken out of its text (each leaving a placeholder
//! token, so that the positions of the other words hold), and what is left is split into words
//! and the vocabulary phrases they name. The grammar cues the passes of a reading look for
//! around those phrases ("by", "did", "how many", an aggregate word) are methods here.

use std::collections::BTreeSet;

use crate::cues::*;
use crate::interpret::Interpreter;
use crate::query::{AggregateFunc, CompareOp, Ranking};
use crate::text::{normalize, tokens};
use crate::time::{TimeFindings, TimeRange, extract_periods, extract_time, parse_number_word};
use crate::vocab::{Concept, Mention};

/// A comparison found in a question, replaced there by the placeholder at `token`.
pub(crate) struct Comparison {
    pub(crate) token: usize,
    pub(crate) op: CompareOp,
    pub(crate) value: String,
    /// Written as money ("$5,000", "5000 dollars").
    pub(crate) money: bool,
    /// The comparison's own words ("older than", "not higher than"; empty for "between").
    pub(crate) words: String,
}

/// A question taken apart for reading.
pub(crate) struct Question {
    /// The question normalized, abbreviations spelled out.
    pub(crate) normalized: String,
    /// What is left once time phrases, the ranking number and comparisons are taken out.
    pub(crate) text: String,
    /// The words of `text`.
    pub(crate) words: Vec<String>,
    /// The vocabulary phrases the words name, left to right.
    pub(crate) mentions: Vec<Mention>,
    /// Positions of words some phrase or cue accounts for.
    pub(crate) covered: BTreeSet<usize>,
    /// The time phrases found.
    pub(crate) time: TimeFindings,
    /// Windows set side by side ("2025 vs 2024").
    pub(crate) periods: Vec<TimeRange>,
    /// "and the month before?": the unit to move a conversation's window back by.
    pub(crate) shift_back: Option<String>,
    /// A ranking asked with a number ("top 5").
    pub(crate) ranking: Option<Ranking>,
    /// Comparisons ("more than 10"), each at a placeholder token.
    pub(crate) comparisons: Vec<Comparison>,
    /// Misspelled words read as vocabulary words: (written, read).
    pub(crate) corrections: Vec<(String, String)>,
    /// Comparisons followed by a unit of time ("more than 48 hours").
    pub(crate) elapsed_compared: Vec<usize>,
    /// Positions of words that only name values or segments.
    value_words: BTreeSet<usize>,
    /// The position of "did", "do" or "does".
    auxiliary: Option<usize>,
}

impl Interpreter {
    /// Takes `question` apart; `in_conversation` says whether a previous turn can be moved back
    /// in time ("and the month before?").
    pub(crate) fn take_apart(&self, question: &str, in_conversation: bool) -> Question {
        let normalized = expand_abbreviations(&normalize(question));
        let (periods, time_text) = match extract_periods(&normalized, self.as_of) {
            Some((periods, rest)) => (periods, rest),
            None => (Vec::new(), normalized.clone()),
        };
        let time = extract_time(&time_text, self.as_of);
        let (mut text, corrections) = self.correct_spelling(&time.rest);

        let mut shift_back = None;
        if in_conversation && let Some(caps) = SHIFT_RE.captures(&text) {
            shift_back = caps.name("g").map(|g| g.as_str().to_string());
            let range = caps.get(0).expect("whole match").range();
            text.replace_range(range.clone(), &" ".repeat(range.len()));
        }
        let ranking = take_ranking_number(&normalized, &mut text);
        let comparisons = self.extract_comparisons(&mut text);

        // "actives" is how people say active users ("daily actives"); the plural would
        // otherwise stem to the status value "active".
        let words: Vec<String> = tokens(&text)
            .into_iter()
            .flat_map(|w| if w == "actives" { vec!["active".to_string(), "users".to_string()] } else { vec![w] })
            .collect();
        let mentions = self.vocab.mentions(&words);
        let covered = mentions.iter().flat_map(|m| m.start..m.end).collect();
        let value_words = mentions
            .iter()
            .filter(|m| m.concepts.iter().all(|c| matches!(c, Concept::Value { .. } | Concept::Segment(_))))
            .flat_map(|m| m.start..m.end)
            .collect();
        let auxiliary = words.iter().position(|w| matches!(w.as_str(), "did" | "do" | "does"));
        let elapsed_compared = comparisons
            .iter()
            .enumerate()
            .filter(|(_, c)| words.get(c.token + 1).is_some_and(|w| crate::measures::elapsed_unit(w).is_some()))
            .map(|(k, _)| k)
            .collect();
        Question {
            normalized,
            text,
            words,
            mentions,
            covered,
            time,
            periods,
            shift_back,
            ranking,
            comparisons,
            corrections,
            elapsed_compared,
            value_words,
            auxiliary,
        }
    }

    /// Comparisons ("more than 10", "at least 5k"), replaced in `text` by placeholders.
    /// Numbers inside a vocabulary phrase ("more than 1000 employees") are left alone.
    fn extract_comparisons(&self, text: &mut String) -> Vec<Comparison> {
        let mut comparisons = Vec::new();
        // "over an hour", "within half an hour": a unit of time without a number is one of it.
        for (spoken, number) in [
            ("half an hour", "30 minutes"),
            ("an hour", "1 hour"),
            ("a day", "1 day"),
            ("a minute", "1 minute"),
            ("a week", "7 days"),
        ] {
            for cue in ["over", "than", "under", "within", "least", "most"] {
                *text = text.replace(&format!("{cue} {spoken}"), &format!("{cue} {number}"));
            }
        }
        // "between 5 and 20", "between $100 and $500": both bounds, included, on one token.
        while let Some(caps) = BETWEEN_RE.captures(text) {
            let whole = caps.get(0).expect("whole match");
            let token = text[..whole.start()].split_whitespace().count();
            let money = whole.as_str().contains('$') || caps.name("usd").is_some();
            for (bound, op) in [("a", CompareOp::Ge), ("b", CompareOp::Le)] {
                let value = caps.name(bound).map(|m| m.as_str().to_string()).unwrap_or_default();
                comparisons.push(Comparison { token, op, value, money, words: String::new() });
            }
            let placeholder = format!(" __cmp{}__ ", comparisons.len() - 1);
            text.replace_range(whole.range(), &placeholder);
        }
        let mut from = 0;
        while let Some(caps) = COMPARE_RE.captures_at(text, from) {
            let whole = caps.get(0).expect("whole match");
            let window: Vec<String> = tokens(&text[whole.start()..]).into_iter().take(6).collect();
            let number_token =
                tokens(whole.as_str()).iter().position(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()));
            if let Some(position) = number_token
                && self.vocab.mentions(&window).iter().any(|m| m.start == 0 && m.end > position)
            {
                from = whole.end();
                continue;
            }
            let op_word = caps.name("op").or(caps.name("op2")).map(|m| m.as_str()).unwrap_or("=");
            let or_extra = caps.name("orx").map(|m| m.as_str());
            let number = caps.name("n").or(caps.name("n2")).map(|m| m.as_str()).unwrap_or("0");
            let spelled = parse_number_word(number).map(|n| n.to_string());
            let number = spelled.as_deref().unwrap_or(number);
            let multiplier = match caps.name("unit").map(|m| m.as_str()) {
                Some("k" | "thousand") => 1_000.0,
                Some("m" | "million") => 1_000_000.0,
                _ => 1.0,
            };
            let value = if multiplier == 1.0 {
                number.to_string()
            } else {
                format!("{}", number.parse::<f64>().unwrap_or(0.0) * multiplier)
            };
            let op = compare_op(op_word, or_extra);
            let placeholder = format!(" __cmp{}__ ", comparisons.len());
            let token = text[..whole.start()].split_whitespace().count();
            let after = text[whole.end()..].split_whitespace().next().unwrap_or_default();
            let money = whole.as_str().contains('$') || matches!(after, "dollars" | "usd" | "bucks");
            comparisons.push(Comparison { token, op, value, money, words: op_word.to_string() });
            let start = whole.start();
            text.replace_range(whole.range(), &placeholder);
            from = start + placeholder.len();
        }
        comparisons
    }
}

/// The operator of a comparison's words ("more than", "or fewer").
fn compare_op(op_word: &str, or_extra: Option<&str>) -> CompareOp {
    // "not higher than 4", "no older than 30": the negation of a strict comparison.
    if let Some(rest) = op_word.strip_prefix("not ").or_else(|| op_word.strip_prefix("no ")) {
        return match compare_op(&format!("{} than", rest.trim_end_matches(" than")), None) {
            CompareOp::Gt => CompareOp::Le,
            CompareOp::Lt => CompareOp::Ge,
            _ => match rest {
                "over" | "above" => CompareOp::Le,
                _ => CompareOp::Ge,
            },
        };
    }
    match (op_word, or_extra) {
        (
            "more than" | "greater than" | "higher than" | "larger than" | "bigger than" | "longer than"
            | "heavier than" | "older than" | "taller than" | "later than" | "over" | "above" | "exceeding" | ">",
            None,
        ) => CompareOp::Gt,
        (
            "less than" | "fewer than" | "lower than" | "smaller than" | "shorter than" | "lighter than"
            | "younger than" | "earlier than" | "under" | "below" | "<",
            None,
        ) => CompareOp::Lt,
        ("within", None) => CompareOp::Le,
        ("at least" | ">=" | "or more" | "or above" | "or higher" | "and up" | "plus" | "+", _) => CompareOp::Ge,
        ("at most" | "<=" | "or less" | "or fewer" | "or below" | "or lower", _) => CompareOp::Le,
        (_, Some("or less" | "or fewer" | "or below" | "or lower")) => CompareOp::Le,
        (_, Some(_)) => CompareOp::Ge,
        _ => CompareOp::Eq,
    }
}

/// A ranking with a number ("top 5", "which 2 industries", "3 biggest"), replaced in `text` by
/// a placeholder.
fn take_ranking_number(normalized: &str, text: &mut String) -> Option<Ranking> {
    let caps = TOP_N_RE.captures(text)?;
    let word = caps.name("w").or(caps.name("w2")).map(|m| m.as_str()).unwrap_or("top");
    let n = caps
        .name("n")
        .or(caps.name("n2"))
        .or(caps.name("n3"))
        .and_then(|m| parse_number_word(m.as_str()))
        .unwrap_or(10);
    let descending =
        if caps.name("n3").is_some() { !has_any(normalized, ASC_WORDS) } else { !ASC_WORDS.contains(&word) };
    let whole = caps.get(0).expect("whole match").range();
    let replacement = if caps.name("n3").is_some() { " which __rank__ " } else { " __rank__ " };
    text.replace_range(whole, replacement);
    Some(Ranking { descending, limit: Some(u64::from(n)) })
}

impl Question {
    /// The word at `i`, or "" past the end.
    pub(crate) fn word_at(&self, i: usize) -> &str {
        self.words.get(i).map(String::as_str).unwrap_or("")
    }

    /// Whether any word is one of `list`.
    pub(crate) fn has_word(&self, list: &[&str]) -> bool {
        self.words.iter().any(|w| list.contains(&w.as_str()))
    }

    /// Whether `phrase` occurs in the text as whole words.
    pub(crate) fn text_has(&self, phrase: &str) -> bool {
        format!(" {} ", self.text).contains(&format!(" {phrase} "))
    }

    /// Whether one of the `reach` words before `m` is one of `cues`.
    pub(crate) fn preceded_by(&self, m: &Mention, cues: &[&str], reach: usize) -> bool {
        (1..=reach).any(|back| m.start >= back && cues.contains(&self.word_at(m.start - back)))
    }

    /// "by plan", "per channel", "which region", "top 5 plans": `m` is asked as a grouping.
    pub(crate) fn group_cue(&self, m: &Mention) -> bool {
        self.preceded_by(m, GROUP_CUES, 2) || (m.start > 0 && self.word_at(m.start - 1).starts_with("__rank"))
    }

    /// "without a csat", "don't have a plan": `m` is asked as missing.
    pub(crate) fn absence_cue(&self, m: &Mention) -> bool {
        let at = |i: usize| self.word_at(i);
        self.preceded_by(m, &["no", "without", "missing", "lacking"], 2)
            || (m.start >= 2
                && matches!(at(m.start - 2), "don't" | "dont" | "not" | "doesn't" | "haven't")
                && at(m.start - 1) == "have")
            || (m.start >= 3
                && matches!(at(m.start - 3), "don't" | "dont" | "not" | "doesn't")
                && at(m.start - 2) == "have")
    }

    /// "how many tickets did french customers open": `m` is in the subject after "did" (who did
    /// it), once "how many" has named what is counted.
    pub(crate) fn in_subject(&self, m: &Mention) -> bool {
        let Some(d) = self.auxiliary else { return false };
        let counted_before = (0..d).any(|k| k > 0 && self.word_at(k) == "many" && self.word_at(k - 1) == "how")
            && self.mentions.iter().any(|n| n.start < d && n.start > 0 && self.word_at(n.start - 1) == "many");
        m.start > d
            && counted_before
            && (d + 1..m.start).all(|k| {
                self.covered.contains(&k) || matches!(self.word_at(k), "the" | "our" | "we" | "they" | "you" | "all")
            })
    }

    /// "did french customers open": a one-word value right after the subject is the verb, not
    /// a condition on the rows.
    pub(crate) fn verb_after_subject(&self, m: &Mention) -> bool {
        let after_subject_noun =
            self.mentions.iter().any(|s| {
                s.end == m.start && s.concepts.iter().any(|c| matches!(c, Concept::Table(_) | Concept::Metric(_)))
            }) || matches!(self.word_at(m.start.wrapping_sub(1)), "we" | "they" | "you" | "people" | "folks");
        m.end == m.start + 1
            && self.in_subject(m)
            && after_subject_noun
            && m.concepts.iter().all(|c| matches!(c, Concept::Value { .. } | Concept::Segment(_)))
            && (m.end >= self.words.len()
                || self.word_at(m.end).starts_with("__")
                || matches!(self.word_at(m.end), "in" | "on" | "during" | "since" | "over" | "this" | "last"))
    }

    /// The aggregate word before `m` ("average", "longest"), skipping articles and the values
    /// between ("average paid invoice amount"), and whether it is a word of time ("latest").
    pub(crate) fn aggregate_before(&self, m: &Mention) -> Option<(AggregateFunc, bool)> {
        let mut i = m.start;
        while i > 0 {
            i -= 1;
            let w = self.word_at(i);
            if matches!(w, "the" | "of" | "a" | "an" | "our" | "per" | "number" | "amount" | "any" | "single" | "very")
                || self.value_words.contains(&i)
            {
                continue;
            }
            if let Some(func) = AGG_WORDS.iter().find(|(word, _)| *word == w).map(|(_, f)| *f) {
                if func == AggregateFunc::CountDistinct && self.groups_after(i) {
                    // "the maximum for all the different cylinders": one row per value.
                    return None;
                }
                return Some((func, false));
            }
            return match (w, i.checked_sub(1).map(|k| self.word_at(k))) {
                ("recent", Some("most")) | ("latest" | "newest" | "last", _) => Some((AggregateFunc::Max, true)),
                ("earliest" | "oldest", _) | ("first", Some("the" | "very" | "our")) => {
                    Some((AggregateFunc::Min, true))
                }
                ("fastest" | "quickest", _) => Some((AggregateFunc::Min, false)),
                _ => None,
            };
        }
        None
    }

    /// Whether the word at `i` ("different", "distinct") follows a grouping preposition, with
    /// only "all", "the" or "each" between: "for (all) the different", "by distinct".
    fn groups_after(&self, i: usize) -> bool {
        let mut k = i;
        while k > 0 {
            k -= 1;
            match self.word_at(k) {
                "all" | "the" | "each" => continue,
                w => return matches!(w, "for" | "by" | "per" | "across"),
            }
        }
        false
    }

    /// Whether `m` is right beside comparison `c` ("more than 10 seats", "a csat of 2 or lower").
    pub(crate) fn beside_comparison(&self, m: &Mention, c: &Comparison) -> bool {
        c.token + 1 == m.start
            || m.end == c.token
            || (m.end + 1 == c.token && matches!(self.word_at(m.end), "of" | "is" | "was" | "at"))
    }

    /// "took more than 48 hours to resolve": `m` names the event a compared span ends at.
    pub(crate) fn in_elapsed_condition(&self, m: &Mention) -> bool {
        self.elapsed_compared.iter().any(|&k| {
            let token = self.comparisons[k].token;
            m.start > token && m.start <= token + 4
        })
    }

    /// Whether the question asks for a count in so many words ("how many", "number of").
    pub(crate) fn count_cue(&self) -> bool {
        COUNT_CUES.iter().any(|cue| self.text_has(cue))
    }

    /// Positions of "many" in each "how many".
    pub(crate) fn how_many(&self) -> Vec<usize> {
        (1..self.words.len()).filter(|&k| self.word_at(k) == "many" && self.word_at(k - 1) == "how").collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use quarry_semantic::SemanticLayer;

    use super::*;

    fn question(text: &str) -> Question {
        let reader = Interpreter::new(SemanticLayer::demo(), NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"));
        reader.take_apart(text, false)
    }

    fn mention<'a>(q: &'a Question, text: &str) -> &'a Mention {
        q.mentions.iter().find(|m| m.text == text).unwrap_or_else(|| panic!("no mention '{text}' in {:?}", q.mentions))
    }

    #[test]
    fn time_ranking_numbers_and_comparisons_leave_placeholders() {
        let q = question("top 5 plans by seats with more than 10 seats last month");
        assert_eq!(q.ranking, Some(Ranking { descending: true, limit: Some(5) }));
        assert_eq!(q.time.range.as_ref().map(|r| r.phrase.as_str()), Some("last month"));
        assert_eq!(q.comparisons.len(), 1);
        assert_eq!((q.comparisons[0].op, q.comparisons[0].value.as_str()), (CompareOp::Gt, "10"));
        assert_eq!(q.word_at(q.comparisons[0].token), "__cmp0__");
        assert!(q.words.contains(&"__rank__".to_string()));
    }

    #[test]
    fn spoken_units_and_ranges_are_comparisons() {
        let q = question("tickets that waited over an hour");
        assert_eq!((q.comparisons[0].op, q.comparisons[0].value.as_str()), (CompareOp::Gt, "1"));
        assert_eq!(q.elapsed_compared, vec![0]);
        let q = question("accounts with between 5 and 20 seats");
        let bounds: Vec<(CompareOp, &str)> = q.comparisons.iter().map(|c| (c.op, c.value.as_str())).collect();
        assert_eq!(bounds, [(CompareOp::Ge, "5"), (CompareOp::Le, "20")]);
        let q = question("tickets answered within 15 minutes");
        assert_eq!(q.comparisons[0].op, CompareOp::Le);
    }

    #[test]
    fn windows_side_by_side_are_taken_out() {
        let q = question("revenue 2025 vs 2024");
        assert_eq!(q.periods.len(), 2);
        assert!(q.time.range.is_none());
        assert!(!q.words.contains(&"vs".to_string()));
    }

    #[test]
    fn subject_and_verb_after_did_are_found() {
        let q = question("how many tickets did french customers open last week");
        assert!(q.in_subject(mention(&q, "customers")));
        assert!(!q.in_subject(mention(&q, "tickets")));
        assert!(q.verb_after_subject(mention(&q, "open")));
        // Without "how many" naming what is counted first, "did" starts no subject.
        let q = question("did enterprise customers open tickets");
        assert!(!q.in_subject(mention(&q, "customers")));
    }

    #[test]
    fn aggregate_words_skip_values_and_articles() {
        let q = question("the average of our paid invoice amount");
        assert_eq!(q.aggregate_before(mention(&q, "paid invoice amount")), Some((AggregateFunc::Avg, false)));
        let q = question("average paid seats");
        assert_eq!(q.aggregate_before(mention(&q, "seats")), Some((AggregateFunc::Avg, false)));
        let q = question("the most recent signup");
        assert_eq!(q.aggregate_before(mention(&q, "signup")), Some((AggregateFunc::Max, true)));
    }

    #[test]
    fn grouping_absence_and_comparison_neighbours() {
        let q = question("signups by channel");
        assert!(q.group_cue(mention(&q, "channel")));
        let q = question("tickets without a csat");
        assert!(q.absence_cue(mention(&q, "csat")));
        let q = question("tickets with a csat of 2 or lower");
        assert!(q.beside_comparison(mention(&q, "csat"), &q.comparisons[0]));
        assert_eq!(q.how_many(), Vec::<usize>::new());
        assert_eq!(question("how many logins and how many users").how_many(), vec![1, 5]);
    }
}
