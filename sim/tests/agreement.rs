//! The fast engine and turmoil agree: the same small scenario (50 agents,
//! push-pull over uniform sampling, a fixed 20 ms latency) gives the same
//! coverage and rounds to full coverage on both hosts, and delivery times
//! within a stated tolerance. And turmoil, seeded from the scenario, gives
//! the same run twice.

use colony_sim::hosts;
use colony_sim::scenario::Scenario;

/// Delivery-time tolerance between hosts: a tenth of the time, plus one
/// turmoil tick (turmoil moves time and delivers in whole milliseconds).
const TIME_TOLERANCE_RATIO: f64 = 0.10;
const TIME_TOLERANCE_NS: u64 = 1_000_000;

/// Rounds to full coverage may differ by one: a delivery that lands on a
/// round boundary on one host can land just after it on the other.
const ROUNDS_TOLERANCE: u64 = 1;

fn spec() -> colony_sim::plan::SimSpec {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/agreement-50.toml"
    );
    Scenario::load(path)
        .expect("the agreement scenario loads")
        .spec(1)
}

fn close(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let allowed = (a.max(b) as f64 * TIME_TOLERANCE_RATIO) as u64 + TIME_TOLERANCE_NS;
            a.abs_diff(b) <= allowed
        }
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn fast_engine_and_turmoil_agree_on_coverage_rounds_and_delivery_times() {
    let spec = spec();
    let fast = hosts::fast(&spec, 2)
        .expect("runs on the fast engine")
        .report;
    let turmoil = hosts::turmoil::run(&spec, &mut |_| {})
        .expect("runs under turmoil")
        .report;
    assert_eq!(fast.messages.len(), 5);
    assert_eq!(turmoil.messages.len(), 5);
    for (f, t) in fast.messages.iter().zip(&turmoil.messages) {
        let i = f.index;
        assert_eq!(f.coverage, 1.0, "fast, broadcast {i}");
        assert_eq!(t.coverage, f.coverage, "turmoil, broadcast {i}");
        let (rf, rt) = (f.rounds_to_full.unwrap(), t.rounds_to_full.unwrap());
        assert!(
            rf.abs_diff(rt) <= ROUNDS_TOLERANCE,
            "broadcast {i}: {rf} rounds on the fast engine, {rt} under turmoil"
        );
        for (name, a, b) in [
            ("t50", f.time_to_50pct_ns, t.time_to_50pct_ns),
            ("t90", f.time_to_90pct_ns, t.time_to_90pct_ns),
            (
                "t100",
                f.time_to_full_coverage_ns,
                t.time_to_full_coverage_ns,
            ),
        ] {
            assert!(
                close(a, b),
                "broadcast {i} {name}: fast {a:?}, turmoil {b:?}"
            );
        }
    }
    for (name, a, b) in [
        ("p50", fast.latency_ns.p50, turmoil.latency_ns.p50),
        ("p99", fast.latency_ns.p99, turmoil.latency_ns.p99),
    ] {
        assert!(
            close(Some(a), Some(b)),
            "latency {name}: fast {a}, turmoil {b}"
        );
    }
}

#[test]
fn turmoil_gives_the_same_run_for_the_same_seed() {
    let mut spec = spec();
    spec.agents = 20; // turmoil is slow in debug builds; 20 agents show it
    let a = hosts::turmoil::run(&spec, &mut |_| {}).unwrap();
    let b = hosts::turmoil::run(&spec, &mut |_| {}).unwrap();
    assert_eq!(a.report.trace_hash, b.report.trace_hash);
    assert_eq!(a.report.messages, b.report.messages);
    assert_eq!(
        a.report.totals.datagrams_sent,
        b.report.totals.datagrams_sent
    );
    assert_eq!(a.observed, b.observed);
}

#[test]
fn turmoil_holds_a_partition_until_the_heal_and_then_everyone_delivers() {
    use colony_sim::agent_set::AgentSet;
    use colony_sim::faults::{Fault, FaultKind, FaultTimeline};
    let mut spec = spec();
    spec.agents = 30;
    spec.workload.truncate(1); // one broadcast from agent 0, at 1 s
    let heal_ns = 3_000_000_000;
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: 0,
        until_ns: Some(heal_ns),
        kind: FaultKind::Partition {
            side: AgentSet::from_ranges(vec![(15, 30)]),
            one_way: false,
        },
    }]);
    spec.observe = true;
    let outcome = hosts::turmoil::run(&spec, &mut |_| {}).unwrap();
    assert_eq!(outcome.report.totals.deliveries_across_cut, 0);
    assert_eq!(
        outcome.report.messages[0].coverage, 1.0,
        "everyone after the heal"
    );
    let far_side_before_heal = outcome.observed.iter().any(|o| {
        o.agent >= 15
            && o.at_ns < heal_ns
            && matches!(o.what, colony_sim::script::Observation::Delivered { .. })
    });
    assert!(!far_side_before_heal, "a delivery crossed the cut");
}
