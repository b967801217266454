//! Each Byzantine behaviour changes a small run the way it should (and
//! nothing changes when none is configured); each defence makes its attack
//! fail where, without it, the attack succeeds.

use std::num::NonZeroU32;
use std::time::Duration;

use colony_core::channel::StandardChannel;
use colony_core::config::{Config, Sampling};
use colony_core::node::DropReason;
use colony_core::priority::{AttentionMode, Priority};
use colony_sim::agent_set::AgentSet;
use colony_sim::byzantine::{Adversary, Behaviour, ByzantineGroup};
use colony_sim::engine::Engine;
use colony_sim::hosts::{self, Outcome};
use colony_sim::network::{Latency, NetworkModel};
use colony_sim::plan::{Broadcast, PayloadKind, SimSpec, StopCondition};
use colony_sim::ratio::Ratio;

const AGENTS: u32 = 200;
/// The broadcast leaves once views have formed (200 agents join in 8 waves
/// of 250 ms).
const BROADCAST_NS: u64 = 4_000_000_000;

fn spec(sampling_uniform: bool) -> SimSpec {
    // Realtime: payloads are delivered, so tampering is visible.
    let mut node = Config {
        attention: AttentionMode::Realtime,
        ..Config::default()
    };
    if sampling_uniform {
        node.failure_detection = false; // SWIM probes the active view, which uniform sampling has not
        node.sampling = Sampling::Uniform {
            population: NonZeroU32::new(AGENTS).unwrap(),
        };
    }
    let mut network = NetworkModel::constant(Duration::from_millis(5));
    network.latency = Latency::Uniform {
        min: Duration::from_millis(5),
        max: Duration::from_millis(15),
    };
    SimSpec {
        workload: vec![Broadcast {
            at_ns: BROADCAST_NS,
            origin: 0,
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: PayloadKind::App { len: 48 },
        }],
        adversary: Adversary::default(),
        ..SimSpec::new(
            "byzantine",
            AGENTS,
            11,
            node,
            network,
            StopCondition {
                duration_ns: 20_000_000_000,
                at_full_coverage: false,
            },
        )
    }
}

fn with(mut spec: SimSpec, agents: AgentSet, behaviour: Behaviour) -> SimSpec {
    spec.adversary = Adversary::new(vec![ByzantineGroup {
        agents,
        behaviour,
        from_ns: 0,
    }]);
    spec
}

/// The last `n` agents (agent 0, the origin, stays honest).
fn last(n: u32) -> AgentSet {
    AgentSet::from_ranges(vec![(AGENTS - n, AGENTS)])
}

/// A flood lasts until the honest broadcast is everywhere, no longer:
/// enough to show its effect, and the run stays short.
fn short(mut spec: SimSpec) -> SimSpec {
    spec.stop.at_full_coverage = true;
    spec
}

fn run(spec: &SimSpec) -> Outcome {
    hosts::fast(spec, 2).expect("a valid spec")
}

fn honest_drops(outcome: &Outcome, reason: DropReason, byzantine: &AgentSet) -> u64 {
    outcome
        .stats
        .iter()
        .enumerate()
        .filter(|(i, _)| !byzantine.contains(*i as u32))
        .map(|(_, s)| s.drops_of(reason))
        .sum()
}

fn t_full(outcome: &Outcome) -> u64 {
    outcome.report.messages[0]
        .time_to_full_coverage_ns
        .expect("full honest coverage")
}

#[test]
fn without_an_adversary_nothing_is_forged_tampered_or_excluded() {
    let outcome = run(&spec(true));
    let t = &outcome.report.totals;
    assert_eq!(
        (
            t.byzantine_agents,
            t.forged_deliveries,
            t.tampered_deliveries
        ),
        (0, 0, 0)
    );
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
    assert_eq!(outcome.report.messages[0].eligible, u64::from(AGENTS) - 1);
    assert!(t.drops_by_sender.is_empty(), "no senders to charge");
}

#[test]
fn silent_agents_hear_and_say_nothing_and_slow_the_honest_ones_down() {
    let calm = run(&spec(true));
    let third = last(AGENTS / 3 - 1);
    let outcome = run(&with(spec(true), third.clone(), Behaviour::Silent));
    let m = &outcome.report.messages[0];
    assert_eq!(
        m.coverage, 1.0,
        "push-pull still reaches every honest agent"
    );
    assert_eq!(m.eligible, u64::from(AGENTS - third.len() as u32) - 1);
    for agent in third.iter() {
        let s = &outcome.stats[agent as usize];
        assert_eq!(s.datagrams_received, 0, "agent {agent} heard something");
    }
    assert!(
        t_full(&outcome) > t_full(&calm),
        "a third silent must cost time"
    );
}

