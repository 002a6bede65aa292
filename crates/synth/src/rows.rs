//! Questions that ask for rows rather than one number, read on any layer (inferred ones
//! included) from the tables, columns and values they name: listing ("list the names of
//! singers from France"), ordering ("sorted by age in descending order"), arg-max and arg-min
//! ("which stadium has the largest capacity", "the youngest singer"), several aggregates of
//! one column ("the average, minimum and maximum age"), aggregates per group of any column
//! ("number of concerts per year"), the group with the most rows ("which year has the most
//! concerts"), comparisons ("capacity between 5000 and 10000", "older than 30") and year
//! filters on year columns.
//!
//! The reading is strict: every content word must be a table, a column, a value or a cue it
//! acted on. Anything else and it gives no reading, so the question keeps the measure
//! reading's answer or refusal.

mod compile;
mod phrases;
mod read;

use std::collections::BTreeSet;

use chrono::Datelike;
use quarry_semantic::ColumnKind;

use crate::interpret::{Interpreter, Question, Reading};
use crate::query::{AggregateFunc, ColumnRef, CompareOp, Filter};
use crate::text::is_stopword;

/// Words that ask for rows, or are grammar around them, and need no action.
#[rustfmt::skip]
const LISTING_WORDS: &[&str] = &[
    "list", "show", "give", "find", "return", "display", "tell", "get", "all", "every", "there", "have", "has",
    "had", "having", "whose", "both", "also", "please", "respectively", "corresponding", "along", "their", "them",
    "its", "his", "her", "information", "info", "details", "records", "record", "entries", "known", "stored",
    "listed", "recorded", "exist", "exists", "existing", "included", "each", "one", "ones", "any", "can", "could",
    "would", "will", "should", "just", "only", "sorted", "ordered", "order", "sort", "rank", "ranked", "arranged",
    "descending", "ascending", "decreasing", "increasing", "alphabetical", "alphabetically", "lexicographic",
    "lexicographically", "reverse", "desc", "asc", "according", "than", "as", "well", "out", "whole", "overall",
    "entire", "together", "altogether", "played", "listed", "offered", "exist", "held", "correspond",
    "corresponding", "correspondingly", "living", "live", "lives", "located", "released", "produced",
    "published", "came", "aired", "used", "shared", "either", "belong", "belongs", "belonging", "reversed",
    "lexicographical", "results", "bought", "purchased", "sold", "spent",
];

/// Words naming an aggregate of the column that follows.
const AGGREGATE_WORDS: &[(&str, AggregateFunc)] = &[
    ("average", AggregateFunc::Avg),
    ("avg", AggregateFunc::Avg),
    ("mean", AggregateFunc::Avg),
    ("maximum", AggregateFunc::Max),
    ("max", AggregateFunc::Max),
    ("minimum", AggregateFunc::Min),
    ("min", AggregateFunc::Min),
    ("total", AggregateFunc::Sum),
    ("sum", AggregateFunc::Sum),
    ("combined", AggregateFunc::Sum),
    ("median", AggregateFunc::Median),
];

/// Superlatives: the row with the largest (`true`) or smallest value of the column named.
#[rustfmt::skip]
const SUPERLATIVES: &[(&str, bool)] = &[
    ("highest", true), ("largest", true), ("biggest", true), ("greatest", true), ("most", true), ("top", true),
    ("longest", true), ("heaviest", true), ("maximum", true), ("max", true),
    ("lowest", false), ("smallest", false), ("least", false), ("fewest", false), ("shortest", false),
    ("lightest", false), ("minimum", false), ("min", false),
];

/// Superlatives that name their column: "the youngest singer" is the smallest age.
const NAMED_SUPERLATIVES: &[(&str, &str, bool)] = &[
    ("youngest", "age", false),
    ("oldest", "age", true),
    ("heaviest", "weight", true),
    ("lightest", "weight", false),
    ("tallest", "height", true),
];

