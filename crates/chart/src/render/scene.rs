//! A chart as a list of primitives in logical pixels, painted through plotters onto SVG or
//! a bitmap. Marks carry tooltips, written into the SVG as `<title>` elements.

use std::sync::OnceLock;

use plotters::prelude::{BitMapBackend, SVGBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle, FontTransform, RGBAColor};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, DrawingBackend, DrawingErrorKind};

use crate::error::{Error, Result};

/// The family name the embedded font is registered under; SVG viewers without DejaVu Sans
/// fall back to their sans-serif font.
pub(crate) const FONT: &str = "DejaVu Sans, Verdana, sans-serif";

/// Registers the embedded DejaVu Sans once, so text renders without system fonts.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .and_then(|()| plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()))
                .map_err(|_| "the embedded DejaVu Sans font could not be loaded".to_string())
        })
        .clone()
        .map_err(Error::Render)
}

/// Width and height of a text in logical pixels.
pub(crate) fn measure(text: &str, size: f64, bold: bool) -> (f64, f64) {
    let style = if bold { FontStyle::Bold } else { FontStyle::Normal };
    let font = FontDesc::new(FontFamily::Name(FONT), size, style);
    match font.box_size(text) {
        Ok((w, h)) => (f64::from(w), f64::from(h).max(size * 0.8)),
        // Without the font (never expected) assume an average glyph width.
        Err(_) => (text.chars().count() as f64 * size * 0.6, size),
    }
}

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub(crate) fn hex(hex: u32) -> Self {
        Rgb(((hex >> 16) & 0xff) as u8, ((hex >> 8) & 0xff) as u8, (hex & 0xff) as u8)
    }
}

/// Horizontal text anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// Vertical text anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Baseline {
    Top,
    Middle,
    Bottom,
}

/// One thing drawn.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Rect {
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
        color: Rgb,
        alpha: f64,
    },
    Line {
        points: Vec<(f64, f64)>,
        color: Rgb,
        width: f64,
    },
    Polygon {
        points: Vec<(f64, f64)>,
        color: Rgb,
        alpha: f64,
    },
    Circle {
        x: f64,
        y: f64,
        r: f64,
        color: Rgb,
        alpha: f64,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        size: f64,
        color: Rgb,
        align: Align,
        baseline: Baseline,
        vertical: bool,
        bold: bool,
    },
}

/// Primitives in paint order.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    pub width: f64,
    pub height: f64,
    items: Vec<(Shape, Option<String>)>,
}

struct Style {
    color: RGBAColor,
    width: u32,
}

impl BackendStyle for Style {
    fn color(&self) -> BackendColor {
        BackendColor { alpha: self.color.3, rgb: (self.color.0, self.color.1, self.color.2) }
    }
    fn stroke_width(&self) -> u32 {
        self.width
    }
}

fn rgba(color: Rgb, alpha: f64) -> RGBAColor {
    RGBAColor(color.0, color.1, color.2, alpha.clamp(0.0, 1.0))
}

impl Scene {
    pub(crate) fn new(width: f64, height: f64) -> Self {
        let mut scene = Self { width, height, items: Vec::new() };
        scene
            .push(Shape::Rect { x0: 0.0, y0: 0.0, x1: width, y1: height, color: Rgb(255, 255, 255), alpha: 1.0 }, None);
        scene
    }

    /// Adds a shape; `tooltip` is shown when hovering it in the SVG.
    pub(crate) fn push(&mut self, shape: Shape, tooltip: Option<String>) {
        let finite = match &shape {
            Shape::Rect { x0, y0, x1, y1, .. } => [x0, y0, x1, y1].iter().all(|v| v.is_finite()),
            Shape::Line { points, .. } | Shape::Polygon { points, .. } => {
                points.iter().all(|(x, y)| x.is_finite() && y.is_finite())
            }
            Shape::Circle { x, y, r, .. } => x.is_finite() && y.is_finite() && r.is_finite(),
            Shape::Text { x, y, text, .. } => x.is_finite() && y.is_finite() && !text.is_empty(),
        };
        if finite {
            self.items.push((shape, tooltip));
        }
    }

