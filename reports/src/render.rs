//! Human-readable renderings of a report: the terminal summary table and a
//! self-contained HTML page with the plots inlined.

use std::fmt::Write as _;
use std::path::Path;

use crate::model::{DirectReport, RunReport};

fn ms(ns: Option<u64>) -> String {
    ns.map_or_else(
        || "never".to_string(),
        |ns| format!("{:.1} ms", ns as f64 / 1e6),
    )
}

/// Broadcast rows shown in the terminal; the report holds them all.
const SUMMARY_ROWS_MAX: usize = 20;

/// The summary table printed at the end of a run.
pub fn render_summary(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "virtual time {:.3} s, wall {:.3} s, {} events ({:.2} M/s), peak RSS {:.1} MiB, trace {}",
        report.virtual_time_ns as f64 / 1e9,
        report.wall_seconds,
        report.events,
        report.events_per_second / 1e6,
        report.peak_rss_bytes as f64 / 1_048_576.0,
        report.trace_hash
    );
    let _ = writeln!(
        out,
        "\n{:>9} {:>7} {:>9} {:>12} {:>12} {:>12} {:>12} {:>7} {:>5}",
        "broadcast", "origin", "coverage", "t50", "t90", "t99", "t100", "rounds", "hops"
    );
    for m in report.messages.iter().take(SUMMARY_ROWS_MAX) {
        let _ = writeln!(
            out,
            "{:>9} {:>7} {:>9.4} {:>12} {:>12} {:>12} {:>12} {:>7} {:>5}",
            m.index,
            m.origin,
            m.coverage,
            ms(m.time_to_50pct_ns),
            ms(m.time_to_90pct_ns),
            ms(m.time_to_99pct_ns),
            ms(m.time_to_full_coverage_ns),
            m.rounds_to_full.map_or("-".into(), |r| r.to_string()),
            m.last_delivery_hop
        );
    }
    if report.messages.len() > SUMMARY_ROWS_MAX {
        let _ = writeln!(
            out,
            "  ... {} more in report.json",
            report.messages.len() - SUMMARY_ROWS_MAX
        );
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "\ndatagrams sent {} ({:.2} per agent), delivered {}, lost {}; bytes sent {} ({:.0} per agent)",
        t.datagrams_sent,
        t.datagrams_per_agent,
        t.datagrams_delivered,
        t.datagrams_lost,
        t.bytes_sent,
        t.bytes_per_agent
    );
    let _ = writeln!(
        out,
        "deliveries {}, duplicates {} (redundancy {:.2} per delivery), redeliveries {}",
        t.deliveries, t.duplicates, t.redundancy, t.redeliveries
    );
    if t.byzantine_agents > 0 {
        let _ = writeln!(
            out,
            "byzantine agents {} (figures are over honest agents); forged deliveries {}, tampered deliveries {}",
            t.byzantine_agents, t.forged_deliveries, t.tampered_deliveries
        );
    }
    if let Some(b) = &t.byzantine_traffic {
        let _ = writeln!(
            out,
            "byzantine traffic: datagrams sent {}, received {}, bytes sent {}, duplicates {}",
            b.datagrams_sent, b.datagrams_received, b.bytes_sent, b.duplicates
        );
    }
    if !t.deliveries_by_disposition.is_empty() {
        let parts: Vec<String> = t
            .deliveries_by_disposition
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "deliveries by attention: {}; digests emitted {}",
            parts.join(", "),
            t.digests
        );
    }
    let l = &report.latency_ns;
    let _ = writeln!(
        out,
        "delivery latency p50 {}, p90 {}, p99 {}, max {}",
        ms(Some(l.p50)),
        ms(Some(l.p90)),
        ms(Some(l.p99)),
        ms(Some(l.max))
    );
    if !t.drops.is_empty() {
        let drops: Vec<String> = t.drops.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "drops: {}", drops.join(", "));
    }
    for f in &report.faults {
        let window = match f.until_ns {
            Some(end) => format!("{}..{}", ms(Some(f.at_ns)), ms(Some(end))),
            None => format!("from {}", ms(Some(f.at_ns))),
        };
        let recovery = match (f.until_ns, f.recovered_after_ns) {
            (None, _) => "lasts to the end".to_string(),
            (Some(_), Some(ns)) => format!(
                "recovered {} after it ended ({} broadcasts before its end)",
                ms(Some(ns)),
                f.broadcasts_before_end
            ),
            (Some(_), None) => format!(
                "not recovered: a broadcast sent before its end never reached everyone ({} broadcasts before its end)",
                f.broadcasts_before_end
            ),
        };
        let _ = writeln!(out, "fault {} {window}: {recovery}", f.kind);
    }
    for (sender, drops) in &t.drops_by_sender {
        let drops: Vec<String> = drops.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  from {sender} agents: {}", drops.join(", "));
    }
    if let Some(o) = &report.overlay {
        let _ = writeln!(
            out,
            "overlay: active degree min {} p50 {} max {}, isolated {:.4}, half-open links {:.4}, {} component(s) (largest {} of {}), passive fill {:.2}",
            o.degree_min,
            o.degree_p50,
            o.degree_max,
            o.isolated_share,
            o.asymmetric_link_share,
            o.components,
            o.largest_component,
            o.agents,
            o.passive_fill
        );
    }
    if let Some(d) = &report.detection {
        let _ = writeln!(
            out,
            "failure detection: {} crashes ({} never confirmed); suspicions {}, refuted {}, confirmed {}, false positives {} ({} agents); crash to first suspicion p50 {:.0} ms p99 {:.0} ms, to first confirmation p50 {:.0} ms p99 {:.0} ms, to last confirmation p99 {:.0} ms",
            d.crashes,
            d.crashes_unconfirmed,
            d.suspicions,
            d.refutations,
            d.confirmations,
            d.false_positives,
            d.false_positive_agents,
            d.first_suspicion_ms.p50,
            d.first_suspicion_ms.p99,
            d.first_confirmation_ms.p50,
            d.first_confirmation_ms.p99,
            d.last_confirmation_ms.p99
        );
        if let Some(rate) = d.sends_to_crashed_after_detection_per_agent_s {
            let _ = writeln!(
                out,
                "  datagrams to crashed agents once every crash was confirmed: {rate:.3} per live agent per second"
            );
        }
    }
    if let Some(d) = &report.direct {
        render_direct(&mut out, d);
    }
    render_missed(&mut out, report);
    out
}