/// Comparatives that name their column: "older than 30" is `age > 30`.
const NAMED_COMPARATIVES: &[(&str, &str, CompareOp)] = &[
    ("older", "age", CompareOp::Gt),
    ("younger", "age", CompareOp::Lt),
    ("heavier", "weight", CompareOp::Gt),
    ("lighter", "weight", CompareOp::Lt),
    ("taller", "height", CompareOp::Gt),
    ("shorter", "height", CompareOp::Lt),
];

/// A value compared with a text column.
struct Literal {
    /// The values (several with "or").
    values: Vec<String>,
    /// The word after the last one taken.
    end: usize,
    /// Where "not" was, when the values are excluded.
    negation: Option<usize>,
    /// Contained in the column ("contains the substring"), not equal to it.
    contains: bool,
    /// Quoted in the question: compared as written.
    quoted: bool,
}

/// What a phrase of the question was read as.
#[derive(Debug, Clone)]
enum Part {
    /// A table, named as the thing the rows are of.
    Entity(String),
    /// A column; several candidates until resolved.
    Column(Vec<ColumnRef>),
    /// A known value of a dimension.
    Value { dimension: String, value: String },
}

/// A phrase and where it stands.
#[derive(Debug, Clone)]
struct Placed {
    start: usize,
    end: usize,
    part: Part,
}

impl Interpreter {
    /// Reads `question` as a question about rows; `None` when some content word is left
    /// unexplained or the question is not one this reading handles.
    pub(crate) fn read_rows(&self, question: &str) -> Option<Reading> {
        let (masked, literals) = mask_quoted(question);
        let q = self.take_apart(&masked, false);
        if !q.periods.is_empty() || q.time.trend || q.time.all_time && q.time.range.is_some() {
            return None;
        }
        let mut reading = RowReading::new(self, &q)?;
        reading.capitalized = capitalized_words(question);
        reading.possessive = possessive_words(question);
        reading.quoted = q
            .words
            .iter()
            .enumerate()
            .filter_map(|(i, w)| {
                let n: usize = w.strip_prefix("qv")?.parse().ok()?;
                Some((i, i + 1, literals.get(n)?.clone()))
            })
            .collect();
        let reading = reading.read()?;
        // A reading that cannot be compiled (a value or column only reached through a join
        // that multiplies rows) is no reading.
        match &reading {
            Reading::Query { query, .. } => self.compile(query).ok().map(|_| reading),
            _ => Some(reading),
        }
    }

    /// The column that names a row of `table`: its label, else a column called `name` or
    /// `title`, else `<entity>_name`.
    fn label_of(&self, table: &str) -> Option<String> {
        let def = self.layer().table(table)?;
        if let Some(label) = &def.label {
            return Some(label.clone());
        }
        let visible = |c: &&quarry_semantic::ColumnDef| !c.personal;
        def.columns
            .iter()
            .filter(visible)
            .find(|c| matches!(c.name.as_str(), "name" | "title"))
            .or_else(|| {
                def.columns.iter().filter(visible).find(|c| {
                    c.name.ends_with("_name")
                        && table.trim_end_matches('s').starts_with(c.name.trim_end_matches("_name"))
                })
            })
            .or_else(|| {
                // `airlines.airline`: the column named as the entity.
                let entity = crate::text::stem(table);
                def.columns.iter().filter(visible).find(|c| c.name == entity && c.kind != Some(ColumnKind::Number))
            })
            .map(|c| c.name.clone())
    }

    /// The column of `table` a value written as `text` names a row by: a text column named
    /// like a code when the value is written like one ("AKO", "PP1"), else the label.
    fn naming_column(&self, table: &str, text: &str) -> Option<String> {
        let code_like = (1..=5).contains(&text.len())
            && text.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && text.chars().any(|c| c.is_ascii_uppercase());
        if !code_like {
            return self.label_of(table);
        }
        let def = self.layer().table(table)?;
        let codes: Vec<&quarry_semantic::ColumnDef> = def
            .columns
            .iter()
            .filter(|c| !c.personal && c.kind == Some(ColumnKind::Text) && c.name.ends_with("code"))
            .collect();
        match codes.as_slice() {
            [one] => Some(one.name.clone()),
            _ => None,
        }
    }

