//! Golden files for every chart type from fixed data: the chosen spec, the SVG, and a PNG
//! that decodes at the right size with the palette in it.

use quarry_chart::samples::samples;
use quarry_chart::{ChartChooser, ChartRenderer, Format, Size};

#[test]
fn every_chart_type_is_chosen_and_renders_to_golden_svg() {
    for sample in samples() {
        let choice = ChartChooser::choose(&sample.input, sample.requested);
        let spec = choice.spec.as_ref().unwrap_or_else(|| panic!("{}: no chart: {}", sample.name, choice.reason));
        assert_eq!(spec.kind(), sample.expected, "{}: {}", sample.name, choice.reason);
        assert!(spec.notes().is_empty(), "{}: built-in specs need no notes: {:?}", sample.name, spec.notes());
        // Sorted, because serde_json keeps insertion order in builds where a dependency turns
        // on its `preserve_order` feature and sorts keys in the others.
        insta::with_settings!({ sort_maps => true }, {
            insta::assert_json_snapshot!(format!("{}_spec", sample.name), spec.spec());
        });
        let svg = ChartRenderer::new(Size::WEB).render(spec, &choice.data, Format::Svg).expect("renders");
        let svg = String::from_utf8(svg).expect("SVG is UTF-8");
        assert!(svg.contains("<title>"), "{}: marks carry tooltips", sample.name);
        insta::assert_snapshot!(format!("{}_svg", sample.name), svg);
    }
}

#[test]
fn pngs_decode_at_twice_the_logical_size_and_show_the_palette() {
    for sample in samples() {
        let choice = ChartChooser::choose(&sample.input, sample.requested);
        let spec = choice.spec.as_ref().expect("a chart");
        let png = ChartRenderer::new(Size::SLACK).render(spec, &choice.data, Format::Png).expect("renders");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).expect("one frame");
        assert_eq!((info.width, info.height), (1600, 900), "{}", sample.name);
        // The first palette colour (Okabe-Ito blue, #0072B2, maybe blended) is in every chart.
        let blue = pixels.chunks(3).filter(|p| p[2] > 150 && u16::from(p[2]) > u16::from(p[0]) + 100).count();
        assert!(blue > 200, "{}: {blue} blue pixels", sample.name);
        let dark_text = pixels.chunks(3).filter(|p| p.iter().all(|c| *c < 0x70)).count();
        assert!(dark_text > 500, "{}: text is drawn ({dark_text} dark pixels)", sample.name);
    }
}

#[test]
fn svg_tooltips_carry_the_values_of_the_mark() {
    let sample = samples().into_iter().find(|s| s.name == "bar").expect("bar sample");
    let choice = ChartChooser::choose(&sample.input, None);
    let svg = ChartRenderer::default().render(choice.spec.as_ref().unwrap(), &choice.data, Format::Svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("<title>channel: organic\nSignups: 1,840</title></rect>"), "{svg}");
    assert_eq!(svg.matches("<title>").count(), 5);
}

/// Issue 19: a chart is stored as its source and drawn when asked for; the source read back
/// draws the very same SVG and PNG as the spec did when the answer was made.
#[test]
fn a_stored_source_draws_the_same_images() {
    use quarry_chart::ChartSource;
    for sample in samples() {
        let choice = ChartChooser::choose(&sample.input, sample.requested);
        let spec = choice.spec.as_ref().expect("a chart");
        let stored = serde_json::to_string(&spec.source(&choice.data)).expect("serializes");
        let source: ChartSource = serde_json::from_str(&stored).expect("reads back");
        assert_eq!(source.check().expect("checks again").kind(), spec.kind(), "{}", sample.name);
        for (format, size) in [(Format::Svg, Size::WEB), (Format::Png, Size::SLACK)] {
            let then = ChartRenderer::new(size).render(spec, &choice.data, format).expect("renders");
            assert!(source.render(format, size).expect("renders from the source") == then, "{}", sample.name);
        }
    }
    // Columns of different lengths are refused when read back, as when built.
    let uneven = r#"{"spec": {}, "input": {"data": [
        {"name": "a", "values": {"kind": "number", "values": [1.0, 2.0]}},
        {"name": "b", "values": {"kind": "text", "values": ["x"]}}], "hints": {"time": null, "measures": [],
        "dimensions": [], "share": false, "title": null}}, "strictness": "strict"}"#;
    let error = serde_json::from_str::<ChartSource>(uneven).unwrap_err().to_string();
    assert!(error.contains("column b has 1 values but a has 2"), "{error}");
}
