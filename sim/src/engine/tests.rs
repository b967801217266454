//! Engine behaviour: determinism across thread counts, seeds that matter,
//! and the textbook result for push gossip.

use std::num::{NonZeroU8, NonZeroU32};
use std::time::Duration;

use colony_core::Priority;
use colony_core::channel::StandardChannel;
use colony_core::config::{Config, Sampling, Strategy};
use colony_reports::RunReport;

use super::Engine;
use crate::network::{Latency, NetworkModel};
use crate::plan::{Broadcast, PayloadKind, SimSpec, StopCondition};
use crate::ratio::Ratio;

const SECOND_NS: u64 = 1_000_000_000;

fn push_spec(agents: u32, seed: u64) -> SimSpec {
    SimSpec {
        workload: vec![Broadcast {
            at_ns: 0,
            origin: 0,
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: PayloadKind::App { len: 24 },
        }],
        ..SimSpec::new(
            "test",
            agents,
            seed,
            Config {
                sampling: Sampling::Uniform {
                    population: NonZeroU32::new(agents).unwrap(),
                },
                ..Config::large_scale(NonZeroU32::new(agents).unwrap())
            },
            NetworkModel {
                latency: Latency::Uniform {
                    min: Duration::from_millis(1),
                    max: Duration::from_millis(5),
                },
                ..NetworkModel::constant(Duration::from_millis(1))
            },
            StopCondition {
                duration_ns: 60 * SECOND_NS,
                at_full_coverage: true,
            },
        )
    }
}

fn run(spec: SimSpec, threads: usize) -> RunReport {
    Engine::new(spec).unwrap().run(threads, &mut |_| {})
}

#[test]
fn one_and_four_threads_give_the_same_trace_hash_and_report() {
    let mut spec = push_spec(10_000, 7);
    spec.network.loss = Ratio::new(1, 50).unwrap();
    spec.network.duplicate = Ratio::new(1, 100).unwrap();
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(1).unwrap(),
    };
    let one = run(spec.clone(), 1);
    let four = run(spec, 4);
    assert_eq!(one.trace_hash, four.trace_hash);
    assert_eq!(one.messages, four.messages);
    assert_eq!(one.totals, four.totals);
    assert_eq!(one.events, four.events);
}

#[test]
fn two_seeds_give_different_trace_hashes() {
    let a = run(push_spec(2_000, 1), 2);
    let b = run(push_spec(2_000, 2), 2);
    assert_ne!(a.trace_hash, b.trace_hash);
    assert_eq!(
        a.trace_hash,
        run(push_spec(2_000, 1), 2).trace_hash,
        "and one seed repeats"
    );
}

#[test]
fn push_with_fanout_one_reaches_ten_thousand_agents_in_about_log2_n_plus_ln_n_rounds() {
    // Pittel (1987): push gossip with fanout 1 informs all n agents in
    // log2(n) + ln(n) + O(1) rounds; 22.5 at n = 10,000.
    let n = 10_000f64;
    let expected = n.log2() + n.ln();
    let seeds = [1, 2, 3, 4, 5];
    let mut total = 0u64;
    for seed in seeds {
        let report = run(push_spec(10_000, seed), 2);
        let message = &report.messages[0];
        assert_eq!(message.delivered, 9_999, "seed {seed}");
        assert_eq!(message.coverage, 1.0);
        total += message.rounds_to_full.expect("push has rounds");
    }
    let mean = total as f64 / seeds.len() as f64;
    assert!(
        (expected - 3.0..=expected + 3.0).contains(&mean),
        "mean {mean} rounds, expected {expected:.1}"
    );
}

#[test]
fn lossy_push_pull_still_reaches_everyone_and_counts_its_losses() {
    let mut spec = push_spec(5_000, 11);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(1).unwrap(),
    };
    spec.network.loss = Ratio::new(1, 10).unwrap();
    let report = run(spec, 2);
    assert_eq!(report.messages[0].coverage, 1.0);
    let lost = report
        .totals
        .drops
        .get("network_loss")
        .copied()
        .unwrap_or(0);
    assert!(lost > 0 && lost == report.totals.datagrams_lost);
    let sent = report.totals.datagrams_sent as f64;
    assert!(
        (0.08..0.12).contains(&(lost as f64 / sent)),
        "{lost} of {sent}"
    );
}

