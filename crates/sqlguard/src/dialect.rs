//! Dialect normalization: rewrites on the parsed tree that give the SQL people and models write
//! (SQLite's and PostgreSQL's habits) the meaning its author had when DataFusion runs it. Each
//! rewrite is recorded as a note for the answer and the audit.
//!
//! - A double-quoted token that names no column, table or output alias in scope is a string
//!   literal, as SQLite reads it (`WHERE name = "Angola"`).
//! - A column beside an aggregate that the grouped columns determine (through a primary key, or
//!   a join equality to one) is added to GROUP BY, which leaves the result unchanged
//!   (PostgreSQL's functional dependence); one they do not determine is refused with a repair
//!   hint instead of being given "any row's" value.
//! - Output columns with the same name get distinct aliases.
//! - Snapshots imported from SQLite keep SQLite's NULL ordering (NULLs first ascending, last
//!   descending) and case-insensitive LIKE.
//!
//! The rewrites run before the policy's checks, which then judge the rewritten tree: a rewrite
//! can never let through what the checks refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, GroupByExpr, Ident, JoinConstraint, JoinOperator, ObjectNamePart, OrderByExpr, OrderByKind, Query, Select,
    SelectItem, SetExpr, TableFactor, TableWithJoins, Value, VisitMut, VisitorMut,
};

use crate::catalog::Catalog;
use crate::error::PolicyError;

mod grouping;

/// How the source a snapshot was imported from orders NULLs and matches LIKE patterns; queries
/// written for that source keep its meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceSemantics {
    /// NULLs sort before every value ascending and after every value descending (SQLite);
    /// otherwise they sort as the largest value (DataFusion and PostgreSQL).
    pub nulls_sort_first: bool,
    /// LIKE ignores ASCII case (SQLite); otherwise it is case-sensitive.
    pub like_ignores_case: bool,
}

impl SourceSemantics {
    /// DataFusion's own semantics, shared by PostgreSQL, CSV and Parquet sources.
    pub const NATIVE: Self = Self { nulls_sort_first: false, like_ignores_case: false };
    /// SQLite's semantics.
    pub const SQLITE: Self = Self { nulls_sort_first: true, like_ignores_case: true };
}

/// What normalization changed, and the refusal it found, if any.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    /// One sentence per rewrite, in the order they were made, without repeats.
    pub notes: Vec<String>,
    /// A column that is neither grouped nor determined by the grouped columns: refused once the
    /// policy's own checks have passed (they come first: they concern safety, this one meaning).
    pub refusal: Option<PolicyError>,
}

/// Rewrites `query` in place (see the [module documentation](self)).
pub(crate) fn normalize(query: &mut Query, catalog: &Catalog, semantics: SourceSemantics) -> Normalized {
    let mut normalizer =
        Normalizer { catalog, semantics, frames: Vec::new(), ctes: Vec::new(), done: Normalized::default() };
    normalizer.query(query);
    normalizer.done
}

/// A relation of a FROM clause, as far as its columns are known.
#[derive(Debug, Clone)]
struct Relation {
    /// Alias or table name, lower-cased (SQLite compares names without regard to case).
    binding: String,
    /// The catalog table, for its primary key.
    table: Option<String>,
    /// Lower-cased column names; `None` when they cannot be known (table functions...).
    columns: Option<Vec<String>>,
}

/// The relations and output aliases of one SELECT.
#[derive(Debug, Default)]
struct Frame {
    relations: Vec<Relation>,
    aliases: BTreeSet<String>,
}

/// A column reference, resolved against the innermost frame.
#[derive(Debug, PartialEq)]
enum Resolved {
    /// `(binding, column)` of a relation of this SELECT.
    Column(String, String),
    /// A column of an enclosing query (a correlated reference): constant per row here.
    Outer,
    /// An output alias of this SELECT.
    Alias,
    /// Not decidable here (ambiguous, or a relation whose columns are unknown).
    Unknown,
}

