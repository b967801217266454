//! The overlay figures of a report: the health of the active-view graph,
//! sampled over time and the same on any number of threads, and the agents
//! that missed a broadcast, with what the run knows of why.

use colony_reports::RunReport;
use colony_sim::engine::Engine;
use colony_sim::scenario::Scenario;

/// 300 agents, PlumTree over views, one broadcast at 4 s (views formed).
const BASE: &str = r#"
name = "overlay-report-test"
seeds = [5]

[stop]
duration = "8s"
at_full_coverage = false

[agents]
count = 300

[protocol]
strategy = "plumtree"
sampling = "views"

[network]
latency = { distribution = "uniform", min = "5ms", max = "15ms" }

[[workload]]
at = "4s"
from = 0
"#;

fn run(text: &str, threads: usize) -> RunReport {
    let scenario =
        Scenario::parse("overlay-report-test.toml", text.to_string()).expect("a valid scenario");
    Engine::new(scenario.spec(5))
        .expect("an engine")
        .run(threads, &mut |_| {})
}

#[test]
fn a_formed_overlay_is_one_component_and_its_samples_do_not_depend_on_threads() {
    let report = run(BASE, 2);
    let overlay = report
        .overlay
        .as_ref()
        .expect("a views run reports its overlay");
    assert_eq!(overlay.agents, 300);
    assert_eq!(overlay.components, 1);
    assert_eq!(overlay.largest_component, 300);
    assert_eq!(overlay.isolated_share, 0.0);
    assert!(
        overlay.degree_min >= 1 && overlay.degree_max <= 5,
        "{overlay:?}"
    );
    let samples = &report.overlay_over_time;
    assert!(samples.len() >= 32, "{} samples", samples.len());
    assert!(samples.windows(2).all(|w| w[0].t_ns < w[1].t_ns));
    // At time zero nobody has joined: every agent is alone.
    assert_eq!(samples[0].overlay.isolated_share, 1.0);
    assert!(
        report.messages[0].missed.is_none(),
        "full coverage: nobody missed it"
    );
    assert_eq!(run(BASE, 1).overlay_over_time, report.overlay_over_time);
}

#[test]
fn agents_cut_off_for_good_are_listed_as_having_missed_the_broadcast() {
    // The last 30 agents are cut off from 3 s to the end; the broadcast
    // comes at 4 s.
    let cut =
        format!("{BASE}\n[[faults]]\nkind = \"partition\"\nat = \"3s\"\nfirst = 270\ncount = 30\n");
    let report = run(&cut, 2);
    let message = &report.messages[0];
    let missed = message
        .missed
        .as_ref()
        .expect("the cut-off agents missed it");
    assert_eq!(missed.count, message.eligible - message.delivered);
    assert_eq!(missed.count, 30);
    assert!(missed.agents.iter().all(|a| a.agent >= 270), "{missed:?}");
    assert_eq!(missed.agents.len(), 30);
    // Stopped 2 s into the cut (before failure detection confirms anyone
    // dead), the cut-off agents still hold neighbours on the other side,
    // and the report says so.
    let early = run(&cut.replace("duration = \"8s\"", "duration = \"5s\""), 2);
    let missed = early.messages[0].missed.as_ref().expect("missed");
    let across: u32 = missed.agents.iter().map(|a| a.partitioned_neighbours).sum();
    assert!(across > 0, "{missed:?}");
    assert!(
        missed
            .agents
            .iter()
            .all(|a| a.partitioned_neighbours <= a.active_view)
    );
}

#[test]
fn a_run_without_views_has_no_overlay_figures() {
    let uniform = BASE
        .replace("strategy = \"plumtree\"", "strategy = \"push\"")
        .replace("sampling = \"views\"", "sampling = \"uniform\"");
    let report = run(&uniform, 2);
    assert!(report.overlay.is_none());
    assert!(report.overlay_over_time.is_empty());
}
