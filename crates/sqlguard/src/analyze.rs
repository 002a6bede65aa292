//! The scope-aware walk of a query: which relations it reads, and whether any expression reaches
//! personal data.
//!
//! Relations are bound per SELECT, innermost scope last; expressions are walked with sqlparser's
//! [`Visitor`], and every subquery met inside an expression is analyzed in its own scope with the
//! enclosing scopes still visible (correlated references). Where SQL name resolution would pick
//! one candidate, the checks look at all of them: a name that could mean a personal column is
//! refused even if DataFusion would resolve it elsewhere.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, JoinConstraint, JoinOperator, ObjectName,
    Query, Select, SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, TableAlias, TableAliasColumnDef,
    TableFactor, TableWithJoins, Visit, Visitor,
};

use crate::PolicyConfig;
use crate::catalog::Catalog;
use crate::error::{PolicyError, Result};
use crate::generate::{check_generated_size, contains_generator, generates};
use crate::ident::{check_identifier, is_file_extension, looks_like_path, normalize};
use crate::parse::statement_name;

/// What a query reads, as far as names resolve.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// Catalog tables (and, when allowed, `information_schema` views) the query reads.
    pub tables: BTreeSet<String>,
    /// `(table, column)` pairs the query reads.
    pub columns: BTreeSet<(String, String)>,
}

/// Where a relation's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A catalog table (its exact catalog name): the only source of personal data.
    Table(String),
    /// A CTE, derived table, allow-listed table function or system view. Its columns cannot hold
    /// personal data, because every expression that produced them passed these same checks.
    Derived,
}

/// A relation in a FROM clause and the name it is referred to by.
#[derive(Debug, Clone)]
struct Relation {
    /// Alias, else the table name, normalized as DataFusion does; empty for an unaliased subquery.
    binding: String,
    source: Source,
    /// Its columns whose values a size-generating function built (CTEs and subqueries only).
    generated: Generated,
}

impl Relation {
    fn new(binding: String, source: Source) -> Self {
        Self { binding, source, generated: Generated::default() }
    }
}

/// The output columns of a query (or a CTE, or a subquery) whose values came from a function
/// that repeats, pads or generates series, directly or through other such columns. A function of
/// that kind applied to one of them nests as surely as `repeat(repeat(...))` written inline.
#[derive(Debug, Clone, Default)]
struct Generated {
    /// Whether each output column, in order, was generated; `None` once the order is unknown
    /// (a `*` over a subquery).
    positions: Option<Vec<bool>>,
    /// Lower-cased names of the generated columns.
    names: BTreeSet<String>,
    /// A generated column has no usable name (an unaliased expression): every column counts.
    all: bool,
}

impl Generated {
    fn knows(&self, column: &str) -> bool {
        self.all || self.names.contains(&column.to_lowercase())
    }

    fn any(&self) -> bool {
        self.all || !self.names.is_empty()
    }

    fn push(&mut self, name: Option<String>, generated: bool) {
        if let Some(positions) = &mut self.positions {
            positions.push(generated);
        }
        match name {
            Some(name) if generated => {
                self.names.insert(name.to_lowercase());
            }
            None if generated => self.all = true,
            _ => {}
        }
    }

    /// Columns passed on by a `*`: their names stay, their positions are no longer known.
    fn extend_unordered(&mut self, other: &Generated) {
        self.positions = None;
        self.names.extend(other.names.iter().cloned());
        self.all |= other.all;
    }

    /// The union of two sides of a set operation (or two rows of VALUES), column by column.
    fn merge(&mut self, other: Generated) {
        self.positions = match (self.positions.take(), other.positions) {
            (Some(left), Some(right)) if left.len() == right.len() => {
                Some(left.iter().zip(&right).map(|(l, r)| *l || *r).collect())
            }
            _ => None,
        };
        self.names.extend(other.names);
        self.all |= other.all;
    }

    /// The columns renamed by an alias list (`WITH c(x, y) AS ...`, `(...) AS t(x, y)`).
    fn renamed(self, columns: &[TableAliasColumnDef]) -> Generated {
        if columns.is_empty() {
            return self;
        }
        let mut renamed = Generated { positions: Some(Vec::new()), ..Generated::default() };
        for (index, column) in columns.iter().enumerate() {
            let generated = match &self.positions {
                Some(positions) => positions.get(index).copied().unwrap_or(false) || self.all,
                None => self.any(),
            };
            renamed.push(Some(normalize(&column.name)), generated);
        }
        renamed
    }
}

/// The relations of one SELECT, plus its output aliases (which ORDER BY may name).
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    relations: Vec<Relation>,
    /// Lower-cased output column aliases of the SELECT.
    output_aliases: BTreeSet<String>,
    /// The SELECT's generated output columns.
    generated: Generated,
}

impl Default for Scope {
    fn default() -> Self {
        Self {
            relations: Vec::new(),
            output_aliases: BTreeSet::new(),
            generated: Generated { positions: Some(Vec::new()), ..Generated::default() },
        }
    }
}

impl Scope {
    fn merge(&mut self, other: Scope) {
        self.relations.extend(other.relations);
        self.output_aliases.extend(other.output_aliases);
        self.generated.merge(other.generated);
    }
}

/// A CTE visible to the query being analyzed.
#[derive(Debug, Clone)]
struct Cte {
    /// Normalized name.
    name: String,
    generated: Generated,
}

/// Where in a query an expression sits, for error messages.
mod clause {
    pub const SELECT_LIST: &str = "in the select list";
    pub const WHERE: &str = "in WHERE";
    pub const JOIN_ON: &str = "in JOIN ... ON";
    pub const JOIN_USING: &str = "in JOIN ... USING";
    pub const NATURAL_JOIN: &str = "in a NATURAL JOIN, which compares every column with the same name";
    pub const MATCH_CONDITION: &str = "in an ASOF join MATCH_CONDITION";
    pub const GROUP_BY: &str = "in GROUP BY";
    pub const HAVING: &str = "in HAVING";
    pub const QUALIFY: &str = "in QUALIFY";
    pub const WINDOW: &str = "in a WINDOW definition";
    pub const DISTINCT_ON: &str = "in DISTINCT ON";
    pub const ORDER_BY: &str = "in ORDER BY";
    pub const LIMIT: &str = "in LIMIT/OFFSET/FETCH";
    pub const VALUES: &str = "in VALUES";
    pub const TABLE_FUNCTION_ARGS: &str = "in table function arguments";
}

/// Checks one query against the catalog and the policy, collecting what it reads.
pub(crate) struct Analyzer<'a> {
    catalog: &'a Catalog,
    config: &'a PolicyConfig,
    /// Scopes of the SELECTs being analyzed, innermost last. An error ends the analysis, so frames
    /// are not unwound on the error path.
    scopes: Vec<Scope>,
    /// CTEs visible per query level, innermost last.
    ctes: Vec<Vec<Cte>>,
    reads: Reads,
}

impl<'a> Analyzer<'a> {
    pub(crate) fn new(catalog: &'a Catalog, config: &'a PolicyConfig) -> Self {
        Self { catalog, config, scopes: Vec::new(), ctes: Vec::new(), reads: Reads::default() }
    }

    /// Checks `query` and everything nested in it, returning what it reads.
    pub(crate) fn run(mut self, query: &Query) -> Result<Reads> {
        self.analyze_query(query)?;
        Ok(self.reads)
    }

