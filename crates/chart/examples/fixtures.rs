//! Writes every sample chart as PNG (and SVG) into `fixtures/charts/` for review by eye:
//! `cargo run -p quarry-chart --example fixtures`.

use std::path::PathBuf;

use quarry_chart::{ChartChooser, ChartRenderer, Format, Size};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/charts");
    std::fs::create_dir_all(&out)?;
    for sample in quarry_chart::samples::samples() {
        let choice = ChartChooser::choose(&sample.input, sample.requested);
        let spec = choice.spec.as_ref().ok_or_else(|| format!("{}: no chart ({})", sample.name, choice.reason))?;
        for (size, suffix) in [(Size::WEB, ""), (Size::SLACK, "_slack")] {
            let renderer = ChartRenderer::new(size);
            let png = renderer.render(spec, &choice.data, Format::Png)?;
            std::fs::write(out.join(format!("{}{suffix}.png", sample.name)), png)?;
        }
        println!("{}: {} — {}", sample.name, spec.kind(), choice.reason);
    }
    Ok(())
}
