//! Time phrases and grains, resolved against the snapshot's `as_of` date (never the wall
//! clock) with the conventions of the demo contract: weeks start on Monday, ranges are
//! half-open `[start, end)`, "last N weeks/months" are full periods before the current one.
//!
//! Before the rules run, abbreviations ("last qtr", "past 6 wks") are expanded and misspelled
//! month names ("febuary") corrected. A date without a year is its latest occurrence by
//! `as_of` ("in july", "feb 10"); a range that writes its year once ("between march and may
//! 2025", "from feb 10 to 20 2025") carries it to the other end, and includes its last day or
//! month. Words that only stress a period ("the whole of", "all of", "inclusive") go with it.

use chrono::{Datelike, Duration, NaiveDate};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A half-open date range `[start, end)`; a missing bound is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// First day included.
    pub start: Option<NaiveDate>,
    /// First day excluded.
    pub end: Option<NaiveDate>,
    /// The phrase as the user wrote it.
    pub phrase: String,
}

impl TimeRange {
    /// Length in days, if both bounds are known.
    pub fn days(&self) -> Option<i64> {
        Some((self.end? - self.start?).num_days())
    }
}

/// A time grain for trends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeGrain {
    /// Calendar days.
    Day,
    /// Weeks starting on Monday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

impl TimeGrain {
    /// The `date_trunc` unit and the output column name.
    pub fn unit(self) -> &'static str {
        match self {
            TimeGrain::Day => "day",
            TimeGrain::Week => "week",
            TimeGrain::Month => "month",
            TimeGrain::Quarter => "quarter",
            TimeGrain::Year => "year",
        }
    }

    /// The grain that suits a range of `days` when the user asked for a trend.
    pub fn for_span(days: Option<i64>) -> Self {
        match days {
            Some(d) if d <= 45 => TimeGrain::Day,
            Some(d) if d <= 190 => TimeGrain::Week,
            _ => TimeGrain::Month,
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "day" | "days" | "daily" | "date" | "dau" => TimeGrain::Day,
            "week" | "weeks" | "weekly" | "wau" | "wow" => TimeGrain::Week,
            "month" | "months" | "monthly" | "mau" | "mom" => TimeGrain::Month,
            "quarter" | "quarters" | "quarterly" | "qoq" => TimeGrain::Quarter,
            "year" | "years" | "yearly" | "annually" | "yoy" => TimeGrain::Year,
            _ => return None,
        })
    }
}

/// What [`extract_time`] found, with the phrases removed from the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeFindings {
    /// The range asked for, if any.
    pub range: Option<TimeRange>,
    /// The grain asked for, if any.
    pub grain: Option<TimeGrain>,
    /// The user asked for a trend without naming a grain ("over time", "trend").
    pub trend: bool,
    /// The user explicitly asked for all time ("ever", "all time").
    pub all_time: bool,
    /// The grain came from DAU, WAU or MAU, which name a metric at a grain.
    pub grain_from_abbreviation: bool,
    /// The grain is what the question asks to pick ("which day", "best month").
    pub grain_named_as_group: bool,
    /// The text with time phrases blanked out.
    pub rest: String,
}

const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const MONTH_RE: &str = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)";
const NUM_RE: &str = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|sixty|ninety)";

/// Reads a small number written in digits or words.
pub fn parse_number_word(word: &str) -> Option<u32> {
    const WORDS: &[(&str, u32)] = &[
        ("one", 1),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
        ("eleven", 11),
        ("twelve", 12),
        ("thirteen", 13),
        ("fourteen", 14),
        ("fifteen", 15),
        ("sixteen", 16),
        ("seventeen", 17),
        ("eighteen", 18),
        ("nineteen", 19),
        ("twenty", 20),
        ("thirty", 30),
        ("sixty", 60),
        ("ninety", 90),
        ("a", 1),
        ("an", 1),
    ];
    word.parse().ok().or_else(|| WORDS.iter().find(|(w, _)| *w == word).map(|(_, n)| *n))
}

fn month_number(word: &str) -> Option<u32> {
    let prefix: String = word.chars().take(3).collect();
    MONTHS.iter().position(|m| m.starts_with(&prefix)).map(|i| i as u32 + 1)
}

fn month_start(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("valid month")
}

fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months;
    month_start(total.div_euclid(12), total.rem_euclid(12) as u32 + 1)
}

fn quarter_start(date: NaiveDate) -> NaiveDate {
    month_start(date.year(), (date.month0() / 3) * 3 + 1)
}

fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday() as i64)
}

/// Start and end of a range, either open.
type Bounds = (Option<NaiveDate>, Option<NaiveDate>);

/// Resolves a matched phrase against `as_of`.
type Resolver = fn(&regex::Captures, NaiveDate) -> Option<Bounds>;

struct Rule {
    re: Regex,
    resolve: Resolver,
}

fn rule(pattern: &str, resolve: Resolver) -> Rule {
    let pattern = pattern.replace("{MONTH}", MONTH_RE).replace("{NUM}", NUM_RE);
    Rule { re: Regex::new(&format!(r"\b(?:{pattern})\b")).expect("valid time regex"), resolve }
}

fn year_of(caps: &regex::Captures, name: &str) -> Option<i32> {
    caps.name(name)?.as_str().parse().ok()
}

/// Abbreviations read as their full word, so that "last qtr" meets the rule for "last quarter".
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("yr", "year"),
    ("yrs", "years"),
    ("qtr", "quarter"),
    ("qtrs", "quarters"),
    ("wk", "week"),
    ("wks", "weeks"),
    ("mth", "month"),
    ("mths", "months"),
    ("mo", "month"),
    ("mos", "months"),
    ("prev", "previous"),
];

/// Words after which "mo" is a month: elsewhere it may be a value, such as Missouri's code.
const PERIOD_DETERMINERS: &[&str] =
    &["this", "last", "past", "previous", "prev", "prior", "trailing", "next", "current", "per", "each", "every", "a"];

/// Real words within the edit distance of a month name, which must not become one.
const NEAR_MONTH_WORDS: &[&str] =
    &["match", "marsh", "larch", "parch", "marcy", "augusta", "auguste", "augustus", "remember"];

static WORD_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[a-z]+\b").expect("valid regex"));

