//! Marks on x and y axes: bars (vertical, horizontal, stacked, grouped), lines, areas and
//! points, with their scales, axes and axis titles.

use super::prepare::{Key, Row};
use super::scene::{Align, Baseline, Scene, Shape, measure};
use super::*;

/// A position axis: discrete bands or a continuous scale.
enum Axis {
    Band { keys: Vec<Key>, labels: Vec<String> },
    Linear { min: f64, max: f64, ticks: Vec<f64>, format: ValueFormat },
    Time { min: i64, max: i64, grain: TimeGrain },
}

impl Axis {
    fn band_index(&self, key: &Key) -> Option<usize> {
        match self {
            Axis::Band { keys, .. } => keys.iter().position(|k| k.same(key)),
            _ => None,
        }
    }
}

/// Maps values along one screen direction.
struct Scale {
    from: f64,
    to: f64,
}

impl Scale {
    fn linear(&self, value: f64, min: f64, max: f64) -> f64 {
        let span = if (max - min).abs() < f64::EPSILON { 1.0 } else { max - min };
        self.from + (value - min) / span * (self.to - self.from)
    }

    /// (start, width) of band `i` of `n`, with padding between bands.
    fn band(&self, i: usize, n: usize, padding: f64) -> (f64, f64) {
        let step = (self.to - self.from) / n.max(1) as f64;
        let start = self.from + step * i as f64 + step * padding / 2.0;
        (start, step * (1.0 - padding))
    }
}

fn continuous_axis(channel: &Channel, values: &[f64], zero: bool, grain: TimeGrain, ticks: usize) -> Axis {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (mut min, mut max) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    if finite.is_empty() {
        (min, max) = (0.0, 1.0);
    }
    if channel.ty == FieldType::Temporal {
        let (mut lo, mut hi) = (min as i64, max as i64);
        if lo == hi {
            hi = axis::grain_after(hi, grain);
            lo -= hi - lo;
        }
        return Axis::Time { min: lo, max: hi, grain };
    }
    if zero {
        min = min.min(0.0);
        max = max.max(0.0);
    }
    let (min, max, ticks) = axis::nice_ticks(min, max, ticks);
    Axis::Linear { min, max, ticks, format: value_format(channel) }
}

fn band_axis(keys: Vec<Key>, grain: TimeGrain) -> Axis {
    let mut labels = Vec::with_capacity(keys.len());
    let mut last_year = None;
    for key in &keys {
        labels.push(match key {
            Key::Time(t) => {
                let year = format::year_of(*t);
                let label = format::tick_label(
                    *t,
                    if grain == TimeGrain::Week { TimeGrain::Day } else { grain },
                    last_year != Some(year),
                );
                last_year = Some(year);
                label
            }
            other => key_label(other, grain),
        });
    }
    Axis::Band { keys, labels }
}

