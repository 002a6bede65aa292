//! Functional dependence beside aggregates: a bare column the grouped columns determine
//! (through a primary key, also across join equalities) is added to GROUP BY; one nothing
//! determines is refused with both fixes.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, JoinConstraint, JoinOperator, ObjectNamePart, OrderByExpr, Query, Select,
    SelectItem, Value, Visit, Visitor,
};

use super::{Normalizer, Resolved, canonical};
use crate::error::PolicyError;

/// Aggregate functions (DataFusion's built-ins and common aliases): columns inside them need no grouping.
const AGGREGATES: &[&str] = &[
    "any_value",
    "approx_distinct",
    "approx_median",
    "approx_percentile_cont",
    "approx_percentile_cont_with_weight",
    "array_agg",
    "avg",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bool_and",
    "bool_or",
    "corr",
    "count",
    "covar",
    "covar_pop",
    "covar_samp",
    "every",
    "first_value",
    "grouping",
    "last_value",
    "max",
    "mean",
    "median",
    "min",
    "nth_value",
    "percentile_cont",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "sum",
    "var",
    "var_pop",
    "var_population",
    "var_samp",
    "var_sample",
    "variance",
];

impl Normalizer<'_> {
    /// Adds to GROUP BY the bare columns the grouped columns determine, or records the refusal of
    /// one they do not determine.
    pub(super) fn group_by_dependents(&mut self, select: &mut Select, order_by: Option<&Vec<OrderByExpr>>) {
        let GroupByExpr::Expressions(group_exprs, modifiers) = &select.group_by else { return };
        if !modifiers.is_empty()
            || group_exprs.iter().any(|e| matches!(e, Expr::Rollup(_) | Expr::Cube(_) | Expr::GroupingSets(_)))
        {
            return;
        }
        let grouped: Vec<Expr> = group_exprs.iter().map(|e| self.group_target(e, &select.projection)).collect();
        let grouped_text: BTreeSet<String> = grouped.iter().map(canonical).collect();

        let mut finder = BareColumns::new(&grouped_text);
        let visit = |expr: &Expr, clause: &'static str, finder: &mut BareColumns<'_>| {
            finder.clause = clause;
            let _ = expr.visit(finder);
        };
        for item in &select.projection {
            if let SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } = item {
                visit(expr, "in the select list", &mut finder);
            }
        }
        if let Some(having) = &select.having {
            visit(having, "in HAVING", &mut finder);
        }
        for item in order_by.into_iter().flatten() {
            visit(&item.expr, "in ORDER BY", &mut finder);
        }
        if grouped.is_empty() && finder.aggregates == 0 {
            return; // not an aggregate query
        }
        let found = std::mem::take(&mut finder.found);

        let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
        for expr in &grouped {
            if let Resolved::Column(binding, column) = self.resolve(expr) {
                keys.insert((binding, column));
            }
        }
        let determined = self.closure(&keys, select);
        let mut added: Vec<Expr> = Vec::new();
        for (expr, clause) in found {
            match self.resolve(&expr) {
                Resolved::Column(binding, column) => {
                    let column = (binding, column);
                    if keys.contains(&column) {
                        continue; // grouped, written another way (`name` for `T1.name`)
                    }
                    if determined.contains(&column) {
                        let text = canonical(&expr);
                        if !grouped_text.contains(&text) && !added.iter().any(|e| canonical(e) == text) {
                            added.push(expr);
                        }
                    } else if self.done.refusal.is_none() {
                        self.done.refusal =
                            Some(PolicyError::UngroupedColumn { column: expr.to_string(), clause: clause.to_string() });
                    }
                }
                Resolved::Outer | Resolved::Alias | Resolved::Unknown => {}
            }
        }
        if added.is_empty() || grouped.is_empty() {
            return;
        }
        let by = grouped.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let columns = added.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        self.note(format!(
            "{columns} added to GROUP BY: the grouped {by} determines it through a primary key, so the result is \
             unchanged"
        ));
        if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
            exprs.extend(added);
        }
    }

    /// What a GROUP BY item groups by: `GROUP BY 2` and `GROUP BY alias` mean a select item.
    fn group_target(&self, expr: &Expr, projection: &[SelectItem]) -> Expr {
        let item = match expr {
            Expr::Value(value) => match &value.value {
                Value::Number(n, _) => n.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| projection.get(i)),
                _ => None,
            },
            Expr::Identifier(ident) if self.resolve(expr) == Resolved::Alias => projection.iter().find(|item| {
                matches!(item, SelectItem::ExprWithAlias { alias, .. } if alias.value.eq_ignore_ascii_case(&ident.value))
            }),
            _ => None,
        };
        match item {
            Some(SelectItem::UnnamedExpr(target) | SelectItem::ExprWithAlias { expr: target, .. }) => target.clone(),
            _ => expr.clone(),
        }
    }

    /// The columns the grouped `keys` determine: those equal to a determined column (inner join
    /// conditions and WHERE conjuncts), and every column of a relation whose primary key is
    /// determined.
    fn closure(&self, keys: &BTreeSet<(String, String)>, select: &Select) -> BTreeSet<(String, String)> {
        let mut equalities: Vec<((String, String), (String, String))> = Vec::new();
        let mut conditions: Vec<&Expr> = select.selection.iter().collect();
        for table_with_joins in &select.from {
            for join in &table_with_joins.joins {
                if let JoinOperator::Join(JoinConstraint::On(on)) | JoinOperator::Inner(JoinConstraint::On(on)) =
                    &join.join_operator
                {
                    conditions.push(on);
                }
            }
        }
        for condition in conditions {
            for conjunct in conjuncts(condition) {
                if let Expr::BinaryOp { left, op: BinaryOperator::Eq, right } = conjunct
                    && let (Resolved::Column(lb, lc), Resolved::Column(rb, rc)) =
                        (self.resolve(unnest(left)), self.resolve(unnest(right)))
                {
                    equalities.push(((lb, lc), (rb, rc)));
                }
            }
        }
        let relations = &self.frames.last().expect("a frame is pushed while a SELECT is normalized").relations;
        let mut determined = keys.clone();
        loop {
            let before = determined.len();
            for (a, b) in &equalities {
                if determined.contains(a) {
                    determined.insert(b.clone());
                }
                if determined.contains(b) {
                    determined.insert(a.clone());
                }
            }
            for relation in relations {
                let (Some(table), Some(columns)) = (&relation.table, &relation.columns) else { continue };
                let key = self.catalog.primary_key(table);
                if !key.is_empty() && key.iter().all(|k| determined.contains(&(relation.binding.clone(), k.clone()))) {
                    determined.extend(columns.iter().map(|c| (relation.binding.clone(), c.clone())));
                }
            }
            if determined.len() == before {
                return determined;
            }
        }
    }
}

