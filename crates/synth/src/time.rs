//! Time phrases and grains, resolved against the snapshot's `as_of` date (never the wall
//! clock) with the conventions of the demo contract: weeks start on Monday, ranges are
//! half-open `[start, end)`, "last N weeks/months" are full periods before the current one.

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

/// Ordered from most to least specific, so that "last 3 months" wins over "last month".
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            r"(?:between|from) (?P<m1>{MONTH}) (?P<y1>20\d\d) (?:and|to|through|until|-) (?P<m2>{MONTH}) (?P<y2>20\d\d)",
            |c, _| {
                let start = month_start(year_of(c, "y1")?, month_number(c.name("m1")?.as_str())?);
                let end = add_months(month_start(year_of(c, "y2")?, month_number(c.name("m2")?.as_str())?), 1);
                Some((Some(start), Some(end)))
            },
        ),
        rule(
            r"(?:between|from) (?P<d1>20\d\d-\d\d-\d\d) (?:and|to|through|until|-) (?P<d2>20\d\d-\d\d-\d\d)",
            |c, _| {
                let start = NaiveDate::parse_from_str(c.name("d1")?.as_str(), "%Y-%m-%d").ok()?;
                let end = NaiveDate::parse_from_str(c.name("d2")?.as_str(), "%Y-%m-%d").ok()? + Duration::days(1);
                Some((Some(start), Some(end)))
            },
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
            r"(?:(?:in|during|for|of) )?(?:the )?(?:q(?P<q>[1-4])|(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th) quarter(?: of)?) (?P<y>20\d\d)",
            |c, _| {
                let q = match c.name("q") {
                    Some(q) => q.as_str().parse::<u32>().ok()?,
                    None => match c.name("qw")?.as_str() {
                        "first" | "1st" => 1,
                        "second" | "2nd" => 2,
                        "third" | "3rd" => 3,
                        _ => 4,
                    },
                };
                let start = month_start(year_of(c, "y")?, (q - 1) * 3 + 1);
                Some((Some(start), Some(add_months(start, 3))))
            },
        ),
        rule(r"(?:(?:in|during|for) )?(?P<y>20\d\d) q(?P<q>[1-4])", |c, _| {
            let start = month_start(year_of(c, "y")?, (c.name("q")?.as_str().parse::<u32>().ok()? - 1) * 3 + 1);
            Some((Some(start), Some(add_months(start, 3))))
        }),
        rule(r"since (?:the start of |the beginning of )?(?P<m>{MONTH})(?: of)? (?P<y>20\d\d)", |c, as_of| {
            Some((
                Some(month_start(year_of(c, "y")?, month_number(c.name("m")?.as_str())?)),
                Some(as_of + Duration::days(1)),
            ))
        }),
        rule(r"since (?P<d>20\d\d-\d\d-\d\d)", |c, as_of| {
            Some((
                Some(NaiveDate::parse_from_str(c.name("d")?.as_str(), "%Y-%m-%d").ok()?),
                Some(as_of + Duration::days(1)),
            ))
        }),
        rule(r"since (?:the start of |the beginning of )?(?P<y>20\d\d)", |c, as_of| {
            Some((Some(month_start(year_of(c, "y")?, 1)), Some(as_of + Duration::days(1))))
        }),
        rule(r"since (?P<m>{MONTH})", |c, as_of| {
            let m = month_number(c.name("m")?.as_str())?;
            let year = if m <= as_of.month() { as_of.year() } else { as_of.year() - 1 };
            Some((Some(month_start(year, m)), Some(as_of + Duration::days(1))))
        }),
        rule(r"(?:(?:on|for) )?(?P<m>{MONTH}) (?P<d>\d{1,2})(?:st|nd|rd|th)? (?P<y>20\d\d)", |c, _| {
            let day = NaiveDate::from_ymd_opt(
                year_of(c, "y")?,
                month_number(c.name("m")?.as_str())?,
                c.name("d")?.as_str().parse().ok()?,
            )?;
            Some((Some(day), Some(day + Duration::days(1))))
        }),
        rule(r"(?:(?:on|for) )?(?P<date>20\d\d-\d\d-\d\d)", |c, _| {
            let day = NaiveDate::parse_from_str(c.name("date")?.as_str(), "%Y-%m-%d").ok()?;
            Some((Some(day), Some(day + Duration::days(1))))
        }),
        rule(r"(?:(?:in|during|for|of) )?(?P<m>{MONTH})(?: of)? (?P<y>20\d\d)", |c, _| {
            let start = month_start(year_of(c, "y")?, month_number(c.name("m")?.as_str())?);
            Some((Some(start), Some(add_months(start, 1))))
        }),
        rule(r"before (?P<m>{MONTH}) (?P<y>20\d\d)", |c, _| {
            Some((None, Some(month_start(year_of(c, "y")?, month_number(c.name("m")?.as_str())?))))
        }),
        rule(r"before (?P<y>20\d\d)", |c, _| Some((None, Some(month_start(year_of(c, "y")?, 1))))),
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
        rule(
            r"(?:in|during) (?P<m>january|february|march|april|june|july|august|september|october|november|december)",
            |c, as_of| {
                let m = month_number(c.name("m")?.as_str())?;
                let year = if m <= as_of.month() { as_of.year() } else { as_of.year() - 1 };
                let start = month_start(year, m);
                Some((Some(start), Some(add_months(start, 1))))
            },
        ),
    ]
});

static GRAIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:by|per|each|every|a|for each|for every|on a|on an) (?P<g1>day|week|month|quarter|year|date)|(?P<g2>daily|weekly|monthly|quarterly|yearly|dau|wau|mau)|(?P<g3>day|week|month|quarter|year) (?:by|over|on) (?:day|week|month|quarter|year)|(?P<g4>wow|mom|qoq|yoy))\b")
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
];

/// Words after which a four-digit number is a quantity.
const QUANTITY_WORDS: &[&str] = &[
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

/// Finds the time range, grain and trend words of a normalized question.
pub fn extract_time(normalized: &str, as_of: NaiveDate) -> TimeFindings {
    let mut rest = normalized.to_string();
    let mut findings = TimeFindings::default();
    for rule in RULES.iter() {
        if findings.range.is_some() {
            break;
        }
        let found = rule.re.captures(&rest).and_then(|caps| {
            let whole = caps.get(0)?;
            // "more than 2000 seats" is a quantity, not a year.
            let before = rest[..whole.start()].split_whitespace().last().unwrap_or_default();
            if whole.as_str().len() == 4 && QUANTITY_WORDS.contains(&before) {
                return None;
            }
            let (start, end) = (rule.resolve)(&caps, as_of)?;
            Some((whole.start(), whole.end(), start, end, whole.as_str().to_string()))
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
            let after: Vec<&str> = rest[whole.end()..].split_whitespace().take(2).collect();
            if after.iter().any(|w| BILLING_NOUNS.contains(w)) {
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
}