/// Expands abbreviations and corrects misspelled month names, so that the rules see one
/// spelling of each phrase.
fn prepare(text: &str) -> String {
    WORD_RE
        .replace_all(text, |caps: &regex::Captures| {
            let found = caps.get(0).expect("whole match");
            let word = found.as_str();
            let before = text[..found.start()].split_whitespace().last().unwrap_or_default();
            expand_abbreviation(word, before).or_else(|| correct_month(word)).unwrap_or(word).to_string()
        })
        .into_owned()
}

fn expand_abbreviation(word: &str, before: &str) -> Option<&'static str> {
    let (_, full) = ABBREVIATIONS.iter().find(|(short, _)| *short == word)?;
    if matches!(word, "mo" | "mos") && parse_number_word(before).is_none() && !PERIOD_DETERMINERS.contains(&before) {
        return None;
    }
    Some(full)
}

/// The month a word of five letters or more misspells: within one edit (two from eight
/// letters) of exactly one month name. Shorter words are too often other words ("mayor").
fn correct_month(word: &str) -> Option<&'static str> {
    let length = word.chars().count();
    if length < 5 || MONTHS.contains(&word) || NEAR_MONTH_WORDS.contains(&word) {
        return None;
    }
    let limit = if length >= 8 { 2 } else { 1 };
    let mut close = MONTHS.iter().filter(|month| strsim::damerau_levenshtein(word, month) <= limit);
    match (close.next(), close.next()) {
        (Some(month), None) => Some(month),
        _ => None,
    }
}

/// What a date point names, before its year is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day(u32, u32),
    Month(u32),
    Quarter(u32),
    Year,
}

/// A day, month, quarter or year, written with or without its year.
#[derive(Debug, Clone, Copy)]
struct Point {
    unit: Unit,
    year: Option<i32>,
    /// "last march": the latest one before the current month, not the current one.
    before_this_month: bool,
}

impl Point {
    /// Month and day the point starts on, to order two points of one year.
    fn key(self) -> (u32, u32) {
        match self.unit {
            Unit::Day(month, day) => (month, day),
            Unit::Month(month) => (month, 1),
            Unit::Quarter(quarter) => (quarter * 3 - 2, 1),
            Unit::Year => (1, 1),
        }
    }

    /// The point in `year`, as `[start, end)`.
    fn span(self, year: i32) -> Option<(NaiveDate, NaiveDate)> {
        Some(match self.unit {
            Unit::Day(month, day) => {
                let day = NaiveDate::from_ymd_opt(year, month, day)?;
                (day, day + Duration::days(1))
            }
            Unit::Month(month) => (month_start(year, month), add_months(month_start(year, month), 1)),
            Unit::Quarter(quarter) => {
                let start = month_start(year, quarter * 3 - 2);
                (start, add_months(start, 3))
            }
            Unit::Year => (month_start(year, 1), month_start(year + 1, 1)),
        })
    }

    /// A point without a year is its latest occurrence that has started by `as_of`, as
    /// people mean "in july" or "feb 10" in December.
    fn latest_year(self, as_of: NaiveDate) -> i32 {
        let started = if self.before_this_month {
            self.key().0 < as_of.month()
        } else {
            self.key() <= (as_of.month(), as_of.day())
        };
        if started { as_of.year() } else { as_of.year() - 1 }
    }

    fn resolve(self, as_of: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        self.span(self.year.unwrap_or_else(|| self.latest_year(as_of)))
    }
}

/// A year after a day, month, quarter or half, written or relative to `as_of`; group names
/// end with `n` so that two points fit in one pattern.
fn year_pattern(n: &str) -> String {
    format!(r"(?: of| in)? (?:(?P<y{n}>20\d\d)|(?P<ry{n}>this|current|last|previous|prior) year)")
}

/// "march 3rd", "3 march", "the 3rd of march". Without a year, a number before a month is
/// more often a count ("top 3 march signups"), so `strict` asks for the ordinal.
fn day_pattern(n: &str, strict: bool) -> String {
    let ordinal = if strict { "(?:st|nd|rd|th)" } else { "(?:st|nd|rd|th)?" };
    format!(
        r"(?:the )?(?:(?P<dm{n}>{{MONTH}}) (?:the )?(?P<dd{n}>[0-3]?\d)(?:st|nd|rd|th)?\b|(?P<bd{n}>[0-3]?\d){ordinal}(?: of)? (?P<bm{n}>{{MONTH}}))"
    )
}

/// A date point: an ISO date, a day, a month or a quarter with an optional year, or a year.
/// With `bare_day`, a lone day number takes the month of the range's other end ("feb 10 to
/// 20", "from the 1st to the 15th of march").
fn point_pattern(n: &str, bare_day: bool) -> String {
    let day = day_pattern(n, false);
    let year = year_pattern(n);
    let bare = if bare_day { format!(r"|(?:the )?(?P<bare{n}>[0-3]?\d)(?:st|nd|rd|th)?\b") } else { String::new() };
    format!(
        r"(?:(?P<iso{n}>20\d\d-\d\d-\d\d)|(?:{day}|(?:(?P<pl{n}>last|previous|this past) )?(?P<m{n}>{{MONTH}})|(?:the )?(?:q(?P<q{n}>[1-4])|(?P<qw{n}>first|second|third|fourth|1st|2nd|3rd|4th) quarter){bare})(?:{year})?|(?:the year )?(?P<yy{n}>20\d\d))"
    )
}

fn group<'t>(caps: &regex::Captures<'t>, name: &str, n: &str) -> Option<&'t str> {
    caps.name(&format!("{name}{n}")).map(|m| m.as_str())
}

fn read_year(caps: &regex::Captures, n: &str, as_of: NaiveDate) -> Option<i32> {
    if let Some(year) = group(caps, "y", n) {
        return year.parse().ok();
    }
    group(caps, "ry", n).map(|rel| if matches!(rel, "this" | "current") { as_of.year() } else { as_of.year() - 1 })
}

fn ordinal_number(word: &str) -> u32 {
    match word {
        "first" | "1st" => 1,
        "second" | "2nd" => 2,
        "third" | "3rd" => 3,
        _ => 4,
    }
}

