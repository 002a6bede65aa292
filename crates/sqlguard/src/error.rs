//! Why a query was refused.

/// Result type of this crate.
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Why [`SqlPolicy::check`](crate::SqlPolicy::check) refused a query.
///
/// Every variant except [`PolicyError::Internal`] describes a problem with the submitted SQL. Its
/// message says what was wrong and what to write instead, so it can be shown to a person and fed
/// back to a model as a repair hint unchanged. [`PolicyError::kind`] gives a stable code per
/// variant for logs, metrics and API error bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The input holds no statement at all (empty, whitespace or comments only).
    #[error("the query is empty; write one SELECT statement")]
    EmptyQuery,

    /// The input is longer than the policy accepts.
    #[error(
        "the query is {len} bytes long, more than the {max} bytes allowed; write a shorter query \
         (aggregate in SQL instead of listing values)"
    )]
    QueryTooLong {
        /// Length of the submitted SQL in bytes.
        len: usize,
        /// The largest accepted length in bytes.
        max: usize,
    },

    /// Expressions nest deeper than the policy accepts (e.g. a chain of thousands of `OR`s).
    #[error(
        "expressions in the query nest {depth} levels deep, more than the {max} allowed; replace long chains of \
         AND/OR/+ with IN (...) lists, CASE or a CTE"
    )]
    QueryTooComplex {
        /// The deepest expression nesting found.
        depth: usize,
        /// The deepest nesting accepted.
        max: usize,
    },

    /// The query combines more parts than the policy accepts: set operations (`UNION`,
    /// `INTERSECT`, `EXCEPT`), or relations (tables, derived tables, joins and CTEs). Planning
    /// recurses once or more per part, and a chain of hundreds of them exhausted the stack of the
    /// thread planning it, which aborts the process.
    #[error("the query has {count} {parts}, more than the {max} allowed; {hint}")]
    QueryTooLarge {
        /// What was counted, e.g. `set operations (UNION, INTERSECT, EXCEPT)`.
        parts: String,
        /// How many the query has.
        count: usize,
        /// The most accepted.
        max: usize,
        /// What to write instead.
        hint: String,
    },

    /// The SQL does not parse.
    #[error("the SQL does not parse: {message}; write a single valid SELECT statement")]
    Parse {
        /// The parser's explanation, with its line and column.
        message: String,
    },

    /// More than one statement was submitted (`;`-separated).
    #[error("found {count} statements separated by `;`; send exactly one SELECT query and nothing after it")]
    MultipleStatements {
        /// How many statements the input holds.
        count: usize,
    },

    /// The statement is not a read-only query (DDL, DML, COPY, SET, EXPLAIN, transactions, ...).
    #[error(
        "{statement} statements are not allowed: only read-only queries run here; write one SELECT (optionally \
         with WITH, subqueries or UNION/INTERSECT/EXCEPT) that answers the question"
    )]
    StatementNotAllowed {
        /// The kind of statement that was found, e.g. `DROP TABLE` or `SELECT ... INTO`.
        statement: String,
    },

    /// `WITH RECURSIVE` or another recursive construct.
    #[error(
        "{construct} is not allowed (recursive queries can run without bound); rewrite it without recursion, \
         e.g. with a plain WITH, joins or window functions"
    )]
    RecursiveQuery {
        /// The recursive construct that was found.
        construct: String,
    },

    /// A table that is not in the catalog (and not a CTE in scope).
    #[error("table {name} does not exist; {hint}")]
    UnknownTable {
        /// The table name as written.
        name: String,
        /// What to write instead.
        hint: String,
    },

    /// A CTE named like a catalog table, which would make the name mean two things.
    #[error(
        "the CTE name {name} is also the name of a warehouse table; rename the CTE (e.g. {name}_cte) so \
         every name refers to one thing"
    )]
    CteShadowsTable {
        /// The CTE name as written.
        name: String,
    },

    /// A file path or URL used as a table, or a file-reading table function.
    #[error("reading files or URLs is not allowed ({source_text}); query the warehouse tables: {available}")]
    FileAccess {
        /// The path, URL or function call as written.
        source_text: String,
        /// The tables that can be queried, comma-separated.
        available: String,
    },

    /// A table function in FROM (generate_series, range, unnest, ...) that is not allow-listed.
    #[error("table function {name}(...) is not allowed in FROM; query the warehouse tables instead: {available}")]
    TableFunction {
        /// The function name as written.
        name: String,
        /// The tables that can be queried, comma-separated.
        available: String,
    },

    /// information_schema, pg_catalog and other system catalogs.
    #[error("{name} is a system catalog and cannot be queried; query the warehouse tables: {available}")]
    SystemCatalog {
        /// The qualified name as written.
        name: String,
        /// The tables that can be queried, comma-separated.
        available: String,
    },

    /// A schema- or catalog-qualified table name outside the default schema.
    #[error(
        "{name} names a schema or catalog other than the default; write the bare table name \
         (e.g. {table}) or public.{table}"
    )]
    SchemaNotAllowed {
        /// The qualified name as written.
        name: String,
        /// The last part of the name, the table a user most likely meant.
        table: String,
    },

    /// A personal-data column referenced anywhere in the query.
    #[error(
        "column {table}.{column} ({clause}) is personal data and cannot be queried; remove it. Counts and \
         aggregates over {table} are allowed, e.g. COUNT(*) or COUNT(DISTINCT {example}); \
         other columns of {table}: {other_columns}"
    )]
    PersonalData {
        /// The catalog table that holds the column.
        table: String,
        /// The personal column.
        column: String,
        /// Where the reference was found, e.g. `in WHERE`.
        clause: String,
        /// A non-personal column of the table to suggest.
        example: String,
        /// The table's non-personal columns, comma-separated.
        other_columns: String,
    },

    /// `SELECT *` or `t.*` over a table with personal columns.
    #[error(
        "{wildcard} over {table} would return its personal data columns ({personal}); list the columns you need \
         instead, from: {other_columns}"
    )]
    PersonalDataWildcard {
        /// The wildcard as written, `*` or `u.*`.
        wildcard: String,
        /// The catalog table with personal columns.
        table: String,
        /// Its personal columns, comma-separated.
        personal: String,
        /// Its other columns, comma-separated.
        other_columns: String,
    },

    /// A whole-row reference (`SELECT u`, `to_json(u)`, `row(u.*)`) to a table with personal columns.
    #[error(
        "{reference} ({clause}) refers to whole rows of {table}, which include personal data ({personal}); \
         reference the columns you need one by one, from: {other_columns}"
    )]
    PersonalDataRow {
        /// The reference as written, e.g. `u` or `u.*`.
        reference: String,
        /// Where the reference was found.
        clause: String,
        /// The catalog table with personal columns.
        table: String,
        /// Its personal columns, comma-separated.
        personal: String,
        /// Its other columns, comma-separated.
        other_columns: String,
    },

    /// An identifier with non-ASCII or invisible characters that is not an exact catalog name.
    #[error(
        "identifier {escaped} contains {reason}; write table, column and alias names in plain ASCII, spelled \
         as in the schema (non-ASCII text belongs in 'string literals')"
    )]
    SuspiciousIdentifier {
        /// The identifier with every non-printable-ASCII character escaped as `\u{..}`.
        escaped: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A LIMIT, OFFSET or FETCH that cannot be enforced.
    #[error("{clause} {reason}; write {clause} with a non-negative integer literal (at most {max_limit} rows)")]
    InvalidLimit {
        /// `LIMIT`, `OFFSET` or `FETCH`.
        clause: String,
        /// What is wrong with it.
        reason: String,
        /// The largest row limit the policy allows.
        max_limit: u64,
    },

    /// Syntax the policy does not admit (dialect extensions DataFusion does not run, or that could bypass checks).
    #[error("{construct} is not supported; {hint}")]
    UnsupportedSyntax {
        /// The construct that was found.
        construct: String,
        /// What to write instead.
        hint: String,
    },

    /// A column beside an aggregate that is neither grouped, nor aggregated, nor determined by
    /// the grouped columns (through a primary key): each group could show any of its values.
    #[error(
        "column {column} ({clause}) is neither in GROUP BY nor inside an aggregate, and the grouped columns do not \
         determine it, so each group could show any of its values; add {column} to GROUP BY, or aggregate it \
         (e.g. MAX({column}) or COUNT(DISTINCT {column}))"
    )]
    UngroupedColumn {
        /// The column reference as written, e.g. `T1.name`.
        column: String,
        /// Where it was found, e.g. `in the select list`.
        clause: String,
    },

    /// A bug in the policy itself, not in the submitted SQL.
    #[error("internal error in the SQL policy: {message}")]
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl PolicyError {
    /// A stable snake_case code for this error, e.g. `personal_data`.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyError::EmptyQuery => "empty_query",
            PolicyError::QueryTooLong { .. } => "query_too_long",
            PolicyError::QueryTooComplex { .. } => "query_too_complex",
            PolicyError::QueryTooLarge { .. } => "query_too_large",
            PolicyError::Parse { .. } => "parse_error",
            PolicyError::MultipleStatements { .. } => "multiple_statements",
            PolicyError::StatementNotAllowed { .. } => "statement_not_allowed",
            PolicyError::RecursiveQuery { .. } => "recursive_query",
            PolicyError::UnknownTable { .. } => "unknown_table",
            PolicyError::CteShadowsTable { .. } => "cte_shadows_table",
            PolicyError::FileAccess { .. } => "file_access",
            PolicyError::TableFunction { .. } => "table_function",
            PolicyError::SystemCatalog { .. } => "system_catalog",
            PolicyError::SchemaNotAllowed { .. } => "schema_not_allowed",
            PolicyError::PersonalData { .. } => "personal_data",
            PolicyError::PersonalDataWildcard { .. } => "personal_data_wildcard",
            PolicyError::PersonalDataRow { .. } => "personal_data_row",
            PolicyError::SuspiciousIdentifier { .. } => "suspicious_identifier",
            PolicyError::InvalidLimit { .. } => "invalid_limit",
            PolicyError::UnsupportedSyntax { .. } => "unsupported_syntax",
            PolicyError::UngroupedColumn { .. } => "ungrouped_column",
            PolicyError::Internal { .. } => "internal",
        }
    }

    /// Every code [`PolicyError::kind`] can return, for exhaustiveness checks in tests and docs.
    pub const KINDS: &'static [&'static str] = &[
        "empty_query",
        "query_too_long",
        "query_too_complex",
        "query_too_large",
        "parse_error",
        "multiple_statements",
        "statement_not_allowed",
        "recursive_query",
        "unknown_table",
        "cte_shadows_table",
        "file_access",
        "table_function",
        "system_catalog",
        "schema_not_allowed",
        "personal_data",
        "personal_data_wildcard",
        "personal_data_row",
        "suspicious_identifier",
        "invalid_limit",
        "unsupported_syntax",
        "ungrouped_column",
        "internal",
    ];

    /// True when the error is a bug in the policy rather than a problem with the submitted SQL.
    pub fn is_internal(&self) -> bool {
        matches!(self, PolicyError::Internal { .. })
    }

    /// True when the error concerns personal data (a column, a wildcard or a whole-row reference).
    pub fn is_personal_data(&self) -> bool {
        matches!(
            self,
            PolicyError::PersonalData { .. }
                | PolicyError::PersonalDataWildcard { .. }
                | PolicyError::PersonalDataRow { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_distinct_snake_case_and_listed() {
        let samples = [
            PolicyError::EmptyQuery,
            PolicyError::QueryTooLong { len: 2, max: 1 },
            PolicyError::QueryTooComplex { depth: 2, max: 1 },
            PolicyError::QueryTooLarge { parts: "relations".into(), count: 2, max: 1, hint: "h".into() },
            PolicyError::Parse { message: "m".into() },
            PolicyError::MultipleStatements { count: 2 },
            PolicyError::StatementNotAllowed { statement: "DROP TABLE".into() },
            PolicyError::RecursiveQuery { construct: "WITH RECURSIVE".into() },
            PolicyError::UnknownTable { name: "t".into(), hint: "h".into() },
            PolicyError::CteShadowsTable { name: "users".into() },
            PolicyError::FileAccess { source_text: "'x'".into(), available: "a".into() },
            PolicyError::TableFunction { name: "range".into(), available: "a".into() },
            PolicyError::SystemCatalog { name: "pg_catalog.x".into(), available: "a".into() },
            PolicyError::SchemaNotAllowed { name: "s.t".into(), table: "t".into() },
            PolicyError::PersonalData {
                table: "t".into(),
                column: "c".into(),
                clause: "in WHERE".into(),
                example: "id".into(),
                other_columns: "id".into(),
            },
            PolicyError::PersonalDataWildcard {
                wildcard: "*".into(),
                table: "t".into(),
                personal: "c".into(),
                other_columns: "id".into(),
            },
            PolicyError::PersonalDataRow {
                reference: "t".into(),
                clause: "in the select list".into(),
                table: "t".into(),
                personal: "c".into(),
                other_columns: "id".into(),
            },
            PolicyError::SuspiciousIdentifier { escaped: "x".into(), reason: "r".into() },
            PolicyError::InvalidLimit { clause: "LIMIT".into(), reason: "r".into(), max_limit: 1 },
            PolicyError::UnsupportedSyntax { construct: "TOP".into(), hint: "h".into() },
            PolicyError::UngroupedColumn { column: "t.c".into(), clause: "in the select list".into() },
            PolicyError::Internal { message: "m".into() },
        ];
        let kinds: Vec<&str> = samples.iter().map(PolicyError::kind).collect();
        assert_eq!(kinds, PolicyError::KINDS);
        for kind in kinds {
            assert!(kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{kind}");
        }
        assert_eq!(samples.iter().filter(|e| e.is_internal()).count(), 1);
        assert_eq!(samples.iter().filter(|e| e.is_personal_data()).count(), 3);
    }
}