#[test]
fn a_broadcast_nobody_subscribes_to_is_complete_at_once() {
    let mut spec = push_spec(100, 3);
    spec.workload[0].channel_hash = StandardChannel::Debug.hash();
    spec.stop.duration_ns = 2 * SECOND_NS;
    let report = run(spec, 1);
    assert_eq!(report.messages[0].eligible, 0);
    assert_eq!(report.messages[0].delivered, 0);
}

#[test]
fn a_slow_cpu_delays_its_agent_and_an_unlimited_one_changes_nothing() {
    let mut spec = push_spec(200, 5);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    let fast = run(spec.clone(), 1);
    // Agents 0..200 at their measured speed on a 2 GHz core: same result.
    spec.cpu = vec![crate::plan::CpuGroup {
        first: 0,
        end: 200,
        cycles_per_s: 2_000_000_000,
    }];
    let fast_cpu = run(spec.clone(), 1);
    assert_eq!(fast.messages[0].coverage, fast_cpu.messages[0].coverage);
    assert_eq!(
        fast.messages[0].rounds_to_full,
        fast_cpu.messages[0].rounds_to_full
    );
    // A crawling CPU everywhere: each input costs milliseconds, so full
    // coverage comes later.
    spec.cpu = vec![crate::plan::CpuGroup {
        first: 0,
        end: 200,
        cycles_per_s: 20_000,
    }];
    let slow = run(spec, 1);
    let fast_t = fast.messages[0].time_to_full_coverage_ns.unwrap();
    let slow_t = slow.messages[0].time_to_full_coverage_ns.unwrap();
    assert!(slow_t > fast_t, "slow {slow_t} ns, fast {fast_t} ns");
    assert!(!fast.totals.drops.contains_key("cpu_overload"));
}

#[test]
fn with_a_cpu_model_every_signature_check_costs_its_measured_cycles() {
    let mut spec = push_spec(200, 5);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    // A 1 MHz core: one verification (about 100k cycles) takes about
    // 100 ms, half a gossip round, where the rest of a message's handling
    // takes a fraction of a millisecond.
    spec.cpu = vec![crate::plan::CpuGroup {
        first: 0,
        end: 200,
        cycles_per_s: 1_000_000,
    }];
    let unsigned = run(spec.clone(), 1);
    spec.signatures = true;
    let signed = run(spec.clone(), 1);
    assert_eq!(signed.messages[0].coverage, 1.0);
    // Each hop of a path waits for its check before it can forward: the
    // median delivery comes later by at least half a check.
    let check_ns = super::cpu::busy_ns(super::cpu::CostTable::default().signature_check, 1_000_000);
    assert!(
        signed.latency_ns.p50 >= unsigned.latency_ns.p50 + check_ns / 2,
        "unsigned p50 {} ns, signed {} ns, one check {check_ns} ns",
        unsigned.latency_ns.p50,
        signed.latency_ns.p50
    );
    // Without a CPU model signatures cost no virtual time.
    spec.cpu.clear();
    let free = run(spec.clone(), 1);
    spec.signatures = false;
    assert_eq!(free.latency_ns, run(spec, 1).latency_ns);
}

#[test]
fn an_overloaded_agent_drops_what_would_wait_too_long() {
    let mut spec = push_spec(50, 9);
    spec.node.rate_per_s = 0;
    spec.workload = (0..200)
        .map(|i| Broadcast {
            at_ns: i * 1_000_000,
            origin: 1 + (i as u32 % 40),
            channel_hash: StandardChannel::Suggestions.hash(),
            priority: Priority::Normal,
            payload: PayloadKind::App { len: 24 },
        })
        .collect();
    spec.cpu = vec![crate::plan::CpuGroup {
        first: 0,
        end: 1,
        cycles_per_s: 1_000,
    }];
    let report = run(spec, 2);
    assert!(
        report
            .totals
            .drops
            .get("cpu_overload")
            .copied()
            .unwrap_or(0)
            > 0,
        "{:?}",
        report.totals.drops
    );
}

