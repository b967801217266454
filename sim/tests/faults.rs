//! The latency and churn faults, through scenario files as users write
//! them: each changes a small run the way it should, and nothing changes
//! without it.

use colony_reports::RunReport;
use colony_sim::engine::Engine;
use colony_sim::hosts;
use colony_sim::scenario::Scenario;

/// 400 agents, push-pull over views, one broadcast at 4 s (views have
/// formed), 5–15 ms links.
const BASE: &str = r#"
name = "faults-test"
seeds = [3]

[stop]
duration = "20s"
at_full_coverage = false

[agents]
count = 400

[protocol]
strategy = "push-pull"
fanout = 2
sampling = "views"

[network]
latency = { distribution = "uniform", min = "5ms", max = "15ms" }

[[workload]]
at = "4s"
from = 0
"#;

fn run(text: &str) -> RunReport {
    let scenario = Scenario::parse("faults-test.toml", text.to_string()).expect("a valid scenario");
    Engine::new(scenario.spec(3))
        .expect("an engine")
        .run(2, &mut |_| {})
}

#[test]
fn a_latency_fault_slows_the_named_uplinks_only_while_it_lasts() {
    let calm = run(BASE);
    let slow = run(&format!(
        "{BASE}\n[[faults]]\nkind = \"latency\"\nat = \"3s\"\nuntil = \"10s\"\nshare = \"1/1\"\nextra = \"200ms\"\n"
    ));
    assert_eq!(calm.messages[0].coverage, 1.0);
    assert_eq!(slow.messages[0].coverage, 1.0);
    // Every hop takes 200 ms more: the median delivery waits at least one
    // extra hop's worth, and nothing arrives faster than one slowed hop.
    assert!(
        slow.latency_ns.p50 >= calm.latency_ns.p50 + 200_000_000,
        "calm p50 {} ns, slowed {} ns",
        calm.latency_ns.p50,
        slow.latency_ns.p50
    );
    let over = run(&format!(
        "{BASE}\n[[faults]]\nkind = \"latency\"\nat = \"1s\"\nuntil = \"2s\"\nshare = \"1/1\"\nextra = \"200ms\"\n"
    ));
    // Over before the broadcast: it shifts how views formed, not the hops.
    assert!(
        over.latency_ns.p50 < calm.latency_ns.p50 + 100_000_000,
        "calm p50 {} ns, after an earlier slowdown {} ns",
        calm.latency_ns.p50,
        over.latency_ns.p50
    );
}

#[test]
fn jitter_slows_deliveries_by_a_random_share_of_its_bound() {
    let calm = run(BASE);
    let jittery = run(&format!(
        "{BASE}\n[[faults]]\nkind = \"latency\"\nat = \"0s\"\nshare = \"1/1\"\njitter = \"300ms\"\n"
    ));
    assert_eq!(jittery.messages[0].coverage, 1.0);
    assert!(
        jittery.latency_ns.p50 > calm.latency_ns.p50 + 100_000_000,
        "calm p50 {} ns, jittered {} ns",
        calm.latency_ns.p50,
        jittery.latency_ns.p50
    );
}

/// Churn from 2 s to 12 s: 20 departures a second, each away 2 s; a
/// broadcast at 4 s (during churn) and one at 14 s (after).
fn churn_text() -> String {
    format!(
        "{BASE}\n[[workload]]\nat = \"14s\"\nfrom = 1\n\n[[faults]]\nkind = \"churn\"\nat = \"2s\"\nuntil = \"12s\"\nshare = \"1/1\"\nrate = 20\ndowntime = \"2s\"\n"
    )
}