    fn analyze_query(&mut self, query: &Query) -> Result<Scope> {
        let Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = query;
        if !locks.is_empty() {
            return unsupported("a locking clause (FOR UPDATE / FOR SHARE)", "remove it; queries are read-only");
        }
        if for_clause.is_some() {
            return unsupported("FOR XML / FOR JSON / FOR BROWSE", "remove it; results are returned as tables");
        }
        if settings.is_some() {
            return unsupported("a SETTINGS clause", "remove it; execution settings are fixed by the service");
        }
        if format_clause.is_some() {
            return unsupported("a FORMAT clause", "remove it; results are returned as tables");
        }
        if !pipe_operators.is_empty() {
            return unsupported("pipe syntax (|>)", "write a standard SELECT ... FROM ... query");
        }

        self.ctes.push(Vec::new());
        if let Some(with) = with {
            if with.recursive {
                return Err(PolicyError::RecursiveQuery { construct: "WITH RECURSIVE".to_string() });
            }
            for cte in &with.cte_tables {
                if cte.from.is_some() {
                    return unsupported("a CTE with a FROM clause after it", "write WITH name AS (SELECT ...)");
                }
                self.check_alias(&cte.alias)?;
                let name = normalize(&cte.alias.name);
                if self.catalog.table_ignoring_case(&name).is_some() {
                    return Err(PolicyError::CteShadowsTable { name: cte.alias.name.value.clone() });
                }
                // A (non-recursive) CTE sees the CTEs defined before it, not itself.
                let generated = self.analyze_query(&cte.query)?.generated.renamed(&cte.alias.columns);
                self.ctes.last_mut().expect("a CTE frame was pushed above").push(Cte { name, generated });
            }
        }
        let scope = self.analyze_set_expr(body)?;

        self.scopes.push(scope);
        self.visit_in_scope(order_by, clause::ORDER_BY)?;
        self.visit_in_scope(limit_clause, clause::LIMIT)?;
        self.visit_in_scope(fetch, clause::LIMIT)?;
        let scope = self.scopes.pop().expect("pushed above");

        self.ctes.pop();
        Ok(scope)
    }

