//! Reading one source value into one Arrow type: text classification, type choice
//! bookkeeping and the column builders shared by the CSV and SQLite importers.
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};

/// The timestamp type every imported date-time column gets.
pub(crate) const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// Integers beyond this magnitude are not exactly representable as `f64`.
const F64_EXACT_INT: i64 = 1 << 53;

/// Strings that stand for a missing value in exported data. Only consulted when a column is
/// otherwise numeric, boolean or temporal; in a text column they stay text.
const NULL_TOKENS: [&str; 7] = ["null", "none", "nil", "na", "n/a", "nan", "#n/a"];

/// MySQL-style "zero dates" that stand for a missing date.
const ZERO_DATES: [&str; 3] = ["0000-00-00", "0000-00-00 00:00:00", "0000-00-00T00:00:00"];

/// One value as read from a source, before it is given an Arrow type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What a text value looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TextClass {
    /// Empty, `null`, `N/A`, a zero date...: a missing value written as text.
    NullToken,
    Bool(bool),
    Int(i64),
    /// Digits with a leading zero (`007`, `02134`): an identifier or code, not a number.
    ZeroPadded,
    Float(f64),
    Date(NaiveDate),
    /// A date and time; `offset_seconds` is set when the text carried a UTC offset, which
    /// has already been applied (the value is UTC).
    Timestamp {
        value: NaiveDateTime,
        offset_seconds: Option<i32>,
    },
    Other,
}

impl TextClass {
    pub(crate) fn of(text: &str) -> Self {
        let s = text.trim();
        if s.is_empty() || NULL_TOKENS.iter().any(|t| s.eq_ignore_ascii_case(t)) || ZERO_DATES.contains(&s) {
            return TextClass::NullToken;
        }
        if s.eq_ignore_ascii_case("true") {
            return TextClass::Bool(true);
        }
        if s.eq_ignore_ascii_case("false") {
            return TextClass::Bool(false);
        }
        if let Some(class) = classify_number(s) {
            return class;
        }
        if let Some(date) = parse_date(s) {
            return TextClass::Date(date);
        }
        if let Some((value, offset_seconds)) = parse_timestamp(s) {
            return TextClass::Timestamp { value, offset_seconds };
        }
        TextClass::Other
    }
}

fn classify_number(s: &str) -> Option<TextClass> {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if unsigned.is_empty() {
        return None;
    }
    if unsigned.bytes().all(|b| b.is_ascii_digit()) {
        if unsigned.len() > 1 && unsigned.starts_with('0') {
            return Some(TextClass::ZeroPadded);
        }
        // Too large for i64: a long identifier, kept as text rather than rounded.
        return Some(s.parse::<i64>().map(TextClass::Int).unwrap_or(TextClass::Other));
    }
    // Decimal syntax only: Rust's parser also takes "inf" and "NaN", which are not numbers
    // anyone writes on purpose in a data export.
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(whole) && fraction.is_none_or(digits) && (whole.len() + fraction.map_or(0, str::len)) > 0;
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if mantissa_ok && exponent_ok && (fraction.is_some() || exponent.is_some()) {
        return s.parse::<f64>().ok().filter(|v| v.is_finite()).map(TextClass::Float);
    }
    None
}