/// Reads the point whose groups end with `n`; `other` lends its month to a bare day.
fn read_point(caps: &regex::Captures, n: &str, as_of: NaiveDate, other: Option<Point>) -> Option<Point> {
    if let Some(iso) = group(caps, "iso", n) {
        let date = NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok()?;
        let unit = Unit::Day(date.month(), date.day());
        return Some(Point { unit, year: Some(date.year()), before_this_month: false });
    }
    if let Some(year) = group(caps, "yy", n) {
        return Some(Point { unit: Unit::Year, year: Some(year.parse().ok()?), before_this_month: false });
    }
    let unit = if let (Some(month), Some(day)) = (group(caps, "dm", n), group(caps, "dd", n)) {
        Unit::Day(month_number(month)?, day.parse().ok()?)
    } else if let (Some(day), Some(month)) = (group(caps, "bd", n), group(caps, "bm", n)) {
        Unit::Day(month_number(month)?, day.parse().ok()?)
    } else if let Some(month) = group(caps, "m", n) {
        Unit::Month(month_number(month)?)
    } else if let Some(quarter) = group(caps, "q", n) {
        Unit::Quarter(quarter.parse().ok()?)
    } else if let Some(word) = group(caps, "qw", n) {
        Unit::Quarter(ordinal_number(word))
    } else if let Some(day) = group(caps, "bare", n) {
        match other?.unit {
            Unit::Day(month, _) => Unit::Day(month, day.parse().ok()?),
            _ => return None,
        }
    } else {
        return None;
    };
    Some(Point { unit, year: read_year(caps, n, as_of), before_this_month: group(caps, "pl", n).is_some() })
}

/// A single point: a day, a month or a quarter, with or without its year.
fn resolve_point(caps: &regex::Captures, as_of: NaiveDate) -> Option<Bounds> {
    let (start, end) = read_point(caps, "", as_of, None)?.resolve(as_of)?;
    Some((Some(start), Some(end)))
}

/// From the start of point 1 to the end of point 2, so that the last day or month is
/// included. A year written at one end only is carried to the other, moving back (or on)
/// one year when the range crosses New Year ("from nov to feb 2025").
fn resolve_between(caps: &regex::Captures, as_of: NaiveDate) -> Option<Bounds> {
    let (first, last) = if group(caps, "bare", "1").is_some() {
        let last = read_point(caps, "2", as_of, None)?;
        (read_point(caps, "1", as_of, Some(last))?, last)
    } else {
        let first = read_point(caps, "1", as_of, None)?;
        (first, read_point(caps, "2", as_of, Some(first))?)
    };
    let (first_year, last_year) = match (first.year, last.year) {
        (Some(a), Some(b)) => (a, b),
        // "from 2024 to march": which march is anyone's guess.
        _ if first.unit == Unit::Year || last.unit == Unit::Year => return None,
        (Some(a), None) => (a, if last.key() < first.key() { a + 1 } else { a }),
        (None, Some(b)) => (if first.key() > last.key() { b - 1 } else { b }, b),
        (None, None) => {
            let b = last.latest_year(as_of);
            (if first.key() > last.key() { b - 1 } else { b }, b)
        }
    };
    let (start, _) = first.span(first_year)?;
    let (_, end) = last.span(last_year)?;
    (start < end).then_some((Some(start), Some(end)))
}

/// The current week, month, quarter or year (or the one before), as `[start, end)`.
fn period_span(unit: &str, previous: bool, as_of: NaiveDate) -> (NaiveDate, NaiveDate) {
    let back = i32::from(previous);
    match unit {
        "week" => {
            let start = week_start(as_of) - Duration::days(7 * i64::from(back));
            (start, start + Duration::days(7))
        }
        "month" => {
            let start = add_months(month_start(as_of.year(), as_of.month()), -back);
            (start, add_months(start, 1))
        }
        "quarter" => {
            let start = add_months(quarter_start(as_of), -3 * back);
            (start, add_months(start, 3))
        }
        _ => (month_start(as_of.year() - back, 1), month_start(as_of.year() - back + 1, 1)),
    }
}

/// From a point or a period ("the start of the quarter", "last year") up to `as_of`.
fn resolve_since(caps: &regex::Captures, as_of: NaiveDate) -> Option<Bounds> {
    let (start, end) = match caps.name("pu") {
        Some(unit) => period_span(unit.as_str(), caps.name("prel").is_some(), as_of),
        None => read_point(caps, "1", as_of, None)?.resolve(as_of)?,
    };
    let from = if caps.name("edge").is_some_and(|edge| edge.as_str() == "end") { end } else { start };
    (from <= as_of).then_some((Some(from), Some(as_of + Duration::days(1))))
}

fn resolve_half(caps: &regex::Captures, as_of: NaiveDate) -> Option<Bounds> {
    let half = match (caps.name("h"), caps.name("hw")) {
        (Some(h), _) => h.as_str().parse::<u32>().ok()?,
        (None, Some(word)) => ordinal_number(word.as_str()),
        (None, None) => return None,
    };
    let start = month_start(read_year(caps, "", as_of).unwrap_or(as_of.year()), half * 6 - 5);
    Some((Some(start), Some(add_months(start, 6))))
}

/// "up to now", "onwards": the end of a range that runs to `as_of`.
const TO_NOW: &str =
    r"(?:(?:to|until|till|through|up to|up until) (?:now|today|date|the present|present|this day)|onwards?)";
const START_OF: &str = r"(?:(?:the )?(?:start|beginning) of )?";
const END_OF: &str = r"(?:(?:the )?end of )?";
const HALF: &str = r"(?:(?P<hw>first|second|1st|2nd) half|h(?P<h>[12]))";