struct Normalizer<'a> {
    catalog: &'a Catalog,
    semantics: SourceSemantics,
    /// Frames of the SELECTs being normalized, innermost last.
    frames: Vec<Frame>,
    /// CTEs visible per query level, innermost last: lower-cased name and output columns.
    ctes: Vec<Vec<(String, Option<Vec<String>>)>>,
    done: Normalized,
}

impl Normalizer<'_> {
    fn note(&mut self, note: String) {
        if !self.done.notes.contains(&note) {
            self.done.notes.push(note);
        }
    }

    /// Normalizes a query and returns its output column names, when known.
    fn query(&mut self, query: &mut Query) -> Option<Vec<String>> {
        self.ctes.push(Vec::new());
        if let Some(with) = &mut query.with {
            for cte in &mut with.cte_tables {
                let outputs = self.query(&mut cte.query);
                let columns = if cte.alias.columns.is_empty() {
                    outputs
                } else {
                    Some(cte.alias.columns.iter().map(|c| c.name.value.to_lowercase()).collect())
                };
                let name = cte.alias.name.value.to_lowercase();
                self.ctes.last_mut().expect("pushed above").push((name, columns));
            }
        }
        let order_by = match &mut query.order_by {
            Some(order_by) => match &mut order_by.kind {
                OrderByKind::Expressions(items) => Some(items),
                OrderByKind::All(_) => None,
            },
            None => None,
        };
        let outputs = match query.body.as_mut() {
            SetExpr::Select(select) => self.select(select, order_by),
            body => {
                let outputs = self.set_expr(body);
                if let Some(items) = order_by {
                    let aliases = outputs.iter().flatten().cloned().collect();
                    self.frames.push(Frame { relations: Vec::new(), aliases });
                    for item in items.iter_mut() {
                        self.expr(&mut item.expr);
                    }
                    self.frames.pop();
                }
                outputs
            }
        };
        if self.semantics.nulls_sort_first
            && let Some(order_by) = &mut query.order_by
            && let OrderByKind::Expressions(items) = &mut order_by.kind
        {
            let mut changed = false;
            for item in items.iter_mut().filter(|item| item.options.nulls_first.is_none()) {
                item.options.nulls_first = Some(item.options.asc != Some(false));
                changed = true;
            }
            if changed {
                self.note(
                    "ORDER BY puts NULLs first ascending and last descending, as SQLite (this snapshot's source) does"
                        .to_string(),
                );
            }
        }
        self.ctes.pop();
        outputs
    }

    fn set_expr(&mut self, body: &mut SetExpr) -> Option<Vec<String>> {
        match body {
            SetExpr::Select(select) => self.select(select, None),
            SetExpr::Query(query) => self.query(query),
            SetExpr::SetOperation { left, right, .. } => {
                let outputs = self.set_expr(left);
                self.set_expr(right);
                outputs
            }
            SetExpr::Values(values) => {
                self.frames.push(Frame::default());
                for row in &mut values.rows {
                    for expr in row.iter_mut() {
                        self.expr(expr);
                    }
                }
                self.frames.pop();
                None
            }
            _ => None,
        }
    }

    fn select(&mut self, select: &mut Select, mut order_by: Option<&mut Vec<OrderByExpr>>) -> Option<Vec<String>> {
        let mut frame = Frame::default();
        for table_with_joins in &mut select.from {
            self.bind_table_with_joins(table_with_joins, &mut frame.relations);
        }
        for item in &select.projection {
            if let SelectItem::ExprWithAlias { alias, .. } = item {
                frame.aliases.insert(alias.value.to_lowercase());
            }
        }
        self.frames.push(frame);

        for table_with_joins in &mut select.from {
            self.join_conditions(table_with_joins);
        }
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                self.expr(expr);
            }
        }
        if let Some(selection) = &mut select.selection {
            self.expr(selection);
        }
        if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
            for expr in exprs.iter_mut() {
                self.expr(expr);
            }
        }
        if let Some(having) = &mut select.having {
            self.expr(having);
        }
        if let Some(qualify) = &mut select.qualify {
            self.expr(qualify);
        }
        if let Some(items) = order_by.as_mut() {
            for item in items.iter_mut() {
                self.expr(&mut item.expr);
            }
        }
        self.group_by_dependents(select, order_by.as_deref());
        self.unique_output_names(select);
        let outputs = self.output_names(select);
        self.frames.pop();
        outputs
    }

    // ----- FROM ---------------------------------------------------------------------------------

    fn bind_table_with_joins(&mut self, table_with_joins: &mut TableWithJoins, out: &mut Vec<Relation>) {
        self.bind_factor(&mut table_with_joins.relation, out);
        for join in &mut table_with_joins.joins {
            self.bind_factor(&mut join.relation, out);
        }
    }

    fn bind_factor(&mut self, factor: &mut TableFactor, out: &mut Vec<Relation>) {
        match factor {
            TableFactor::Table { name, alias, args: None, .. } => {
                let Some(ObjectNamePart::Identifier(last)) = name.0.last() else {
                    out.push(unknown_relation(alias.as_ref().map(|a| &a.name)));
                    return;
                };
                let table_name = last.value.to_lowercase();
                let binding = alias.as_ref().map_or_else(|| table_name.clone(), |a| a.name.value.to_lowercase());
                let cte = (name.0.len() == 1)
                    .then(|| self.ctes.iter().rev().flatten().find(|(cte, _)| *cte == table_name))
                    .flatten();
                let (table, mut columns) = match cte {
                    Some((_, columns)) => (None, columns.clone()),
                    None => match self.catalog.table_ignoring_case(&table_name) {
                        Some(table) => (
                            Some(table.to_string()),
                            self.catalog
                                .columns(table)
                                .map(|columns| columns.iter().map(|c| c.to_lowercase()).collect()),
                        ),
                        None => (None, None),
                    },
                };
                if let Some(alias) = alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    columns = Some(alias.columns.iter().map(|c| c.name.value.to_lowercase()).collect());
                }
                out.push(Relation { binding, table, columns });
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let outputs = self.query(subquery);
                let binding = alias.as_ref().map(|a| a.name.value.to_lowercase()).unwrap_or_default();
                let columns = match alias.as_ref().filter(|a| !a.columns.is_empty()) {
                    Some(alias) => Some(alias.columns.iter().map(|c| c.name.value.to_lowercase()).collect()),
                    None => outputs,
                };
                out.push(Relation { binding, table: None, columns });
            }
            TableFactor::NestedJoin { table_with_joins, alias } => {
                let start = out.len();
                self.bind_table_with_joins(table_with_joins, out);
                if let Some(alias) = alias {
                    let binding = alias.name.value.to_lowercase();
                    let columns: Option<Vec<String>> =
                        out[start..].iter().map(|r| r.columns.clone()).collect::<Option<Vec<_>>>().map(|c| c.concat());
                    out.push(Relation { binding, table: None, columns });
                }
            }
            TableFactor::Table { alias, .. }
            | TableFactor::TableFunction { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::UNNEST { alias, .. } => out.push(unknown_relation(alias.as_ref().map(|a| &a.name))),
            _ => out.push(unknown_relation(None)),
        }
    }

    /// Normalizes the ON conditions of every join, nested joins included.
    fn join_conditions(&mut self, table_with_joins: &mut TableWithJoins) {
        if let TableFactor::NestedJoin { table_with_joins: inner, .. } = &mut table_with_joins.relation {
            self.join_conditions(inner);
        }
        for join in &mut table_with_joins.joins {
            if let TableFactor::NestedJoin { table_with_joins: inner, .. } = &mut join.relation {
                self.join_conditions(inner);
            }
            if let Some(JoinConstraint::On(on)) = join_constraint_mut(&mut join.join_operator) {
                self.expr(on);
            }
        }
    }

    // ----- expressions ----------------------------------------------------------------------------

    /// Rewrites an expression of the innermost frame; subqueries inside it are normalized in
    /// their own frames.
    fn expr(&mut self, expr: &mut Expr) {
        let mut rewriter = ExprRewriter { normalizer: self, subquery_depth: 0 };
        let _ = expr.visit(&mut rewriter);
    }

    /// True if a double-quoted `name` means something in scope: a column of a visible relation,
    /// a relation, or an output alias. Unknown columns count as a match: then it stays a name.
    fn names_something(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.frames.iter().any(|frame| {
            frame.aliases.contains(&name)
                || frame.relations.iter().any(|relation| {
                    relation.binding == name || relation.columns.as_ref().is_none_or(|columns| columns.contains(&name))
                })
        })
    }

    /// SQLite's rule: a double-quoted token is a string when it names nothing in scope. Tokens
    /// with look-alike or invisible characters, or spelling a qualified name of a relation
    /// (`"users.email"`), stay names: the checks refuse or resolve them as such.
    fn reads_as_string(&self, token: &str) -> bool {
        if !token.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return false;
        }
        if let Some((qualifier, _)) = token.split_once('.')
            && (self.names_something(qualifier) || self.catalog.table_ignoring_case(qualifier).is_some())
        {
            return false;
        }
        !self.names_something(token)
    }

    fn rewrite_expr(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Identifier(ident) if ident.quote_style == Some('"') && self.reads_as_string(&ident.value) => {
                let text = std::mem::take(&mut ident.value);
                self.note(format!(
                    "\"{text}\" names no column here, so it was read as the string '{text}' (SQLite's rule for \
                     double quotes; write strings in single quotes)"
                ));
                *expr = Expr::value(Value::SingleQuotedString(text));
            }
            Expr::Like { negated, any: false, expr: subject, pattern, escape_char }
                if self.semantics.like_ignores_case =>
            {
                *expr = Expr::ILike {
                    negated: *negated,
                    any: false,
                    expr: subject.clone(),
                    pattern: pattern.clone(),
                    escape_char: escape_char.clone(),
                };
                self.note("LIKE ignores case, as in SQLite (this snapshot's source): it runs as ILIKE".to_string());
            }
            _ => {}
        }
    }

    /// Resolves a column reference against the innermost frame.
    fn resolve(&self, expr: &Expr) -> Resolved {
        let Some(frame) = self.frames.last() else { return Resolved::Unknown };
        let outer = &self.frames[..self.frames.len() - 1];
        match expr {
            Expr::Identifier(ident) => {
                let column = ident.value.to_lowercase();
                let has = |r: &Relation| r.columns.as_ref().is_some_and(|c| c.contains(&column));
                let hits: Vec<&Relation> = frame.relations.iter().filter(|r| has(r)).collect();
                match hits.as_slice() {
                    [relation] => Resolved::Column(relation.binding.clone(), column),
                    [_, _, ..] => Resolved::Unknown,
                    [] if frame.relations.iter().any(|r| r.columns.is_none()) => Resolved::Unknown,
                    [] if frame.aliases.contains(&column) => Resolved::Alias,
                    [] if outer.iter().flat_map(|f| &f.relations).any(has) => Resolved::Outer,
                    [] => Resolved::Unknown,
                }
            }
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let binding = parts[0].value.to_lowercase();
                let column = parts[1].value.to_lowercase();
                match frame.relations.iter().find(|r| r.binding == binding) {
                    Some(relation) if relation.columns.as_ref().is_none_or(|c| c.contains(&column)) => {
                        Resolved::Column(binding, column)
                    }
                    Some(_) => Resolved::Unknown,
                    None if outer.iter().flat_map(|f| &f.relations).any(|r| r.binding == binding) => Resolved::Outer,
                    None => Resolved::Unknown,
                }
            }
            _ => Resolved::Unknown,
        }
    }

    // ----- output names -------------------------------------------------------------------------

    /// Gives distinct aliases to select items that would produce the same output column.
    fn unique_output_names(&mut self, select: &mut Select) {
        let mut taken: BTreeMap<String, usize> = BTreeMap::new();
        let mut renamed = Vec::new();
        for index in 0..select.projection.len() {
            let (key, name) = match &select.projection[index] {
                SelectItem::UnnamedExpr(expr) => match self.resolve(expr) {
                    Resolved::Column(binding, column) => (format!("{binding}.{column}"), column),
                    _ => (canonical(expr), expr_name(expr)),
                },
                SelectItem::ExprWithAlias { alias, .. } => (alias.value.to_lowercase(), alias.value.clone()),
                _ => continue,
            };
            let seen = taken.entry(key).or_insert(0);
            *seen += 1;
            if *seen == 1 {
                continue;
            }
            let alias = format!("{name}_{seen}");
            let item = std::mem::replace(&mut select.projection[index], SelectItem::Wildcard(Default::default()));
            let expr = match item {
                SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
                other => unreachable!("only expressions are renamed, not {other}"),
            };
            select.projection[index] = SelectItem::ExprWithAlias { expr, alias: alias_ident(&alias) };
            renamed.push(alias);
        }
        if !renamed.is_empty() {
            self.note(format!("output columns with the same name were given distinct names: {}", renamed.join(", ")));
        }
    }

    /// Output column names of a SELECT (lower-cased), when every item's can be known.
    fn output_names(&self, select: &Select) -> Option<Vec<String>> {
        let frame = self.frames.last()?;
        let mut names = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => names.push(alias.value.to_lowercase()),
                SelectItem::UnnamedExpr(Expr::Identifier(ident)) => names.push(ident.value.to_lowercase()),
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                    names.push(parts.last()?.value.to_lowercase())
                }
                SelectItem::UnnamedExpr(expr) => names.push(canonical(expr)),
                SelectItem::Wildcard(_) => {
                    for relation in &frame.relations {
                        names.extend(relation.columns.clone()?);
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let binding = kind.to_string().to_lowercase();
                    let relation = frame.relations.iter().find(|r| r.binding == binding)?;
                    names.extend(relation.columns.clone()?);
                }
                SelectItem::ExprWithAliases { .. } => return None,
            }
        }
        Some(names)
    }
}