/// The requests and direct sends of the workload, one line each.
fn render_direct(out: &mut String, d: &DirectReport) {
    if d.requests > 0 {
        let _ = writeln!(
            out,
            "requests: {} answered of {} ({:.4}), {} timed out, {} refused, {} unresolved at the end; round trip p50 {:.1} ms p99 {:.1} ms",
            d.requests_answered,
            d.requests,
            d.answered_share(),
            d.requests_timed_out,
            d.requests_refused,
            d.requests_unresolved,
            d.round_trip_ms.p50,
            d.round_trip_ms.p99
        );
    }
    if d.sends > 0 {
        let _ = writeln!(
            out,
            "direct sends: {} delivered of {}; latency p50 {:.1} ms p99 {:.1} ms",
            d.sends_delivered, d.sends, d.send_latency_ms.p50, d.send_latency_ms.p99
        );
    }
}

/// Missed agents shown per broadcast in the summary (report.json lists more).
const MISSED_SHOWN_MAX: usize = 5;

/// The "why" section: who missed each broadcast below full coverage and
/// what the run knows of them.
fn render_missed(out: &mut String, report: &RunReport) {
    for m in &report.messages {
        let Some(missed) = &m.missed else {
            continue;
        };
        let _ = writeln!(
            out,
            "why broadcast {} missed {} agent(s):",
            m.index, missed.count
        );
        for a in missed.agents.iter().take(MISSED_SHOWN_MAX) {
            let _ = writeln!(
                out,
                "  agent {}: active view {}, held by {}, {}, repairs given up {}, neighbours crashed {}, byzantine {}, across a partition {}",
                a.agent,
                a.active_view,
                a.held_by,
                if a.awaiting_repair {
                    "announced and still asking"
                } else {
                    "not awaiting a repair"
                },
                a.repairs_abandoned,
                a.crashed_neighbours,
                a.byzantine_neighbours,
                a.partitioned_neighbours
            );
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A self-contained HTML page: summary, expectations and the SVG plots found
/// in `dir` (inlined, so the page can be mailed or archived alone).
pub fn render_html(report: &RunReport, dir: &Path) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Colony — {name}</title>\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         .fail{{color:#b00;font-weight:bold}}.pass{{color:#070}}pre{{background:#f6f6f6;padding:1em}}</style>\
         </head><body><h1>{name}</h1><p>seed {seed}, {agents} agents, {threads} threads, engine {engine}, \
         trace <code>{trace}</code></p>",
        name = escape(&report.scenario),
        seed = report.seed,
        agents = report.agents,
        threads = report.threads,
        engine = escape(&report.engine),
        trace = escape(&report.trace_hash),
    );
    if !report.expectations.is_empty() {
        out.push_str("<h2>Expectations</h2><table><tr><th>expectation</th><th>expected</th><th>actual</th><th>verdict</th></tr>");
        for e in &report.expectations {
            let (class, verdict) = if e.passed {
                ("pass", "passed")
            } else {
                ("fail", "FAILED")
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{verdict}</td></tr>",
                escape(&e.name),
                escape(&e.expected),
                escape(&e.actual)
            );
        }
        out.push_str("</table>");
    }
    let _ = write!(
        out,
        "<h2>Summary</h2><pre>{}</pre>",
        escape(&render_summary(report))
    );
    for (name, title) in [
        ("coverage", "Coverage over time"),
        ("latency_cdf", "Delivery latency"),
        ("datagrams_per_round", "Datagrams per round"),
        ("drops", "Drops by reason"),
        ("overlay", "Overlay health over time"),
    ] {
        if let Ok(svg) = std::fs::read_to_string(dir.join(format!("{name}.svg"))) {
            let _ = write!(out, "<h2>{title}</h2>{svg}");
        }
    }
    out.push_str("</body></html>\n");
    out
}