/// `YYYY-MM-DD`, strictly.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `YYYY-MM-DD HH:MM[:SS[.fraction]]` with `T` or a space between date and time, optionally
/// followed by `Z` or a UTC offset, in which case the value is converted to UTC.
pub(crate) fn parse_timestamp(s: &str) -> Option<(NaiveDateTime, Option<i32>)> {
    if s.len() < 16 || !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let date = parse_date(&s[..10])?;
    let rest = &s[11..];
    // The time part ends where a zone designator starts.
    let zone_at = rest.find(['Z', 'z', '+', '-']);
    let (time_text, zone) = match zone_at {
        Some(at) => (rest[..at].trim_end(), Some(rest[at..].trim())),
        None => (rest, None),
    };
    let time = parse_time(time_text)?;
    let naive = date.and_time(time);
    match zone {
        None => Some((naive, None)),
        Some(z) if z.eq_ignore_ascii_case("z") => Some((naive, Some(0))),
        Some(z) => {
            let offset = parse_offset(z)?;
            let utc = naive.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(offset)))?;
            Some((utc, Some(offset)))
        }
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    let hm = b.len() >= 5 && b[2] == b':' && b[..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit);
    if !hm {
        return None;
    }
    match b.len() {
        5 => NaiveTime::parse_from_str(s, "%H:%M").ok(),
        8 => NaiveTime::parse_from_str(s, "%H:%M:%S").ok(),
        n if n > 9 && b[8] == b'.' => NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok(),
        _ => None,
    }
}

/// `+HH:MM`, `+HHMM` or `+HH`, returned in seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 2 || digits.len() == 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
}

pub(crate) fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    // NaiveDate spans about ±262,000 years, well inside i32 days.
    (date - epoch).num_days() as i32
}

pub(crate) fn micros_since_epoch(value: NaiveDateTime) -> i64 {
    // NaiveDateTime spans about ±262,000 years; i64 microseconds reach ±292,000.
    value.and_utc().timestamp_micros()
}

/// How many values of each kind a column holds; gathered before its type is chosen.
#[derive(Debug, Default, Clone)]
pub(crate) struct ColumnProfile {
    pub nulls: u64,
    pub ints: u64,
    /// Integers that are neither 0 nor 1.
    pub ints_not_01: u64,
    pub reals: u64,
    pub blobs: u64,
    pub null_tokens: u64,
    /// Texts that are the word `null` in any case: in a text column they are kept, but
    /// whoever queries it should know.
    pub null_strings: u64,
    pub text_bools: u64,
    pub text_ints: u64,
    pub text_zero_padded: u64,
    pub text_floats: u64,
    pub text_dates: u64,
    /// Date-times whose time of day is not midnight.
    pub text_timestamps: u64,
    /// Date-times at exactly midnight, which read equally well as dates.
    pub text_midnights: u64,
    pub text_other: u64,
    /// First value seen of each kind, formatted for notes (text quoted).
    pub example_int: Option<String>,
    pub example_real: Option<String>,
    pub example_blob: Option<String>,
    pub example_text_other: Option<String>,
    pub example_zero_padded: Option<String>,
    pub example_null_token: Option<String>,
    pub example_null_string: Option<String>,
    pub example_text_temporal: Option<String>,
    pub example_text_bool: Option<String>,
}

impl ColumnProfile {
    pub(crate) fn observe(&mut self, cell: Cell<'_>) {
        match cell {
            Cell::Null => self.nulls += 1,
            Cell::Int(v) => {
                self.ints += 1;
                if v != 0 && v != 1 {
                    self.ints_not_01 += 1;
                }
                self.example_int.get_or_insert_with(|| v.to_string());
            }
            Cell::Real(v) => {
                self.reals += 1;
                self.example_real.get_or_insert_with(|| render_real(v));
            }
            Cell::Blob(b) => {
                self.blobs += 1;
                self.example_blob.get_or_insert_with(|| render_blob(b));
            }
            Cell::Text(t) => {
                let example = match TextClass::of(t) {
                    TextClass::NullToken => {
                        self.null_tokens += 1;
                        if t.trim().eq_ignore_ascii_case("null") {
                            self.null_strings += 1;
                            self.example_null_string.get_or_insert_with(|| quote(t));
                        }
                        &mut self.example_null_token
                    }
                    TextClass::Bool(_) => {
                        self.text_bools += 1;
                        &mut self.example_text_bool
                    }
                    TextClass::Int(_) => {
                        self.text_ints += 1;
                        &mut self.example_text_other
                    }
                    TextClass::ZeroPadded => {
                        self.text_zero_padded += 1;
                        &mut self.example_zero_padded
                    }
                    TextClass::Float(_) => {
                        self.text_floats += 1;
                        &mut self.example_text_other
                    }
                    TextClass::Date(_) => {
                        self.text_dates += 1;
                        &mut self.example_text_temporal
                    }
                    TextClass::Timestamp { value, .. } => {
                        if value.time() == NaiveTime::MIN {
                            self.text_midnights += 1;
                        } else {
                            self.text_timestamps += 1;
                        }
                        &mut self.example_text_temporal
                    }
                    TextClass::Other => {
                        self.text_other += 1;
                        &mut self.example_text_other
                    }
                };
                example.get_or_insert_with(|| quote(t));
            }
        }
    }

