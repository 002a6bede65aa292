//! Arc marks: pie and donut charts, with their legend.

use super::prepare::{Key, Row};
use super::scene::{Align, Baseline, Rgb, Scene, Shape};
use super::*;

pub(super) fn draw_arc(scene: &mut Scene, view: &View, rows: &[Row]) {
    let top = draw_title(scene, view);
    let theta = view.theta.as_ref();
    let color_channel = view.color.as_ref();
    let mut slices: Vec<(Key, f64)> = Vec::new();
    for row in rows {
        let Some(value) = row.theta.as_ref().and_then(Key::num).filter(|v| v.is_finite() && *v > 0.0) else { continue };
        let key = row.color.clone().unwrap_or(Key::Cat(String::new()));
        match slices.iter_mut().find(|(k, _)| k.same(&key)) {
            Some((_, total)) => *total += value,
            None => slices.push((key, value)),
        }
    }
    if let Some(sort) = color_channel.map(|c| &c.sort).filter(|s| !matches!(s, SortOrder::Ascending)) {
        let keys: Vec<Key> = slices.iter().map(|(k, _)| k.clone()).collect();
        let totals = slices.clone();
        let order = prepare::ordered(keys, sort, |k| totals.iter().find(|(t, _)| t.same(k)).map_or(0.0, |t| t.1));
        slices.sort_by_key(|(k, _)| order.iter().position(|o| o.same(k)));
    }
    let total: f64 = slices.iter().map(|(_, v)| v).sum();
    let format = theta.map(value_format).unwrap_or_default();
    let legend = color_channel.map(|c| Legend {
        title: field_title(c),
        entries: slices
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let label = key_label(k, TimeGrain::Day);
                let rgb = color(i, &label);
                (format!("{label} ({})", format::compact(v / total, ValueFormat::Percent)), rgb)
            })
            .collect(),
        symbol: Symbol::Square,
    });
    let frame = draw_legend(scene, legend.as_ref(), top);
    if slices.is_empty() || !total.is_finite() || total <= 0.0 {
        empty(scene, &frame, "No positive values to chart");
        return;
    }
    let (cx, cy) = ((frame.left + frame.right) / 2.0, (frame.top + frame.bottom) / 2.0);
    let radius = ((frame.right - frame.left).min(frame.bottom - frame.top) / 2.0 - 4.0).max(10.0);
    let inner = if view.inner_radius > 0.0 { view.inner_radius.min(radius * 0.8).max(radius * 0.35) } else { 0.0 };
    let point = |angle: f64, r: f64| (cx + r * angle.sin(), cy - r * angle.cos());
    let theta_title = theta.map(field_title).unwrap_or_default();
    let color_title = color_channel.map(field_title).unwrap_or_default();
    let mut start = 0.0f64;
    for (i, (key, value)) in slices.iter().enumerate() {
        let sweep = value / total * std::f64::consts::TAU;
        let end = start + sweep;
        let steps = ((sweep / 0.03).ceil() as usize).clamp(2, 400);
        let mut points: Vec<(f64, f64)> =
            (0..=steps).map(|s| point(start + sweep * s as f64 / steps as f64, radius)).collect();
        if inner > 0.0 {
            points.extend((0..=steps).rev().map(|s| point(start + sweep * s as f64 / steps as f64, inner)));
        } else {
            points.push((cx, cy));
        }
        let label = key_label(key, TimeGrain::Day);
        let tooltip = format!(
            "{color_title}: {label}\n{theta_title}: {} ({})",
            format::full(*value, format),
            format::full(value / total, ValueFormat::Percent)
        );
        scene.push(Shape::Polygon { points, color: color(i, &label), alpha: 1.0 }, Some(tooltip));
        if sweep > 0.35 {
            let mid = start + sweep / 2.0;
            let (x, y) = point(mid, if inner > 0.0 { (radius + inner) / 2.0 } else { radius * 0.65 });
            let text = format::compact(value / total, ValueFormat::Percent);
            scene.text(x, y, &text, LABEL, Rgb(255, 255, 255), Align::Center, Baseline::Middle);
        }
        start = end;
    }
    // Thin white separators make neighbouring slices of similar colour distinct.
    let mut angle = 0.0;
    for (_, value) in &slices {
        if slices.len() > 1 {
            let from = if inner > 0.0 { point(angle, inner) } else { (cx, cy) };
            scene.push(
                Shape::Line { points: vec![from, point(angle, radius)], color: Rgb(255, 255, 255), width: 1.5 },
                None,
            );
        }
        angle += value / total * std::f64::consts::TAU;
    }
    if inner > 0.0 {
        scene.push(
            Shape::Text {
                x: cx,
                y: cy,
                text: format::compact(total, format),
                size: 18.0,
                color: INK,
                align: Align::Center,
                baseline: Baseline::Middle,
                vertical: false,
                bold: true,
            },
            None,
        );
    }
}