#[test]
fn selective_agents_stay_members_but_drop_the_data() {
    let calm = run(&spec(false));
    let quarter = last(AGENTS / 4);
    let all = Ratio::new(1, 1).unwrap();
    let outcome = run(&with(
        spec(false),
        quarter.clone(),
        Behaviour::Selective {
            share: all,
            channel: Some(StandardChannel::Suggestions.hash()),
        },
    ));
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
    // They hear the broadcast (they stay in the overlay) but pass nothing on.
    let delivered: u64 = quarter
        .iter()
        .map(|a| outcome.stats[a as usize].delivered)
        .sum();
    assert!(delivered > 0);
    assert!(t_full(&outcome) > t_full(&calm));
}

#[test]
fn a_flooder_is_rate_limited_and_honest_gossip_still_completes() {
    let flooder = last(1);
    let calm = run(&spec(true));
    let outcome = run(&with(
        short(spec(true)),
        flooder.clone(),
        Behaviour::Flood { per_s: 200 },
    ));
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
    let limited = honest_drops(&outcome, DropReason::RateLimited, &flooder);
    assert!(limited > 1000, "only {limited} flood messages rate-limited");
    assert_eq!(
        honest_drops(&calm, DropReason::RateLimited, &AgentSet::default()),
        0
    );
}

/// Totals are over honest agents, like deliveries: a flooder's traffic and
/// the duplicates its junk causes at its own node are reported apart, so
/// the honest redundancy is not inflated by the attack.
#[test]
fn totals_keep_byzantine_traffic_apart_from_the_honest_figures() {
    let flooder = last(1);
    let outcome = run(&with(
        short(spec(true)),
        flooder.clone(),
        Behaviour::Flood { per_s: 200 },
    ));
    let t = &outcome.report.totals;
    let sum = |byzantine: bool, f: fn(&colony_core::node::NodeStats) -> u64| -> u64 {
        outcome
            .stats
            .iter()
            .enumerate()
            .filter(|(i, _)| flooder.contains(*i as u32) == byzantine)
            .map(|(_, s)| f(s))
            .sum()
    };
    assert_eq!(t.datagrams_sent, sum(false, |s| s.datagrams_sent));
    assert_eq!(
        t.duplicates,
        sum(false, |s| s.drops_of(DropReason::Duplicate))
    );
    let byzantine = t.byzantine_traffic.as_ref().expect("reported apart");
    assert_eq!(byzantine.datagrams_sent, sum(true, |s| s.datagrams_sent));
    assert!(byzantine.datagrams_sent > 0);
    let honest_agents = f64::from(AGENTS - 1);
    assert!((t.datagrams_per_agent - t.datagrams_sent as f64 / honest_agents).abs() < 1e-9);
    assert!(run(&spec(true)).report.totals.byzantine_traffic.is_none());
}

#[test]
fn forgeries_get_through_without_signatures_and_fail_with_them() {
    let forgers = last(AGENTS / 10);
    let attack = with(spec(true), forgers.clone(), Behaviour::Forge { victim: 1 });
    let open = run(&attack);
    assert!(
        open.report.totals.forged_deliveries > 0,
        "the forgery must work unsigned"
    );
    let checks = |o: &Outcome| o.stats.iter().map(|s| s.signatures_checked).sum::<u64>();
    assert_eq!(checks(&open), 0, "nothing to check unsigned");
    let mut signed = attack;
    signed.signatures = true;
    let outcome = run(&signed);
    assert_eq!(outcome.report.totals.forged_deliveries, 0);
    assert!(honest_drops(&outcome, DropReason::BadSignature, &forgers) > 0);
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
    // The report charges the failed checks to the forgers, not to honest
    // senders, and agrees with the honest agents' own counters.
    let by_sender = &outcome.report.totals.drops_by_sender;
    let forged = by_sender["forge"]
        .get("bad_signature")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        forged,
        honest_drops(&outcome, DropReason::BadSignature, &forgers)
    );
    assert!(
        !by_sender["honest"].contains_key("bad_signature"),
        "{by_sender:?}"
    );
    // Every honest agent checked the real message once, and each forgery.
    assert!(checks(&outcome) >= u64::from(AGENTS) - forgers.len() - 1 + forged);
}

