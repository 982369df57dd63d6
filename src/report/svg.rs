//! Charts as SVG text (plotters): lines, per-seed points, intervals, reference lines and labelled
//! points, in a colour-blind-safe palette, with the legend below the plot. Log axes are drawn as
//! log10 of the data on a linear axis with readable tick labels; on a log y axis, exact zeros get
//! a row of their own below the axis, labelled "0", instead of a fake small value.
use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Okabe and Ito's palette (2008), which readers with any common colour-vision deficiency can
/// tell apart; black is kept for reference lines.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];

/// The colour of series `i`.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Style {
    /// A bold line with a dot at each point (a mean).
    #[default]
    Line,
    /// A thin, faint line (one seed of many).
    Thin,
    /// Faint dots, no line (every seed's value).
    Dots,
    /// Solid dots, no line, each with its label (categories on a numeric axis).
    Labelled,
}

#[derive(Debug, Clone, Default)]
pub struct Series {
    pub label: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    /// An interval (lo, hi) around each y, if any.
    pub interval: Option<Vec<(f64, f64)>>,
    pub style: Style,
    /// The palette index; series that share one share a colour (a mean and its seeds).
    pub colour: usize,
    /// A label per point (Style::Labelled).
    pub labels: Vec<String>,
    /// Left out of the legend (e.g. the second and later seeds of a group).
    pub unlisted: bool,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            label: label.into(),
            points,
            ..Series::default()
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
}

const WIDTH: u32 = 760;
const PLOT_HEIGHT: u32 = 380;
const LEGEND_ROW: u32 = 20;
const LEGEND_COLUMNS: usize = 2;

/// An axis: the data's range in axis units, and for a log y axis with exact zeros, the row they
/// are drawn on and the rule that separates it from the log scale.
struct Axis {
    log: bool,
    lo: f64,
    hi: f64,
    /// Where values <= 0 are drawn on a log axis, below `rule`.
    zero_row: Option<f64>,
    rule: Option<f64>,
}

impl Axis {
    fn of(values: impl Iterator<Item = f64>, log: bool) -> Axis {
        let values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
        let has_zero = log && values.iter().any(|&v| v <= 0.0);
        let shown = values
            .iter()
            .filter(|&&v| !log || v > 0.0)
            .map(|&v| if log { v.log10() } else { v });
        let (lo, hi) = shown.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.06).max(if log { 0.3 } else { 1e-3 });
        let (lo, hi) = (lo - pad, hi + pad);
        if !has_zero {
            return Axis {
                log,
                lo,
                hi,
                zero_row: None,
                rule: None,
            };
        }
        let step = 0.08 * (hi - lo).max(1.0);
        Axis {
            log,
            lo: lo - 2.0 * step,
            hi,
            zero_row: Some(lo - 1.5 * step),
            rule: Some(lo - 0.5 * step),
        }
    }

    /// A data value in axis units; None where it cannot be drawn (NaN, or <= 0 on a log axis
    /// without a zero row).
    fn at(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return None;
        }
        if !self.log {
            return Some(v);
        }
        if v > 0.0 {
            Some(v.log10())
        } else {
            self.zero_row
        }
    }

    /// A tick's label; none below the rule, where only exact zeros are drawn.
    fn tick(&self, v: f64) -> String {
        if self.rule.is_some_and(|r| v < r) {
            return String::new();
        }
        label(v, self.log)
    }
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

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_error(chart: &Chart, e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw {:?}: {e}", chart.title)
}

fn axes(chart: &Chart) -> (Axis, Axis) {
    let xs = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(chart.vlines.iter().map(|v| v.1));
    let ys = chart
        .series
        .iter()
        .flat_map(|s| {
            let bounds = s.interval.iter().flatten().flat_map(|&(lo, hi)| [lo, hi]);
            s.points.iter().map(|p| p.1).chain(bounds)
        })
        .chain(chart.hlines.iter().map(|h| h.1));
    (Axis::of(xs, chart.x_log), Axis::of(ys, chart.y_log))
}

fn draw_mesh(c: &mut Plot, chart: &Chart, x: &Axis, y: &Axis) -> Result<()> {
    let x_fmt = |v: &f64| x.tick(*v);
    let y_fmt = |v: &f64| y.tick(*v);
    c.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| draw_error(chart, &e))?;
    if let (Some(z), Some(rule)) = (y.zero_row, y.rule) {
        // Exact zeros sit on a row of their own below a dashed rule, apart from the log scale.
        let style = RGBColor(150, 150, 150).stroke_width(1);
        c.draw_series(DashedLineSeries::new(
            vec![(x.lo, rule), (x.hi, rule)],
            3,
            3,
            style,
        ))
        .map_err(|e| draw_error(chart, &e))?;
        let text = Text::new(
            "exactly 0",
            (x.lo, z),
            ("sans-serif", 12).into_font().color(&BLACK),
        );
        c.draw_series(std::iter::once(text))
            .map_err(|e| draw_error(chart, &e))?;
    }
    Ok(())
}