pub(super) fn draw_cartesian(scene: &mut Scene, view: &View, data: &ChartData, rows: &[Row]) -> Result<()> {
    let (Some(x), Some(y)) = (view.x.as_ref(), view.y.as_ref()) else {
        return Err(Error::Render("a cartesian chart without x and y passed the checker".into()));
    };
    let discrete = |c: &Channel| c.ty.is_discrete();
    let grain_of = |c: &Channel| {
        c.time_unit.unwrap_or_else(|| {
            let times: Vec<Option<i64>> = rows
                .iter()
                .map(|r| if std::ptr::eq(c, x) { r.x.as_ref() } else { r.y.as_ref() })
                .map(|k| match k {
                    Some(Key::Time(t)) => Some(*t),
                    _ => None,
                })
                .collect();
            guess_grain(&times)
        })
    };
    let (x_grain, y_grain) = (grain_of(x), grain_of(y));
    let top = draw_title(scene, view);
    // Bars: the band is the discrete (or temporal) channel; the value the other.
    let horizontal = view.mark == MarkType::Bar && y.ty != FieldType::Quantitative && x.ty == FieldType::Quantitative;
    let color_field = view.color.as_ref().and_then(|c| c.field.clone());
    let band_field = if horizontal { y.field.clone() } else { x.field.clone() };
    let colour_is_band =
        view.column.is_none() && view.mark == MarkType::Bar && color_field.is_some() && color_field == band_field;
    let series_keys: Vec<Key> = match &view.color {
        Some(c) if !colour_is_band => {
            let keys: Vec<Key> = rows.iter().filter_map(|r| r.color.clone()).collect();
            let value =
                |r: &Row| if horizontal { r.x.as_ref() } else { r.y.as_ref() }.and_then(Key::num).unwrap_or(0.0);
            prepare::ordered(keys, &c.sort, |k| {
                rows.iter().filter(|r| r.color.as_ref().is_some_and(|c| c.same(k))).map(value).sum()
            })
        }
        _ => Vec::new(),
    };
    let series_index = |row: &Row| -> usize {
        row.color.as_ref().and_then(|c| series_keys.iter().position(|k| k.same(c))).unwrap_or(0)
    };
    let color_grain = view.color.as_ref().map_or(TimeGrain::Day, |c| c.time_unit.unwrap_or(TimeGrain::Day));
    let series_labels: Vec<String> = series_keys.iter().map(|k| key_label(k, color_grain)).collect();
    let symbol = match view.mark {
        MarkType::Line => Symbol::Line,
        MarkType::Point => Symbol::Circle,
        _ => Symbol::Square,
    };
    let grouped_inner: Vec<Key> = if view.column.is_some() {
        prepare::ordered(rows.iter().filter_map(|r| r.x.clone()).collect(), &x.sort, |k| {
            rows.iter()
                .filter(|r| r.x.as_ref().is_some_and(|x| x.same(k)))
                .filter_map(|r| r.y.as_ref().and_then(Key::num))
                .sum()
        })
    } else {
        Vec::new()
    };
    let legend = match &view.color {
        Some(c) if c.legend && !series_labels.is_empty() => Some(Legend {
            title: field_title(c),
            entries: series_labels.iter().enumerate().map(|(i, l)| (l.clone(), color(i, l))).collect(),
            symbol,
        }),
        _ if !grouped_inner.is_empty() => Some(Legend {
            title: field_title(x),
            entries: grouped_inner
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let l = key_label(k, x_grain);
                    (l.clone(), color(i, &l))
                })
                .collect(),
            symbol,
        }),
        _ => None,
    };
    let frame = draw_legend(scene, legend.as_ref(), top);
    let usable = rows.iter().any(|r| r.x.is_some() && r.y.is_some());
    if !usable {
        draw_axis_titles(scene, &frame, &field_title(x), &field_title(y));
        empty(scene, &frame, "No data to chart");
        return Ok(());
    }

    // Value totals per band key, for stacking and sorting.
    let value_of = |r: &Row| if horizontal { r.x.as_ref() } else { r.y.as_ref() }.and_then(Key::num);
    let band_of = |r: &Row| if horizontal { r.y.clone() } else { r.x.clone() };
    let stack = if horizontal { x.stack } else { y.stack };
    let stacked = view.mark == MarkType::Bar && !series_keys.is_empty() && stack != Stack::Off && view.column.is_none()
        || view.mark == MarkType::Area && !series_keys.is_empty() && stack != Stack::Off;
    let normalized = stacked && stack == Stack::Normalize;

    let (x_axis, y_axis) = if view.mark == MarkType::Bar {
        let band_channel = if horizontal { y } else { x };
        let keys: Vec<Key> = if let Some(column) = &view.column {
            prepare::ordered(rows.iter().filter_map(|r| r.column.clone()).collect(), &column.sort, |_| 0.0)
        } else {
            let keys = rows.iter().filter_map(band_of).collect();
            let sort = match (&band_channel.sort, band_channel.ty) {
                (SortOrder::Ascending, _) => SortOrder::Ascending,
                (s, _) => s.clone(),
            };
            prepare::ordered(keys, &sort, |k| {
                rows.iter().filter(|r| band_of(r).is_some_and(|b| b.same(k))).filter_map(value_of).sum()
            })
        };
        if keys.len() > MAX_BANDS {
            return Err(Error::Data(format!(
                "{} bars are too many to draw (at most {MAX_BANDS}); filter or aggregate the data",
                keys.len()
            )));
        }
        let mut extents = vec![0.0];
        for key in &keys {
            let in_band: Vec<&Row> = rows
                .iter()
                .filter(|r| match &view.column {
                    Some(_) => r.column.as_ref().is_some_and(|c| c.same(key)),
                    None => band_of(r).is_some_and(|b| b.same(key)),
                })
                .collect();
            let values: Vec<f64> = in_band.iter().filter_map(|r| value_of(r)).collect();
            if normalized {
                extents.push(1.0);
            } else if stacked {
                extents.push(values.iter().filter(|v| **v > 0.0).sum());
                extents.push(values.iter().filter(|v| **v < 0.0).sum());
            } else {
                extents.extend(values);
            }
        }
        let value_channel = if horizontal { x } else { y };
        let target = if horizontal {
            ((frame.right - frame.left) / 80.0) as usize
        } else {
            ((frame.bottom - frame.top) / 45.0) as usize
        };
        let mut value_axis = continuous_axis(value_channel, &extents, true, TimeGrain::Day, target.clamp(2, 10));
        if normalized && let Axis::Linear { format, .. } = &mut value_axis {
            *format = ValueFormat::Percent;
        }
        let band = band_axis(keys, if horizontal { y_grain } else { x_grain });
        if horizontal { (value_axis, band) } else { (band, value_axis) }
    } else {
        let make = |c: &Channel, values: Vec<Option<Key>>, grain: TimeGrain, extent: f64| -> Axis {
            if discrete(c) {
                let keys = values.into_iter().flatten().collect();
                band_axis(prepare::ordered(keys, &c.sort, |_| 0.0), grain)
            } else {
                let nums: Vec<f64> = values.iter().flatten().filter_map(Key::num).collect();
                let zero =
                    c.ty == FieldType::Quantitative && view.mark != MarkType::Point || view.mark == MarkType::Area;
                continuous_axis(c, &nums, zero || c.ty == FieldType::Quantitative, grain, extent as usize)
            }
        };
        let xs: Vec<Option<Key>> = rows.iter().map(|r| r.x.clone()).collect();
        let mut ys: Vec<Option<Key>> = rows.iter().map(|r| r.y.clone()).collect();
        if stacked {
            // Stacked areas reach the sum of the series at each x.
            let mut sums: Vec<(Key, f64)> = Vec::new();
            for row in rows {
                let (Some(k), Some(v)) = (row.x.clone(), row.y.as_ref().and_then(Key::num)) else { continue };
                match sums.iter_mut().find(|(s, _)| s.same(&k)) {
                    Some((_, total)) => *total += v,
                    None => sums.push((k, v)),
                }
            }
            ys.extend(sums.into_iter().map(|(_, v)| Some(Key::Num(v))));
        }
        let x_ticks = (frame.right - frame.left) / 80.0;
        let y_ticks = (frame.bottom - frame.top) / 45.0;
        (make(x, xs, x_grain, x_ticks.clamp(2.0, 10.0)), make(y, ys, y_grain, y_ticks.clamp(2.0, 10.0)))
    };

    let x_title = view.column.as_ref().map_or_else(|| field_title(x), field_title);
    let plot = draw_axes(scene, &frame, &x_axis, &y_axis, &x_title, &field_title(y), view.column.is_some());
    let xs = Scale { from: plot.left, to: plot.right };
    let ys = Scale { from: plot.bottom, to: plot.top };
    let position = |axis: &Axis, scale: &Scale, key: &Key| -> Option<f64> {
        match axis {
            Axis::Band { keys, .. } => {
                let i = axis.band_index(key)?;
                let (start, width) = scale.band(i, keys.len(), 0.0);
                Some(start + width / 2.0)
            }
            Axis::Linear { min, max, .. } => Some(scale.linear(key.num()?, *min, *max)),
            Axis::Time { min, max, .. } => Some(scale.linear(key.num()?, *min as f64, *max as f64)),
        }
    };
    let tooltip = |row: &Row| -> String {
        let mut lines = Vec::new();
        if let Some(k) = &row.column
            && let Some(c) = &view.column
        {
            lines.push(format!("{}: {}", field_title(c), key_tooltip(k, c, x_grain)));
        }
        if let Some(k) = &row.x {
            lines.push(format!("{}: {}", field_title(x), key_tooltip(k, x, x_grain)));
        }
        if let Some(c) = &view.color
            && let Some(k) = &row.color
            && !colour_is_band
            && c.field != x.field
        {
            lines.push(format!("{}: {}", field_title(c), key_tooltip(k, c, color_grain)));
        }
        if let Some(k) = &row.y {
            lines.push(format!("{}: {}", field_title(y), key_tooltip(k, y, y_grain)));
        }
        lines.join("\n")
    };

    match view.mark {
        MarkType::Bar => {
            let (band_axis, band_scale, value_scale, value_range) = if horizontal {
                (&y_axis, Scale { from: plot.top, to: plot.bottom }, &xs, &x_axis)
            } else {
                (&x_axis, Scale { from: plot.left, to: plot.right }, &ys, &y_axis)
            };
            let Axis::Band { keys, .. } = band_axis else { return Ok(()) };
            let (vmin, vmax) = match value_range {
                Axis::Linear { min, max, .. } => (*min, *max),
                _ => (0.0, 1.0),
            };
            let at = |v: f64| value_scale.linear(v, vmin, vmax);
            let n = keys.len();
            let mut totals = vec![0.0f64; n];
            if normalized {
                for row in rows {
                    let key = band_of(row);
                    if let (Some(i), Some(v)) = (key.and_then(|k| band_axis.band_index(&k)), value_of(row)) {
                        totals[i] += v.abs();
                    }
                }
            }
            let mut positive = vec![0.0f64; n];
            let mut negative = vec![0.0f64; n];
            let mut ordered_rows: Vec<&Row> = rows.iter().collect();
            ordered_rows.sort_by_key(|r| series_index(r));
            for row in ordered_rows {
                let Some(value) = value_of(row) else { continue };
                let (i, sub) = if view.column.is_some() {
                    let Some(i) = row.column.as_ref().and_then(|k| band_axis.band_index(k)) else { continue };
                    let Some(j) = row.x.as_ref().and_then(|k| grouped_inner.iter().position(|g| g.same(k))) else {
                        continue;
                    };
                    (i, Some(j))
                } else {
                    let Some(i) = band_of(row).and_then(|k| band_axis.band_index(&k)) else { continue };
                    (i, None)
                };
                let (mut start, mut width) = band_scale.band(i, n, if n > 40 { 0.1 } else { 0.2 });
                if let Some(j) = sub {
                    let m = grouped_inner.len().max(1);
                    width /= m as f64;
                    start += width * j as f64;
                    width *= 0.92;
                }
                let value = if normalized && totals[i] > 0.0 { value / totals[i] } else { value };
                let (from, to) = if stacked {
                    let stack = if value >= 0.0 { &mut positive[i] } else { &mut negative[i] };
                    let from = *stack;
                    *stack += value;
                    (from, *stack)
                } else {
                    (0.0, value)
                };
                let label_key = if sub.is_some() { row.x.clone() } else { band_of(row) };
                let label = label_key.as_ref().map(|k| key_label(k, x_grain)).unwrap_or_default();
                let rgb = if let Some(j) = sub {
                    color(j, &label)
                } else if colour_is_band {
                    color(i, &label)
                } else if series_keys.is_empty() {
                    color(0, "")
                } else {
                    let s = series_index(row);
                    color(s, series_labels.get(s).map_or("", String::as_str))
                };
                let alpha = if !stacked && !series_keys.is_empty() { 0.75 } else { 1.0 };
                let (a, b) = (at(from), at(to));
                let shape = if horizontal {
                    Shape::Rect { x0: a, x1: b, y0: start, y1: start + width, color: rgb, alpha }
                } else {
                    Shape::Rect { x0: start, x1: start + width, y0: a, y1: b, color: rgb, alpha }
                };
                scene.push(shape, Some(tooltip(row)));
            }
        }
        MarkType::Line | MarkType::Area | MarkType::Point => {
            let series_count = series_keys.len().max(1);
            let total_points = rows.len();
            let markers = view.mark == MarkType::Point || view.points || total_points <= 1;
            let mut baseline: Vec<(Key, f64)> = Vec::new();
            for s in 0..series_count {
                let mut members: Vec<&Row> =
                    rows.iter().filter(|r| series_keys.is_empty() || series_index(r) == s).collect();
                if !series_keys.is_empty() {
                    let key = &series_keys[s];
                    members.retain(|r| r.color.as_ref().is_some_and(|c| c.same(key)));
                }
                if view.mark != MarkType::Point {
                    members.sort_by(|a, b| match (&a.x, &b.x) {
                        (Some(p), Some(q)) => match &x_axis {
                            Axis::Band { .. } => x_axis.band_index(p).cmp(&x_axis.band_index(q)),
                            _ => p.compare(q),
                        },
                        _ => std::cmp::Ordering::Equal,
                    });
                }
                let label = series_labels.get(s).cloned().unwrap_or_default();
                let rgb = color(s, &label);
                let mut runs: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new()];
                for row in &members {
                    let bottom_value =
                        row.x.as_ref().and_then(|k| baseline.iter().find(|(b, _)| b.same(k))).map_or(0.0, |b| b.1);
                    let value = row.y.as_ref().and_then(Key::num);
                    let point = match (row.x.as_ref(), value) {
                        (Some(xk), Some(v)) => {
                            let (lo, hi) = if stacked { (bottom_value, bottom_value + v) } else { (0.0, v) };
                            let px = position(&x_axis, &xs, xk);
                            let py = position(&y_axis, &ys, &Key::Num(hi));
                            let base = position(&y_axis, &ys, &Key::Num(lo));
                            match (px, py, base) {
                                (Some(px), Some(py), Some(base)) => Some((px, py, base)),
                                _ => None,
                            }
                        }
                        (Some(xk), None) if !matches!(y_axis, Axis::Linear { .. } | Axis::Time { .. }) => {
                            // A discrete y (a strip of points): position by key.
                            match (position(&x_axis, &xs, xk), row.y.as_ref().and_then(|k| position(&y_axis, &ys, k))) {
                                (Some(px), Some(py)) => Some((px, py, py)),
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    match point {
                        Some(p) => {
                            if let Some(run) = runs.last_mut() {
                                run.push(p);
                            }
                            if stacked && let (Some(k), Some(v)) = (row.x.clone(), value) {
                                match baseline.iter_mut().find(|(b, _)| b.same(&k)) {
                                    Some((_, total)) => *total += v,
                                    None => baseline.push((k, v)),
                                }
                            }
                        }
                        // A missing value breaks the line, as in Vega-Lite.
                        None => runs.push(Vec::new()),
                    }
                    if markers && let Some((px, py, _)) = point {
                        scene.push(
                            Shape::Circle {
                                x: px,
                                y: py,
                                r: if view.mark == MarkType::Point { 4.5 } else { 3.0 },
                                color: rgb,
                                alpha: 0.85,
                            },
                            Some(tooltip(row)),
                        );
                    }
                }
                for run in runs.iter().filter(|r| !r.is_empty()) {
                    if view.mark == MarkType::Area {
                        let mut outline: Vec<(f64, f64)> = run.iter().map(|(x, y, _)| (*x, *y)).collect();
                        outline.extend(run.iter().rev().map(|(x, _, b)| (*x, *b)));
                        scene.push(
                            Shape::Polygon { points: outline, color: rgb, alpha: if stacked { 0.85 } else { 0.35 } },
                            None,
                        );
                    }
                    if view.mark != MarkType::Point && run.len() > 1 {
                        let tip = if label.is_empty() { field_title(y) } else { label.clone() };
                        scene.push(
                            Shape::Line {
                                points: run.iter().map(|(x, y, _)| (*x, *y)).collect(),
                                color: rgb,
                                width: 2.0,
                            },
                            Some(tip),
                        );
                    }
                }
            }
        }
        MarkType::Arc => {}
    }
    let _ = data;
    Ok(())
}

fn draw_axis_titles(scene: &mut Scene, frame: &Frame, x_title: &str, y_title: &str) {
    let x = (frame.left + frame.right) / 2.0;
    scene.text(x, frame.bottom, &format::truncate(x_title, 60), TITLE, INK, Align::Center, Baseline::Bottom);
    scene.push(
        Shape::Text {
            x: frame.left + TITLE / 2.0,
            y: (frame.top + frame.bottom) / 2.0,
            text: format::truncate(y_title, 50),
            size: TITLE,
            color: INK,
            align: Align::Center,
            baseline: Baseline::Middle,
            vertical: true,
            bold: false,
        },
        None,
    );
}

/// Draws axes, grid and titles; returns the plot area.
fn draw_axes(
    scene: &mut Scene,
    frame: &Frame,
    x: &Axis,
    y: &Axis,
    x_title: &str,
    y_title: &str,
    grouped: bool,
) -> Frame {
    // Labels of the y axis, to size the left margin.
    let y_labels: Vec<(f64, String)> = axis_labels(y, 8);
    let label_width = match y {
        Axis::Band { labels, .. } => labels
            .iter()
            .map(|l| measure(&format::truncate(l, 24), LABEL, false).0)
            .fold(0.0, f64::max)
            .min((frame.right - frame.left) * 0.3),
        _ => y_labels.iter().map(|(_, l)| measure(l, LABEL, false).0).fold(0.0, f64::max),
    };
    let left = frame.left + TITLE + 8.0 + label_width + 6.0;
    let bottom_labels = LABEL + 8.0;
    let mut plot = Frame {
        left,
        top: frame.top + 4.0,
        right: frame.right - 4.0,
        bottom: frame.bottom - TITLE - 8.0 - bottom_labels,
    };
    if let Axis::Band { labels, .. } = x {
        // The last label must not run off the right edge.
        let last = labels.last().map(|l| measure(&format::truncate(l, 20), LABEL, false).0).unwrap_or(0.0);
        let half_band = (plot.right - plot.left) / labels.len().max(1) as f64 / 2.0;
        let overhang = last / 2.0 - half_band;
        if overhang.is_finite() {
            plot.right -= overhang.clamp(0.0, 60.0);
        }
    } else {
        plot.right -= 16.0;
    }
    if plot.right - plot.left < 20.0 || plot.bottom - plot.top < 20.0 {
        plot = Frame {
            left: frame.left,
            top: frame.top,
            right: frame.right.max(frame.left + 20.0),
            bottom: frame.bottom.max(frame.top + 20.0),
        };
    }
    draw_axis_titles(scene, frame, x_title, y_title);
    let xs = Scale { from: plot.left, to: plot.right };
    let ys = Scale { from: plot.bottom, to: plot.top };

    // y: grid lines at value ticks, labels at the left.
    match y {
        Axis::Band { labels, .. } => {
            let n = labels.len();
            let room = (plot.bottom - plot.top) / n.max(1) as f64;
            let every = ((LABEL + 2.0) / room).ceil().max(1.0) as usize;
            let max_chars = (1..=24)
                .rev()
                .find(|n| labels.iter().all(|l| measure(&format::truncate(l, *n), LABEL, false).0 <= label_width + 0.5))
                .unwrap_or(4);
            for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
                let (start, width) = Scale { from: plot.top, to: plot.bottom }.band(i, n, 0.0);
                scene.text(
                    plot.left - 6.0,
                    start + width / 2.0,
                    &format::truncate(label, max_chars),
                    LABEL,
                    MUTED,
                    Align::Right,
                    Baseline::Middle,
                );
            }
        }
        _ => {
            for (value, label) in &y_labels {
                let py = match y {
                    Axis::Linear { min, max, .. } => ys.linear(*value, *min, *max),
                    Axis::Time { min, max, .. } => ys.linear(*value, *min as f64, *max as f64),
                    Axis::Band { .. } => continue,
                };
                scene.push(
                    Shape::Line { points: vec![(plot.left, py), (plot.right, py)], color: GRID, width: 1.0 },
                    None,
                );
                scene.text(plot.left - 6.0, py, label, LABEL, MUTED, Align::Right, Baseline::Middle);
            }
        }
    }
    // x: labels below, grid for continuous scales.
    let width = plot.right - plot.left;
    match x {
        Axis::Band { labels, .. } => {
            let n = labels.len().max(1);
            let room = width / n as f64;
            let widest = labels.iter().map(|l| measure(&format::truncate(l, 20), LABEL, false).0).fold(0.0, f64::max);
            let every = ((widest + 8.0) / room).ceil().max(1.0) as usize;
            let max_chars = (((room * every as f64) / (LABEL * 0.6)) as usize).clamp(4, 20);
            for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
                let (start, w) = xs.band(i, n, 0.0);
                let size = if grouped { TITLE } else { LABEL };
                scene.text(
                    start + w / 2.0,
                    plot.bottom + 6.0,
                    &format::truncate(label, max_chars),
                    size,
                    if grouped { INK } else { MUTED },
                    Align::Center,
                    Baseline::Top,
                );
            }
        }
        Axis::Linear { .. } | Axis::Time { .. } => {
            let per_label = match x {
                Axis::Time { min, grain, .. } => measure(&format::tick_label(*min, *grain, true), LABEL, false).0,
                _ => 40.0,
            };
            let count = ((width / (per_label + 16.0)) as usize).clamp(2, 12);
            for (value, label) in axis_labels(x, count) {
                let px = match x {
                    Axis::Linear { min, max, .. } => xs.linear(value, *min, *max),
                    Axis::Time { min, max, .. } => xs.linear(value, *min as f64, *max as f64),
                    Axis::Band { .. } => continue,
                };
                if px < plot.left - 0.5 || px > plot.right + 0.5 {
                    continue;
                }
                if matches!(x, Axis::Linear { .. }) {
                    scene.push(
                        Shape::Line { points: vec![(px, plot.top), (px, plot.bottom)], color: GRID, width: 1.0 },
                        None,
                    );
                }
                scene.push(
                    Shape::Line { points: vec![(px, plot.bottom), (px, plot.bottom + 4.0)], color: AXIS, width: 1.0 },
                    None,
                );
                scene.text(px, plot.bottom + 6.0, &label, LABEL, MUTED, Align::Center, Baseline::Top);
            }
        }
    }
    // Axis lines; a zero line where values cross zero.
    scene.push(
        Shape::Line { points: vec![(plot.left, plot.bottom), (plot.right, plot.bottom)], color: AXIS, width: 1.0 },
        None,
    );
    if let Axis::Linear { min, max, .. } = y
        && *min < 0.0
        && *max > 0.0
    {
        let zero = ys.linear(0.0, *min, *max);
        scene.push(Shape::Line { points: vec![(plot.left, zero), (plot.right, zero)], color: AXIS, width: 1.0 }, None);
    }
    if let Axis::Linear { min, max, .. } = x
        && *min < 0.0
        && *max > 0.0
    {
        let zero = xs.linear(0.0, *min, *max);
        scene.push(Shape::Line { points: vec![(zero, plot.top), (zero, plot.bottom)], color: AXIS, width: 1.0 }, None);
    }
    plot
}

/// Tick values and labels of a continuous axis.
fn axis_labels(axis: &Axis, max_ticks: usize) -> Vec<(f64, String)> {
    match axis {
        Axis::Linear { ticks, format, .. } => {
            // As many decimals as it takes for neighbouring ticks to read differently.
            let labels =
                |decimals| ticks.iter().map(|t| format::compact_with(*t, *format, decimals)).collect::<Vec<_>>();
            let mut chosen = labels(1);
            for decimals in 2..=3 {
                if chosen.windows(2).all(|w| w[0] != w[1]) {
                    break;
                }
                chosen = labels(decimals);
            }
            ticks.iter().copied().zip(chosen).collect()
        }
        Axis::Time { min, max, grain } => {
            axis::time_ticks(*min, *max, *grain, max_ticks).into_iter().map(|(t, l)| (t as f64, l)).collect()
        }
        Axis::Band { .. } => Vec::new(),
    }
}
