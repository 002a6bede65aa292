//! The tables a query may read and which of their columns are personal data.

use std::collections::{BTreeMap, BTreeSet};

/// The queryable tables, their columns, and which columns hold personal data.
///
/// Table and column names are stored as given, and should be spelled the way DataFusion registers
/// them (lower case for the demo warehouse): an unquoted identifier in SQL matches a name after
/// lower-casing, a quoted one must match exactly. Personal-data marks are matched
/// case-insensitively, so that `"EMAIL"` or `Email` is refused like `email`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Table name -> its columns, in schema order.
    tables: BTreeMap<String, Vec<String>>,
    /// Lower-cased table name -> lower-cased personal column names. Kept apart from `tables` so a
    /// mark made before `add_table`, or for a column not listed, still protects the column.
    personal: BTreeMap<String, BTreeSet<String>>,
    /// Lower-cased table name -> its lower-cased primary key columns: the dialect normalization
    /// reads functional dependence from them.
    primary_keys: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// An empty catalog: every table is unknown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a table (or replaces its column list). Personal marks already made stay in force.
    pub fn add_table(&mut self, table: &str, columns: &[&str]) {
        self.tables.insert(table.to_string(), columns.iter().map(|c| c.to_string()).collect());
    }

    /// Marks `table.column` as personal data, which no query may reference. Marking a column that is
    /// not listed (or a table not added yet) still takes effect: it errs on the side of refusing.
    pub fn mark_personal(&mut self, table: &str, column: &str) {
        self.personal.entry(table.to_lowercase()).or_default().insert(column.to_lowercase());
    }

    /// Records the primary key of `table` (names compared ignoring case). A table without one
    /// has no key: no column is taken to determine the others.
    pub fn set_primary_key(&mut self, table: &str, columns: &[&str]) {
        if columns.is_empty() {
            self.primary_keys.remove(&table.to_lowercase());
        } else {
            self.primary_keys.insert(table.to_lowercase(), columns.iter().map(|c| c.to_lowercase()).collect());
        }
    }

    /// The primary key columns of `table` (compared ignoring case), lower-cased; empty when it has none.
    pub fn primary_key(&self, table: &str) -> &[String] {
        self.primary_keys.get(&table.to_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// The table names, sorted.
    pub fn tables(&self) -> impl Iterator<Item = &str> + '_ {
        self.tables.keys().map(String::as_str)
    }

    /// The columns of `table` (exact name) in schema order, or `None` for an unknown table.
    pub fn columns(&self, table: &str) -> Option<&[String]> {
        self.tables.get(table).map(Vec::as_slice)
    }

    /// True if `table` (exact name) is in the catalog.
    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    /// True if `column` of `table` is personal data; both compared case-insensitively.
    pub fn is_personal(&self, table: &str, column: &str) -> bool {
        self.personal.get(&table.to_lowercase()).is_some_and(|cols| cols.contains(&column.to_lowercase()))
    }

    /// The personal columns of `table` (case-insensitive), lower-cased and sorted.
    pub fn personal_columns(&self, table: &str) -> Vec<String> {
        self.personal.get(&table.to_lowercase()).map(|cols| cols.iter().cloned().collect()).unwrap_or_default()
    }

    /// The non-personal columns of `table` (exact name) in schema order.
    pub fn public_columns(&self, table: &str) -> Vec<String> {
        self.columns(table)
            .unwrap_or_default()
            .iter()
            .filter(|column| !self.is_personal(table, column))
            .cloned()
            .collect()
    }

    /// The catalog table whose name equals `name` ignoring case, if exactly that spelling differs.
    pub(crate) fn table_ignoring_case(&self, name: &str) -> Option<&str> {
        self.tables.keys().find(|table| table.eq_ignore_ascii_case(name)).map(String::as_str)
    }

    /// True if `table` has `column`, both exact names.
    pub(crate) fn has_column(&self, table: &str, column: &str) -> bool {
        self.columns(table).is_some_and(|columns| columns.iter().any(|c| c == column))
    }

    /// True if `name` is exactly a table or column name of the catalog.
    pub(crate) fn is_known_name(&self, name: &str) -> bool {
        self.tables.iter().any(|(table, columns)| table == name || columns.iter().any(|c| c == name))
    }

    /// The table names, comma-separated, for error messages.
    pub(crate) fn table_list(&self) -> String {
        let names: Vec<&str> = self.tables().collect();
        if names.is_empty() { "(no tables are available)".to_string() } else { names.join(", ") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Catalog {
        let mut catalog = Catalog::new();
        catalog.add_table("users", &["user_id", "email", "full_name", "country"]);
        catalog.mark_personal("users", "email");
        catalog.mark_personal("USERS", "Full_Name");
        catalog
    }

    #[test]
    fn personal_marks_are_case_insensitive() {
        let catalog = users();
        assert!(catalog.is_personal("users", "EMAIL"));
        assert!(catalog.is_personal("Users", "full_name"));
        assert!(!catalog.is_personal("users", "country"));
        assert!(!catalog.is_personal("accounts", "email"));
        assert_eq!(catalog.personal_columns("users"), ["email", "full_name"]);
        assert_eq!(catalog.public_columns("users"), ["user_id", "country"]);
    }

    #[test]
    fn marks_made_before_the_table_is_added_still_apply() {
        let mut catalog = Catalog::new();
        catalog.mark_personal("people", "phone");
        catalog.add_table("people", &["id", "phone"]);
        assert!(catalog.is_personal("people", "phone"));
        assert_eq!(catalog.public_columns("people"), ["id"]);
    }

    #[test]
    fn lookups_distinguish_exact_and_case_insensitive_names() {
        let catalog = users();
        assert!(catalog.has_table("users"));
        assert!(!catalog.has_table("Users"));
        assert_eq!(catalog.table_ignoring_case("USERS"), Some("users"));
        assert!(catalog.has_column("users", "country"));
        assert!(!catalog.has_column("users", "Country"));
        assert!(catalog.is_known_name("full_name"));
        assert!(!catalog.is_known_name("accounts"));
        assert_eq!(catalog.tables().collect::<Vec<_>>(), ["users"]);
        assert_eq!(Catalog::new().table_list(), "(no tables are available)");
    }

    #[test]
    fn primary_keys_are_kept_lower_cased_and_can_be_cleared() {
        let mut catalog = users();
        assert!(catalog.primary_key("users").is_empty());
        catalog.set_primary_key("Users", &["User_ID"]);
        assert_eq!(catalog.primary_key("USERS"), ["user_id"]);
        catalog.set_primary_key("users", &[]);
        assert!(catalog.primary_key("users").is_empty());
    }
}