    /// Non-null values (null tokens count as values here).
    pub(crate) fn values(&self) -> u64 {
        self.ints + self.reals + self.blobs + self.texts()
    }

    pub(crate) fn texts(&self) -> u64 {
        self.null_tokens
            + self.text_bools
            + self.text_ints
            + self.text_zero_padded
            + self.text_floats
            + self.text_dates
            + self.text_timestamps
            + self.text_midnights
            + self.text_other
    }

    /// Values that are neither null tokens nor readable as a number.
    pub(crate) fn non_numeric(&self) -> u64 {
        self.blobs
            + self.text_bools
            + self.text_zero_padded
            + self.text_dates
            + self.text_timestamps
            + self.text_midnights
            + self.text_other
    }

    pub(crate) fn text_temporals(&self) -> u64 {
        self.text_dates + self.text_timestamps + self.text_midnights
    }

    /// The first non-numeric value, formatted for notes.
    pub(crate) fn example_non_numeric(&self) -> String {
        let text_other = self.example_text_other.as_ref().filter(|_| self.text_other > 0);
        text_other
            .or(self.example_zero_padded.as_ref())
            .or(self.example_text_temporal.as_ref())
            .or(self.example_text_bool.as_ref())
            .or(self.example_blob.as_ref())
            .cloned()
            .unwrap_or_default()
    }
}

/// Why values were changed on the way in; one counter per kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// A null token (empty string, `null`, zero date...) read as NULL.
    NullTokenToNull,
    /// A value that the chosen type cannot hold, read as NULL.
    UnreadableToNull,
    /// A text value read as a number (SQLite only: CSV values are all text).
    TextToNumber,
    /// An integer stored as a float.
    IntToFloat,
    /// An integer beyond ±2^53 stored as a float, losing precision.
    IntToFloatInexact,
    /// A whole real number stored as an integer.
    WholeRealToInt,
    TextToBool,
    IntToBool,
    TextToDate,
    /// A date-time at midnight read as a date.
    MidnightToDate,
    TextToTimestamp,
    /// A date read as midnight of that day.
    DateToTimestamp,
    /// A date-time with a UTC offset converted to UTC.
    OffsetToUtc,
    /// Sub-microsecond digits dropped.
    TruncatedToMicros,
    NumberToText,
    BlobToText,
    /// A blob that is not UTF-8, written as hex.
    BlobToHex,
    /// Text that was not valid UTF-8, read with replacement characters.
    InvalidUtf8,
}

impl Change {
    fn describe(self) -> &'static str {
        match self {
            Change::NullTokenToNull => "empty or null-like values read as NULL",
            Change::UnreadableToNull => "values the type cannot hold read as NULL",
            Change::TextToNumber => "text values read as numbers",
            Change::IntToFloat => "integers stored as Float64",
            Change::IntToFloatInexact => "integers beyond ±2^53 stored as Float64 with rounding",
            Change::WholeRealToInt => "whole reals stored as Int64",
            Change::TextToBool => "text values read as booleans",
            Change::IntToBool => "0/1 integers read as booleans",
            Change::TextToDate => "text values parsed as dates",
            Change::MidnightToDate => "midnight date-times read as dates",
            Change::TextToTimestamp => "text values parsed as timestamps",
            Change::DateToTimestamp => "dates read as midnight timestamps",
            Change::OffsetToUtc => "date-times with a UTC offset converted to UTC",
            Change::TruncatedToMicros => "date-times truncated to microseconds",
            Change::NumberToText => "numbers stored as text",
            Change::BlobToText => "UTF-8 blobs stored as text",
            Change::BlobToHex => "non-UTF-8 blobs stored as hex text",
            Change::InvalidUtf8 => "texts with invalid UTF-8 read with replacement characters",
        }
    }
}