    fn analyze_set_expr(&mut self, body: &SetExpr) -> Result<Scope> {
        match body {
            SetExpr::Select(select) => self.analyze_select(select),
            SetExpr::Query(query) => self.analyze_query(query),
            SetExpr::SetOperation { left, right, .. } => {
                let mut scope = self.analyze_set_expr(left)?;
                scope.merge(self.analyze_set_expr(right)?);
                Ok(scope)
            }
            SetExpr::Values(values) => {
                self.scopes.push(Scope::default());
                self.visit_in_scope(values, clause::VALUES)?;
                let mut generated: Option<Generated> = None;
                for row in &values.rows {
                    let mut columns = Generated { positions: Some(Vec::new()), ..Generated::default() };
                    for (index, expr) in row.content.iter().enumerate() {
                        // DataFusion names the columns of VALUES column1, column2, ...
                        columns.push(Some(format!("column{}", index + 1)), self.is_generated(expr));
                    }
                    match &mut generated {
                        Some(all_rows) => all_rows.merge(columns),
                        None => generated = Some(columns),
                    }
                }
                let mut scope = self.scopes.pop().expect("pushed above");
                if let Some(generated) = generated {
                    scope.generated = generated;
                }
                Ok(scope)
            }
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)
            | SetExpr::Merge(statement) => Err(PolicyError::StatementNotAllowed {
                statement: format!("{} (inside a query)", statement_name(statement)),
            }),
            SetExpr::Table(table) => unsupported(&format!("{table}"), "write SELECT <columns> FROM <table> instead"),
        }
    }

    fn analyze_select(&mut self, select: &Select) -> Result<Scope> {
        // Destructured in full so a field added to sqlparser's Select fails to compile here
        // instead of slipping past the checks.
        let Select {
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = select;
        if into.is_some() {
            return Err(PolicyError::StatementNotAllowed { statement: "SELECT ... INTO".to_string() });
        }
        if !connect_by.is_empty() {
            return Err(PolicyError::RecursiveQuery { construct: "CONNECT BY".to_string() });
        }
        if top.is_some() {
            return unsupported("TOP n", "put LIMIT n at the end of the query");
        }
        if !lateral_views.is_empty() {
            return unsupported("LATERAL VIEW", "join the warehouse tables instead");
        }
        if prewhere.is_some() {
            return unsupported("PREWHERE", "use WHERE");
        }
        if !cluster_by.is_empty() || !distribute_by.is_empty() || !sort_by.is_empty() {
            return unsupported("CLUSTER BY / DISTRIBUTE BY / SORT BY", "use ORDER BY");
        }
        if select_modifiers.is_some() {
            return unsupported("SELECT modifiers (HIGH_PRIORITY, SQL_NO_CACHE, ...)", "remove them");
        }
        if !optimizer_hints.is_empty() {
            return unsupported("optimizer hints", "remove them");
        }
        if value_table_mode.is_some() {
            return unsupported("SELECT AS STRUCT / AS VALUE", "select the columns you need");
        }
        if *flavor != SelectFlavor::Standard {
            return unsupported("FROM-first SELECT", "write SELECT ... FROM ...");
        }
        if let Some(exclude) = exclude {
            self.visit_in_scope(exclude, clause::SELECT_LIST)?;
        }

        let mut scope = Scope::default();
        for table_with_joins in from {
            scope.relations.extend(self.bind_table_with_joins(table_with_joins)?);
        }
        for item in projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => {
                    check_identifier(alias, self.catalog)?;
                    scope.output_aliases.insert(alias.value.to_lowercase());
                }
                SelectItem::ExprWithAliases { aliases, .. } => {
                    for alias in aliases {
                        check_identifier(alias, self.catalog)?;
                        scope.output_aliases.insert(alias.value.to_lowercase());
                    }
                }
                _ => {}
            }
        }
        self.scopes.push(scope);

        for table_with_joins in from {
            self.check_table_with_joins(table_with_joins)?;
        }
        for item in projection {
            self.check_select_item(item)?;
        }
        if let Some(Distinct::On(exprs)) = distinct {
            self.visit_in_scope(exprs, clause::DISTINCT_ON)?;
        }
        self.visit_in_scope(selection, clause::WHERE)?;
        self.visit_in_scope(group_by, clause::GROUP_BY)?;
        self.visit_in_scope(having, clause::HAVING)?;
        self.visit_in_scope(named_window, clause::WINDOW)?;
        self.visit_in_scope(qualify, clause::QUALIFY)?;
        let generated = self.generated_outputs(projection);

        let mut scope = self.scopes.pop().expect("pushed above");
        scope.generated = generated;
        Ok(scope)
    }

    /// Which output columns of a SELECT (its scope pushed) carry generated values.
    fn generated_outputs(&self, projection: &[SelectItem]) -> Generated {
        let mut generated = Generated { positions: Some(Vec::new()), ..Generated::default() };
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    let name = match expr {
                        Expr::Identifier(ident) => Some(normalize(ident)),
                        Expr::CompoundIdentifier(parts) => parts.last().map(normalize),
                        _ => None,
                    };
                    generated.push(name, self.is_generated(expr));
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    generated.push(Some(normalize(alias)), self.is_generated(expr));
                }
                SelectItem::ExprWithAliases { expr, aliases } => {
                    let is_generated = self.is_generated(expr);
                    for alias in aliases {
                        generated.push(Some(normalize(alias)), is_generated);
                    }
                }
                SelectItem::Wildcard(_) => {
                    let scope = self.scopes.last().expect("a SELECT scope is pushed");
                    for relation in &scope.relations {
                        generated.extend_unordered(&relation.generated);
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let binding = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(name) => {
                            name.0.last().and_then(|part| part.as_ident()).map(|ident| ident.value.clone())
                        }
                        SelectItemQualifiedWildcardKind::Expr(_) => None,
                    };
                    let scope = self.scopes.last().expect("a SELECT scope is pushed");
                    for relation in &scope.relations {
                        if binding.as_ref().is_none_or(|binding| relation.binding.eq_ignore_ascii_case(binding)) {
                            generated.extend_unordered(&relation.generated);
                        }
                    }
                }
            }
        }
        generated
    }

    /// Whether `expr` calls a size-generating function or reads a column one built, through
    /// CTEs, derived tables and scalar subqueries.
    fn is_generated(&self, expr: &Expr) -> bool {
        contains_generator(expr) || self.refers_to_generated(expr)
    }

    /// Whether `expr` reads a generated column: a name bound to a generated column of a relation
    /// in scope, or, inside a subquery of `expr`, a column name that a visible CTE or a relation
    /// in scope generates. Subqueries are judged by their text, not analyzed again: analyzing
    /// each level once per enclosing level would be exponential in the nesting depth.
    fn refers_to_generated(&self, expr: &Expr) -> bool {
        let mut references = References::default();
        let _ = expr.visit(&mut references);
        references.columns.iter().any(|parts| {
            let Some((column, qualifiers)) = parts.split_last() else { return false };
            let mut relations = self.scopes.iter().flat_map(|scope| &scope.relations);
            match qualifiers.last() {
                Some(qualifier) => relations
                    .filter(|relation| relation.binding.eq_ignore_ascii_case(&qualifier.value))
                    .any(|relation| relation.generated.knows(&column.value)),
                None => {
                    relations.any(|relation| relation.generated.knows(&column.value))
                        || self.ctes.iter().flatten().any(|cte| cte.generated.knows(&column.value))
                }
            }
        })
    }

    // ----- FROM: binding relations --------------------------------------------------------------

    /// Binds the relations of `a JOIN b JOIN c`, refusing NATURAL joins that could compare a
    /// personal column.
    fn bind_table_with_joins(&mut self, table_with_joins: &TableWithJoins) -> Result<Vec<Relation>> {
        let mut relations = self.bind_factor(&table_with_joins.relation)?;
        for join in &table_with_joins.joins {
            let right = self.bind_factor(&join.relation)?;
            if let Some(JoinConstraint::Natural) = join_constraint(&join.join_operator)? {
                self.check_natural_join(&relations, &right)?;
            }
            relations.extend(right);
        }
        Ok(relations)
    }

    fn bind_factor(&mut self, factor: &TableFactor) -> Result<Vec<Relation>> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality: _,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if !with_hints.is_empty() || !index_hints.is_empty() {
                    return unsupported("table or index hints", "remove them");
                }
                if version.is_some() {
                    return unsupported("time travel (FOR SYSTEM_TIME / AT / BEFORE)", "query the current snapshot");
                }
                if !partitions.is_empty() {
                    return unsupported("PARTITION (...) selection", "filter with WHERE");
                }
                if json_path.is_some() {
                    return unsupported("a JSON path on a table", "select columns and use JSON functions on them");
                }
                if sample.is_some() {
                    return unsupported("TABLESAMPLE", "filter with WHERE, or use LIMIT");
                }
                match args {
                    Some(_) => self.bind_table_function(&name.to_string(), &factor.to_string(), alias.as_ref()),
                    None => self.bind_table(name, alias.as_ref()),
                }
            }
            TableFactor::Derived { lateral: _, subquery: _, alias, sample } => {
                if sample.is_some() {
                    return unsupported("TABLESAMPLE", "filter with WHERE, or use LIMIT");
                }
                Ok(vec![self.derived_relation(alias.as_ref())?])
            }
            TableFactor::TableFunction { expr, alias } => {
                let name = match expr {
                    Expr::Function(function) => function.name.to_string(),
                    other => other.to_string(),
                };
                self.bind_table_function(&name, &factor.to_string(), alias.as_ref())
            }
            TableFactor::Function { name, alias, .. } => {
                self.bind_table_function(&name.to_string(), &factor.to_string(), alias.as_ref())
            }
            TableFactor::UNNEST { alias, .. } => {
                self.bind_table_function("unnest", &factor.to_string(), alias.as_ref())
            }
            TableFactor::NestedJoin { table_with_joins, alias } => {
                let mut relations = self.bind_table_with_joins(table_with_joins)?;
                if let Some(alias) = alias {
                    // `(users JOIN accounts) AS j` makes `j.email` reach users.email: the alias
                    // binds every table inside the parentheses.
                    self.check_alias(alias)?;
                    let binding = normalize(&alias.name);
                    let mut aliased: Vec<Relation> = relations
                        .iter()
                        .map(|relation| Relation::new(binding.clone(), relation.source.clone()))
                        .collect();
                    if !alias.columns.is_empty()
                        && let Some(table) = aliased.iter().find_map(|r| self.personal_table(&r.source))
                    {
                        return Err(column_alias_refusal(&table));
                    }
                    aliased.push(Relation::new(binding, Source::Derived));
                    relations.extend(aliased);
                }
                Ok(relations)
            }
            other => {
                let text = other.to_string();
                let construct = text.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
                unsupported(
                    &format!("this FROM item ({construct} ...)"),
                    "use joins, GROUP BY and CASE over the warehouse tables",
                )
            }
        }
    }

    /// Binds a plain table name: a CTE in scope, a catalog table, or (if enabled) an
    /// information_schema view; anything else is refused with the reason.
    fn bind_table(&mut self, name: &ObjectName, alias: Option<&TableAlias>) -> Result<Vec<Relation>> {
        let parts = name
            .0
            .iter()
            .map(|part| part.as_ident().ok_or_else(|| unsupported_error("a computed table name", "name a table")))
            .collect::<Result<Vec<&Ident>>>()?;
        let Some((table_ident, qualifiers)) = parts.split_last() else {
            return Err(PolicyError::Internal { message: "a table name without parts".to_string() });
        };
        if parts.iter().any(|part| looks_like_path(part))
            || (!qualifiers.is_empty() && is_file_extension(&table_ident.value))
        {
            return Err(PolicyError::FileAccess {
                source_text: name.to_string(),
                available: self.catalog.table_list(),
            });
        }
        for part in &parts {
            check_identifier(part, self.catalog)?;
        }
        if let Some(alias) = alias {
            self.check_alias(alias)?;
        }

        let is_qualifier = |expected: &str| qualifiers.iter().any(|q| q.value.eq_ignore_ascii_case(expected));
        if is_qualifier("information_schema") {
            let in_default_catalog = match qualifiers {
                [_] => true,
                [catalog, _] => normalize(catalog) == "datafusion",
                _ => false,
            };
            if self.config.allow_information_schema && in_default_catalog {
                self.reads.tables.insert(format!("information_schema.{}", normalize(table_ident)));
                return Ok(vec![Relation::new(binding_for(table_ident, alias), Source::Derived)]);
            }
            return Err(self.system_catalog(name));
        }
        if is_qualifier("pg_catalog") {
            return Err(self.system_catalog(name));
        }
        match qualifiers {
            [] => {}
            [schema] if normalize(schema) == "public" => {}
            _ => {
                return Err(PolicyError::SchemaNotAllowed { name: name.to_string(), table: table_ident.value.clone() });
            }
        }

        let table = normalize(table_ident);
        if qualifiers.is_empty()
            && let Some(cte) = self.cte_in_scope(&table)
        {
            let generated =
                cte.generated.clone().renamed(alias.map(|alias| alias.columns.as_slice()).unwrap_or_default());
            let mut relation = Relation::new(binding_for(table_ident, alias), Source::Derived);
            relation.generated = generated;
            return Ok(vec![relation]);
        }
        if !self.catalog.has_table(&table) {
            return Err(self.unknown_table(name, &table, qualifiers.is_empty()));
        }
        if alias.is_some_and(|alias| !alias.columns.is_empty()) && !self.catalog.personal_columns(&table).is_empty() {
            // `users AS u(a, b, e)` renames columns by position; refusing it keeps every name of a
            // personal column visible to the checks.
            return Err(column_alias_refusal(&table));
        }
        self.reads.tables.insert(table.clone());
        Ok(vec![Relation::new(binding_for(table_ident, alias), Source::Table(table))])
    }

    /// Binds a table function if it is allow-listed; file readers and the rest are refused.
    fn bind_table_function(&mut self, name: &str, call: &str, alias: Option<&TableAlias>) -> Result<Vec<Relation>> {
        let allowed = self.config.allowed_table_functions.iter().any(|allowed| allowed.eq_ignore_ascii_case(name));
        if !allowed {
            let lower = name.to_ascii_lowercase();
            let function = lower.rsplit('.').next().unwrap_or(&lower);
            if function.starts_with("read_") || function.ends_with("_scan") {
                return Err(PolicyError::FileAccess {
                    source_text: call.to_string(),
                    available: self.catalog.table_list(),
                });
            }
            return Err(PolicyError::TableFunction { name: name.to_string(), available: self.catalog.table_list() });
        }
        let binding = match alias {
            Some(alias) => {
                self.check_alias(alias)?;
                normalize(&alias.name)
            }
            None => name.to_ascii_lowercase(),
        };
        Ok(vec![Relation::new(binding, Source::Derived)])
    }

    fn derived_relation(&self, alias: Option<&TableAlias>) -> Result<Relation> {
        let binding = match alias {
            Some(alias) => {
                self.check_alias(alias)?;
                normalize(&alias.name)
            }
            None => String::new(),
        };
        Ok(Relation::new(binding, Source::Derived))
    }

    fn check_alias(&self, alias: &TableAlias) -> Result<()> {
        check_identifier(&alias.name, self.catalog)?;
        for column in &alias.columns {
            check_identifier(&column.name, self.catalog)?;
        }
        Ok(())
    }

    fn check_name_parts(&self, name: &ObjectName) -> Result<()> {
        name.0.iter().filter_map(|part| part.as_ident()).try_for_each(|ident| check_identifier(ident, self.catalog))
    }

    /// The CTE a name refers to: the innermost definition.
    fn cte_in_scope(&self, name: &str) -> Option<&Cte> {
        self.ctes.iter().rev().flat_map(|level| level.iter().rev()).find(|cte| cte.name == name)
    }

    /// `NATURAL JOIN` joins on every column name the two sides share; refuse it when a personal
    /// column of one side could be among them (the other side has that column, or is a subquery
    /// whose columns are not known here).
    fn check_natural_join(&self, left: &[Relation], right: &[Relation]) -> Result<()> {
        for (side, other) in [(left, right), (right, left)] {
            for table in side.iter().filter_map(|relation| self.personal_table(&relation.source)) {
                for column in self.catalog.personal_columns(&table) {
                    let other_may_have_it = other.iter().any(|relation| match &relation.source {
                        Source::Table(other_table) => self
                            .catalog
                            .columns(other_table)
                            .unwrap_or_default()
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(&column)),
                        Source::Derived => true,
                    });
                    if other_may_have_it {
                        return Err(self.personal_column(&table, &column, clause::NATURAL_JOIN));
                    }
                }
            }
        }
        Ok(())
    }

    // ----- FROM: checking what the relations contain ----------------------------------------------

    fn check_table_with_joins(&mut self, table_with_joins: &TableWithJoins) -> Result<()> {
        self.check_factor(&table_with_joins.relation)?;
        for join in &table_with_joins.joins {
            self.check_factor(&join.relation)?;
            if let JoinOperator::AsOf { match_condition, .. } = &join.join_operator {
                self.visit_in_scope(match_condition, clause::MATCH_CONDITION)?;
            }
            match join_constraint(&join.join_operator)? {
                Some(JoinConstraint::On(condition)) => self.visit_in_scope(condition, clause::JOIN_ON)?,
                Some(JoinConstraint::Using(columns)) => {
                    for column in columns {
                        let parts = column
                            .0
                            .iter()
                            .map(|part| {
                                part.as_ident()
                                    .cloned()
                                    .ok_or_else(|| unsupported_error("a computed USING column", "name the column"))
                            })
                            .collect::<Result<Vec<Ident>>>()?;
                        for part in &parts {
                            check_identifier(part, self.catalog)?;
                        }
                        self.check_column_reference(&parts, clause::JOIN_USING)?;
                    }
                }
                Some(JoinConstraint::Natural | JoinConstraint::None) | None => {}
            }
        }
        Ok(())
    }

    fn check_factor(&mut self, factor: &TableFactor) -> Result<()> {
        match factor {
            TableFactor::Table { args: Some(args), .. } => self.visit_in_scope(&args.args, clause::TABLE_FUNCTION_ARGS),
            TableFactor::Derived { subquery, alias, .. } => {
                let generated = self.analyze_query(subquery)?.generated;
                let generated = match alias {
                    Some(alias) => generated.renamed(&alias.columns),
                    None => generated,
                };
                if generated.any() {
                    let binding = alias.as_ref().map(|alias| normalize(&alias.name)).unwrap_or_default();
                    let scope = self.scopes.last_mut().expect("a SELECT scope is pushed");
                    if let Some(relation) = scope
                        .relations
                        .iter_mut()
                        .find(|relation| relation.binding == binding && relation.source == Source::Derived)
                    {
                        relation.generated = generated;
                    }
                }
                Ok(())
            }
            TableFactor::TableFunction { expr, .. } => self.visit_in_scope(expr, clause::TABLE_FUNCTION_ARGS),
            TableFactor::Function { args, .. } => self.visit_in_scope(args, clause::TABLE_FUNCTION_ARGS),
            TableFactor::UNNEST { array_exprs, .. } => self.visit_in_scope(array_exprs, clause::TABLE_FUNCTION_ARGS),
            TableFactor::NestedJoin { table_with_joins, .. } => self.check_table_with_joins(table_with_joins),
            // Plain tables hold no expressions; every other factor was refused while binding.
            _ => Ok(()),
        }
    }

    // ----- the select list ------------------------------------------------------------------------

    fn check_select_item(&mut self, item: &SelectItem) -> Result<()> {
        match item {
            SelectItem::UnnamedExpr(expr)
            | SelectItem::ExprWithAlias { expr, .. }
            | SelectItem::ExprWithAliases { expr, .. } => self.visit_in_scope(expr, clause::SELECT_LIST),
            SelectItem::Wildcard(options) => {
                let scope = self.scopes.last().expect("a SELECT scope is pushed");
                let tables: Vec<String> = scope
                    .relations
                    .iter()
                    .filter_map(|r| match &r.source {
                        Source::Table(table) => Some(table.clone()),
                        Source::Derived => None,
                    })
                    .collect();
                for table in tables {
                    self.check_wildcard_table(&table, "SELECT *")?;
                }
                self.visit_in_scope(options, clause::SELECT_LIST)
            }
            SelectItem::QualifiedWildcard(kind, options) => {
                match kind {
                    SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        self.check_name_parts(name)?;
                        let wildcard = format!("SELECT {name}.*");
                        for table in self.tables_named_by(name) {
                            self.check_wildcard_table(&table, &wildcard)?;
                        }
                    }
                    SelectItemQualifiedWildcardKind::Expr(expr) => self.visit_in_scope(expr, clause::SELECT_LIST)?,
                }
                self.visit_in_scope(options, clause::SELECT_LIST)
            }
        }
    }

    /// A `*` expanding over `table`: refused if it has personal columns, else all columns are read.
    fn check_wildcard_table(&mut self, table: &str, wildcard: &str) -> Result<()> {
        let personal = self.catalog.personal_columns(table);
        if !personal.is_empty() {
            return Err(PolicyError::PersonalDataWildcard {
                wildcard: wildcard.to_string(),
                table: table.to_string(),
                personal: personal.join(", "),
                other_columns: self.catalog.public_columns(table).join(", "),
            });
        }
        for column in self.catalog.columns(table).unwrap_or_default() {
            self.reads.columns.insert((table.to_string(), column.clone()));
        }
        Ok(())
    }

    // ----- expressions ----------------------------------------------------------------------------

    /// Walks `node` in the current scope, analyzing subqueries met on the way in their own scope.
    fn visit_in_scope<V: Visit + ?Sized>(&mut self, node: &V, clause: &'static str) -> Result<()> {
        let mut checker = ExprChecker { analyzer: self, clause, subquery_depth: 0 };
        match node.visit(&mut checker) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(error) => Err(*error),
        }
    }

    /// The checks for one expression node; its children are visited separately.
    fn check_expr(&mut self, expr: &Expr, clause: &'static str) -> Result<()> {
        match expr {
            Expr::Identifier(ident) => {
                check_identifier(ident, self.catalog)?;
                self.check_column_reference(std::slice::from_ref(ident), clause)
            }
            Expr::CompoundIdentifier(parts) => {
                for part in parts {
                    check_identifier(part, self.catalog)?;
                }
                self.check_column_reference(parts, clause)
            }
            Expr::Function(function) => {
                self.check_name_parts(&function.name)?;
                let nested = match &function.args {
                    FunctionArguments::List(list) if generates(function) => {
                        let mut nested = false;
                        for arg in &list.args {
                            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)) = arg {
                                nested |= self.refers_to_generated(arg);
                            }
                        }
                        nested
                    }
                    _ => false,
                };
                check_generated_size(function, nested)?;
                let is_count = matches!(function.name.0.as_slice(), [part] if part.as_ident().is_some_and(|i| i.value.eq_ignore_ascii_case("count")));
                if let FunctionArguments::List(list) = &function.args {
                    for arg in &list.args {
                        let (FunctionArg::Named { arg, .. }
                        | FunctionArg::ExprNamed { arg, .. }
                        | FunctionArg::Unnamed(arg)) = arg;
                        match arg {
                            FunctionArgExpr::QualifiedWildcard(name) => {
                                self.check_name_parts(name)?;
                                self.check_row_wildcard(name, clause)?
                            }
                            // COUNT(*) counts rows without reading them; any other function given
                            // `*` receives whole rows.
                            FunctionArgExpr::Wildcard | FunctionArgExpr::WildcardWithOptions(_) if !is_count => {
                                self.check_bare_row_wildcard(clause)?
                            }
                            FunctionArgExpr::Wildcard
                            | FunctionArgExpr::WildcardWithOptions(_)
                            | FunctionArgExpr::Expr(_) => {}
                        }
                    }
                }
                Ok(())
            }
            Expr::QualifiedWildcard(name, _) => {
                self.check_name_parts(name)?;
                self.check_row_wildcard(name, clause)
            }
            Expr::Wildcard(_) => self.check_bare_row_wildcard(clause),
            _ => Ok(()),
        }
    }

    /// Checks a column reference `c`, `t.c`, `s.t.c` (or `c.field`) for personal data and whole-row
    /// use, and records what it reads.
    fn check_column_reference(&mut self, parts: &[Ident], clause: &'static str) -> Result<()> {
        if let [ident] = parts {
            // A quoted name with dots ("users.email") is checked as the qualified name it spells too.
            if ident.quote_style.is_some() && ident.value.contains('.') {
                let pieces: Vec<Ident> = ident.value.split('.').map(|piece| Ident::with_quote('"', piece)).collect();
                self.check_column_reference(&pieces, clause)?;
            }
            self.check_unqualified(&ident.value, clause)?;
            self.check_whole_row(ident, clause)?;
            self.record_unqualified(&normalize(ident));
            return Ok(());
        }
        for pair in parts.windows(2) {
            let (qualifier, column) = (&pair[0], &pair[1]);
            for table in self.tables_for_qualifier(&qualifier.value).unwrap_or_default() {
                if self.catalog.is_personal(&table, &column.value) {
                    return Err(self.personal_column(&table, &column.value, clause));
                }
            }
        }
        // `email.domain`: the first part is a column (with a field access), not a relation.
        if self.tables_for_qualifier(&parts[0].value).is_none() {
            self.check_unqualified(&parts[0].value, clause)?;
        }
        if let [.., qualifier, column] = parts
            && let Some(tables) = self.tables_for_qualifier(&qualifier.value)
        {
            let column = normalize(column);
            if let [table] = tables.as_slice()
                && self.catalog.has_column(table, &column)
            {
                self.reads.columns.insert((table.clone(), column));
            }
        }
        Ok(())
    }

    /// An unqualified column name is refused if any catalog table in any enclosing scope has a
    /// personal column of that name, whatever DataFusion would resolve it to.
    fn check_unqualified(&self, name: &str, clause: &'static str) -> Result<()> {
        for relation in self.scopes.iter().rev().flat_map(|scope| &scope.relations) {
            if let Source::Table(table) = &relation.source
                && self.catalog.is_personal(table, name)
            {
                return Err(self.personal_column(table, name, clause));
            }
        }
        Ok(())
    }

    /// `SELECT u FROM users u` or `to_json(u)`: a bare relation name stands for its whole row.
    fn check_whole_row(&self, ident: &Ident, clause: &'static str) -> Result<()> {
        let name = &ident.value;
        // `SELECT count(*) AS users FROM users ... ORDER BY users` names the output column: only
        // the clauses evaluated after the select list can see its aliases.
        let sees_output_aliases =
            [clause::ORDER_BY, clause::GROUP_BY, clause::HAVING, clause::QUALIFY].contains(&clause);
        let innermost = self.scopes.last();
        if sees_output_aliases && innermost.is_some_and(|scope| scope.output_aliases.contains(&name.to_lowercase())) {
            return Ok(());
        }
        let relations = || self.scopes.iter().rev().flat_map(|scope| &scope.relations);
        let is_a_column = relations().any(|relation| match &relation.source {
            Source::Table(table) => {
                self.catalog.columns(table).unwrap_or_default().iter().any(|c| c.eq_ignore_ascii_case(name))
            }
            Source::Derived => false,
        });
        if is_a_column {
            return Ok(());
        }
        for relation in relations().filter(|relation| relation.binding.eq_ignore_ascii_case(name)) {
            if let Some(table) = self.personal_table(&relation.source) {
                return Err(self.whole_row(name, &table, clause));
            }
        }
        Ok(())
    }

    /// `row(u.*)`, `count(u.*)`, `to_json(u.*)`: a qualified wildcard passed to a function.
    fn check_row_wildcard(&self, name: &ObjectName, clause: &'static str) -> Result<()> {
        for table in self.tables_named_by(name) {
            if !self.catalog.personal_columns(&table).is_empty() {
                return Err(self.whole_row(&format!("{name}.*"), &table, clause));
            }
        }
        Ok(())
    }

    /// A bare `*` handed to a function other than COUNT: whole rows of every relation in scope.
    fn check_bare_row_wildcard(&self, clause: &'static str) -> Result<()> {
        let innermost = self.scopes.last().map(|scope| scope.relations.as_slice()).unwrap_or_default();
        for relation in innermost {
            if let Some(table) = self.personal_table(&relation.source) {
                return Err(self.whole_row("*", &table, clause));
            }
        }
        Ok(())
    }

    /// Records `(table, column)` when exactly one catalog table of the innermost scope that knows
    /// the column has it.
    fn record_unqualified(&mut self, column: &str) {
        for scope in self.scopes.iter().rev() {
            let holders: BTreeSet<&String> = scope
                .relations
                .iter()
                .filter_map(|relation| match &relation.source {
                    Source::Table(table) if self.catalog.has_column(table, column) => Some(table),
                    _ => None,
                })
                .collect();
            if holders.is_empty() {
                continue;
            }
            if let [table] = holders.into_iter().collect::<Vec<_>>().as_slice() {
                let entry = ((*table).clone(), column.to_string());
                self.reads.columns.insert(entry);
            }
            return;
        }
    }

    /// The catalog tables a qualifier can denote: every relation in any enclosing scope bound to
    /// that name (compared ignoring case), or, if none is, the catalog table of that name. `None`
    /// when the qualifier names nothing known.
    fn tables_for_qualifier(&self, qualifier: &str) -> Option<Vec<String>> {
        let bound: Vec<&Relation> = self
            .scopes
            .iter()
            .flat_map(|scope| &scope.relations)
            .filter(|relation| relation.binding.eq_ignore_ascii_case(qualifier))
            .collect();
        if !bound.is_empty() {
            return Some(
                bound
                    .into_iter()
                    .filter_map(|relation| match &relation.source {
                        Source::Table(table) => Some(table.clone()),
                        Source::Derived => None,
                    })
                    .collect(),
            );
        }
        self.catalog.table_ignoring_case(qualifier).map(|table| vec![table.to_string()])
    }

    /// The catalog tables `t.*` (or `schema.t.*`) expands over.
    fn tables_named_by(&self, name: &ObjectName) -> Vec<String> {
        name.0
            .last()
            .and_then(|part| part.as_ident())
            .and_then(|ident| self.tables_for_qualifier(&ident.value))
            .unwrap_or_default()
    }

    fn personal_table(&self, source: &Source) -> Option<String> {
        match source {
            Source::Table(table) if !self.catalog.personal_columns(table).is_empty() => Some(table.clone()),
            _ => None,
        }
    }

    // ----- errors ---------------------------------------------------------------------------------

    fn personal_column(&self, table: &str, column: &str, clause: &'static str) -> PolicyError {
        let columns = self.catalog.columns(table).unwrap_or_default();
        let column = columns
            .iter()
            .find(|c| c.eq_ignore_ascii_case(column))
            .cloned()
            .unwrap_or_else(|| column.to_ascii_lowercase());
        let public = self.catalog.public_columns(table);
        let example = public
            .iter()
            .find(|c| c.ends_with("id"))
            .or_else(|| public.first())
            .cloned()
            .unwrap_or_else(|| "<another column>".to_string());
        PolicyError::PersonalData {
            table: table.to_string(),
            column,
            clause: clause.to_string(),
            example,
            other_columns: public.join(", "),
        }
    }

    fn whole_row(&self, reference: &str, table: &str, clause: &'static str) -> PolicyError {
        PolicyError::PersonalDataRow {
            reference: reference.to_string(),
            clause: clause.to_string(),
            table: table.to_string(),
            personal: self.catalog.personal_columns(table).join(", "),
            other_columns: self.catalog.public_columns(table).join(", "),
        }
    }

    fn system_catalog(&self, name: &ObjectName) -> PolicyError {
        PolicyError::SystemCatalog { name: name.to_string(), available: self.catalog.table_list() }
    }

    fn unknown_table(&self, name: &ObjectName, table: &str, unqualified: bool) -> PolicyError {
        let hint = if let Some(known) = self.catalog.table_ignoring_case(table) {
            format!("quoted names are case-sensitive and the table is called {known}; write {known} without quotes")
        } else if unqualified && self.ctes.iter().flatten().any(|cte| cte.name.eq_ignore_ascii_case(table)) {
            "quoted names are case-sensitive; write the CTE name exactly as it is defined".to_string()
        } else {
            format!("use one of the warehouse tables: {}", self.catalog.table_list())
        };
        PolicyError::UnknownTable { name: name.to_string(), hint }
    }
}

