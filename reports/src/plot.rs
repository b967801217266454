//! Plots of a run (plotters), each written as PNG and SVG: coverage over
//! time with fault windows shaded, the delivery-latency CDF, datagrams per
//! round, drops by reason, and the overlay's health over time (partial views).

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::model::RunReport;

/// The font compiled in for labels (see `assets/README.md`), so PNGs have
/// text on machines without system fonts.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT_NAME: &str = "sans-serif";

/// Pixel size of every plot: readable in a browser and in a terminal viewer.
const SIZE: (u32, u32) = (900, 520);

/// Colours of successive series, distinguishable by most readers.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Coverage curves drawn at most; a legend of hundreds of series helps nobody.
const CURVES_MAX: usize = 12;

static FONT_ONCE: Once = Once::new();

fn register_font() {
    FONT_ONCE.call_once(|| {
        // The bundled font is valid; a failure would leave labels blank, not
        // break the plots, so it is not worth an error path.
        let _ = plotters::style::register_font(FONT_NAME, FontStyle::Normal, FONT);
    });
}

type PlotResult = Result<(), String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A captioned chart of shares (0 to 1, with room above) over virtual time
/// (0 to `x_max` seconds), its mesh drawn.
fn share_over_time<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x_max: f64,
    x_desc: &str,
    y_desc: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FONT_NAME, 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(0f64..x_max, 0f64..1.05f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

fn coverage<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &RunReport) -> PlotResult {
    root.fill(&WHITE).map_err(err)?;
    // Absolute virtual time, so broadcasts sent at different times and the
    // fault windows share one axis.
    let seconds = |ns: u64| ns as f64 / 1e9;
    let x_max = report
        .messages
        .iter()
        .flat_map(|m| m.curve.last().map(|p| m.sent_at_ns + p.t_ns))
        .chain(report.fault_windows_ns.iter().map(|w| w.1))
        .map(seconds)
        .fold(0.001f64, f64::max)
        * 1.05;
    let mut chart = share_over_time(
        root,
        &format!("Coverage over time — {}", report.scenario),
        x_max,
        "virtual time (s); shaded: fault windows",
        "coverage (share of eligible agents)",
    )?;
    for &(start, end) in &report.fault_windows_ns {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(seconds(start), 0.0), (seconds(end), 1.05)],
                RGBColor(255, 200, 200).mix(0.5).filled(),
            )))
            .map_err(err)?;
    }
    for (i, m) in report.messages.iter().take(CURVES_MAX).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points = m
            .curve
            .iter()
            .map(|p| (seconds(m.sent_at_ns + p.t_ns), p.coverage));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(err)?
            .label(format!("broadcast {} from agent {}", m.index, m.origin))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT_NAME, 14))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