#[test]
fn churn_takes_agents_away_at_its_rate_and_they_come_back_fresh() {
    let scenario = Scenario::parse("churn.toml", churn_text()).unwrap();
    let spec = scenario.spec(3);
    let departures = spec.faults.churn(spec.seed, spec.stop.duration_ns);
    assert_eq!(departures.len(), 200, "20 a second for 10 s");
    assert!(
        departures
            .iter()
            .all(|d| d.rejoin_ns == d.leave_ns + 2_000_000_000)
    );
    let report = Engine::new(spec).unwrap().run(2, &mut |_| {});
    assert!(
        report.totals.drops["crashed"] > 0,
        "departed agents lose inputs"
    );
    assert_eq!(report.messages[1].eligible, 399, "everyone came back");
    // The broadcast after the churn reaches every agent, rejoined ones too.
    assert_eq!(report.messages[1].coverage, 1.0, "{:?}", report.messages[1]);
    let calm = run(&churn_text().replace("kind = \"churn\"", "kind = \"loss\"\nloss = \"0/1\""));
    assert_eq!(calm.totals.drops.get("crashed").copied().unwrap_or(0), 0);
}

#[test]
fn churn_is_the_same_on_the_turmoil_host_and_a_latency_fault_is_refused_there() {
    let small = churn_text()
        .replace("count = 400", "count = 20")
        .replace("duration = \"20s\"", "duration = \"10s\"")
        .replace("at = \"14s\"", "at = \"8s\"")
        .replace("until = \"12s\"", "until = \"6s\"")
        .replace("rate = 20", "rate = 2");
    let spec = Scenario::parse("churn.toml", small).unwrap().spec(3);
    let outcome = match hosts::turmoil::run(&spec, &mut |_| {}) {
        Ok(outcome) => outcome,
        Err(e) => panic!("turmoil maps churn onto crashes: {e}"),
    };
    // Eight departures (2 a second for 4 s), all back before the broadcast
    // at 8 s, which reaches everyone.
    assert_eq!(
        outcome.report.messages[1].eligible, 19,
        "everyone came back"
    );
    assert_eq!(outcome.report.messages[1].coverage, 1.0);
    let latency = BASE.replace("count = 400", "count = 40")
        + "\n[[faults]]\nkind = \"latency\"\nat = \"1s\"\nshare = \"1/1\"\nextra = \"50ms\"\n";
    let spec = Scenario::parse("lat.toml", latency).unwrap().spec(3);
    let error =
        hosts::turmoil::run(&spec, &mut |_| {}).expect_err("turmoil refuses per-datagram latency");
    assert!(error.to_string().contains("latency fault"), "{error}");
}

/// turmoil loses datagrams at the scenario's ratio and says how many: a
/// sent datagram is delivered, lost, or (a few, at the stop) in flight; and
/// a loss fault's window loses more.
#[test]
fn turmoil_counts_the_datagrams_its_network_loses() {
    let lossy = BASE
        .replace("count = 400", "count = 40")
        .replace("duration = \"20s\"", "duration = \"6s\"")
        .replace("[network]\n", "[network]\nloss = \"2/100\"\n");
    let spec = Scenario::parse("lossy.toml", lossy.clone())
        .unwrap()
        .spec(3);
    let totals = hosts::turmoil::run(&spec, &mut |_| {})
        .unwrap()
        .report
        .totals;
    let share = totals.datagrams_lost as f64 / totals.datagrams_sent as f64;
    assert!((0.01..0.03).contains(&share), "lost {share} of {totals:?}");
    assert!(totals.datagrams_delivered + totals.datagrams_lost <= totals.datagrams_sent);
    let in_flight = totals.datagrams_sent - totals.datagrams_delivered - totals.datagrams_lost;
    assert!(in_flight * 100 < totals.datagrams_sent, "{totals:?}");
    // A loss fault of 50% for a second on top.
    let fault =
        lossy + "\n[[faults]]\nkind = \"loss\"\nat = \"2s\"\nuntil = \"3s\"\nloss = \"1/2\"\n";
    let spec = Scenario::parse("fault.toml", fault).unwrap().spec(3);
    let worse = hosts::turmoil::run(&spec, &mut |_| {})
        .unwrap()
        .report
        .totals;
    assert!(
        worse.datagrams_lost > totals.datagrams_lost * 3,
        "{} lost with the fault, {} without",
        worse.datagrams_lost,
        totals.datagrams_lost
    );
}