/// Walks expressions for [`Analyzer::visit_in_scope`]. A subquery is handed to the analyzer whole
/// (it needs its own scope), and the expressions inside it are then skipped by this walk.
struct ExprChecker<'s, 'a> {
    analyzer: &'s mut Analyzer<'a>,
    clause: &'static str,
    subquery_depth: usize,
}

impl Visitor for ExprChecker<'_, '_> {
    type Break = Box<PolicyError>;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        if self.subquery_depth == 0
            && let Err(error) = self.analyzer.analyze_query(query)
        {
            return ControlFlow::Break(Box::new(error));
        }
        self.subquery_depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<Self::Break> {
        self.subquery_depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Self::Break> {
        if self.subquery_depth > 0 {
            return ControlFlow::Continue(());
        }
        match self.analyzer.check_expr(expr, self.clause) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => ControlFlow::Break(Box::new(error)),
        }
    }
}

/// The column references of an expression, subqueries included; inside a subquery only the
/// column name is kept, since its qualifiers name the subquery's own relations.
#[derive(Default)]
struct References {
    columns: Vec<Vec<Ident>>,
    depth: usize,
}

impl Visitor for References {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(ident) => self.columns.push(vec![ident.clone()]),
            Expr::CompoundIdentifier(parts) if self.depth > 0 => {
                self.columns.extend(parts.last().map(|column| vec![column.clone()]))
            }
            Expr::CompoundIdentifier(parts) => self.columns.push(parts.clone()),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The constraint of a join, or `None` for joins without one (CROSS APPLY); ClickHouse ARRAY
/// JOINs are refused.
fn join_constraint(operator: &JoinOperator) -> Result<Option<&JoinConstraint>> {
    Ok(match operator {
        JoinOperator::Join(constraint)
        | JoinOperator::Inner(constraint)
        | JoinOperator::Left(constraint)
        | JoinOperator::LeftOuter(constraint)
        | JoinOperator::Right(constraint)
        | JoinOperator::RightOuter(constraint)
        | JoinOperator::FullOuter(constraint)
        | JoinOperator::CrossJoin(constraint)
        | JoinOperator::Semi(constraint)
        | JoinOperator::LeftSemi(constraint)
        | JoinOperator::RightSemi(constraint)
        | JoinOperator::Anti(constraint)
        | JoinOperator::LeftAnti(constraint)
        | JoinOperator::RightAnti(constraint)
        | JoinOperator::StraightJoin(constraint)
        | JoinOperator::AsOf { constraint, .. } => Some(constraint),
        JoinOperator::CrossApply | JoinOperator::OuterApply => None,
        JoinOperator::ArrayJoin | JoinOperator::LeftArrayJoin | JoinOperator::InnerArrayJoin => {
            return unsupported("ARRAY JOIN", "use UNNEST in the select list, or join the warehouse tables");
        }
    })
}

/// The name a relation is referred to by: its alias, else its table name.
fn binding_for(table: &Ident, alias: Option<&TableAlias>) -> String {
    normalize(alias.map_or(table, |alias| &alias.name))
}

fn column_alias_refusal(table: &str) -> PolicyError {
    unsupported_error(
        &format!("renaming the columns of {table} with a column alias list (AS alias(col, ...))"),
        &format!("{table} has personal data columns; rename the columns you select in the select list instead"),
    )
}

fn unsupported_error(construct: &str, hint: &str) -> PolicyError {
    PolicyError::UnsupportedSyntax { construct: construct.to_string(), hint: hint.to_string() }
}

fn unsupported<T>(construct: &str, hint: &str) -> Result<T> {
    Err(unsupported_error(construct, hint))
}

#[cfg(test)]
mod tests {
    use crate::test_support::{demo_catalog, demo_policy};
    use crate::{PolicyConfig, PolicyError, SqlPolicy, ValidatedQuery};

