//! Line charts as SVG text (plotters). Log axes are drawn as log10 of the data on a linear axis
//! with 10^k tick labels, which keeps every chart one type whatever its axes.
use anyhow::{Result, anyhow};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Values at or below zero on a log axis are drawn at this floor (and the caption says so).
pub const LOG_FLOOR: f64 = 1e-12;

#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    /// Standard deviation of each y (error bars), if any.
    pub err: Option<Vec<f64>>,
    pub dashed: bool,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            label: label.into(),
            points,
            err: None,
            dashed: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_log: bool,
    pub y_log: bool,
    pub series: Vec<Series>,
    /// Horizontal reference lines (label, y).
    pub hlines: Vec<(String, f64)>,
    /// Vertical markers (label, x).
    pub vlines: Vec<(String, f64)>,
    /// Category names for x = 0, 1, 2, ... (instead of numbers).
    pub x_categories: Vec<String>,
}

fn to_axis(v: f64, log: bool) -> f64 {
    if log { v.max(LOG_FLOOR).log10() } else { v }
}

fn label(v: f64, log: bool) -> String {
    if log {
        let x = 10f64.powf(v);
        let p = v.round();
        if (1e-2..1e4).contains(&x) {
            // Two significant digits read better than exponents in this range.
            let digits = (1 - x.log10().floor() as i32).max(0) as usize;
            format!("{x:.digits$}")
        } else if (v - p).abs() < 1e-9 {
            format!("1e{p:.0}")
        } else {
            format!("{x:.1e}")
        }
    } else if v.abs() >= 1000.0 || (v != 0.0 && v.abs() < 0.01) {
        format!("{v:.1e}")
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.06).max(1e-3);
    (lo - pad, hi + pad)
}

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

/// The axis ranges (in axis units) that hold every point, error bar and reference line.
fn ranges(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let xs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| to_axis(p.0, chart.x_log)))
        .chain(chart.vlines.iter().map(|v| to_axis(v.1, chart.x_log)));
    let ys = chart
        .series
        .iter()
        .flat_map(|s| {
            s.points.iter().enumerate().flat_map(move |(i, p)| {
                let e = s.err.as_ref().map_or(0.0, |e| e[i]);
                [p.1 - e, p.1 + e]
            })
        })
        .map(|v| to_axis(v, chart.y_log))
        .chain(chart.hlines.iter().map(|h| to_axis(h.1, chart.y_log)));
    (span(xs), span(ys))
}

/// The x tick label of `v`: a category name, or a number.
fn x_tick(chart: &Chart, v: f64) -> String {
    let cats = &chart.x_categories;
    if cats.is_empty() {
        return label(v, chart.x_log);
    }
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
        cats[i as usize].clone()
    } else {
        String::new()
    }
}

fn draw_mesh(c: &mut Plot, chart: &Chart) -> Result<()> {
    let x_fmt = |v: &f64| x_tick(chart, *v);
    let y_fmt = |v: &f64| label(*v, chart.y_log);
    let mut mesh = c.configure_mesh();
    mesh.x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if !chart.x_categories.is_empty() {
        mesh.x_labels(chart.x_categories.len() * 2 + 1);
    }
    mesh.draw().map_err(|e| draw_error(chart, &e))
}

/// Each series as a line with its points and error bars; returns the legend entries.
fn draw_series(c: &mut Plot, chart: &Chart) -> Result<Vec<(String, ShapeStyle)>> {
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    let mut entries = Vec::new();
    for (i, s) in chart.series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (to_axis(x, chart.x_log), to_axis(y, chart.y_log)))
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        let style = ShapeStyle::from(color).stroke_width(2);
        if s.dashed {
            c.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
        } else {
            c.draw_series(LineSeries::new(pts.clone(), style))
        }
        .map_err(|e| err(&e))?;
        entries.push((s.label.clone(), style));
        c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| err(&e))?;
        if let Some(errs) = &s.err {
            let bars = s.points.iter().zip(errs).map(|(&(x, y), &e)| {
                ErrorBar::new_vertical(
                    to_axis(x, chart.x_log),
                    to_axis(y - e, chart.y_log),
                    to_axis(y, chart.y_log),
                    to_axis(y + e, chart.y_log),
                    color.stroke_width(1),
                    6,
                )
            });
            c.draw_series(bars).map_err(|e| err(&e))?;
        }
    }
    Ok(entries)
}

/// Horizontal (dashed grey) and vertical (red) reference lines across the ranges; returns the
/// legend entries.
fn draw_references(
    c: &mut Plot,
    chart: &Chart,
    ((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)),
) -> Result<Vec<(String, ShapeStyle)>> {
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    let mut entries = Vec::new();
    for (k, (name, y)) in chart.hlines.iter().enumerate() {
        let y = to_axis(*y, chart.y_log);
        let style = BLACK.mix(0.35 + 0.2 * k as f64).stroke_width(1);
        c.draw_series(DashedLineSeries::new(vec![(x0, y), (x1, y)], 4, 4, style))
            .map_err(|e| err(&e))?;
        entries.push((name.clone(), style));
    }
    for (name, x) in &chart.vlines {
        let x = to_axis(*x, chart.x_log);
        let style = RED.stroke_width(1);
        c.draw_series(LineSeries::new(vec![(x, y0), (x, y1)], style))
            .map_err(|e| err(&e))?;
        entries.push((name.clone(), style));
    }
    Ok(entries)
}

fn draw_legend(legend: &Area, chart: &Chart, entries: &[(String, ShapeStyle)]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    for (k, (name, style)) in entries.iter().enumerate() {
        let y = 48 + 20 * k as i32;
        legend
            .draw(&PathElement::new(vec![(8, y), (30, y)], *style))
            .map_err(|e| err(&e))?;
        legend
            .draw(&Text::new(name.clone(), (36, y - 7), ("sans-serif", 13)))
            .map_err(|e| err(&e))?;
    }
    Ok(())
}

fn draw_error(chart: &Chart, e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw {:?}: {e}", chart.title)
}

/// The chart as a standalone SVG document.
pub fn svg(chart: &Chart) -> Result<String> {
    let mut out = String::new();
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    {
        // The legend gets a panel of its own on the right, so it never hides a curve.
        let whole = SVGBackend::with_string(&mut out, (960, 440)).into_drawing_area();
        whole.fill(&WHITE).map_err(|e| err(&e))?;
        let (root, legend) = whole.split_horizontally(700);
        let ((x0, x1), (y0, y1)) = ranges(chart);
        let mut c = ChartBuilder::on(&root)
            .caption(&chart.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        draw_mesh(&mut c, chart)?;
        let mut entries = draw_series(&mut c, chart)?;
        entries.extend(draw_references(&mut c, chart, ((x0, x1), (y0, y1)))?);
        draw_legend(&legend, chart, &entries)?;
        whole.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}