#[test]
fn bad_latency_and_churn_faults_are_located_errors() {
    for (fault, expected) in [
        (
            "kind = \"latency\"\nat = \"1s\"\nshare = \"1/2\"\n",
            "`extra` or `jitter`",
        ),
        (
            "kind = \"churn\"\nat = \"1s\"\nshare = \"1/2\"\nrate = 5\n",
            "`rate`",
        ),
        (
            "kind = \"churn\"\nat = \"1s\"\nshare = \"1/2\"\nrate = 0\ndowntime = \"1s\"\n",
            "must be 1 to",
        ),
        (
            "kind = \"churn\"\nat = \"0s\"\nshare = \"1/2\"\nrate = 100000\ndowntime = \"1s\"\n",
            "departures",
        ),
    ] {
        // Long enough that 100,000 departures a second exceed the bound.
        let base = BASE.replace("duration = \"20s\"", "duration = \"200s\"");
        let text = format!("{base}\n[[faults]]\n{fault}");
        let error = Scenario::parse("bad.toml", text).expect_err(fault);
        assert!(error.line > 0, "{error}");
        assert!(error.to_string().contains(expected), "{fault}: {error}");
    }
}

/// Each agent's datagrams sent and active view after a run of `text`
/// stopped at `stop_ns`.
fn nodes_at(text: &str, stop_ns: u64) -> Vec<(u64, Vec<u32>)> {
    let scenario = Scenario::parse("faults-test.toml", text.to_string()).expect("a valid scenario");
    let mut spec = scenario.spec(3);
    spec.stop.duration_ns = stop_ns;
    let mut engine = Engine::new(spec).expect("an engine");
    engine.run(2, &mut |_| {});
    engine
        .nodes()
        .iter()
        .map(|n| (n.stats().datagrams_sent, n.active_view().to_vec()))
        .collect()
}

/// A crashed agent is silent: its timers stop with it. (They used to be
/// re-armed by the drain after the crash, so a crashed agent went on
/// probing, gossiping and asking for neighbours while deaf to every
/// answer, and live agents took it back into their views: the overlay
/// collapsed a few seconds after a mass crash.)
#[test]
fn a_crashed_agent_sends_nothing_after_its_crash() {
    let crashed =
        format!("{BASE}\n[[faults]]\nkind = \"crash\"\nat = \"3s\"\nfirst = 100\ncount = 100\n");
    let at_crash = nodes_at(&crashed, 3_000_000_000);
    let later = nodes_at(&crashed, 20_000_000_000);
    for agent in 100..200 {
        assert_eq!(
            later[agent].0, at_crash[agent].0,
            "agent {agent} sent after its crash"
        );
    }
    // And the survivors forget the dead: no live agent holds one in its
    // active view 17 s on (a neighbour is probed every five 1 s periods,
    // then suspected for 5 s: 11 s at worst, and the next probe cycle).
    for (agent, (_, active)) in later.iter().enumerate() {
        if (100..200).contains(&agent) {
            continue;
        }
        assert!(
            !active.iter().any(|p| (100..200).contains(p)),
            "agent {agent} still holds a crashed neighbour: {active:?}"
        );
    }
}

/// The report times each crash's detection and judges the detection
/// expectations: 100 agents crash at 3 s, nobody else is confirmed dead.
#[test]
fn the_report_times_crash_detection_and_counts_no_false_positive() {
    let text = format!(
        "{}\n[[faults]]\nkind = \"crash\"\nat = \"3s\"\nfirst = 100\ncount = 100\n\n[expect]\nfalse_positives = 0\ndetection_p99 = \"12s\"\n",
        BASE
    );
    let scenario = Scenario::parse("faults-test.toml", text).expect("a valid scenario");
    let report = Engine::new(scenario.spec(3))
        .expect("an engine")
        .run(2, &mut |_| {});
    let d = report.detection.as_ref().expect("crashes are reported");
    assert_eq!(d.crashes, 100);
    assert_eq!(d.false_positives, 0);
    assert!(d.confirmations >= 100 - d.crashes_unconfirmed, "{d:?}");
    // A probe period finds a crashed neighbour (or the next ones do), then
    // the suspicion lasts 5 s.
    let first = d.first_confirmation_ms;
    assert!(
        first.count > 0 && first.p50 >= 5_000.0 && first.max <= 12_000.0,
        "{first:?}"
    );
    assert!(d.first_suspicion_ms.max <= first.max);
    assert!(d.last_confirmation_ms.p50 >= first.p50);
    let verdicts = scenario.expectations(&report);
    for name in ["false_positives", "detection_p99"] {
        let v = verdicts.iter().find(|v| v.name == name).expect("judged");
        assert!(v.passed, "{v:?}");
    }
}