    /// Adds text (single line).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn text(&mut self, x: f64, y: f64, text: &str, size: f64, color: Rgb, align: Align, baseline: Baseline) {
        let text = text.replace(['\n', '\r', '\t'], " ");
        self.push(Shape::Text { x, y, text, size, color, align, baseline, vertical: false, bold: false }, None);
    }

    fn paint<B: DrawingBackend>(&self, backend: &mut B, scale: f64) -> Result<()> {
        let at = |v: f64| (v * scale).round() as i32;
        let point = |(x, y): (f64, f64)| -> BackendCoord { (at(x), at(y)) };
        let drawing_err = |e: DrawingErrorKind<B::ErrorType>| Error::Render(e.to_string());
        for (shape, _) in &self.items {
            match shape {
                Shape::Rect { x0, y0, x1, y1, color, alpha } => {
                    let (left, right) = (x0.min(*x1), x0.max(*x1));
                    let (top, bottom) = (y0.min(*y1), y0.max(*y1));
                    // Every mark keeps at least a pixel, so zero values stay visible and
                    // every tooltip has something to hover.
                    let right = if at(right) <= at(left) { left + 1.0 / scale } else { right };
                    let bottom = if at(bottom) <= at(top) { top + 1.0 / scale } else { bottom };
                    backend
                        .draw_rect(
                            point((left, top)),
                            point((right, bottom)),
                            &Style { color: rgba(*color, *alpha), width: 1 },
                            true,
                        )
                        .map_err(drawing_err)?;
                }
                Shape::Line { points, color, width } => {
                    let width = ((width * scale).round() as u32).max(1);
                    backend
                        .draw_path(points.iter().map(|p| point(*p)), &Style { color: rgba(*color, 1.0), width })
                        .map_err(drawing_err)?;
                }
                Shape::Polygon { points, color, alpha } => {
                    backend
                        .fill_polygon(
                            points.iter().map(|p| point(*p)),
                            &Style { color: rgba(*color, *alpha), width: 1 },
                        )
                        .map_err(drawing_err)?;
                }
                Shape::Circle { x, y, r, color, alpha } => {
                    let radius = ((r * scale).round() as u32).max(1);
                    backend
                        .draw_circle(point((*x, *y)), radius, &Style { color: rgba(*color, *alpha), width: 1 }, true)
                        .map_err(drawing_err)?;
                }
                Shape::Text { x, y, text, size, color, align, baseline, vertical, bold } => {
                    let style = if *bold { FontStyle::Bold } else { FontStyle::Normal };
                    let mut font = FontDesc::new(FontFamily::Name(FONT), size * scale, style);
                    if *vertical {
                        font = font.transform(FontTransform::Rotate270);
                    }
                    let h = match align {
                        Align::Left => HPos::Left,
                        Align::Center => HPos::Center,
                        Align::Right => HPos::Right,
                    };
                    let v = match baseline {
                        Baseline::Top => VPos::Top,
                        Baseline::Middle => VPos::Center,
                        Baseline::Bottom => VPos::Bottom,
                    };
                    let color = rgba(*color, 1.0);
                    let text_style = font.color(&color).pos(Pos::new(h, v));
                    backend.draw_text(text, &text_style, point((*x, *y))).map_err(drawing_err)?;
                }
            }
        }
        Ok(())
    }

    /// The scene as an SVG document, with a `<title>` in every mark that has a tooltip.
    pub(crate) fn to_svg(&self) -> Result<Vec<u8>> {
        ensure_font()?;
        let mut svg = String::new();
        {
            let size = (self.width.round() as u32, self.height.round() as u32);
            let mut backend = SVGBackend::with_string(&mut svg, size);
            self.paint(&mut backend, 1.0)?;
            backend.present().map_err(|e| Error::Render(e.to_string()))?;
        }
        Ok(add_tooltips(&svg, &self.items).into_bytes())
    }

    /// The scene as a PNG, `scale` device pixels per logical pixel.
    pub(crate) fn to_png(&self, scale: f64) -> Result<Vec<u8>> {
        ensure_font()?;
        let (w, h) = ((self.width * scale).round() as u32, (self.height * scale).round() as u32);
        let mut pixels = vec![255u8; (w as usize) * (h as usize) * 3];
        {
            let mut backend = BitMapBackend::with_buffer(&mut pixels, (w, h));
            self.paint(&mut backend, scale)?;
            backend.present().map_err(|e| Error::Render(e.to_string()))?;
        }
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, w, h);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(|e| Error::Encode(e.to_string()))?;
            writer.write_image_data(&pixels).map_err(|e| Error::Encode(e.to_string()))?;
            writer.finish().map_err(|e| Error::Encode(e.to_string()))?;
        }
        Ok(png)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Plotters writes one element per primitive, each starting on its own line (text spans
/// three lines), in paint order; the n-th element start is the n-th item.
fn add_tooltips(svg: &str, items: &[(Shape, Option<String>)]) -> String {
    let mut out = String::with_capacity(svg.len() + items.len() * 40);
    let mut index = 0usize;
    for line in svg.lines() {
        let starts_element =
            ["<rect", "<polyline", "<polygon", "<circle", "<text", "<line"].iter().any(|tag| line.starts_with(tag));
        if starts_element {
            if let Some((shape, Some(tip))) = items.get(index)
                && !matches!(shape, Shape::Text { .. })
                && let Some(open) = line.strip_suffix("/>")
            {
                let tag = line[1..].split(' ').next().unwrap_or("g");
                out.push_str(open);
                out.push_str(&format!("><title>{}</title></{tag}>\n", escape(tip)));
                index += 1;
                continue;
            }
            index += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
