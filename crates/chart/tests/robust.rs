//! Bad input never panics: empty results, nulls, one row, thousands of rows, long labels,
//! negative values, all-zero series, and random small results (property tests).

use proptest::prelude::*;
use quarry_chart::{
    ChartChooser, ChartData, ChartHints, ChartInput, ChartKind, ChartRenderer, Column, Format, Size, SpecChecker,
    Values,
};

fn text(name: &str, values: Vec<Option<String>>) -> Column {
    Column { name: name.into(), values: Values::Text(values) }
}

fn numbers(name: &str, values: Vec<Option<f64>>) -> Column {
    Column { name: name.into(), values: Values::Number(values) }
}

fn days(name: &str, count: usize) -> Column {
    let start = 1_735_689_600_000i64; // 2025-01-01
    Column {
        name: name.into(),
        values: Values::Time((0..count).map(|d| Some(start + d as i64 * 86_400_000)).collect()),
    }
}

/// Chooses (honouring `requested`) and renders both formats; returns the chosen kind.
fn render_all(columns: Vec<Column>, requested: Option<ChartKind>) -> Option<ChartKind> {
    let input = ChartInput::new(ChartData::new(columns).expect("valid columns"), ChartHints::default());
    let choice = ChartChooser::choose(&input, requested);
    let spec = choice.spec.as_ref()?;
    for format in [Format::Svg, Format::Png] {
        let bytes = ChartRenderer::new(Size { width: 320, height: 200 })
            .with_png_scale(1.0)
            .render(spec, &choice.data, format)
            .expect("renders");
        assert!(!bytes.is_empty());
    }
    Some(spec.kind())
}

#[test]
fn empty_results_and_single_values_get_no_chart_with_a_reason() {
    let input = ChartInput::new(ChartData::new(vec![numbers("n", vec![])]).unwrap(), ChartHints::default());
    assert_eq!(ChartChooser::choose(&input, None).reason, "no rows: nothing to chart");
    let input = ChartInput::new(ChartData::new(vec![numbers("n", vec![Some(42.0)])]).unwrap(), ChartHints::default());
    let choice = ChartChooser::choose(&input, Some(ChartKind::Pie));
    assert!(choice.spec.is_none());
    assert_eq!(choice.reason, "single value: shown as a big number");
}

#[test]
fn nulls_negatives_zeros_and_long_labels_render() {
    let labels: Vec<Option<String>> = vec![Some("a".repeat(300)), None, Some("b".into()), Some("ünïcødé 日本".into())];
    assert_eq!(
        render_all(vec![text("k", labels.clone()), numbers("v", vec![Some(-5.0), None, Some(3.0), Some(0.0)])], None),
        Some(ChartKind::HorizontalBar)
    );
    assert_eq!(
        render_all(vec![text("k", labels.clone()), numbers("v", vec![Some(0.0); 4])], None),
        Some(ChartKind::HorizontalBar)
    );
    // A pie of all zeros or negatives falls back to bars with the reason.
    let input = ChartInput::new(
        ChartData::new(vec![text("k", labels), numbers("v", vec![Some(-1.0); 4])]).unwrap(),
        ChartHints::default(),
    );
    let choice = ChartChooser::choose(&input, Some(ChartKind::Pie));
    assert_eq!(choice.kind(), Some(ChartKind::HorizontalBar));
    assert!(choice.reason.contains("a pie needs"), "{}", choice.reason);
    assert_eq!(
        render_all(vec![days("day", 5), numbers("v", vec![None, None, Some(1.0), None, Some(-2.0)])], None),
        Some(ChartKind::Line)
    );
    assert_eq!(render_all(vec![days("day", 1), numbers("v", vec![Some(1.0)])], None), Some(ChartKind::Line));
}

#[test]
fn thousands_of_rows_render_and_too_many_are_refused_clearly() {
    let n = 3000;
    let values: Vec<Option<f64>> = (0..n).map(|i| Some((i as f64).sin() * 100.0)).collect();
    assert_eq!(render_all(vec![days("day", n), numbers("v", values.clone())], None), Some(ChartKind::Line));
    let labels: Vec<Option<String>> = (0..n).map(|i| Some(format!("customer {i}"))).collect();
    assert_eq!(render_all(vec![text("who", labels), numbers("v", values)], None), Some(ChartKind::HorizontalBar));
    let error = ChartData::new(vec![numbers("v", vec![Some(1.0); quarry_chart::MAX_CHART_ROWS + 1])]).unwrap_err();
    assert!(error.to_string().contains("at most"), "{error}");
}

#[test]
fn a_lenient_spec_with_too_many_bars_is_refused_by_the_renderer_not_a_panic() {
    let n = 1000;
    let labels: Vec<Option<String>> = (0..n).map(|i| Some(format!("k{i}"))).collect();
    let data = ChartData::new(vec![text("k", labels), numbers("v", vec![Some(1.0); n])]).unwrap();
    let input = ChartInput::new(data, ChartHints::default());
    let spec = serde_json::json!({"mark": "bar", "encoding": {"x": {"field": "k", "type": "nominal"}, "y": {"field": "v", "type": "quantitative"}}});
    let error = SpecChecker::lenient().check(&spec, &input).unwrap_err();
    assert!(error.to_string().contains("1000 bars are too many"), "{error}");
}

fn cell_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), "[a-zA-Z ]{0,40}".prop_map(Some), Just(Some(String::new()))]
}

fn cell_number() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        (-1e9f64..1e9).prop_map(Some),
        Just(Some(0.0)),
        Just(Some(-0.0)),
        (-1.0f64..1.0).prop_map(Some)
    ]
}

fn kinds() -> impl Strategy<Value = Option<ChartKind>> {
    prop_oneof![Just(None), proptest::sample::select(ChartKind::ALL.to_vec()).prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_small_results_never_panic(
        rows in 0usize..30,
        texts in proptest::collection::vec(cell_text(), 30),
        more_texts in proptest::collection::vec(cell_text(), 30),
        a in proptest::collection::vec(cell_number(), 30),
        b in proptest::collection::vec(cell_number(), 30),
        with_time in any::<bool>(),
        with_second_dimension in any::<bool>(),
        requested in kinds(),
    ) {
        let mut columns = Vec::new();
        if with_time {
            columns.push(days("day", rows));
        }
        columns.push(text("k", texts[..rows].to_vec()));
        if with_second_dimension {
            columns.push(text("k2", more_texts[..rows].to_vec()));
        }
        columns.push(numbers("a", a[..rows].to_vec()));
        if !with_second_dimension {
            columns.push(numbers("b", b[..rows].to_vec()));
        }
        let _ = render_all(columns, requested);
    }
}