    fn admitted(sql: &str) -> ValidatedQuery {
        demo_policy().check(sql).unwrap_or_else(|error| panic!("{sql}\nrefused: {error}"))
    }

    fn refused(sql: &str) -> PolicyError {
        match demo_policy().check(sql) {
            Ok(query) => panic!("{sql}\nadmitted as: {}", query.sql),
            Err(error) => {
                assert!(!error.is_internal(), "{sql}: {error}");
                error
            }
        }
    }

    fn assert_kind(kind: &str, cases: &[&str]) {
        for sql in cases {
            let error = refused(sql);
            assert_eq!(error.kind(), kind, "{sql}\n{error}");
        }
    }

    #[test]
    fn ordinary_analytics_queries_are_admitted() {
        for sql in [
            "SELECT count(*) FROM users",
            "SELECT u.country, count(DISTINCT u.user_id) AS signups FROM users u GROUP BY u.country ORDER BY signups DESC",
            "SELECT a.region, sum(i.amount_usd) FROM invoices i JOIN accounts a ON a.account_id = i.account_id WHERE i.status = 'paid' GROUP BY 1",
            "WITH monthly AS (SELECT date_trunc('month', event_time) AS m, count(*) AS n FROM events GROUP BY 1) SELECT m, n, n - lag(n) OVER (ORDER BY m) FROM monthly",
            "SELECT platform FROM events UNION SELECT signup_platform FROM users EXCEPT SELECT 'web'",
            "SELECT user_id, row_number() OVER (PARTITION BY account_id ORDER BY signup_at) FROM users",
            "SELECT * FROM accounts WHERE account_id IN (SELECT account_id FROM users WHERE role = 'admin')",
            "SELECT a.* FROM accounts a WHERE EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.account_id)",
            "SELECT x.n FROM (SELECT count(*) AS n FROM events) x",
            "SELECT count(*) FILTER (WHERE role = 'admin') FROM users",
            "SELECT country, count(*) AS users FROM users GROUP BY country ORDER BY users DESC",
            "SELECT * FROM public.accounts",
            "SELECT * FROM accounts NATURAL JOIN invoices",
            "SELECT * FROM (accounts a JOIN invoices i ON a.account_id = i.account_id) AS j",
            "VALUES (1, 'a'), (2, 'b')",
            "SELECT e.email FROM (SELECT 'nobody@example.com' AS email) e",
            "SELECT 1 AS \"Total revenue ($)\"",
        ] {
            admitted(sql);
        }
    }

