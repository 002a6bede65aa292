//! The renderer: a checked spec over the data, drawn with plotters to SVG or PNG.

mod arc;
mod axis;
mod cartesian;
mod prepare;
mod scene;

use std::path::Path;

use crate::data::{ChartData, TimeGrain, ValueFormat, guess_grain};
use crate::error::{Error, Result};
use crate::format;
use crate::spec::{Channel, CheckedSpec, FieldType, MarkType, SortOrder, Stack, View};
use prepare::Key;
use scene::{Align, Baseline, Rgb, Scene, Shape, measure};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics, with tooltips.
    Svg,
    /// A bitmap.
    Png,
}

impl Format {
    /// The format a file name asks for, by extension (`.svg`, `.png`).
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

/// A chart's size in logical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Size {
    /// Fits the web chat's message column.
    pub const WEB: Size = Size { width: 640, height: 400 };
    /// Fits a Slack message attachment preview.
    pub const SLACK: Size = Size { width: 800, height: 450 };
}

/// Okabe-Ito, then Paul Tol's muted scheme: colour-blind safe, in an order where
/// neighbours differ most. Yellow comes late: it is faint on white.
const PALETTE: [u32; 15] = [
    0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0x56B4E9, 0xCC79A7, 0x332288, 0x117733, 0x882255, 0x44AA99, 0xAA4499,
    0xDDCC77, 0x88CCEE, 0xCC6677, 0x000000,
];
const OTHER_COLOR: Rgb = Rgb(0x99, 0x99, 0x99);
const INK: Rgb = Rgb(0x33, 0x33, 0x33);
const MUTED: Rgb = Rgb(0x66, 0x66, 0x66);
const GRID: Rgb = Rgb(0xE3, 0xE3, 0xE3);
const AXIS: Rgb = Rgb(0x88, 0x88, 0x88);
const PAD: f64 = 12.0;
const LABEL: f64 = 11.0;
const TITLE: f64 = 12.0;
const CHART_TITLE: f64 = 15.0;
/// Bars beyond this are not drawn: no one can read them.
const MAX_BANDS: usize = 400;

fn color(index: usize, label: &str) -> Rgb {
    if label == "Other" { OTHER_COLOR } else { Rgb::hex(PALETTE[index % PALETTE.len()]) }
}

/// Draws checked specs.
#[derive(Debug, Clone, Copy)]
pub struct ChartRenderer {
    size: Size,
    png_scale: f64,
}

impl Default for ChartRenderer {
    fn default() -> Self {
        Self::new(Size::WEB)
    }
}

impl ChartRenderer {
    /// A renderer at a size; PNGs are drawn at twice the pixels for sharp text.
    pub fn new(size: Size) -> Self {
        Self { size, png_scale: 2.0 }
    }

    /// Device pixels per logical pixel in PNGs (1 to 4).
    pub fn with_png_scale(mut self, scale: f64) -> Self {
        self.png_scale = if scale.is_finite() { scale.clamp(1.0, 4.0) } else { 2.0 };
        self
    }

    /// Draws `spec` over `data` (the data it was checked against).
    pub fn render(&self, spec: &CheckedSpec, data: &ChartData, format: Format) -> Result<Vec<u8>> {
        let Size { width, height } = self.size;
        if !(120..=4000).contains(&width) || !(80..=4000).contains(&height) {
            return Err(Error::Size(format!(
                "{width}x{height} is not a usable chart size: use 120 to 4000 pixels wide and 80 to 4000 high"
            )));
        }
        scene::ensure_font()?;
        let scene = draw(&spec.view, data, f64::from(width), f64::from(height))?;
        match format {
            Format::Svg => scene.to_svg(),
            Format::Png => scene.to_png(self.png_scale),
        }
    }
}

fn field_title(channel: &Channel) -> String {
    channel.title.clone().unwrap_or_else(|| match (&channel.field, channel.aggregate) {
        (Some(f), Some(a)) => format!("{a:?} of {}", f.replace('_', " ")).to_lowercase(),
        (Some(f), None) => f.replace('_', " "),
        (None, _) => "count".into(),
    })
}

fn value_format(channel: &Channel) -> ValueFormat {
    channel.format.unwrap_or_default()
}

fn key_label(key: &Key, grain: TimeGrain) -> String {
    match key {
        Key::Num(n) => format::plain_number(*n),
        Key::Time(t) => format::date_label(*t, grain),
        Key::Cat(c) => c.clone(),
    }
}

fn key_tooltip(key: &Key, channel: &Channel, grain: TimeGrain) -> String {
    match key {
        Key::Num(n) if channel.ty == FieldType::Quantitative => format::full(*n, value_format(channel)),
        other => key_label(other, grain),
    }
}

/// A legend entry: label and colour.
struct Legend {
    title: String,
    entries: Vec<(String, Rgb)>,
    symbol: Symbol,
}

#[derive(Clone, Copy)]
enum Symbol {
    Square,
    Line,
    Circle,
}