fn partition_spec() -> SimSpec {
    use crate::agent_set::AgentSet;
    use crate::faults::{Fault, FaultKind, FaultTimeline};
    let mut spec = push_spec(2_000, 21);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    spec.workload[0].at_ns = SECOND_NS;
    // Agents 0..1000 are cut off from the rest from 0.5 s to 5 s.
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: SECOND_NS / 2,
        until_ns: Some(5 * SECOND_NS),
        kind: FaultKind::Partition {
            side: AgentSet::from_ranges(vec![(0, 1_000)]),
            one_way: false,
        },
    }]);
    spec
}

#[test]
fn a_partition_stops_every_delivery_across_the_cut_until_it_heals() {
    let report = run(partition_spec(), 2);
    let m = &report.messages[0];
    assert_eq!(m.coverage, 1.0, "full coverage after the heal");
    assert_eq!(report.totals.deliveries_across_cut, 0);
    assert!(report.totals.drops["partition"] > 0);
    // Half the swarm was unreachable until the heal at 5 s (broadcast at 1 s).
    assert!(m.time_to_full_coverage_ns.unwrap() > 4 * SECOND_NS, "{m:?}");
    // Before the heal, at most the origin's side (999 of 1,999 agents) had
    // it, and gossip had reached nearly all of that side.
    let before_heal = m.curve.iter().rfind(|p| p.t_ns < 4 * SECOND_NS).unwrap();
    assert!(
        before_heal.coverage <= 999.0 / 1999.0 && before_heal.coverage > 0.45,
        "{before_heal:?}"
    );
    assert_eq!(
        report.fault_windows_ns,
        vec![(SECOND_NS / 2, 5 * SECOND_NS)]
    );
    // Recovery: from the heal to the broadcast's full coverage.
    let fault = &report.faults[0];
    assert_eq!(
        (fault.kind.as_str(), fault.broadcasts_before_end),
        ("partition", 1)
    );
    let done_ns = SECOND_NS + m.time_to_full_coverage_ns.unwrap();
    assert_eq!(fault.recovered_after_ns, Some(done_ns - 5 * SECOND_NS));
}

#[test]
fn a_one_way_partition_lets_the_other_direction_through() {
    use crate::faults::FaultKind;
    let mut spec = partition_spec();
    let mut faults = spec.faults.faults().to_vec();
    if let FaultKind::Partition { one_way, .. } = &mut faults[0].kind {
        *one_way = true;
    }
    spec.faults = crate::faults::FaultTimeline::new(faults);
    // The origin (agent 0) is on the cut side: its pushes out are dropped,
    // but the other side's pulls still reach it... and its replies do not.
    let report = run(spec, 1);
    assert!(report.totals.drops["partition"] > 0);
    assert_eq!(report.messages[0].coverage, 1.0);
}

#[test]
fn crashed_agents_lose_their_inputs_and_are_not_counted_while_down() {
    use crate::agent_set::AgentSet;
    use crate::faults::{Fault, FaultKind, FaultTimeline};
    let mut spec = push_spec(1_000, 4);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    spec.workload[0].at_ns = SECOND_NS;
    spec.stop = StopCondition {
        duration_ns: 10 * SECOND_NS,
        at_full_coverage: false,
    };
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: SECOND_NS / 2,
        until_ns: None,
        kind: FaultKind::Crash {
            agents: AgentSet::from_ranges(vec![(500, 600)]),
            lose_state: false,
        },
    }]);
    let report = run(spec, 2);
    let m = &report.messages[0];
    assert_eq!(
        m.eligible,
        999 - 100,
        "the hundred crashed agents are not eligible"
    );
    assert_eq!(m.coverage, 1.0);
    assert!(report.totals.drops["crashed"] > 0);
    assert_eq!(
        (
            report.faults[0].until_ns,
            report.faults[0].recovered_after_ns
        ),
        (None, None),
        "a crash for good never ends"
    );
}