    #[test]
    fn reads_are_collected_through_aliases_and_wildcards() {
        let query =
            admitted("SELECT a.*, role FROM accounts a JOIN users USING (account_id) WHERE users.country = 'DE'");
        assert_eq!(query.tables.iter().collect::<Vec<_>>(), ["accounts", "users"]);
        assert!(query.columns.contains(&("accounts".to_string(), "employee_band".to_string())));
        assert!(query.columns.contains(&("users".to_string(), "role".to_string())));
        assert!(query.columns.contains(&("users".to_string(), "country".to_string())));
        // `account_id` is in both tables: not attributed to either.
        assert!(!query.columns.contains(&("users".to_string(), "account_id".to_string())));
    }

    #[test]
    fn personal_columns_are_refused_by_every_route() {
        let cases = [
            ("SELECT email FROM users", "users.email (in the select list)"),
            ("SELECT u.email FROM users u", "users.email (in the select list)"),
            ("SELECT users.full_name FROM users", "users.full_name (in the select list)"),
            ("SELECT public.users.email FROM users", "users.email"),
            ("SELECT \"EMAIL\" FROM users", "users.email"),
            ("SELECT Full_Name FROM users", "users.full_name"),
            ("SELECT \"users.email\" FROM users", "users.email"),
            ("SELECT count(*) FROM users WHERE email LIKE '%@gmail.com'", "(in WHERE)"),
            (
                "SELECT count(*) FROM events e JOIN users u ON u.email = 'x' AND u.user_id = e.user_id",
                "(in JOIN ... ON)",
            ),
            ("SELECT count(*) FROM users u JOIN users v USING (email)", "(in JOIN ... USING)"),
            ("SELECT count(*) FROM users GROUP BY full_name", "(in GROUP BY)"),
            ("SELECT role FROM users GROUP BY role HAVING max(email) > 'a'", "(in HAVING)"),
            ("SELECT user_id FROM users ORDER BY email", "(in ORDER BY)"),
            ("SELECT user_id FROM users UNION SELECT user_id FROM users ORDER BY full_name", "(in ORDER BY)"),
            ("SELECT length(email) FROM users", "users.email"),
            ("SELECT CASE WHEN email IS NULL THEN 0 ELSE 1 END FROM users", "users.email"),
            ("SELECT row_number() OVER (PARTITION BY email) FROM users", "users.email"),
            ("SELECT count(*) OVER w FROM users WINDOW w AS (ORDER BY full_name)", "(in a WINDOW definition)"),
            ("SELECT DISTINCT ON (email) user_id FROM users", "(in DISTINCT ON)"),
            ("SELECT string_agg(role, ',' ORDER BY email) FROM users", "users.email"),
            ("SELECT (SELECT max(email) FROM users) AS m", "users.email"),
            ("SELECT * FROM accounts WHERE name IN (SELECT full_name FROM users)", "users.full_name"),
            ("SELECT * FROM accounts a WHERE EXISTS (SELECT 1 FROM users u WHERE u.email = a.name)", "users.email"),
            ("SELECT x.e FROM (SELECT email AS e FROM users) x", "users.email"),
            ("WITH p AS (SELECT full_name FROM users) SELECT count(*) FROM p", "users.full_name"),
            ("SELECT role FROM users UNION ALL SELECT email FROM users", "users.email"),
            ("SELECT count(*) FROM users u, LATERAL (SELECT u.email) x", "users.email"),
            ("SELECT email.x FROM users", "users.email"),
            ("SELECT j.email FROM (users JOIN accounts USING (account_id)) AS j", "users.email"),
            ("SELECT count(*) FROM users u WHERE (u.email, 1) IN (SELECT 'a', 1)", "users.email"),
            ("SELECT 1 FROM users LIMIT 5 OFFSET (SELECT count(email) FROM users)", "users.email"),
        ];
        for (sql, expected) in cases {
            let error = refused(sql);
            assert_eq!(error.kind(), "personal_data", "{sql}\n{error}");
            assert!(error.to_string().contains(expected), "{sql}\n{error}");
        }
    }