fn latency_cdf<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &RunReport,
) -> PlotResult {
    root.fill(&WHITE).map_err(err)?;
    let x_max = report
        .latency_cdf
        .last()
        .map_or(1.0, |p| p.value_ns as f64 / 1e6)
        .max(1.0)
        * 1.05;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Delivery latency CDF — {}", report.scenario),
            (FONT_NAME, 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(0f64..x_max, 0f64..1.0f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("latency from broadcast to delivery (ms)")
        .y_desc("share of deliveries")
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(err)?;
    let points = std::iter::once((0.0, 0.0)).chain(
        report
            .latency_cdf
            .iter()
            .map(|p| (p.value_ns as f64 / 1e6, p.share)),
    );
    chart
        .draw_series(LineSeries::new(points, PALETTE[0].stroke_width(2)))
        .map_err(err)?;
    root.present().map_err(err)
}

fn datagrams_per_round<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &RunReport,
) -> PlotResult {
    root.fill(&WHITE).map_err(err)?;
    let counts = &report.datagrams_per_round;
    let y_max = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let unit = if report.round_ns.is_some() {
        "round"
    } else {
        "100 ms bucket"
    };
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Datagrams sent per {unit} — {}", report.scenario),
            (FONT_NAME, 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..(counts.len().max(1) as f64), 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(format!("{unit} since time zero"))
        .y_desc("datagrams")
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, c)| {
            Rectangle::new(
                [(i as f64 + 0.1, 0.0), (i as f64 + 0.9, *c as f64)],
                PALETTE[0].filled(),
            )
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

fn drops<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &RunReport) -> PlotResult {
    root.fill(&WHITE).map_err(err)?;
    let drops: Vec<(&String, &u64)> = report.totals.drops.iter().collect();
    let y_max = drops.iter().map(|(_, n)| **n).max().unwrap_or(1).max(1) as f64 * 1.15;
    let names: Vec<String> = drops.iter().map(|(name, _)| name.to_string()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Drops by reason — {}", report.scenario),
            (FONT_NAME, 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d((0..drops.len().max(1)).into_segmented(), 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("reason")
        .y_desc("datagrams or messages dropped")
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FONT_NAME, 13))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(drops.iter().enumerate().map(|(i, (_, n))| {
            Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), **n as f64),
                ],
                PALETTE[3].mix(0.8).filled(),
            )
        }))
        .map_err(err)?;
    if drops.is_empty() {
        root.draw(&Text::new(
            "no drops",
            (SIZE.0 as i32 / 2 - 30, SIZE.1 as i32 / 2),
            (FONT_NAME, 18),
        ))
        .map_err(err)?;
    }
    root.present().map_err(err)
}

/// The overlay's health over time (partial views): the share of live
/// honest agents in the largest component of the active graph, the share
/// with an empty active view, and the share of half-open active links.
fn overlay<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &RunReport) -> PlotResult {
    root.fill(&WHITE).map_err(err)?;
    let samples = &report.overlay_over_time;
    let seconds = |ns: u64| ns as f64 / 1e9;
    let x_max = samples.last().map_or(1.0, |s| seconds(s.t_ns)).max(0.001) * 1.05;
    let mut chart = share_over_time(
        root,
        &format!("Overlay health over time — {}", report.scenario),
        x_max,
        "virtual time (s)",
        "share",
    )?;
    type Measure = fn(&crate::model::OverlayReport) -> f64;
    let series: [(&str, Measure); 3] = [
        ("largest component", |o| {
            o.largest_component as f64 / o.agents.max(1) as f64
        }),
        ("isolated agents", |o| o.isolated_share),
        ("half-open links", |o| o.asymmetric_link_share),
    ];
    for (i, (label, measure)) in series.into_iter().enumerate() {
        let colour = PALETTE[i];
        chart
            .draw_series(LineSeries::new(
                samples
                    .iter()
                    .map(|s| (seconds(s.t_ns), measure(&s.overlay))),
                colour.stroke_width(2),
            ))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT_NAME, 14))
        .position(SeriesLabelPosition::MiddleRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes every plot of `report` into `dir` as `NAME.png` and `NAME.svg`;
/// returns the files written.
pub fn render_plots(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, String> {
    register_font();
    let mut written = Vec::new();
    macro_rules! both {
        ($name:literal, $f:ident) => {{
            let svg = dir.join(concat!($name, ".svg"));
            $f(&SVGBackend::new(&svg, SIZE).into_drawing_area(), report)
                .map_err(|e| format!("{}: {e}", svg.display()))?;
            written.push(svg);
            let png = dir.join(concat!($name, ".png"));
            $f(&BitMapBackend::new(&png, SIZE).into_drawing_area(), report)
                .map_err(|e| format!("{}: {e}", png.display()))?;
            written.push(png);
        }};
    }
    both!("coverage", coverage);
    both!("latency_cdf", latency_cdf);
    both!("datagrams_per_round", datagrams_per_round);
    both!("drops", drops);
    if !report.overlay_over_time.is_empty() {
        both!("overlay", overlay);
    }
    Ok(written)
}