/// Counts of each [`Change`] with the first value it happened to.
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    counts: Vec<(Change, u64, String)>,
}

impl Changes {
    fn record(&mut self, change: Change, example: impl FnOnce() -> String) {
        match self.counts.iter_mut().find(|(c, _, _)| *c == change) {
            Some((_, n, _)) => *n += 1,
            None => self.counts.push((change, 1, example())),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Values that held something in the source and were read as NULL.
    pub(crate) fn nulled(&self) -> u64 {
        let nulled = |c: &Change| matches!(c, Change::NullTokenToNull | Change::UnreadableToNull);
        self.counts.iter().filter(|(c, _, _)| nulled(c)).map(|(_, n, _)| n).sum()
    }

    /// One clause per kind of change, e.g. `empty or null-like values read as NULL: 3 (e.g. 'null')`.
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        for (i, (change, n, example)) in self.counts.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            let _ = write!(out, "{}: {n} (e.g. {example})", change.describe());
        }
        out
    }
}

/// Quotes a text value for a note.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 40;
    let shown: String = text.chars().take(MAX).collect();
    let ellipsis = if text.chars().count() > MAX { "…" } else { "" };
    format!("'{}{ellipsis}'", shown.replace('\'', "''"))
}

/// How SQLite shows a real: whole numbers keep a `.0`.
pub(crate) fn render_real(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { format!("{v}") }
}