    #[test]
    fn a_personal_name_is_refused_if_any_table_in_scope_could_supply_it() {
        // An unqualified `email` is refused when users is in scope, even though the derived table
        // also has an `email` column.
        let error = refused("SELECT email FROM (SELECT 'x' AS email) e JOIN users u ON true");
        assert_eq!(error.kind(), "personal_data");
        // The correlated outer scope counts too.
        let error = refused("SELECT user_id FROM users WHERE EXISTS (SELECT 1 FROM events WHERE email = 'x')");
        assert_eq!(error.kind(), "personal_data");
        // Aliasing a table as another table's name does not hide its personal columns.
        let error = refused("SELECT accounts.email FROM users AS accounts");
        assert!(error.to_string().contains("users.email"), "{error}");
    }

    #[test]
    fn the_personal_data_message_says_what_to_do() {
        let message = refused("SELECT u.email FROM users u").to_string();
        assert_eq!(
            message,
            "column users.email (in the select list) is personal data and cannot be queried; remove it. Counts and \
             aggregates over users are allowed, e.g. COUNT(*) or COUNT(DISTINCT user_id); other columns of users: \
             user_id, account_id, role, signup_at, signup_channel, signup_platform, country"
        );
    }

    #[test]
    fn wildcards_over_personal_tables_are_refused() {
        assert_kind(
            "personal_data_wildcard",
            &[
                "SELECT * FROM users",
                "SELECT * FROM users u JOIN accounts a USING (account_id)",
                "SELECT u.* FROM users u",
                "SELECT users.* FROM users",
                "SELECT * EXCLUDE (email) FROM users",
                "SELECT * FROM accounts WHERE EXISTS (SELECT * FROM users)",
            ],
        );
        let message = refused("SELECT u.* FROM users u").to_string();
        assert!(message.starts_with("SELECT u.* over users would return its personal data columns (email, full_name)"));
        assert!(message.contains("list the columns you need"), "{message}");
    }

    #[test]
    fn whole_row_references_to_personal_tables_are_refused() {
        assert_kind(
            "personal_data_row",
            &[
                "SELECT u FROM users u",
                "SELECT users FROM users",
                "SELECT to_json(u) FROM users u",
                "SELECT row(u.*) FROM users u",
                "SELECT count(u.*) FROM users u",
                "SELECT md5(CAST(u AS VARCHAR)) FROM users u",
                "SELECT (u).email FROM users u",
                "SELECT to_json(u) AS u FROM users u",
                "SELECT user_id FROM users u ORDER BY to_json(u)",
            ],
        );
        // COUNT(*) counts rows without reading them.
        admitted("SELECT count(*) FROM users u");
        // Whole rows of tables without personal data are not this policy's concern.
        admitted("SELECT to_json(a) FROM accounts a");
    }