/// The conjuncts of `a AND b AND ...`.
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match unnest(expr) {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            let mut all = conjuncts(left);
            all.extend(conjuncts(right));
            all
        }
        other => vec![other],
    }
}

fn unnest(mut expr: &Expr) -> &Expr {
    while let Expr::Nested(inner) = expr {
        expr = inner;
    }
    expr
}

fn is_aggregate(expr: &Expr) -> bool {
    let Expr::Function(function) = expr else { return false };
    if function.over.is_some() {
        return false;
    }
    let Some(ObjectNamePart::Identifier(name)) = function.name.0.last() else { return false };
    AGGREGATES.contains(&name.value.to_lowercase().as_str())
}

/// Collects the column references of one SELECT's expressions that sit outside every aggregate
/// and every grouped expression.
struct BareColumns<'g> {
    grouped: &'g BTreeSet<String>,
    clause: &'static str,
    found: Vec<(Expr, &'static str)>,
    /// Aggregate calls met outside subqueries and other aggregates.
    aggregates: usize,
    inside_aggregate: usize,
    inside_grouped: usize,
    subquery_depth: usize,
}

impl<'g> BareColumns<'g> {
    fn new(grouped: &'g BTreeSet<String>) -> Self {
        Self {
            grouped,
            clause: "",
            found: Vec::new(),
            aggregates: 0,
            inside_aggregate: 0,
            inside_grouped: 0,
            subquery_depth: 0,
        }
    }
}

impl Visitor for BareColumns<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.subquery_depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.subquery_depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.subquery_depth > 0 {
            return ControlFlow::Continue(());
        }
        if is_aggregate(expr) {
            if self.inside_aggregate == 0 {
                self.aggregates += 1;
            }
            self.inside_aggregate += 1;
        }
        if self.grouped.contains(&canonical(expr)) {
            self.inside_grouped += 1;
        }
        if self.inside_aggregate == 0
            && self.inside_grouped == 0
            && matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            self.found.push((expr.clone(), self.clause));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.subquery_depth > 0 {
            return ControlFlow::Continue(());
        }
        if is_aggregate(expr) {
            self.inside_aggregate -= 1;
        }
        if self.grouped.contains(&canonical(expr)) {
            self.inside_grouped -= 1;
        }
        ControlFlow::Continue(())
    }
}