fn unknown_relation(alias: Option<&Ident>) -> Relation {
    Relation { binding: alias.map(|a| a.value.to_lowercase()).unwrap_or_default(), table: None, columns: None }
}

fn join_constraint_mut(operator: &mut JoinOperator) -> Option<&mut JoinConstraint> {
    match operator {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c)
        | JoinOperator::AsOf { constraint: c, .. } => Some(c),
        _ => None,
    }
}

/// Text an expression is compared by: its rendering, lower-cased (names compare without case).
fn canonical(expr: &Expr) -> String {
    expr.to_string().to_lowercase()
}

/// The output name DataFusion gives an unaliased expression, near enough for a new alias.
fn expr_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => ident.value.to_lowercase(),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_lowercase()).unwrap_or_default(),
        other => canonical(other),
    }
}

fn alias_ident(alias: &str) -> Ident {
    let plain = alias.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && alias.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { Ident::new(alias) } else { Ident::with_quote('"', alias.replace('"', "")) }
}

/// Rewrites the expressions of one frame; a subquery is handed to the normalizer whole and its
/// expressions are then skipped by this walk.
struct ExprRewriter<'n, 'a> {
    normalizer: &'n mut Normalizer<'a>,
    subquery_depth: usize,
}

impl VisitorMut for ExprRewriter<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if self.subquery_depth == 0 {
            self.normalizer.query(query);
        }
        self.subquery_depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.subquery_depth -= 1;
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if self.subquery_depth == 0 {
            self.normalizer.rewrite_expr(expr);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, PolicyConfig, PolicyError, SourceSemantics, SqlPolicy, ValidatedQuery};

    /// Spider's concert_singer, with its primary keys, plus a table with personal data.
    fn catalog() -> Catalog {
        let mut catalog = Catalog::new();
        catalog.add_table("singer", &["singer_id", "name", "country", "song_name", "age", "is_male"]);
        catalog.add_table("concert", &["concert_id", "concert_name", "theme", "stadium_id", "year"]);
        catalog.add_table("singer_in_concert", &["concert_id", "singer_id"]);
        catalog.add_table("users", &["user_id", "email", "country"]);
        catalog.set_primary_key("singer", &["singer_id"]);
        catalog.set_primary_key("concert", &["concert_id"]);
        catalog.set_primary_key("singer_in_concert", &["concert_id", "singer_id"]);
        catalog.set_primary_key("users", &["user_id"]);
        catalog.mark_personal("users", "email");
        catalog
    }

    fn policy(semantics: SourceSemantics) -> SqlPolicy {
        SqlPolicy::new(catalog(), PolicyConfig::default()).with_semantics(semantics)
    }

    fn native(sql: &str) -> ValidatedQuery {
        policy(SourceSemantics::NATIVE).check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn sqlite(sql: &str) -> ValidatedQuery {
        policy(SourceSemantics::SQLITE).check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The rewritten SQL without the row limit the policy adds.
    fn body(query: &ValidatedQuery) -> &str {
        query.sql.strip_suffix(" LIMIT 1000").unwrap_or(&query.sql)
    }

    #[test]
    fn double_quoted_tokens_that_name_nothing_are_strings() {
        let query = native(r#"SELECT count(*) FROM singer WHERE country = "France" OR name IN ("Joe", "Tribal King")"#);
        assert_eq!(
            body(&query),
            "SELECT count(*) FROM singer WHERE country = 'France' OR name IN ('Joe', 'Tribal King')"
        );
        assert_eq!(query.notes.len(), 3, "{:?}", query.notes);
        assert!(query.notes[0].contains(r#""France" names no column here"#), "{:?}", query.notes);
        assert!(query.notes[0].contains("'France'"));
    }

    #[test]
    fn double_quoted_names_of_columns_relations_and_aliases_stay_names() {
        let query = native(r#"SELECT "name", "Age" AS years FROM singer AS "s" ORDER BY "years""#);
        assert_eq!(body(&query), r#"SELECT "name", "Age" AS years FROM singer AS "s" ORDER BY "years""#);
        assert!(query.notes.is_empty(), "{:?}", query.notes);
        // A correlated subquery sees the outer query's columns.
        let query = native(
            r#"SELECT name FROM singer WHERE singer_id IN (SELECT singer_id FROM singer_in_concert WHERE "country" = 'x')"#,
        );
        assert!(query.notes.is_empty(), "{:?}", query.notes);
        // Inside the subquery, a token naming nothing in any scope is a string.
        let query = native(
            r#"SELECT name FROM singer WHERE singer_id IN (SELECT singer_id FROM singer_in_concert WHERE concert_id = "7")"#,
        );
        assert!(body(&query).contains("concert_id = '7'"), "{}", query.sql);
    }

    #[test]
    fn a_double_quoted_personal_column_is_still_refused() {
        let error =
            policy(SourceSemantics::NATIVE).check(r#"SELECT count(*) FROM users WHERE "EMAIL" = 'a@b.c'"#).unwrap_err();
        assert_eq!(error.kind(), "personal_data", "{error}");
    }

    #[test]
    fn columns_a_primary_key_determines_are_added_to_group_by() {
        let query = native("SELECT name, count(*) FROM singer GROUP BY singer_id");
        assert_eq!(body(&query), "SELECT name, count(*) FROM singer GROUP BY singer_id, name");
        assert!(query.notes[0].starts_with("name added to GROUP BY"), "{:?}", query.notes);
        // Through a join equality: the grouped T2.singer_id equals T1's key.
        let query = native(
            "SELECT T1.name, count(*) FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.singer_id = T2.singer_id \
             GROUP BY T2.singer_id ORDER BY T1.age DESC",
        );
        assert!(body(&query).ends_with("GROUP BY T2.singer_id, T1.name, T1.age ORDER BY T1.age DESC"), "{}", query.sql);
        // A composite key needs all of its columns.
        let error = policy(SourceSemantics::NATIVE)
            .check("SELECT concert_name, count(*) FROM concert JOIN singer_in_concert AS s ON concert.concert_id = s.concert_id GROUP BY s.singer_id")
            .unwrap_err();
        assert_eq!(error.kind(), "ungrouped_column", "{error}");
    }

    #[test]
    fn grouped_columns_written_another_way_are_not_added_again() {
        let query = native("SELECT name, count(*) FROM singer AS T1 GROUP BY T1.name");
        assert!(query.notes.is_empty(), "{:?}", query.notes);
        let query = native("SELECT country AS c, count(*) FROM singer GROUP BY c ORDER BY count(*) DESC");
        assert!(query.notes.is_empty(), "{:?}", query.notes);
        let query = native("SELECT country, avg(age) FROM singer GROUP BY 1");
        assert!(query.notes.is_empty(), "{:?}", query.notes);
    }

    #[test]
    fn bare_columns_nothing_determines_are_refused_with_both_fixes() {
        for sql in [
            "SELECT name, count(*) FROM singer GROUP BY country",
            "SELECT name, max(age) FROM singer",
            "SELECT country, count(*) FROM singer GROUP BY country HAVING age > 30",
        ] {
            let error = policy(SourceSemantics::NATIVE).check(sql).unwrap_err();
            assert_eq!(error.kind(), "ungrouped_column", "{sql}: {error}");
            let message = error.to_string();
            assert!(message.contains("add ") && message.contains("to GROUP BY, or aggregate it"), "{message}");
        }
        let error = policy(SourceSemantics::NATIVE).check("SELECT name, max(age) FROM singer").unwrap_err();
        assert_eq!(error, PolicyError::UngroupedColumn { column: "name".into(), clause: "in the select list".into() });
    }

    #[test]
    fn aggregates_windows_and_subqueries_need_no_grouping() {
        for sql in [
            "SELECT country, count(*), max(age) FILTER (WHERE is_male) FROM singer GROUP BY country",
            "SELECT name, rank() OVER (ORDER BY age) FROM singer",
            "SELECT country, (SELECT max(age) FROM singer AS s2 WHERE s2.country = singer.country) FROM singer GROUP BY country",
            "SELECT upper(country), count(*) FROM singer GROUP BY upper(country)",
        ] {
            let query = native(sql);
            assert!(query.notes.is_empty(), "{sql}: {:?}", query.notes);
        }
    }

    #[test]
    fn duplicate_output_names_get_distinct_aliases() {
        let query = native("SELECT count(*), count(*), name, T.name FROM singer AS T GROUP BY name");
        assert_eq!(
            body(&query),
            r#"SELECT count(*), count(*) AS "count(*)_2", name, T.name AS name_2 FROM singer AS T GROUP BY name"#
        );
        assert!(query.notes[0].contains("distinct names"), "{:?}", query.notes);
        // The same name from two tables is two columns already.
        let query = native("SELECT s.country, u.country FROM singer AS s JOIN users AS u ON s.singer_id = u.user_id");
        assert!(query.notes.is_empty(), "{:?}", query.notes);
    }

    #[test]
    fn sqlite_snapshots_keep_sqlite_null_order_and_like() {
        let query =
            sqlite("SELECT name FROM singer WHERE name LIKE '%a%' ORDER BY age, country DESC, name ASC NULLS LAST");
        assert_eq!(
            body(&query),
            "SELECT name FROM singer WHERE name ILIKE '%a%' ORDER BY age NULLS FIRST, country DESC NULLS LAST, name ASC NULLS LAST"
        );
        assert_eq!(query.notes.len(), 2, "{:?}", query.notes);
        let query = native("SELECT name FROM singer WHERE name LIKE '%a%' ORDER BY age");
        assert_eq!(body(&query), "SELECT name FROM singer WHERE name LIKE '%a%' ORDER BY age");
        assert!(query.notes.is_empty());
    }

    #[test]
    fn normalized_queries_are_a_fixed_point() {
        for sql in [
            r#"SELECT T1.name, count(*) FROM singer AS T1 JOIN singer_in_concert AS T2 ON T1.singer_id = T2.singer_id WHERE T1.country = "France" GROUP BY T2.singer_id ORDER BY count(*) DESC"#,
            "SELECT count(*), count(*) FROM singer WHERE name LIKE 'a%'",
        ] {
            let once = sqlite(sql);
            let twice = sqlite(&once.sql);
            assert_eq!(twice.sql, once.sql);
            assert!(twice.notes.is_empty(), "{:?}", twice.notes);
        }
    }
}
