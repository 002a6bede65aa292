//! The documents built from the demo layer and snapshot: kinds, ids, value synonyms, personal
//! data left out, cardinality limits, deterministic order.

mod common;

use std::collections::BTreeSet;

use quarry_retrieve::{Document, DocumentOptions, Kind, documents};

fn demo_documents(options: &DocumentOptions) -> Vec<Document> {
    documents(&common::demo_layer(), &common::demo_snapshot(), options).expect("documents build")
}

fn find<'a>(docs: &'a [Document], id: &str) -> &'a Document {
    docs.iter().find(|d| d.id == id).unwrap_or_else(|| panic!("no document {id}"))
}

#[test]
fn every_part_of_the_layer_becomes_a_document() {
    let layer = common::demo_layer();
    let docs = demo_documents(&DocumentOptions::default());
    let count = |kind| docs.iter().filter(|d| d.kind == kind).count();
    assert_eq!(count(Kind::Metric), layer.metrics.len());
    assert_eq!(count(Kind::Dimension), layer.dimensions.len());
    assert_eq!(count(Kind::Table), layer.tables.len());
    assert_eq!(count(Kind::Segment), layer.segments.len());
    assert_eq!(count(Kind::VerifiedQuestion), layer.verified_queries.len());
    let ids: BTreeSet<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), docs.len(), "ids are unique");

    let revenue = find(&docs, "metric:revenue");
    for word in ["Revenue", "sales", "Paid invoice amounts", "SUM(amount_usd)", "status = 'paid'"] {
        assert!(revenue.text.contains(word), "{word} missing from {}", revenue.text);
    }
    assert_eq!(revenue.payload["table"], "invoices");
    assert!(find(&docs, "metric:active_users").text.contains("mau"));
    assert!(find(&docs, "dimension:region").text.contains("geography"));
    assert!(find(&docs, "table:accounts").text.contains("customers"));
    assert!(find(&docs, "segment:unresolved_tickets").text.contains("still open"));
    let verified = find(&docs, "verified:2");
    assert_eq!(verified.text, "What is our current MRR by plan?");
    assert!(verified.payload["sql"].as_str().unwrap().contains("SUM(mrr_usd)"));
    let column = find(&docs, "column:users.signup_channel");
    assert!(column.text.contains("Acquisition channel") && column.text.contains("paid_search"), "{}", column.text);
    assert_eq!(column.payload["data_type"], "Utf8");
}

#[test]
fn values_carry_the_layers_synonyms() {
    let docs = demo_documents(&DocumentOptions::default());
    let germany = find(&docs, "value:country=DE");
    for word in ["DE", "germany", "deutschland", "Country"] {
        assert!(germany.text.contains(word), "{word} missing from {}", germany.text);
    }
    let mut payload: Vec<(&str, &str)> =
        germany.payload.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
    payload.sort();
    assert_eq!(payload, [("column", "country"), ("dimension", "country"), ("table", "accounts"), ("value", "DE")]);
    let paid = find(&docs, "value:signup_channel=paid_search");
    assert!(paid.text.contains("paid search") && paid.text.contains("ppc"), "{}", paid.text);
    // Every value of the data's low-cardinality columns is there, named or not.
    let countries = docs.iter().filter(|d| d.id.starts_with("value:country=")).count();
    assert_eq!(countries, 14);
    assert!(docs.iter().any(|d| d.id == "value:event_name=feature_used"));
    assert!(docs.iter().any(|d| d.id == "value:cancel_reason=switched_competitor"));
}

#[test]
fn personal_data_is_never_indexed() {
    let layer = common::demo_layer();
    let docs = demo_documents(&DocumentOptions { max_distinct_values: usize::MAX, example_values: usize::MAX });
    let personal = layer.personal_columns();
    assert!(!personal.is_empty(), "the demo layer marks email and full name as personal");
    for (table, column) in &personal {
        for doc in &docs {
            assert_ne!(doc.id, format!("column:{table}.{column}"));
            assert!(
                doc.payload.get("column").and_then(|c| c.as_str()) != Some(column.as_str())
                    || doc.payload.get("table").and_then(|t| t.as_str()) != Some(table.as_str()),
                "{} points at personal column {table}.{column}",
                doc.id
            );
        }
    }
    // Even with no cardinality limit, no email address (or any value of them) leaks.
    assert!(docs.iter().all(|d| !d.text.contains('@')), "an email address was indexed");
    let users = find(&docs, "table:users");
    assert!(!users.text.contains("email") && !users.text.contains("full name"), "{}", users.text);
}

#[test]
fn high_cardinality_columns_have_no_value_documents() {
    let docs = demo_documents(&DocumentOptions::default());
    assert!(docs.iter().all(|d| !d.id.starts_with("value:account=")), "5,000 company names are not indexed");
    // With a limit of 5 the 14 countries are too many; the values the layer names are kept.
    let mut layer = common::demo_layer();
    layer.dimensions.iter_mut().find(|d| d.name == "country").unwrap().values.clear();
    let options = DocumentOptions { max_distinct_values: 5, ..DocumentOptions::default() };
    let docs = documents(&layer, &common::demo_snapshot(), &options).unwrap();
    assert!(docs.iter().all(|d| !d.id.starts_with("value:country=")));
    assert_eq!(docs.iter().filter(|d| d.id.starts_with("value:region=")).count(), 4, "4 regions fit in 5");
    assert!(docs.iter().any(|d| d.id == "value:industry=Media"), "named values stay although there are 7");
}

#[test]
fn values_of_columns_without_a_dimension_are_named_by_column() {
    let mut layer = common::demo_layer();
    layer.dimensions.retain(|d| d.name != "variant");
    let docs = documents(&layer, &common::demo_snapshot(), &DocumentOptions::default()).unwrap();
    let control = find(&docs, "value:experiment_assignments.variant=control");
    assert_eq!(control.payload["table"], "experiment_assignments");
    assert!(!control.payload.contains_key("dimension"));
}

#[test]
fn tables_missing_from_the_snapshot_are_indexed_from_the_layer() {
    let mut layer = common::demo_layer();
    let mut ghost = layer.table("accounts").unwrap().clone();
    ghost.name = "partners".into();
    ghost.description = "Reseller partners.".into();
    layer.tables.push(ghost);
    let docs = documents(&layer, &common::demo_snapshot(), &DocumentOptions::default()).unwrap();
    assert!(find(&docs, "table:partners").text.contains("Reseller partners"));
    let column = find(&docs, "column:partners.industry");
    assert!(!column.payload.contains_key("data_type"), "no type without the data: {:?}", column.payload);
}

#[test]
fn documents_come_in_a_fixed_order() {
    let first = demo_documents(&DocumentOptions::default());
    let second = demo_documents(&DocumentOptions::default());
    assert_eq!(first, second);
    let kinds: Vec<Kind> = first.iter().map(|d| d.kind).collect();
    let mut runs = kinds.clone();
    runs.dedup();
    assert_eq!(
        runs,
        [Kind::Metric, Kind::Dimension, Kind::Table, Kind::Column, Kind::Segment, Kind::VerifiedQuestion, Kind::Value]
    );
}
