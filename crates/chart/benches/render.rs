//! Render time per chart type, SVG and PNG, from the fixed samples.
#![allow(missing_docs)] // criterion_group! generates an undocumented public function.

use criterion::{Criterion, criterion_group, criterion_main};
use quarry_chart::{ChartChooser, ChartRenderer, Format, Size};

fn render(c: &mut Criterion) {
    let renderer = ChartRenderer::new(Size::WEB);
    for sample in quarry_chart::samples::samples() {
        let choice = ChartChooser::choose(&sample.input, sample.requested);
        let Some(spec) = choice.spec.as_ref() else { continue };
        for (format, name) in [(Format::Svg, "svg"), (Format::Png, "png")] {
            c.bench_function(&format!("{}/{name}", sample.name), |b| {
                b.iter(|| renderer.render(spec, &choice.data, format).expect("renders"))
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(1)).warm_up_time(std::time::Duration::from_millis(300));
    targets = render
}
criterion_main!(benches);