    fn column_kind(&self, column: &ColumnRef) -> Option<ColumnKind> {
        self.layer().table(&column.table)?.column(&column.column)?.kind
    }

    /// The column of `table` called `word`, else its one column whose name ends with
    /// `_word`, of `kind`.
    fn column_named(&self, table: &str, word: &str, kind: ColumnKind) -> Option<ColumnRef> {
        let def = self.layer().table(table)?;
        let candidates: Vec<&quarry_semantic::ColumnDef> =
            def.columns.iter().filter(|c| !c.personal && c.kind == Some(kind)).collect();
        let exact = candidates.iter().find(|c| c.name == word);
        let suffixed: Vec<&&quarry_semantic::ColumnDef> =
            candidates.iter().filter(|c| c.name.ends_with(&format!("_{word}"))).collect();
        exact
            .or(if suffixed.len() == 1 { Some(suffixed[0]) } else { None })
            .map(|c| ColumnRef { table: table.to_string(), column: c.name.clone() })
    }
}

/// The state of one row reading.
struct RowReading<'a> {
    interpreter: &'a Interpreter,
    q: &'a Question,
    parts: Vec<Placed>,
    /// Word positions the reading acted on or that are grammar.
    covered: BTreeSet<usize>,
    base: String,
    /// Values read from the words after a text column, not known to the layer.
    literal_values: usize,
    /// Quoted strings of the question: first word, the word after the last, the text as
    /// written.
    quoted: Vec<(usize, usize, String)>,
    /// Positions of "or" inside a list of unquoted values after a text column.
    or_in_literal: BTreeSet<usize>,
    /// Words written with a capital letter other than the question's first, lowercased:
    /// names of things rather than vocabulary.
    capitalized: BTreeSet<String>,
    /// Words written with a possessive "'s", lowercased.
    possessive: BTreeSet<String>,
}

/// `question` with each quoted string ("directed by \"Ben Jones\"", "named 'Summer Show'")
/// replaced by one placeholder word (`qv0`, `qv1` ...: digits keep it from spelling
/// correction), and the strings as written: a quoted value is read as it is, never as time
/// phrases or vocabulary.
fn mask_quoted(question: &str) -> (String, Vec<String>) {
    static QUOTED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#""([^"]+)"|“([^”]+)”|``([^']+)''|(?:^|[\s(])'([^']+)'(?:[\s.,?!)]|$)"#)
            .expect("valid regex")
    });
    let mut literals = Vec::new();
    let masked = QUOTED
        .replace_all(question, |caps: &regex::Captures| {
            let text = (1..=4).find_map(|k| caps.get(k)).map(|m| m.as_str().trim()).unwrap_or("");
            literals.push(text.to_string());
            format!(" qv{} ", literals.len() - 1)
        })
        .into_owned();
    (masked, literals)
}

/// The words of `question` written with a capital letter, lowercased, except its first
/// word, which is capitalized as the start of a sentence.
fn capitalized_words(question: &str) -> BTreeSet<String> {
    question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip(1)
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .map(str::to_lowercase)
        .collect()
}

