//! Turning source table and column names into plain SQL identifiers.
//!
//! DataFusion lower-cases unquoted identifiers, while SQLite compares them without regard to
//! case; lower-casing every name lets queries written for SQLite (`SELECT Name FROM Singer`)
//! run unquoted. Anything else that would need quoting becomes `_`.
use std::collections::HashSet;

/// `name` as a plain identifier `[a-z_][a-z0-9_]*`: ASCII letters lower-cased, runs of other
/// characters collapsed into one `_` (dropped at either end), a leading digit prefixed with
/// `_`. Returns `fallback` when nothing usable is left.
pub(crate) fn normalize(name: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_separator = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if pending_separator && !out.is_empty() && !out.ends_with('_') && c != '_' {
                out.push('_');
            }
            pending_separator = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_separator = true;
        }
    }
    if out.is_empty() {
        return fallback.to_string();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Hands out unique identifiers: a name already taken gets `_2`, `_3`, ... appended.
#[derive(Debug, Default)]
pub(crate) struct NameAllocator {
    taken: HashSet<String>,
}

impl NameAllocator {
    /// A unique plain identifier for `original`; `fallback` is used when the name has no
    /// usable characters at all.
    pub(crate) fn allocate(&mut self, original: &str, fallback: &str) -> String {
        let base = normalize(original, fallback);
        let mut candidate = base.clone();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

/// A rename note fragment: ``"`Home Town` -> home_town"``.
pub(crate) fn rename(original: &str, name: &str) -> String {
    format!("`{original}` -> {name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::is_plain_identifier;

    #[test]
    fn normalizes_like_an_unquoted_identifier() {
        assert_eq!(normalize("Home Town", "c"), "home_town");
        assert_eq!(normalize("SingerID", "c"), "singerid");
        assert_eq!(normalize("Price ($)", "c"), "price");
        assert_eq!(normalize("a - b", "c"), "a_b");
        assert_eq!(normalize("2019 sales", "c"), "_2019_sales");
        assert_eq!(normalize("__private", "c"), "__private");
        assert_eq!(normalize("snake_case", "c"), "snake_case");
        assert_eq!(normalize("x_ y", "c"), "x_y");
        assert_eq!(normalize("Größe", "c"), "gr_e");
        assert_eq!(normalize("\u{feff}id", "c"), "id");
        assert_eq!(normalize("$$", "column_3"), "column_3");
        for name in ["Home Town", "2019", "Größe", "%", "a__b", "_"] {
            assert!(is_plain_identifier(&normalize(name, "c")), "{name}");
        }
    }

    #[test]
    fn allocator_dedupes_in_order() {
        let mut names = NameAllocator::default();
        assert_eq!(names.allocate("Name", "c"), "name");
        assert_eq!(names.allocate("name ", "c"), "name_2");
        assert_eq!(names.allocate("NAME", "c"), "name_3");
        assert_eq!(names.allocate("name_2", "c"), "name_2_2");
        assert_eq!(names.allocate("", "column_5"), "column_5");
    }
}
