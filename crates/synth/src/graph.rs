//! The join graph of a semantic layer: shortest join paths between tables, and whether a
//! path fans out (walks from a key to the rows that reference it, multiplying rows).

use std::collections::{BTreeMap, VecDeque};

use quarry_semantic::SemanticLayer;

/// One join step: `left_table.left_column = right_table.right_column`, where `right_table`
/// is the table being added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinStep {
    /// A table already in the query.
    pub left_table: String,
    /// Its join column.
    pub left_column: String,
    /// The table added.
    pub right_table: String,
    /// Its join column.
    pub right_column: String,
    /// The step goes from a referenced key to referencing rows (one-to-many).
    pub fans_out: bool,
}

/// Shortest join paths over the layer's foreign keys.
#[derive(Debug, Clone, Default)]
pub struct JoinGraph {
    /// table -> (neighbour, step)
    edges: BTreeMap<String, Vec<JoinStep>>,
}

impl JoinGraph {
    /// The graph of a layer.
    pub fn new(layer: &SemanticLayer) -> Self {
        let mut edges: BTreeMap<String, Vec<JoinStep>> = BTreeMap::new();
        for join in &layer.joins {
            let (Some((ft, fc)), Some((tt, tc))) = (join.from_parts(), join.to_parts()) else { continue };
            edges.entry(ft.to_string()).or_default().push(JoinStep {
                left_table: ft.into(),
                left_column: fc.into(),
                right_table: tt.into(),
                right_column: tc.into(),
                fans_out: false,
            });
            edges.entry(tt.to_string()).or_default().push(JoinStep {
                left_table: tt.into(),
                left_column: tc.into(),
                right_table: ft.into(),
                right_column: fc.into(),
                fans_out: true,
            });
        }
        Self { edges }
    }

    /// The shortest path from `from` to `to`, preferring paths that do not fan out.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<JoinStep>> {
        if from == to {
            return Some(Vec::new());
        }
        // Breadth-first search where a fan-out step costs more than any safe path could,
        // so many-to-one paths win whenever they exist.
        let mut best: BTreeMap<String, (usize, Vec<JoinStep>)> = BTreeMap::new();
        let mut queue = VecDeque::from([(from.to_string(), 0usize, Vec::<JoinStep>::new())]);
        best.insert(from.to_string(), (0, Vec::new()));
        while let Some((table, cost, path)) = queue.pop_front() {
            for step in self.edges.get(&table).into_iter().flatten() {
                let next_cost = cost + if step.fans_out { 100 } else { 1 };
                if path.iter().any(|s| s.left_table == step.right_table) {
                    continue;
                }
                if best.get(&step.right_table).is_none_or(|(c, _)| next_cost < *c) {
                    let mut next = path.clone();
                    next.push(step.clone());
                    best.insert(step.right_table.clone(), (next_cost, next.clone()));
                    queue.push_back((step.right_table.clone(), next_cost, next));
                }
            }
        }
        best.remove(to).map(|(_, path)| path)
    }

    /// The cost of joining `to` onto `from` (0 for the same table), `None` if unreachable.
    pub fn distance(&self, from: &str, to: &str) -> Option<usize> {
        self.path(from, to).map(|p| p.iter().map(|s| if s.fans_out { 100 } else { 1 }).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_many_to_one_paths() {
        let graph = JoinGraph::new(&SemanticLayer::demo());
        let path = graph.path("invoices", "accounts").unwrap();
        assert_eq!(path.len(), 1);
        assert!(!path[0].fans_out);
        let path = graph.path("events", "accounts").unwrap();
        assert_eq!(path.len(), 1, "events reference accounts directly");
        let path = graph.path("users", "subscriptions").unwrap();
        assert!(path.iter().any(|s| s.fans_out));
        assert_eq!(graph.distance("users", "users"), Some(0));
    }
}