/// Ordered from most to least specific, so that "last 3 months" wins over "last month".
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let first = point_pattern("1", true);
    let anchor = point_pattern("1", false);
    let last = point_pattern("2", true);
    let year = year_pattern("");
    let day = day_pattern("", false);
    let day_without_year = day_pattern("", true);
    vec![
        rule(&format!("between {START_OF}{first} and {END_OF}{last}"), resolve_between),
        rule(
            &format!("from {START_OF}{first} (?:to|through|thru|until|till|up to|up until) {END_OF}{last}"),
            resolve_between,
        ),
        // Without "from", "march to may" may be a comparison; "through" is a range.
        rule(&format!("{anchor} (?:through|thru|until|till) {END_OF}{last}"), resolve_between),
        rule(
            &format!("(?:from|starting(?: from| in| on)?|beginning(?: in| on)?) {START_OF}{anchor} {TO_NOW}"),
            resolve_since,
        ),
        rule(
            &format!(
                "(?:since|starting(?: from| in| on)?|beginning(?: in| on)?) (?:(?:the )?(?P<edge>start|beginning|end) of )?(?:{anchor}|(?:(?P<prel>last|previous|prior)|the|this|current) (?P<pu>week|month|quarter|year))(?: {TO_NOW})?"
            ),
            resolve_since,
        ),
        rule(r"(?:last|past|previous|trailing|prior) {NUM} days?", |c, as_of| {
            let n = parse_number_word(c.get(1)?.as_str())? as i64;
            Some((Some(as_of - Duration::days(n - 1)), Some(as_of + Duration::days(1))))
        }),
        rule(r"(?:last|past|previous|trailing|prior) {NUM} weeks?", |c, as_of| {
            let n = parse_number_word(c.get(1)?.as_str())? as i64;
            let this_week = week_start(as_of);
            Some((Some(this_week - Duration::days(7 * n)), Some(this_week)))
        }),
        rule(r"(?:last|past|previous|trailing|prior) {NUM} months?", |c, as_of| {
            let n = parse_number_word(c.get(1)?.as_str())? as i32;
            let this_month = month_start(as_of.year(), as_of.month());
            Some((Some(add_months(this_month, -n)), Some(this_month)))
        }),
        rule(r"(?:last|past|previous|trailing|prior) {NUM} quarters?", |c, as_of| {
            let n = parse_number_word(c.get(1)?.as_str())? as i32;
            let this_quarter = quarter_start(as_of);
            Some((Some(add_months(this_quarter, -3 * n)), Some(this_quarter)))
        }),
        rule(r"(?:last|past|previous|trailing|prior) {NUM} years?", |c, as_of| {
            let n = parse_number_word(c.get(1)?.as_str())? as i32;
            Some((Some(month_start(as_of.year() - n, 1)), Some(month_start(as_of.year(), 1))))
        }),
        rule(
            &format!(
                r"(?:(?:in|during|for|of) )?(?:the )?(?:q(?P<q>[1-4])|(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th) quarter){year}"
            ),
            resolve_point,
        ),
        rule(r"(?:(?:in|during|for) )?(?P<y>20\d\d) q(?P<q>[1-4])", |c, _| {
            let start = month_start(year_of(c, "y")?, (c.name("q")?.as_str().parse::<u32>().ok()? - 1) * 3 + 1);
            Some((Some(start), Some(add_months(start, 3))))
        }),
        rule(&format!(r"(?:(?:in|during|for|of|over) )?(?:the )?{HALF}(?: of the year)?{year}"), resolve_half),
        rule(&format!(r"(?:(?:in|during|for) )?(?P<y>20\d\d) {HALF}"), resolve_half),
        rule(&format!(r"before {anchor}"), |c, as_of| {
            let (start, _) = read_point(c, "1", as_of, None)?.resolve(as_of)?;
            Some((None, Some(start)))
        }),
        rule(&format!(r"(?:(?:on|for|of) )?{day}{year}"), resolve_point),
        rule(r"(?:(?:on|for) )?(?P<date>20\d\d-\d\d-\d\d)", |c, _| {
            let day = NaiveDate::parse_from_str(c.name("date")?.as_str(), "%Y-%m-%d").ok()?;
            Some((Some(day), Some(day + Duration::days(1))))
        }),
        rule(
            &format!(r"(?:(?:in|during|for|of) )?(?:(?P<pl>last|previous|this past) )?(?P<m>{{MONTH}}){year}"),
            resolve_point,
        ),
        rule(r"(?:(?:in|during|for|of) )?(?P<pl>last|previous|this past) (?P<m>{MONTH})", resolve_point),
        rule(r"(?:today|so far today)", |_, as_of| Some((Some(as_of), Some(as_of + Duration::days(1))))),
        rule(r"yesterday", |_, as_of| Some((Some(as_of - Duration::days(1)), Some(as_of)))),
        rule(r"(?:this week|week to date|wtd|current week|so far this week)", |_, as_of| {
            Some((Some(week_start(as_of)), Some(as_of + Duration::days(1))))
        }),
        rule(r"(?:last|previous|past|prior) week", |_, as_of| {
            let this_week = week_start(as_of);
            Some((Some(this_week - Duration::days(7)), Some(this_week)))
        }),
        rule(r"(?:this month|month to date|mtd|current month|so far this month)", |_, as_of| {
            Some((Some(month_start(as_of.year(), as_of.month())), Some(as_of + Duration::days(1))))
        }),
        rule(r"(?:last|previous|past|prior) month", |_, as_of| {
            let this_month = month_start(as_of.year(), as_of.month());
            Some((Some(add_months(this_month, -1)), Some(this_month)))
        }),
        rule(r"(?:this quarter|quarter to date|qtd|current quarter|so far this quarter)", |_, as_of| {
            Some((Some(quarter_start(as_of)), Some(as_of + Duration::days(1))))
        }),
        rule(r"(?:last|previous|past|prior) quarter", |_, as_of| {
            let this_quarter = quarter_start(as_of);
            Some((Some(add_months(this_quarter, -3)), Some(this_quarter)))
        }),
        rule(r"(?:this year|year to date|ytd|current year|so far this year)", |_, as_of| {
            Some((Some(month_start(as_of.year(), 1)), Some(as_of + Duration::days(1))))
        }),
        rule(r"(?:last|previous|past|prior) year", |_, as_of| {
            Some((Some(month_start(as_of.year() - 1, 1)), Some(month_start(as_of.year(), 1))))
        }),
        rule(r"(?:(?:in|during|for|of) )?(?:the year )?(?P<y>20\d\d)", |c, _| {
            let year = year_of(c, "y")?;
            Some((Some(month_start(year, 1)), Some(month_start(year + 1, 1))))
        }),
        rule(&format!(r"(?:(?:on|for|of) )?{day_without_year}"), |c, as_of| {
            // "may 5" is more often a verb and a count than a date, unless "on" says otherwise.
            if c.name("dm").is_some_and(|m| m.as_str() == "may") && !c.get(0)?.as_str().starts_with("on ") {
                return None;
            }
            resolve_point(c, as_of)
        }),
        rule(&format!(r"(?:(?:in|during|for|of|over) )?(?:the )?{HALF}(?: of the year)?"), resolve_half),
        // A lone "q1" is as often a list label ("Q1: ..., Q2: ...") as a quarter.
        rule(
            r"(?:in|during|for|of) (?:the )?(?:q(?P<q>[1-4])|(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th) quarter)",
            resolve_point,
        ),
        // "may" is also a verb; only a preposition makes it the month.
        rule(
            r"(?:(?:in|during|throughout|for|of) (?P<m>january|february|march|april|june|july|august|september|october|november|december)|(?:in|during|throughout) (?P<bm>may))",
            |c, as_of| {
                let month = c.name("m").or_else(|| c.name("bm"))?.as_str();
                let point = Point { unit: Unit::Month(month_number(month)?), year: None, before_this_month: false };
                let (start, end) = point.resolve(as_of)?;
                Some((Some(start), Some(end)))
            },
        ),
        // Runs after every rule that names the period, so that "the whole month of july"
        // is july and only a lone "the whole quarter" is the current one.
        rule(
            r"(?:(?:in|during|for|over|across|throughout) )?(?:the|this) (?:whole|entire|full|complete) (?P<u>week|month|quarter|year)",
            |c, as_of| {
                let (start, _) = period_span(c.name("u")?.as_str(), false, as_of);
                Some((Some(start), Some(as_of + Duration::days(1))))
            },
        ),
    ]
});