#[test]
fn corrupted_payloads_get_through_without_signatures_and_fail_with_them() {
    let corrupters = last(AGENTS / 10);
    let all = Ratio::new(1, 1).unwrap();
    let attack = with(
        spec(true),
        corrupters.clone(),
        Behaviour::Corrupt { share: all },
    );
    let open = run(&attack);
    assert!(
        open.report.totals.tampered_deliveries > 0,
        "corruption must work unsigned"
    );
    let mut signed = attack;
    signed.signatures = true;
    let outcome = run(&signed);
    assert_eq!(outcome.report.totals.tampered_deliveries, 0);
    assert!(honest_drops(&outcome, DropReason::BadSignature, &corrupters) > 0);
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
}

/// An origin that holds its key signs every version it sends under one
/// id: signatures cannot stop the split (each version verifies), but with
/// them an honest agent that holds one version and receives another has
/// proof of the equivocation and counts it (`equivocation` drops);
/// without them nothing tells an equivocation from a relay's tampering.
#[test]
fn an_equivocating_origin_splits_the_honest_agents_and_signatures_expose_it() {
    let mut attack = with(
        spec(true),
        AgentSet::from_agents(&[0]),
        Behaviour::Equivocate,
    );
    attack.workload[0].origin = 0; // the origin itself equivocates
    let open = run(&attack);
    assert!(open.report.totals.tampered_deliveries > 0);
    assert_eq!(open.report.totals.drops.get("equivocation"), None);
    let mut signed = attack;
    signed.signatures = true;
    let outcome = run(&signed);
    assert!(
        outcome.report.totals.tampered_deliveries > 0,
        "every version verifies: the honest agents still split"
    );
    let seen = outcome.report.totals.drops.get("equivocation").copied();
    assert!(seen.unwrap_or(0) > 0, "{:?}", outcome.report.totals.drops);
    assert_eq!(outcome.report.totals.drops.get("bad_signature"), None);
}

#[test]
fn replayed_datagrams_are_suppressed_as_duplicates() {
    let calm = run(&spec(true));
    let replayers = last(AGENTS / 4);
    let outcome = run(&with(
        spec(true),
        replayers.clone(),
        Behaviour::Replay {
            delay_ns: 2_000_000_000,
        },
    ));
    let dup = |o: &Outcome| honest_drops(o, DropReason::Duplicate, &replayers);
    assert!(dup(&outcome) > dup(&calm), "replays arrive as duplicates");
    assert_eq!(
        outcome.report.totals.redeliveries, 0,
        "and are never delivered twice"
    );
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
}

#[test]
fn delaying_agents_make_honest_delivery_slower() {
    let calm = run(&spec(true));
    let outcome = run(&with(
        spec(true),
        last(AGENTS / 2),
        Behaviour::Delay {
            delay_ns: 400_000_000,
        },
    ));
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
    assert!(outcome.report.latency_ns.p50 > calm.report.latency_ns.p50);
}

#[test]
fn colluders_fill_a_victims_views_but_passive_pulls_still_reach_it() {
    let victim = 5u32;
    let colluders = last(12);
    let run = |spec: SimSpec| {
        let mut engine = Engine::new(spec).expect("a valid spec");
        let report = engine.run(2, &mut |_| {});
        let node = &engine.nodes()[victim as usize];
        let delivered = node.stats().delivered;
        (
            node.active_view().to_vec(),
            node.passive_view().to_vec(),
            delivered,
            report,
        )
    };
    let (active, _, delivered, _) = run(spec(false));
    assert!(active.iter().any(|p| !colluders.contains(*p)), "{active:?}");
    assert_eq!(delivered, 1, "without colluders the victim delivers");
    let (active, passive, delivered, report) = run(with(
        spec(false),
        colluders.clone(),
        Behaviour::Eclipse { victim },
    ));
    assert!(!active.is_empty());
    assert!(
        active.iter().all(|p| colluders.contains(*p)),
        "the victim's active view must hold colluders only: {active:?}"
    );
    let known = colluders
        .iter()
        .filter(|c| active.contains(c) || passive.contains(c))
        .count();
    assert!(
        known as u64 * 4 >= colluders.len() * 3,
        "shuffles put the colluders in the victim's views: {active:?} {passive:?}"
    );
    // What still reaches the victim comes through the anti-entropy pulls
    // it makes to passive peers that are honest (12 colluders cannot fill
    // 5 active and 30 passive slots), so the honest swarm stays whole.
    assert_eq!(delivered, 1);
    assert_eq!(report.messages[0].coverage, 1.0);
}