/// The frame every chart shares: title, legend and what is left for the plot.
struct Frame {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

fn draw_title(scene: &mut Scene, view: &View) -> f64 {
    let Some(title) = &view.title else { return PAD };
    let max_chars = ((scene.width - 2.0 * PAD) / (CHART_TITLE * 0.6)).max(8.0) as usize;
    let title = format::truncate(title, max_chars);
    scene.push(
        Shape::Text {
            x: scene.width / 2.0,
            y: PAD,
            text: title,
            size: CHART_TITLE,
            color: INK,
            align: Align::Center,
            baseline: Baseline::Top,
            vertical: false,
            bold: true,
        },
        None,
    );
    PAD + CHART_TITLE * 1.4 + 8.0
}

/// Draws the legend at the right (wide charts) or the bottom, and returns the frame left.
fn draw_legend(scene: &mut Scene, legend: Option<&Legend>, top: f64) -> Frame {
    let mut frame = Frame { left: PAD, top, right: scene.width - PAD, bottom: scene.height - PAD };
    let Some(legend) = legend.filter(|l| !l.entries.is_empty()) else { return frame };
    let labels: Vec<String> = legend.entries.iter().map(|(l, _)| format::truncate(l, 24)).collect();
    let widest =
        labels.iter().map(|l| measure(l, LABEL, false).0).fold(measure(&legend.title, LABEL, true).0, f64::max);
    let row = LABEL + 7.0;
    if scene.width >= 480.0 {
        let width = (widest + 22.0).min(scene.width * 0.35);
        let x = scene.width - PAD - width;
        let title = format::truncate(&legend.title, 28);
        scene.push(
            Shape::Text {
                x,
                y: top,
                text: title,
                size: LABEL,
                color: INK,
                align: Align::Left,
                baseline: Baseline::Top,
                vertical: false,
                bold: true,
            },
            None,
        );
        let fits = (((scene.height - PAD - top - row * 1.5) / row).floor().max(1.0)) as usize;
        let shown = if labels.len() > fits { fits.saturating_sub(1) } else { labels.len() };
        for (i, (label, (_, rgb))) in labels.iter().zip(&legend.entries).take(shown).enumerate() {
            let y = top + row * 1.5 + i as f64 * row + row / 2.0;
            legend_symbol(scene, legend.symbol, x, y, *rgb);
            scene.text(x + 16.0, y, label, LABEL, INK, Align::Left, Baseline::Middle);
        }
        if shown < labels.len() {
            let y = top + row * 1.5 + shown as f64 * row + row / 2.0;
            scene.text(x, y, &format!("… {} more", labels.len() - shown), LABEL, MUTED, Align::Left, Baseline::Middle);
        }
        frame.right = x - 14.0;
    } else {
        let mut lines: Vec<Vec<usize>> = vec![Vec::new()];
        let mut used = 0.0;
        let available = scene.width - 2.0 * PAD;
        for (i, label) in labels.iter().enumerate() {
            let w = measure(label, LABEL, false).0 + 30.0;
            if used + w > available && !lines.last().is_some_and(Vec::is_empty) {
                lines.push(Vec::new());
                used = 0.0;
            }
            used += w;
            if let Some(line) = lines.last_mut() {
                line.push(i);
            }
        }
        let lines: Vec<Vec<usize>> = lines.into_iter().take(3).collect();
        let height = lines.len() as f64 * row;
        let y0 = scene.height - PAD - height;
        for (n, line) in lines.iter().enumerate() {
            let mut x = PAD;
            for &i in line {
                let y = y0 + n as f64 * row + row / 2.0;
                legend_symbol(scene, legend.symbol, x, y, legend.entries[i].1);
                scene.text(x + 16.0, y, &labels[i], LABEL, INK, Align::Left, Baseline::Middle);
                x += measure(&labels[i], LABEL, false).0 + 30.0;
            }
        }
        frame.bottom = y0 - 8.0;
    }
    frame
}

fn legend_symbol(scene: &mut Scene, symbol: Symbol, x: f64, y: f64, rgb: Rgb) {
    match symbol {
        Symbol::Square => {
            scene.push(Shape::Rect { x0: x, y0: y - 5.0, x1: x + 10.0, y1: y + 5.0, color: rgb, alpha: 1.0 }, None)
        }
        Symbol::Line => {
            scene.push(Shape::Line { points: vec![(x - 1.0, y), (x + 11.0, y)], color: rgb, width: 2.5 }, None)
        }
        Symbol::Circle => scene.push(Shape::Circle { x: x + 5.0, y, r: 4.5, color: rgb, alpha: 0.85 }, None),
    }
}

fn empty(scene: &mut Scene, frame: &Frame, message: &str) {
    let (x, y) = ((frame.left + frame.right) / 2.0, (frame.top + frame.bottom) / 2.0);
    scene.text(x, y, message, TITLE, MUTED, Align::Center, Baseline::Middle);
}

fn draw(view: &View, data: &ChartData, width: f64, height: f64) -> Result<Scene> {
    let mut scene = Scene::new(width, height);
    let rows = prepare::rows(view, data);
    match view.mark {
        MarkType::Arc => arc::draw_arc(&mut scene, view, &rows),
        _ => cartesian::draw_cartesian(&mut scene, view, data, &rows)?,
    }
    Ok(scene)
}