#[test]
fn a_crashed_agent_that_restarts_with_a_fresh_state_catches_up_by_pull() {
    use crate::agent_set::AgentSet;
    use crate::faults::{Fault, FaultKind, FaultTimeline};
    let mut spec = push_spec(500, 8);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    spec.workload[0].at_ns = SECOND_NS;
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: SECOND_NS / 2,
        until_ns: Some(8 * SECOND_NS),
        kind: FaultKind::Crash {
            agents: AgentSet::from_agents(&[42]),
            lose_state: true,
        },
    }]);
    let report = run(spec, 1);
    let m = &report.messages[0];
    assert_eq!(m.coverage, 1.0);
    assert!(
        m.time_to_full_coverage_ns.unwrap() > 7 * SECOND_NS,
        "agent 42 only gets it after its restart"
    );
}

#[test]
fn a_loss_fault_raises_the_loss_only_while_it_lasts() {
    use crate::faults::{Fault, FaultKind, FaultTimeline};
    let mut spec = push_spec(2_000, 3);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(1).unwrap(),
    };
    let calm = run(spec.clone(), 1);
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: 0,
        until_ns: Some(60 * SECOND_NS),
        kind: FaultKind::Loss {
            loss: Ratio::new(1, 3).unwrap(),
        },
    }]);
    let lossy = run(spec, 1);
    assert_eq!(calm.totals.datagrams_lost, 0);
    let share = lossy.totals.datagrams_lost as f64 / lossy.totals.datagrams_sent as f64;
    assert!((0.30..0.37).contains(&share), "{share}");
    assert_eq!(lossy.messages[0].coverage, 1.0);
}

#[test]
fn a_clog_holds_what_its_agents_send_and_are_sent_until_it_lifts() {
    use crate::agent_set::AgentSet;
    use crate::faults::{Fault, FaultKind, FaultTimeline};
    use crate::script::Observation;
    let mut spec = push_spec(500, 5);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    spec.workload[0].at_ns = SECOND_NS;
    let release_ns = 4 * SECOND_NS;
    let clogged = AgentSet::from_ranges(vec![(100, 150)]);
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: SECOND_NS / 2,
        until_ns: Some(release_ns),
        kind: FaultKind::Clog {
            agents: clogged.clone(),
        },
    }]);
    spec.observe = true;
    let mut engine = Engine::new(spec).unwrap();
    let report = engine.run(2, &mut |_| {});
    assert_eq!(report.messages[0].coverage, 1.0, "held, not lost");
    let delivered: Vec<(u32, u64)> = engine
        .observed()
        .iter()
        .filter(|o| matches!(o.what, Observation::Delivered { .. }))
        .map(|o| (o.agent, o.at_ns))
        .collect();
    assert!(
        delivered
            .iter()
            .filter(|(a, _)| clogged.contains(*a))
            .all(|(_, t)| *t >= release_ns),
        "a clogged agent delivered before the release"
    );
    assert!(
        delivered
            .iter()
            .any(|(a, t)| !clogged.contains(*a) && *t < release_ns),
        "the others went on meanwhile"
    );
}

#[test]
fn burst_loss_on_half_the_uplinks_loses_the_share_its_chain_predicts() {
    use crate::agent_set::AgentSet;
    use crate::faults::{Fault, FaultKind, FaultTimeline, GilbertElliott};
    let mut spec = push_spec(1_000, 4);
    spec.node.strategy = Strategy::PushPull {
        fanout: NonZeroU8::new(2).unwrap(),
    };
    let calm = run(spec.clone(), 1);
    assert_eq!(calm.totals.datagrams_lost, 0);
    spec.faults = FaultTimeline::new(vec![Fault {
        at_ns: 0,
        until_ns: None,
        kind: FaultKind::BurstLoss {
            agents: AgentSet::from_ranges(vec![(0, 500)]),
            chain: GilbertElliott {
                enter: Ratio::new(1, 20).unwrap(),
                exit: Ratio::new(1, 4).unwrap(),
                loss: Ratio::new(1, 1).unwrap(),
            },
        },
    }]);
    let bursty = run(spec, 2);
    let lost = bursty.totals.datagrams_lost;
    let sent = bursty.totals.datagrams_sent;
    // Half the uplinks lose about 1/6 of what they send: about 1/12 overall.
    let share = lost as f64 / sent as f64;
    assert!((0.04..0.13).contains(&share), "{lost} of {sent} lost");
    assert_eq!(
        bursty.messages[0].coverage, 1.0,
        "push-pull repairs the bursts"
    );
}