/// Words before a period that only stress it: "the whole of last year", "all of 2024",
/// "for the full year 2024", "the entire month of march".
static WRAP_BEFORE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:in|during|for|over|across|throughout) )?(?:the )?(?:(?:whole|entire|full|complete)(?: (?:calendar |fiscal )?(?:year|quarter|month|week|day))?(?: of)?(?: the)?|all(?: of| through| throughout| during| over)?(?: the)?)\s+$")
        .expect("valid regex")
});

/// Words after a range that only say its ends are included, which the range already does.
static WRAP_AFTER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s+(?:(?:both|all) (?:days|dates|ends|months|years|weeks|quarters|bounds) (?:included|inclusive)|(?:both )?inclusive(?:ly)?(?: of (?:both|all)(?: (?:days|dates|ends))?)?|including both(?: (?:days|dates|ends))?)\b")
        .expect("valid regex")
});

/// Widens a matched phrase to the words that only stress it.
fn widen(text: &str, from: usize, to: usize) -> (usize, usize) {
    let from = WRAP_BEFORE_RE.find(&text[..from]).map_or(from, |m| m.start());
    let to = WRAP_AFTER_RE.find(&text[to..]).map_or(to, |m| to + m.end());
    (from, to)
}

static GRAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:by|per|(?:in |during |for )?(?:each|every)|a|on a|on an) (?P<g1>day|week|month|quarter|year|date)|(?P<g2>daily|weekly|monthly|quarterly|yearly|dau|wau|mau)|(?P<g3>day|week|month|quarter|year) (?:by|over|on) (?:day|week|month|quarter|year)|(?P<g4>wow|mom|qoq|yoy))\b")
        .expect("valid grain regex")
});

/// "which day", "best month": the period itself is the answer; only the unit is removed,
/// the superlative stays for ranking.
static PICK_GRAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:which|what|best|worst|busiest|quietest|peak|strongest|weakest|slowest|biggest|top|highest|lowest) (?P<g>day|week|month|quarter|year)\b")
        .expect("valid regex")
});

static TREND_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:trends?|trending|over time|through time|time series|timeline|trajectory|evolution|evolved|history|historically|changed|change over|progression|development)\b")
        .expect("valid trend regex")
});

static ALL_TIME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:all time|all-time|ever|of all time|in total|to date|lifetime)\b").expect("valid regex")
});

/// Words that make "monthly"/"annual" a billing period rather than a grain.
const BILLING_NOUNS: &[&str] = &[
    "plan",
    "plans",
    "billing",
    "subscription",
    "subscriptions",
    "subscriber",
    "subscribers",
    "contract",
    "contracts",
    "customers",
    "accounts",
    "sub",
    "subs",
    "billed",
];

/// Words after which a number is a quantity ("more than 2000", "top 3"), not a date.
const QUANTITY_WORDS: &[&str] = &[
    "between",
    "than",
    "over",
    "above",
    "under",
    "below",
    "least",
    "most",
    "top",
    "bottom",
    "exceeding",
    "exactly",
    ">",
    "<",
    "=",
    "$",
];

fn blank(text: &mut String, start: usize, end: usize) {
    text.replace_range(start..end, &" ".repeat(end - start));
}

/// Words that say two windows are set side by side.
const SIDE_BY_SIDE: &[&str] = &[" vs ", " versus ", " compared to ", " compared with ", " against "];

/// Words that name a comparison of windows without naming either ("YoY"): the windows
/// themselves say it once they are found.
const PERIOD_COMPARISON_WORDS: &[&str] = &["yoy", "mom", "qoq", "wow", "year over year", "month over month"];

/// "revenue 2025 vs 2024", "csat this quarter vs last quarter", "logins last month vs the
/// month before": two windows set side by side, each a time phrase of its own (or the second
/// the one before the first). Returns the windows, in the order written, and the question
/// with them taken out; `None` when the question does not compare two windows.
pub fn extract_periods(normalized: &str, as_of: NaiveDate) -> Option<(Vec<TimeRange>, String)> {
    let padded = format!(" {normalized} ");
    let (at, separator) = SIDE_BY_SIDE.iter().find_map(|s| padded.find(s).map(|at| (at, *s)))?;
    let (left, right) = (&padded[..at], &padded[at + separator.len()..]);
    let first = extract_time(left, as_of);
    let first_range = first.range.clone().filter(|r| r.start.is_some() && r.end.is_some())?;
    let second = extract_time(right, as_of);
    let (second_range, right_rest) = match second.range.clone() {
        Some(range) => (range, second.rest),
        None => {
            let caps = PERIOD_BEFORE_RE.captures(right)?;
            let unit = caps.name("g").or(caps.name("g2"))?.as_str();
            let mut shifted = shift_back(&first_range, unit)?;
            shifted.phrase = format!("{unit} before");
            let whole = caps.get(0)?;
            (shifted, format!("{} {}", &right[..whole.start()], &right[whole.end()..]))
        }
    };
    let mut rest = format!(" {} {} ", first.rest, right_rest);
    for word in PERIOD_COMPARISON_WORDS {
        rest = rest.replace(&format!(" {word} "), " ");
    }
    Some((vec![first_range, second_range], rest.split_whitespace().collect::<Vec<_>>().join(" ")))
}