/// The words of `question` followed by a possessive "'s", lowercased.
fn possessive_words(question: &str) -> BTreeSet<String> {
    static POSSESSIVE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(\w+)['’]s\b").expect("valid regex"));
    POSSESSIVE.captures_iter(question).map(|c| c[1].to_lowercase()).collect()
}

/// Words the reading acts on as cues, never column names.
fn is_cue_word(word: &str) -> bool {
    is_stopword(word)
        || LISTING_WORDS.contains(&word)
        || AGGREGATE_WORDS.iter().any(|(w, _)| *w == word)
        || SUPERLATIVES.iter().any(|(w, _)| *w == word)
        || NAMED_SUPERLATIVES.iter().any(|(w, _, _)| *w == word)
        || NAMED_COMPARATIVES.iter().any(|(w, _, _)| *w == word)
        || comparison_word(word).is_some()
        || matches!(word, "distinct" | "different" | "unique" | "number" | "count" | "not" | "no")
        || word.parse::<f64>().is_ok()
}

/// Whether `column` of `table` is named by `word` (stemmed) as its last word: `template_id`
/// by "id", `pettype` of `pets` by "type", `surfacearea` by "area".
fn names_by_last_word(column: &str, table: &str, word: &str) -> bool {
    if column.rsplit('_').next() == Some(word) {
        return true;
    }
    let entity = crate::text::stem(table);
    column == format!("{entity}{word}")
        || (word.len() >= 4 && column.len() > word.len() + 2 && column.ends_with(word) && !column.contains('_'))
}

fn is_order_word(word: &str) -> bool {
    matches!(word, "order" | "ordered" | "sorted" | "sort" | "ranked" | "rank" | "arranged")
}

/// A comparison word that stands before a column: "above age 20".
fn comparison_word(word: &str) -> Option<CompareOp> {
    match word {
        "above" | "over" | "exceeding" => Some(CompareOp::Gt),
        "below" | "under" => Some(CompareOp::Lt),
        _ => None,
    }
}

/// Conditions on a year column for a range that starts and ends on year boundaries.
fn year_filters(column: &ColumnRef, range: &crate::time::TimeRange) -> Option<Vec<Filter>> {
    let year = |d: chrono::NaiveDate| (d.month() == 1 && d.day() == 1).then_some(d.year());
    let filter = |op: CompareOp, y: i32| Filter::Compare {
        table: column.table.clone(),
        column: column.column.clone(),
        op,
        value: y.to_string(),
    };
    match (range.start, range.end) {
        (Some(s), Some(e)) if year(s)? + 1 == year(e)? => Some(vec![filter(CompareOp::Eq, year(s)?)]),
        (Some(s), Some(e)) => Some(vec![filter(CompareOp::Ge, year(s)?), filter(CompareOp::Lt, year(e)?)]),
        (Some(s), None) => Some(vec![filter(CompareOp::Ge, year(s)?)]),
        (None, Some(e)) => Some(vec![filter(CompareOp::Lt, year(e)?)]),
        (None, None) => Some(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_become_one_placeholder_each_and_keep_their_case() {
        let (masked, literals) = mask_quoted(r#"cartoons directed by "Ben Jones" or 'A Love of a Lifetime'?"#);
        assert_eq!(literals, ["Ben Jones", "A Love of a Lifetime"]);
        assert_eq!(masked.split_whitespace().collect::<Vec<_>>(), ["cartoons", "directed", "by", "qv0", "or", "qv1"]);
        // An apostrophe inside a word is not a quote.
        assert!(mask_quoted("the singer's songs").1.is_empty());
    }

    #[test]
    fn a_column_is_named_by_its_last_word() {
        assert!(names_by_last_word("template_id", "templates", "id"));
        assert!(names_by_last_word("pettype", "pets", "type"));
        assert!(names_by_last_word("surfacearea", "country", "area"));
        assert!(!names_by_last_word("template_type_code", "templates", "type"));
        assert!(!names_by_last_word("id", "templates", "area"));
    }

    #[test]
    fn year_ranges_become_conditions_on_a_year_column() {
        let column = ColumnRef { table: "albums".into(), column: "year".into() };
        let date = |y| chrono::NaiveDate::from_ymd_opt(y, 1, 1);
        let range = |start, end| crate::time::TimeRange { start, end, phrase: String::new() };
        let sql = |filters: Vec<Filter>| {
            filters
                .iter()
                .map(|f| match f {
                    Filter::Compare { op, value, .. } => format!("{} {value}", op.sql()),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(sql(year_filters(&column, &range(date(2014), date(2015))).unwrap()), ["= 2014"]);
        assert_eq!(sql(year_filters(&column, &range(date(2010), date(2013))).unwrap()), [">= 2010", "< 2013"]);
        assert_eq!(sql(year_filters(&column, &range(None, date(1980))).unwrap()), ["< 1980"]);
        // A month is not a whole year: no condition on a year column can say it.
        let march = range(chrono::NaiveDate::from_ymd_opt(2014, 3, 1), chrono::NaiveDate::from_ymd_opt(2014, 4, 1));
        assert!(year_filters(&column, &march).is_none());
    }
}