/// An agent restarted with a fresh state within the second of its earlier
/// life's broadcast broadcasts again: the new message must get an id of its
/// own. Uniform sampling sends no control messages, so both lives number
/// their first broadcast 1 unless the restart starts elsewhere. (The first
/// life pushes its broadcast at the 2.2 s round, then crashes.)
#[test]
fn a_restarted_agent_does_not_reuse_its_earlier_lifes_message_ids() {
    let text = r#"
name = "restart-ids"
seeds = [3]

[stop]
duration = "6s"
at_full_coverage = false

[agents]
count = 200

[protocol]
strategy = "push"
fanout = 2
sampling = "uniform"

[network]
latency = { distribution = "constant", value = "5ms" }

[[faults]]
kind = "crash"
at = "2250ms"
until = "2400ms"
agents = [5]
lose_state = true

[[workload]]
at = "2s"
from = 5

[[workload]]
at = "2600ms"
from = 5
"#;
    let report = run(text);
    let [first, second] = &report.messages[..] else {
        panic!("two broadcasts");
    };
    assert_eq!(first.coverage, 1.0, "{first:?}");
    assert_eq!(second.coverage, 1.0, "the new life's broadcast: {second:?}");
}

/// [`BASE`] cut to turmoil's size: 20 agents for 6 s.
fn turmoil_sized() -> String {
    BASE.replace("count = 400", "count = 20")
        .replace("duration = \"20s\"", "duration = \"6s\"")
}

/// The totals of a turmoil run of `text`.
fn turmoil_totals(text: &str) -> colony_reports::Totals {
    let spec = Scenario::parse("turmoil.toml", text.to_string())
        .expect("a valid scenario")
        .spec(3);
    hosts::turmoil::run(&spec, &mut |_| {})
        .expect("turmoil runs it")
        .report
        .totals
}

/// A burst-loss fault runs under turmoil as on the fast engine (the same
/// Gilbert–Elliott link rule at the sending socket): datagrams from the
/// bursting uplinks are lost while it lasts, none without it.
#[test]
fn turmoil_loses_datagrams_to_a_burst_loss_fault() {
    let small = turmoil_sized();
    let lost = |text: &str| turmoil_totals(text).datagrams_lost;
    let burst = format!(
        "{small}\n[[faults]]\nkind = \"burst-loss\"\nat = \"1s\"\nuntil = \"5s\"\n\
         first = 0\ncount = 10\nenter = \"1/2\"\nexit = \"1/10\"\n"
    );
    assert_eq!(lost(&small), 0);
    assert!(lost(&burst) > 0, "no datagram lost in the bursts");
}

/// Duplication runs under turmoil through the fast engine's network rule
/// at the sending socket: with half the datagrams duplicated, agents
/// receive more datagrams than were sent; without it, never more.
#[test]
fn turmoil_duplicates_datagrams_as_the_network_model_says() {
    let small = turmoil_sized();
    let traffic = |text: &str| {
        let totals = turmoil_totals(text);
        (totals.datagrams_sent, totals.datagrams_delivered)
    };
    let (sent, received) = traffic(&small);
    assert!(received <= sent, "{received} received of {sent} sent");
    let doubled = small.replace("[network]\n", "[network]\nduplicate = \"1/2\"\n");
    let (sent, received) = traffic(&doubled);
    assert!(
        received > sent * 5 / 4,
        "{received} received of {sent} sent with half duplicated"
    );
}