static PERIOD_BEFORE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:the )?(?:(?P<g>day|week|month|quarter|year) (?:before|prior|earlier)|(?:previous|prior|preceding) (?P<g2>day|week|month|quarter|year))\b")
        .expect("valid regex")
});

/// The range one `unit` earlier, keeping its length in that unit.
pub(crate) fn shift_back(range: &TimeRange, unit: &str) -> Option<TimeRange> {
    let (start, end) = (range.start?, range.end?);
    let back = |d: NaiveDate| -> Option<NaiveDate> {
        match unit {
            "day" => Some(d - Duration::days(1)),
            "week" => Some(d - Duration::days(7)),
            "month" => d.checked_sub_months(chrono::Months::new(1)),
            "quarter" => d.checked_sub_months(chrono::Months::new(3)),
            "year" => d.checked_sub_months(chrono::Months::new(12)),
            _ => None,
        }
    };
    Some(TimeRange {
        start: Some(back(start)?),
        end: Some(back(end)?),
        phrase: format!("the {unit} before {}", range.phrase),
    })
}

/// Finds the time range, grain and trend words of a normalized question.
pub fn extract_time(normalized: &str, as_of: NaiveDate) -> TimeFindings {
    let mut rest = prepare(normalized);
    let mut findings = TimeFindings::default();
    for rule in RULES.iter() {
        if findings.range.is_some() {
            break;
        }
        let found = rule.re.captures(&rest).and_then(|caps| {
            let whole = caps.get(0)?;
            // "more than 2000 seats" is a quantity, not a year; "top 3 march 2025" is not March 3rd.
            let before = rest[..whole.start()].split_whitespace().last().unwrap_or_default();
            if whole.as_str().starts_with(|c: char| c.is_ascii_digit()) && QUANTITY_WORDS.contains(&before) {
                return None;
            }
            let (start, end) = (rule.resolve)(&caps, as_of)?;
            let (from, to) = widen(&rest, whole.start(), whole.end());
            Some((from, to, start, end, whole.as_str().to_string()))
        });
        if let Some((from, to, start, end, phrase)) = found {
            findings.range = Some(TimeRange { start, end, phrase: phrase.trim().to_string() });
            blank(&mut rest, from, to);
        }
    }
    let grain_match = GRAIN_RE.captures_iter(&rest).find_map(|caps| {
        let whole = caps.get(0)?;
        let word = ["g1", "g2", "g3", "g4"].iter().find_map(|g| caps.name(g))?.as_str();
        if matches!(word, "monthly") {
            // "monthly new accounts" is a trend of new accounts, "monthly accounts" a billing period.
            // "monthly vs annual billing": set against the other billing period, it is one too.
            let after: Vec<&str> = rest[whole.end()..].split_whitespace().take(3).collect();
            let against_annual = after.iter().any(|w| matches!(*w, "annual" | "annually" | "yearly"));
            // "monthly recurring revenue" names a measure, not a grain.
            if after.first() == Some(&"recurring")
                || (after.first() != Some(&"new")
                    && (against_annual || after.iter().take(2).any(|w| BILLING_NOUNS.contains(w))))
            {
                return None;
            }
        }
        Some((whole.start(), whole.end(), TimeGrain::from_word(word)?))
    });
    if let Some((from, to, grain)) = grain_match {
        findings.grain = Some(grain);
        // DAU/WAU/MAU also name the metric, so they stay in the text.
        if matches!(rest[from..to].trim(), "dau" | "wau" | "mau") {
            findings.grain_from_abbreviation = true;
        } else {
            blank(&mut rest, from, to);
        }
    }
    if findings.grain.is_none()
        && let Some(caps) = PICK_GRAIN_RE.captures(&rest)
    {
        let unit = caps.name("g").expect("unit group");
        if let Some(grain) = TimeGrain::from_word(unit.as_str()) {
            findings.grain = Some(grain);
            findings.grain_named_as_group = true;
            let (from, to) = (unit.start(), unit.end());
            blank(&mut rest, from, to);
        }
    }
    if let Some(m) = TREND_RE.find(&rest) {
        findings.trend = true;
        let (from, to) = (m.start(), m.end());
        blank(&mut rest, from, to);
    }
    if let Some(m) = ALL_TIME_RE.find(&rest) {
        findings.all_time = true;
        let (from, to) = (m.start(), m.end());
        blank(&mut rest, from, to);
    }
    findings.rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn range(phrase: &str) -> (String, String) {
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let found = extract_time(&normalize(phrase), as_of).range.unwrap_or_else(|| panic!("no range in {phrase}"));
        (found.start.map(|d| d.to_string()).unwrap_or_default(), found.end.map(|d| d.to_string()).unwrap_or_default())
    }

    fn r(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    /// The words left once the time phrases are blanked.
    fn rest(phrase: &str) -> String {
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        extract_time(&normalize(phrase), as_of).rest
    }

    /// Every phrase of the contract's table, with the range the contract gives.
    #[test]
    fn contract_time_phrases() {
        assert_eq!(range("signups today"), r("2025-12-31", "2026-01-01"));
        assert_eq!(range("signups yesterday"), r("2025-12-30", "2025-12-31"));
        assert_eq!(range("signups in the last 30 days"), r("2025-12-02", "2026-01-01"));
        assert_eq!(range("past 7 days"), r("2025-12-25", "2026-01-01"));
        assert_eq!(range("this week"), r("2025-12-29", "2026-01-01"));
        assert_eq!(range("week to date"), r("2025-12-29", "2026-01-01"));
        assert_eq!(range("last week"), r("2025-12-22", "2025-12-29"));
        assert_eq!(range("last 4 weeks"), r("2025-12-01", "2025-12-29"));
        assert_eq!(range("this month"), r("2025-12-01", "2026-01-01"));
        assert_eq!(range("month to date"), r("2025-12-01", "2026-01-01"));
        assert_eq!(range("last month"), r("2025-11-01", "2025-12-01"));
        assert_eq!(range("last 3 months"), r("2025-09-01", "2025-12-01"));
        assert_eq!(range("this quarter"), r("2025-10-01", "2026-01-01"));
        assert_eq!(range("last quarter"), r("2025-07-01", "2025-10-01"));
        assert_eq!(range("this year"), r("2025-01-01", "2026-01-01"));
        assert_eq!(range("year to date"), r("2025-01-01", "2026-01-01"));
        assert_eq!(range("last year"), r("2024-01-01", "2025-01-01"));
        assert_eq!(range("in March 2025"), r("2025-03-01", "2025-04-01"));
        assert_eq!(range("in Q2 2024"), r("2024-04-01", "2024-07-01"));
        assert_eq!(range("in 2024"), r("2024-01-01", "2025-01-01"));
        assert_eq!(range("since June 2025"), r("2025-06-01", "2026-01-01"));
    }

    #[test]
    fn other_phrasings() {
        assert_eq!(range("previous three months"), r("2025-09-01", "2025-12-01"));
        assert_eq!(range("the second quarter of 2025"), r("2025-04-01", "2025-07-01"));
        assert_eq!(range("2025 q1"), r("2025-01-01", "2025-04-01"));
        assert_eq!(range("on 2025-03-15"), r("2025-03-15", "2025-03-16"));
        assert_eq!(range("march 15th 2025"), r("2025-03-15", "2025-03-16"));
        assert_eq!(range("between jan 2025 and mar 2025"), r("2025-01-01", "2025-04-01"));
        assert_eq!(range("in july"), r("2025-07-01", "2025-08-01"));
        assert_eq!(range("ytd"), r("2025-01-01", "2026-01-01"));
    }

    #[test]
    fn grains_and_trends() {
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let found = extract_time("weekly signups last quarter", as_of);
        assert_eq!(found.grain, Some(TimeGrain::Week));
        assert_eq!(found.rest, "signups");
        assert_eq!(extract_time("signups per month", as_of).grain, Some(TimeGrain::Month));
        assert_eq!(extract_time("mau trend", as_of).grain, Some(TimeGrain::Month));
        assert!(extract_time("revenue over time", as_of).trend);
        assert_eq!(extract_time("monthly plans count", as_of).grain, None);
        assert!(extract_time("most revenue ever", as_of).all_time);
    }

    #[test]
    fn halves_of_a_year() {
        assert_eq!(range("first half of 2025"), r("2025-01-01", "2025-07-01"));
        assert_eq!(range("second half of 2024"), r("2024-07-01", "2025-01-01"));
        assert_eq!(range("the 1st half of 2025"), r("2025-01-01", "2025-07-01"));
        assert_eq!(range("h1 2025"), r("2025-01-01", "2025-07-01"));
        assert_eq!(range("h2 2024"), r("2024-07-01", "2025-01-01"));
        assert_eq!(range("2025 h2"), r("2025-07-01", "2026-01-01"));
        assert_eq!(range("in H2 2025"), r("2025-07-01", "2026-01-01"));
        assert_eq!(range("first half of this year"), r("2025-01-01", "2025-07-01"));
        assert_eq!(range("second half of last year"), r("2024-07-01", "2025-01-01"));
        assert_eq!(range("h1"), r("2025-01-01", "2025-07-01"));
        assert_eq!(range("h2"), r("2025-07-01", "2026-01-01"));
        assert_eq!(range("first half"), r("2025-01-01", "2025-07-01"));
        assert_eq!(range("the second half of the year"), r("2025-07-01", "2026-01-01"));
        assert_eq!(rest("revenue in the second half of 2024"), "revenue");
    }

    #[test]
    fn month_ranges_with_one_year() {
        assert_eq!(range("between March and May 2025"), r("2025-03-01", "2025-06-01"));
        assert_eq!(range("from Feb to Apr 2025"), r("2025-02-01", "2025-05-01"));
        assert_eq!(range("between April and June 2025"), r("2025-04-01", "2025-07-01"));
        assert_eq!(range("march through may 2025"), r("2025-03-01", "2025-06-01"));
        assert_eq!(range("between March and May"), r("2025-03-01", "2025-06-01"));
        assert_eq!(range("from nov to feb 2025"), r("2024-11-01", "2025-03-01"));
        assert_eq!(range("from nov 2024 to feb"), r("2024-11-01", "2025-03-01"));
        assert_eq!(range("from the start of march to the end of may 2025"), r("2025-03-01", "2025-06-01"));
        assert_eq!(range("between q1 and q3 2025"), r("2025-01-01", "2025-10-01"));
        assert_eq!(range("in q3"), r("2025-07-01", "2025-10-01"));
        assert_eq!(range("between 2023 and 2024"), r("2023-01-01", "2025-01-01"));
        assert_eq!(range("from March 2025 to now"), r("2025-03-01", "2026-01-01"));
        assert_eq!(range("from march 2025 to today"), r("2025-03-01", "2026-01-01"));
        assert_eq!(range("from 2024 onwards"), r("2024-01-01", "2026-01-01"));
        assert_eq!(rest("signups between march and may 2025"), "signups");
        assert_eq!(rest("signups from march 2025 to date"), "signups");
        // Four digits after "between" without a month or year on the other end are counts.
        assert_eq!(rest("between 2000 and 2500 seats"), "between 2000 and 2500 seats");
    }

    #[test]
    fn day_ranges_and_single_days() {
        assert_eq!(range("between feb 10 and feb 20, 2025"), r("2025-02-10", "2025-02-21"));
        assert_eq!(range("from feb 10 to 20 2025"), r("2025-02-10", "2025-02-21"));
        assert_eq!(range("between 2025-02-10 and 2025-02-20"), r("2025-02-10", "2025-02-21"));
        assert_eq!(range("from dec 28 2024 to jan 3"), r("2024-12-28", "2025-01-04"));
        assert_eq!(range("from the 1st to the 15th of march 2025"), r("2025-03-01", "2025-03-16"));
        assert_eq!(range("march 3rd 2025"), r("2025-03-03", "2025-03-04"));
        assert_eq!(range("on march 3 2025"), r("2025-03-03", "2025-03-04"));
        assert_eq!(range("3 march 2025"), r("2025-03-03", "2025-03-04"));
        assert_eq!(range("march 3, 2025"), r("2025-03-03", "2025-03-04"));
        assert_eq!(range("the 3rd of march 2025"), r("2025-03-03", "2025-03-04"));
        assert_eq!(range("feb 10"), r("2025-02-10", "2025-02-11"));
        assert_eq!(range("on the 3rd of march"), r("2025-03-03", "2025-03-04"));
        assert_eq!(range("before march 2025"), r("", "2025-03-01"));
        // A number after "top" counts rows, so the date is the month.
        assert_eq!(range("top 3 march 2025"), r("2025-03-01", "2025-04-01"));
        // "may" followed by a number is more often the verb.
        assert!(
            extract_time("what may 5 customers do", NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()).range.is_none()
        );
        assert_eq!(range("on may 5"), r("2025-05-05", "2025-05-06"));
        assert_eq!(rest("orders between feb 10 and feb 20, 2025 (both days included)"), "orders");
        assert_eq!(rest("orders from feb 10 to 20 2025 inclusive"), "orders");
        assert_eq!(rest("orders on march 3rd 2025"), "orders");
    }

    #[test]
    fn abbreviations_read_as_full_words() {
        assert_eq!(range("this yr"), r("2025-01-01", "2026-01-01"));
        assert_eq!(range("last yr"), r("2024-01-01", "2025-01-01"));
        assert_eq!(range("last qtr"), r("2025-07-01", "2025-10-01"));
        assert_eq!(range("this qtr"), r("2025-10-01", "2026-01-01"));
        assert_eq!(range("past qtr"), r("2025-07-01", "2025-10-01"));
        assert_eq!(range("last wk"), r("2025-12-22", "2025-12-29"));
        assert_eq!(range("this wk"), r("2025-12-29", "2026-01-01"));
        assert_eq!(range("prev month"), r("2025-11-01", "2025-12-01"));
        assert_eq!(range("prev quarter"), r("2025-07-01", "2025-10-01"));
        assert_eq!(range("last 3 mos"), r("2025-09-01", "2025-12-01"));
        assert_eq!(range("past 6 wks"), r("2025-11-17", "2025-12-29"));
        assert_eq!(range("last 2 yrs"), r("2023-01-01", "2025-01-01"));
        // Away from a number or "last", "mo" may be Missouri.
        assert_eq!(rest("customers in MO"), "customers in mo");
    }

    #[test]
    fn misspelled_months() {
        assert_eq!(range("febuary 2025"), r("2025-02-01", "2025-03-01"));
        assert_eq!(range("in feburary 2025"), r("2025-02-01", "2025-03-01"));
        assert_eq!(range("septmber 2024"), r("2024-09-01", "2024-10-01"));
        assert_eq!(range("decmber 2024"), r("2024-12-01", "2025-01-01"));
        assert_eq!(range("janaury 2025"), r("2025-01-01", "2025-02-01"));
        assert_eq!(range("in agust"), r("2025-08-01", "2025-09-01"));
        assert_eq!(
            prepare("mayor marching match marsh remember augusta"),
            "mayor marching match marsh remember augusta"
        );
    }

    #[test]
    fn words_that_stress_a_period() {
        assert_eq!(range("the whole of last year"), r("2024-01-01", "2025-01-01"));
        assert_eq!(range("all of 2024"), r("2024-01-01", "2025-01-01"));
        assert_eq!(range("the entire month of march 2025"), r("2025-03-01", "2025-04-01"));
        assert_eq!(range("for the full year 2024"), r("2024-01-01", "2025-01-01"));
        assert_eq!(range("during the whole quarter"), r("2025-10-01", "2026-01-01"));
        assert_eq!(range("the entire month of july"), r("2025-07-01", "2025-08-01"));
        assert_eq!(rest("signups the whole of last year"), "signups");
        assert_eq!(rest("revenue for the full year 2024"), "revenue");
        assert_eq!(rest("churn during the whole quarter"), "churn");
        assert_eq!(rest("signups all of 2024"), "signups");
    }

    #[test]
    fn grain_and_range_together() {
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let found = extract_time(&normalize("revenue each quarter of 2024"), as_of);
        assert_eq!(found.grain, Some(TimeGrain::Quarter));
        assert_eq!(found.rest, "revenue");
        assert_eq!(range("each quarter of 2024"), r("2024-01-01", "2025-01-01"));
        assert_eq!(rest("revenue in each quarter of 2024"), "revenue");
        let found = extract_time(&normalize("signups every month of 2025"), as_of);
        assert_eq!(found.grain, Some(TimeGrain::Month));
        assert_eq!(found.rest, "signups");
        assert_eq!(range("every month of 2025"), r("2025-01-01", "2026-01-01"));
        let found = extract_time(&normalize("orders per week in q3 2025"), as_of);
        assert_eq!(found.grain, Some(TimeGrain::Week));
        assert_eq!(found.rest, "orders");
        assert_eq!(range("per week in q3 2025"), r("2025-07-01", "2025-10-01"));
    }

    #[test]
    fn since_phrases() {
        assert_eq!(range("since march"), r("2025-03-01", "2026-01-01"));
        assert_eq!(range("since last march"), r("2025-03-01", "2026-01-01"));
        assert_eq!(range("since the start of the year"), r("2025-01-01", "2026-01-01"));
        assert_eq!(range("since the beginning of the quarter"), r("2025-10-01", "2026-01-01"));
        assert_eq!(range("since jan 1"), r("2025-01-01", "2026-01-01"));
        assert_eq!(range("since the end of last quarter"), r("2025-10-01", "2026-01-01"));
        assert_eq!(range("since last year"), r("2024-01-01", "2026-01-01"));
        assert_eq!(range("since march of last year"), r("2024-03-01", "2026-01-01"));
        assert_eq!(range("since the year 2020"), r("2020-01-01", "2026-01-01"));
        assert_eq!(range("starting from feb 2025"), r("2025-02-01", "2026-01-01"));
        assert_eq!(range("since 2025-06-15"), r("2025-06-15", "2026-01-01"));
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let found = extract_time(&normalize("signups since june 2025 to date"), as_of);
        assert!(!found.all_time);
        assert_eq!(found.rest, "signups");
    }
}