fn render_blob(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(text) => format!("blob {}", quote(text)),
        Err(_) => format!("blob x'{}'", hex(&b[..b.len().min(16)])),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Builds one Arrow column of a chosen type from [`Cell`]s, counting every change it makes.
pub(crate) struct ColumnBuilder {
    target: Target,
    /// When the source only has text (CSV), parsing text is the normal path, not a change.
    text_is_native: bool,
    pub changes: Changes,
}

enum Target {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Text(StringBuilder),
    Binary(BinaryBuilder),
}

impl ColumnBuilder {
    /// A builder for `data_type`, which must be one of the types the importers choose.
    pub(crate) fn new(data_type: &DataType, text_is_native: bool) -> Self {
        let target = match data_type {
            DataType::Boolean => Target::Bool(BooleanBuilder::new()),
            DataType::Int64 => Target::Int(Int64Builder::new()),
            DataType::Float64 => Target::Float(Float64Builder::new()),
            DataType::Date32 => Target::Date(Date32Builder::new()),
            DataType::Timestamp(TimeUnit::Microsecond, None) => Target::Timestamp(TimestampMicrosecondBuilder::new()),
            DataType::Binary => Target::Binary(BinaryBuilder::new()),
            _ => Target::Text(StringBuilder::new()),
        };
        Self { target, text_is_native, changes: Changes::default() }
    }

    /// Finishes the values pushed since the last call into an array.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        match &mut self.target {
            Target::Bool(b) => Arc::new(b.finish()),
            Target::Int(b) => Arc::new(b.finish()),
            Target::Float(b) => Arc::new(b.finish()),
            Target::Date(b) => Arc::new(b.finish()),
            Target::Timestamp(b) => Arc::new(b.finish()),
            Target::Text(b) => Arc::new(b.finish()),
            Target::Binary(b) => Arc::new(b.finish()),
        }
    }

    /// Appends a value that was not valid UTF-8 text, already decoded lossily.
    pub(crate) fn push_lossy_text(&mut self, text: &str) {
        self.changes.record(Change::InvalidUtf8, || quote(text));
        self.push(Cell::Text(text));
    }

    pub(crate) fn push(&mut self, cell: Cell<'_>) {
        let native = self.text_is_native;
        let changes = &mut self.changes;
        let class = match cell {
            Cell::Text(t) => Some(TextClass::of(t)),
            _ => None,
        };
        let example = || match cell {
            Cell::Null => "NULL".to_string(),
            Cell::Int(v) => v.to_string(),
            Cell::Real(v) => render_real(v),
            Cell::Text(t) => quote(t),
            Cell::Blob(b) => render_blob(b),
        };
        // Text the target type cannot read: a null token or something else.
        let unreadable = |changes: &mut Changes| {
            let change =
                if class == Some(TextClass::NullToken) { Change::NullTokenToNull } else { Change::UnreadableToNull };
            changes.record(change, example);
        };
        match &mut self.target {
            Target::Text(b) => match cell {
                Cell::Null => b.append_null(),
                Cell::Text(t) => b.append_value(t),
                Cell::Int(v) => {
                    changes.record(Change::NumberToText, example);
                    b.append_value(v.to_string());
                }
                Cell::Real(v) => {
                    changes.record(Change::NumberToText, example);
                    b.append_value(render_real(v));
                }
                Cell::Blob(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => {
                        changes.record(Change::BlobToText, example);
                        b.append_value(text);
                    }
                    Err(_) => {
                        changes.record(Change::BlobToHex, example);
                        b.append_value(hex(bytes));
                    }
                },
            },
            Target::Binary(b) => match cell {
                Cell::Null => b.append_null(),
                Cell::Blob(bytes) => b.append_value(bytes),
                _ => {
                    unreadable(changes);
                    b.append_null();
                }
            },
            Target::Int(b) => match (cell, class) {
                (Cell::Null, _) => b.append_null(),
                (Cell::Int(v), _) => b.append_value(v),
                (Cell::Real(v), _) if v.fract() == 0.0 && v.abs() < 9.2e18 => {
                    changes.record(Change::WholeRealToInt, example);
                    b.append_value(v as i64);
                }
                (_, Some(TextClass::Int(v))) => {
                    if !native {
                        changes.record(Change::TextToNumber, example);
                    }
                    b.append_value(v);
                }
                _ => {
                    unreadable(changes);
                    b.append_null();
                }
            },
            Target::Float(b) => match (cell, class) {
                (Cell::Null, _) => b.append_null(),
                (Cell::Real(v), _) => b.append_value(v),
                (Cell::Int(v), _) => {
                    let change = if v.abs() > F64_EXACT_INT { Change::IntToFloatInexact } else { Change::IntToFloat };
                    changes.record(change, example);
                    b.append_value(v as f64);
                }
                (_, Some(TextClass::Int(v))) => {
                    if !native {
                        changes.record(Change::TextToNumber, example);
                    } else if v.abs() > F64_EXACT_INT {
                        changes.record(Change::IntToFloatInexact, example);
                    }
                    b.append_value(v as f64);
                }
                (_, Some(TextClass::Float(v))) => {
                    if !native {
                        changes.record(Change::TextToNumber, example);
                    }
                    b.append_value(v);
                }
                _ => {
                    unreadable(changes);
                    b.append_null();
                }
            },
            Target::Bool(b) => match (cell, class) {
                (Cell::Null, _) => b.append_null(),
                (Cell::Int(v @ (0 | 1)), _) => {
                    changes.record(Change::IntToBool, example);
                    b.append_value(v == 1);
                }
                (_, Some(TextClass::Bool(v))) => {
                    if !native {
                        changes.record(Change::TextToBool, example);
                    }
                    b.append_value(v);
                }
                _ => {
                    unreadable(changes);
                    b.append_null();
                }
            },
            Target::Date(b) => match class {
                _ if matches!(cell, Cell::Null) => b.append_null(),
                Some(TextClass::Date(d)) => {
                    if !native {
                        changes.record(Change::TextToDate, example);
                    }
                    b.append_value(days_since_epoch(d));
                }
                Some(TextClass::Timestamp { value, offset_seconds: None }) if value.time() == NaiveTime::MIN => {
                    changes.record(Change::MidnightToDate, example);
                    b.append_value(days_since_epoch(value.date()));
                }
                _ => {
                    unreadable(changes);
                    b.append_null();
                }
            },
            Target::Timestamp(b) => match class {
                _ if matches!(cell, Cell::Null) => b.append_null(),
                Some(TextClass::Timestamp { value, offset_seconds }) => {
                    if !native {
                        changes.record(Change::TextToTimestamp, example);
                    }
                    if offset_seconds.is_some_and(|o| o != 0) {
                        changes.record(Change::OffsetToUtc, example);
                    }
                    if value.and_utc().timestamp_subsec_nanos() % 1000 != 0 {
                        changes.record(Change::TruncatedToMicros, example);
                    }
                    b.append_value(micros_since_epoch(value));
                }
                Some(TextClass::Date(d)) => {
                    changes.record(Change::DateToTimestamp, example);
                    b.append_value(micros_since_epoch(d.and_time(NaiveTime::MIN)));
                }
                _ => {
                    unreadable(changes);
                    b.append_null();
                }
            },
        }
    }
}