/// One series; returns its legend entry unless it is unlisted.
fn draw_one(
    c: &mut Plot,
    chart: &Chart,
    s: &Series,
    x: &Axis,
    y: &Axis,
) -> Result<Option<(String, ShapeStyle)>> {
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    let base = colour(s.colour);
    let pts: Vec<(f64, f64)> = s
        .points
        .iter()
        .filter_map(|&(px, py)| Some((x.at(px)?, y.at(py)?)))
        .collect();
    let (line, dot) = match s.style {
        Style::Line => (Some(base.stroke_width(2)), Some((3, base.filled()))),
        Style::Thin => (Some(base.mix(0.45).stroke_width(1)), None),
        Style::Dots => (None, Some((3, base.mix(0.45).filled()))),
        Style::Labelled => (None, Some((4, base.filled()))),
    };
    if let Some(style) = line {
        c.draw_series(LineSeries::new(pts.clone(), style))
            .map_err(|e| err(&e))?;
    }
    if let Some((r, style)) = dot {
        c.draw_series(pts.iter().map(|&p| Circle::new(p, r, style)))
            .map_err(|e| err(&e))?;
    }
    if let Some(intervals) = &s.interval {
        let bars = s
            .points
            .iter()
            .zip(intervals)
            .filter_map(|(&(px, py), &(lo, hi))| {
                let (ax, ay) = (x.at(px)?, y.at(py)?);
                let (alo, ahi) = (y.at(lo).unwrap_or(y.lo), y.at(hi).unwrap_or(y.hi));
                Some(ErrorBar::new_vertical(
                    ax,
                    alo,
                    ay,
                    ahi,
                    base.stroke_width(1),
                    6,
                ))
            });
        c.draw_series(bars).map_err(|e| err(&e))?;
    }
    if s.style == Style::Labelled {
        let texts = pts
            .iter()
            .zip(&s.labels)
            .map(|(&p, t)| Text::new(t.clone(), p, ("sans-serif", 11).into_font().color(&BLACK)));
        c.draw_series(texts).map_err(|e| err(&e))?;
    }
    let entry = line.or(dot.map(|d| d.1)).unwrap_or(base.into());
    Ok((!s.unlisted).then(|| (s.label.clone(), entry)))
}

/// Horizontal (dashed grey) and vertical (dashed vermillion) reference lines; their legend
/// entries.
fn draw_references(
    c: &mut Plot,
    chart: &Chart,
    x: &Axis,
    y: &Axis,
) -> Result<Vec<(String, ShapeStyle)>> {
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    let mut entries = Vec::new();
    for (k, (name, v)) in chart.hlines.iter().enumerate() {
        let Some(v) = y.at(*v) else { continue };
        let style = BLACK.mix(0.35 + 0.25 * k as f64).stroke_width(1);
        c.draw_series(DashedLineSeries::new(
            vec![(x.lo, v), (x.hi, v)],
            5,
            4,
            style,
        ))
        .map_err(|e| err(&e))?;
        entries.push((name.clone(), style));
    }
    for (name, v) in &chart.vlines {
        let Some(v) = x.at(*v) else { continue };
        // Black, as every reference line: a palette colour would read as one of the series.
        let style = BLACK.mix(0.8).stroke_width(2);
        c.draw_series(DashedLineSeries::new(
            vec![(v, y.lo), (v, y.hi)],
            6,
            3,
            style,
        ))
        .map_err(|e| err(&e))?;
        entries.push((name.clone(), style));
    }
    Ok(entries)
}

/// The legend below the plot, in columns.
fn draw_legend(
    area: &DrawingArea<SVGBackend, Shift>,
    chart: &Chart,
    entries: &[(String, ShapeStyle)],
) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    let column = (WIDTH as i32 - 80) / LEGEND_COLUMNS as i32;
    for (k, (name, style)) in entries.iter().enumerate() {
        let (col, row) = ((k % LEGEND_COLUMNS) as i32, (k / LEGEND_COLUMNS) as i32);
        let (x, y) = (70 + col * column, 10 + row * LEGEND_ROW as i32);
        area.draw(&PathElement::new(vec![(x, y), (x + 22, y)], *style))
            .map_err(|e| err(&e))?;
        area.draw(&Text::new(
            name.clone(),
            (x + 28, y - 7),
            ("sans-serif", 13),
        ))
        .map_err(|e| err(&e))?;
    }
    Ok(())
}

fn legend_rows(chart: &Chart) -> u32 {
    let n = chart.series.iter().filter(|s| !s.unlisted).count()
        + chart.hlines.len()
        + chart.vlines.len();
    n.div_ceil(LEGEND_COLUMNS) as u32
}

/// The chart as a standalone SVG document, sized to its plot and legend.
pub fn draw(chart: &Chart) -> Result<String> {
    let mut out = String::new();
    let err = |e: &dyn std::fmt::Display| draw_error(chart, e);
    let height = PLOT_HEIGHT + legend_rows(chart) * LEGEND_ROW + 12;
    {
        let whole = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        whole.fill(&WHITE).map_err(|e| err(&e))?;
        let (plot, legend) = whole.split_vertically(PLOT_HEIGHT);
        let (x, y) = axes(chart);
        let mut c = ChartBuilder::on(&plot)
            .caption(&chart.title, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(62)
            .build_cartesian_2d(x.lo..x.hi, y.lo..y.hi)
            .map_err(|e| err(&e))?;
        draw_mesh(&mut c, chart, &x, &y)?;
        let mut entries = Vec::new();
        for s in &chart.series {
            entries.extend(draw_one(&mut c, chart, s, &x, &y)?);
        }
        entries.extend(draw_references(&mut c, chart, &x, &y)?);
        draw_legend(&legend, chart, &entries)?;
        whole.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}