    #[test]
    fn natural_joins_that_could_compare_personal_columns_are_refused() {
        let error = refused("SELECT count(*) FROM users NATURAL JOIN (SELECT 'x' AS email) d");
        assert_eq!(error.kind(), "personal_data");
        assert!(error.to_string().contains("NATURAL JOIN"), "{error}");
        assert_eq!(refused("SELECT count(*) FROM users a NATURAL JOIN users b").kind(), "personal_data");
        admitted("SELECT count(*) FROM users NATURAL JOIN accounts");
    }

    #[test]
    fn column_alias_lists_on_personal_tables_are_refused() {
        let error = refused("SELECT e FROM users AS u(a, b, e)");
        assert_eq!(error.kind(), "unsupported_syntax");
        assert!(error.to_string().contains("rename the columns you select in the select list"), "{error}");
        admitted("SELECT i FROM accounts AS a(i, n)");
    }

    #[test]
    fn only_catalog_tables_and_ctes_in_scope_are_readable() {
        assert_kind(
            "unknown_table",
            &["SELECT * FROM customers", "SELECT * FROM \"Users\"", "SELECT * FROM public.\"Events\""],
        );
        let message = refused("SELECT * FROM \"Users\"").to_string();
        assert!(message.contains("write users without quotes"), "{message}");
        let message = refused("SELECT * FROM customers").to_string();
        assert!(message.ends_with("use one of the warehouse tables: accounts, events, invoices, users"), "{message}");
        // A CTE is visible to the query and to later CTEs, not to earlier ones or outside.
        admitted("WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM b");
        assert_eq!(
            refused("WITH b AS (SELECT x FROM a), a AS (SELECT 1 AS x) SELECT * FROM b").kind(),
            "unknown_table"
        );
        assert_eq!(refused("SELECT * FROM (WITH a AS (SELECT 1) SELECT * FROM a) x, a").kind(), "unknown_table");
        let message = refused("WITH \"Active\" AS (SELECT 1) SELECT * FROM \"ACTIVE\"").to_string();
        assert!(message.contains("write the CTE name exactly as it is defined"), "{message}");
    }

    #[test]
    fn ctes_may_not_shadow_tables() {
        let error = refused("WITH users AS (SELECT user_id FROM users) SELECT * FROM users");
        assert_eq!(error.kind(), "cte_shadows_table");
        assert!(error.to_string().contains("rename the CTE (e.g. users_cte)"), "{error}");
        assert_eq!(refused("WITH \"EVENTS\" AS (SELECT 1) SELECT 1").kind(), "cte_shadows_table");
    }

    #[test]
    fn schemas_other_than_the_default_are_refused() {
        assert_kind(
            "schema_not_allowed",
            &["SELECT * FROM other.accounts", "SELECT * FROM datafusion.public.accounts"],
        );
        assert_kind(
            "system_catalog",
            &[
                "SELECT * FROM information_schema.tables",
                "SELECT * FROM datafusion.information_schema.columns",
                "SELECT * FROM pg_catalog.pg_tables",
                "SELECT * FROM INFORMATION_SCHEMA.\"columns\"",
            ],
        );
    }

    #[test]
    fn information_schema_can_be_enabled() {
        let config = PolicyConfig { allow_information_schema: true, ..PolicyConfig::default() };
        let policy = SqlPolicy::new(demo_catalog(), config);
        let query = policy.check("SELECT table_name FROM information_schema.tables").unwrap();
        assert_eq!(query.tables.iter().collect::<Vec<_>>(), ["information_schema.tables"]);
        assert!(policy.check("SELECT * FROM datafusion.information_schema.columns").is_ok());
        assert_eq!(policy.check("SELECT * FROM pg_catalog.pg_tables").unwrap_err().kind(), "system_catalog");
    }

    #[test]
    fn files_and_urls_are_refused() {
        assert_kind(
            "file_access",
            &[
                "SELECT * FROM 'data.parquet'",
                "SELECT * FROM \"/etc/passwd\"",
                "SELECT * FROM 's3://bucket/users.parquet'",
                "SELECT * FROM 'https://example.com/users.csv'",
                "SELECT * FROM \"users.parquet\"",
                "SELECT * FROM users.parquet",
                "SELECT * FROM read_parquet('users.parquet')",
                "SELECT * FROM read_csv('/tmp/x.csv')",
                "SELECT * FROM parquet_scan('x')",
            ],
        );
        let message = refused("SELECT * FROM \"/etc/passwd\"").to_string();
        assert!(message.contains("(\"/etc/passwd\")") && message.contains("query the warehouse tables"), "{message}");
    }

    #[test]
    fn table_functions_are_refused_unless_allow_listed() {
        assert_kind(
            "table_function",
            &[
                "SELECT * FROM generate_series(1, 1000000000)",
                "SELECT * FROM range(10)",
                "SELECT * FROM unnest([1, 2, 3])",
                "SELECT * FROM events e, unnest([e.event_id]) AS t(x)",
            ],
        );
        let config =
            PolicyConfig { allowed_table_functions: vec!["GENERATE_SERIES".to_string()], ..PolicyConfig::default() };
        let policy = SqlPolicy::new(demo_catalog(), config);
        assert!(policy.check("SELECT * FROM generate_series(1, 3) AS g(n)").is_ok());
        assert_eq!(policy.check("SELECT * FROM range(3)").unwrap_err().kind(), "table_function");
        // The arguments of an allowed function are still checked.
        let error = policy.check("SELECT * FROM users u, generate_series(1, length(u.email))").unwrap_err();
        assert_eq!(error.kind(), "personal_data");
    }

    #[test]
    fn look_alike_and_invisible_identifiers_are_refused() {
        assert_kind(
            "suspicious_identifier",
            &[
                "SELECT count(*) FROM us\u{0435}rs",
                "SELECT count(*) FROM \"us\u{0435}rs\"",
                "SELECT \"\u{0435}mail\" FROM users",
                "SELECT \"em\u{200b}ail\" FROM users",
                "SELECT \u{ff45}mail FROM users",
                "SELECT count(*) AS \"n\u{202e}\" FROM users",
                "SELECT count(*) FROM users \"\u{0443}\"",
                "WITH \"c\u{0442}e\" AS (SELECT 1) SELECT 1",
                "SELECT count(*) FROM users a JOIN users b USING (\"acc\u{200b}ount_id\")",
                "SELECT \"\u{0443}\".* FROM users u",
                "SELECT c\u{043e}unt(*) FROM users",
            ],
        );
        // Non-ASCII text is fine in string literals.
        admitted("SELECT count(*) FROM accounts WHERE name = 'Müller GmbH'");
    }

    #[test]
    fn recursion_is_refused() {
        let error = refused("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT * FROM t");
        assert_eq!(error.kind(), "recursive_query");
        assert!(error.to_string().starts_with("WITH RECURSIVE is not allowed"), "{error}");
    }

    #[test]
    fn statements_hidden_inside_queries_are_refused() {
        let into = refused("SELECT * INTO copy_of_accounts FROM accounts");
        assert_eq!(into, PolicyError::StatementNotAllowed { statement: "SELECT ... INTO".to_string() });
        let modifying = refused("WITH x AS (DELETE FROM users RETURNING user_id) SELECT * FROM x");
        assert_eq!(modifying.kind(), "statement_not_allowed");
        assert!(modifying.to_string().starts_with("DELETE (inside a query) statements"), "{modifying}");
    }

    #[test]
    fn dialect_extensions_that_datafusion_does_not_run_are_refused() {
        assert_kind(
            "unsupported_syntax",
            &[
                "SELECT TOP 5 user_id FROM users",
                "SELECT * FROM accounts TABLESAMPLE (10 PERCENT)",
                "SELECT account_id FROM accounts SORT BY account_id",
            ],
        );
    }
}