#[test]
fn peer_scoring_cuts_off_forgers_that_signatures_alone_keep_paying_for() {
    // A third of 600 agents forge. Signatures stop every forgery either way,
    // but each forged copy costs its receiver a failed verification (about
    // 45 us); scoring graylists the forgers after five and stops the bill.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/forgers-600.toml");
    let scenario = colony_sim::scenario::Scenario::load(path).expect("the scenario loads");
    let spec = scenario.spec(5);
    assert!(spec.signatures && !spec.node.reputation);
    let forgers = AgentSet::from_ranges(vec![(400, 599)]);
    let signed_only = run(&spec);
    let mut scored = spec;
    scored.node.reputation = true;
    let outcome = run(&scored);
    for o in [&signed_only, &outcome] {
        assert_eq!(o.report.totals.forged_deliveries, 0);
        assert!(o.report.messages.iter().all(|m| m.coverage == 1.0));
    }
    let failed_checks = |o: &Outcome| honest_drops(o, DropReason::BadSignature, &forgers);
    assert!(
        failed_checks(&outcome) * 2 < failed_checks(&signed_only),
        "{} failed verifications with scoring, {} without",
        failed_checks(&outcome),
        failed_checks(&signed_only)
    );
    assert!(honest_drops(&outcome, DropReason::Graylisted, &forgers) > 0);
}

#[test]
fn peer_scoring_graylists_a_flooder() {
    let flooder = last(1);
    let mut attack = with(
        short(spec(true)),
        flooder.clone(),
        Behaviour::Flood { per_s: 200 },
    );
    attack.node.reputation = false;
    let unscored = run(&attack);
    assert_eq!(honest_drops(&unscored, DropReason::Graylisted, &flooder), 0);
    attack.node.reputation = true;
    let outcome = run(&attack);
    let graylisted = honest_drops(&outcome, DropReason::Graylisted, &flooder);
    assert!(graylisted > 0, "the flooder's direct receivers graylist it");
    // Junk cut off at the first hop spreads less: fewer copies reach the
    // rate limiters further on.
    let limited = |o: &Outcome| honest_drops(o, DropReason::RateLimited, &flooder);
    assert!(
        limited(&outcome) < limited(&unscored),
        "{} rate-limited with scoring, {} without",
        limited(&outcome),
        limited(&unscored)
    );
    assert_eq!(outcome.report.messages[0].coverage, 1.0);
}

/// A small duplicate filter (64 ids) under 100 broadcasts forgets ids within
/// seconds; a quarter of the agents replay everything 8 s later. Before the
/// filter refused what it forgot, 119,141 replays were delivered a second
/// time at 1,000 agents; now none is, and the refused replays no longer
/// crowd honest copies out of the rate limit.
#[test]
fn replays_of_ids_the_filter_forgot_are_refused_as_stale() {
    let text = r#"
name = "replay-small-filter"
seeds = [1]
[stop]
duration = "30s"
at_full_coverage = false
[agents]
count = 300
[protocol]
strategy = "push-pull"
fanout = 2
sampling = "views"
dedup = 64
[network]
latency = { distribution = "uniform", min = "5ms", max = "40ms" }
[[byzantine]]
behaviour = "replay"
share = "1/4"
delay = "8s"
[[workload]]
at = "5s"
from = 0
count = 100
every = "100ms"
"#;
    let scenario = colony_sim::scenario::Scenario::parse("replay.toml", text.into()).unwrap();
    let report = colony_sim::engine::Engine::new(scenario.spec(1))
        .unwrap()
        .run(2, &mut |_| {});
    assert_eq!(report.totals.redeliveries, 0);
    assert!(report.totals.drops.get("stale").copied().unwrap_or(0) > 0);
    for m in &report.messages {
        assert_eq!(m.coverage, 1.0, "{m:?}");
    }
}