/// The latest calendar date a temporal value of `data_type` encodes, for `as_of`.
pub(crate) fn date_of(value: i64, data_type: &DataType) -> Option<NaiveDate> {
    let micros = match data_type {
        DataType::Date32 => {
            return NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::days(value));
        }
        DataType::Date64 => value.checked_mul(1000)?,
        DataType::Timestamp(TimeUnit::Second, _) => value.checked_mul(1_000_000)?,
        DataType::Timestamp(TimeUnit::Millisecond, _) => value.checked_mul(1000)?,
        DataType::Timestamp(TimeUnit::Microsecond, _) => value,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => value / 1000,
        _ => return None,
    };
    DateTime::from_timestamp_micros(micros).map(|t| t.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn classifies_numbers_strictly() {
        assert_eq!(TextClass::of("42"), TextClass::Int(42));
        assert_eq!(TextClass::of("-7"), TextClass::Int(-7));
        assert_eq!(TextClass::of(" 12 "), TextClass::Int(12));
        assert_eq!(TextClass::of("0"), TextClass::Int(0));
        assert_eq!(TextClass::of("007"), TextClass::ZeroPadded);
        assert_eq!(TextClass::of("3.25"), TextClass::Float(3.25));
        assert_eq!(TextClass::of(".5"), TextClass::Float(0.5));
        assert_eq!(TextClass::of("1e3"), TextClass::Float(1000.0));
        assert_eq!(TextClass::of("1.5E-2"), TextClass::Float(0.015));
        assert_eq!(TextClass::of("99999999999999999999"), TextClass::Other);
        assert_eq!(TextClass::of("inf"), TextClass::Other);
        assert_eq!(TextClass::of("1,000"), TextClass::Other);
        assert_eq!(TextClass::of("."), TextClass::Other);
        assert_eq!(TextClass::of("1e"), TextClass::Other);
        assert_eq!(TextClass::of("-"), TextClass::Other);
    }

    #[test]
    fn classifies_null_tokens_and_booleans() {
        for token in ["", "  ", "NULL", "null", "N/A", "NaN", "none", "0000-00-00"] {
            assert_eq!(TextClass::of(token), TextClass::NullToken, "{token:?}");
        }
        assert_eq!(TextClass::of("TRUE"), TextClass::Bool(true));
        assert_eq!(TextClass::of("false"), TextClass::Bool(false));
        assert_eq!(TextClass::of("T"), TextClass::Other);
    }

    #[test]
    fn parses_dates_and_timestamps() {
        assert_eq!(TextClass::of("2024-02-29"), TextClass::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()));
        assert_eq!(TextClass::of("2023-02-29"), TextClass::Other);
        assert_eq!(TextClass::of("2024-2-9"), TextClass::Other);
        let plain = TextClass::of("2018-03-09 19:03:21");
        assert_eq!(plain, TextClass::Timestamp { value: ts("2018-03-09 19:03:21"), offset_seconds: None });
        let t = TextClass::of("2018-03-09T19:03");
        assert_eq!(t, TextClass::Timestamp { value: ts("2018-03-09 19:03:00"), offset_seconds: None });
        let frac = TextClass::of("2018-03-09 19:03:21.123456");
        assert_eq!(frac, TextClass::Timestamp { value: ts("2018-03-09 19:03:21.123456"), offset_seconds: None });
        let zulu = TextClass::of("2018-03-09T19:03:21Z");
        assert_eq!(zulu, TextClass::Timestamp { value: ts("2018-03-09 19:03:21"), offset_seconds: Some(0) });
        let offset = TextClass::of("2018-03-09T19:03:21+02:00");
        assert_eq!(offset, TextClass::Timestamp { value: ts("2018-03-09 17:03:21"), offset_seconds: Some(7200) });
        let west = TextClass::of("2018-03-09 19:03:21-0500");
        assert_eq!(west, TextClass::Timestamp { value: ts("2018-03-10 00:03:21"), offset_seconds: Some(-18000) });
        assert_eq!(TextClass::of("2018-03-09 25:03:21"), TextClass::Other);
        assert_eq!(TextClass::of("2018-03-09 19:03:21 foo"), TextClass::Other);
        assert_eq!(TextClass::of("19:03:21"), TextClass::Other);
    }

    #[test]
    fn builder_counts_changes() {
        let mut b = ColumnBuilder::new(&DataType::Int64, false);
        for cell in [Cell::Int(1), Cell::Text("null"), Cell::Text("7"), Cell::Text(""), Cell::Null] {
            b.push(cell);
        }
        let array = b.finish();
        assert_eq!(array.len(), 5);
        assert_eq!(array.null_count(), 3);
        assert_eq!(b.changes.nulled(), 2);
        let text = b.changes.describe();
        assert!(text.contains("empty or null-like values read as NULL: 2 (e.g. 'null')"), "{text}");
        assert!(text.contains("text values read as numbers: 1 (e.g. '7')"), "{text}");
    }

    #[test]
    fn csv_text_parsing_is_not_a_change() {
        let mut b = ColumnBuilder::new(&TIMESTAMP, true);
        b.push(Cell::Text("2020-01-01 10:00:00"));
        b.push(Cell::Text("2020-01-02"));
        b.finish();
        assert_eq!(b.changes.describe(), "dates read as midnight timestamps: 1 (e.g. '2020-01-02')");
    }

    #[test]
    fn real_rendering_follows_sqlite() {
        assert_eq!(render_real(3.0), "3.0");
        assert_eq!(render_real(0.1), "0.1");
        assert_eq!(render_real(1e20), "100000000000000000000");
    }

    #[test]
    fn dates_of_temporal_values() {
        let d = NaiveDate::from_ymd_opt(2021, 6, 30).unwrap();
        assert_eq!(date_of(i64::from(days_since_epoch(d)), &DataType::Date32), Some(d));
        let t = micros_since_epoch(d.and_hms_opt(23, 59, 0).unwrap());
        assert_eq!(date_of(t, &TIMESTAMP), Some(d));
        assert_eq!(date_of(t / 1000, &DataType::Timestamp(TimeUnit::Millisecond, None)), Some(d));
        assert_eq!(date_of(1, &DataType::Int64), None);
    }
}
