//! One conformance suite, three hosts: the fast engine, the async driver
//! under turmoil, and the async driver on real loopback UDP sockets. Every
//! case builds one run, hands it to a host and makes the same assertions
//! on what the agents observed: a case that passes on one host and fails on
//! another is a driver bug.
//!
//! Runs are short (3 s of time: real time on UDP) and small (8 agents).

use std::time::Duration;

use colony_core::channel::StandardChannel;
use colony_core::config::Config;
use colony_core::message::MessageId;
use colony_core::node::{DropReason, PeerChange};
use colony_core::priority::{AttentionMode, Disposition, Priority};
use colony_sim::hosts::{self, Outcome};
use colony_sim::network::NetworkModel;
use colony_sim::plan::{Broadcast, PayloadKind, SimSpec, StopCondition};
use colony_sim::script::{Action, Observation, QUERY_ANSWER, ScriptedAction};

/// Agents per run: joins take three waves (agents 4..8 join at 0.5 s).
const AGENTS: u32 = 8;
/// When the cases act: after every join has settled.
const ACT_NS: u64 = 1_200_000_000;
/// Length of every run.
const RUN_NS: u64 = 3_000_000_000;

#[derive(Clone, Copy, Debug)]
enum Host {
    Fast,
    Turmoil,
    Udp,
}

impl Host {
    fn run(self, spec: &SimSpec) -> Outcome {
        match self {
            Host::Fast => hosts::fast(spec, 2).expect("a valid spec"),
            Host::Turmoil => hosts::turmoil::run(spec, &mut |_| {}).expect("a valid spec"),
            Host::Udp => hosts::udp::run(spec).expect("loopback sockets"),
        }
    }
}

fn base(config: Config) -> SimSpec {
    SimSpec {
        observe: true,
        ..SimSpec::new(
            "conformance",
            AGENTS,
            7,
            config,
            NetworkModel::constant(Duration::from_millis(5)),
            StopCondition {
                duration_ns: RUN_NS,
                at_full_coverage: false,
            },
        )
    }
}

fn broadcast(at_ns: u64, origin: u32, channel: StandardChannel, priority: Priority) -> Broadcast {
    Broadcast {
        at_ns,
        origin,
        channel_hash: channel.hash(),
        priority,
        payload: PayloadKind::App { len: 32 },
    }
}

fn act(at_ns: u64, agent: u32, action: Action) -> ScriptedAction {
    ScriptedAction {
        at_ns,
        agent,
        action,
    }
}

/// How many times `agent` observed the delivery of `id`, and how.
fn deliveries_of(outcome: &Outcome, agent: u32, id: MessageId) -> Vec<Disposition> {
    outcome
        .observed
        .iter()
        .filter(|o| o.agent == agent)
        .filter_map(|o| match &o.what {
            Observation::Delivered {
                id: got,
                disposition,
                ..
            } if *got == id => Some(*disposition),
            _ => None,
        })
        .collect()
}

fn id_of(outcome: &Outcome, index: usize) -> MessageId {
    outcome.broadcast_ids[index].expect("the broadcast was sent")
}

fn join(host: Host) {
    let outcome = host.run(&base(Config::default()));
    for agent in 0..AGENTS {
        assert!(
            outcome.active_views[agent as usize] > 0,
            "{host:?}: agent {agent} has an empty active view"
        );
        assert!(
            outcome.observed.iter().any(|o| o.agent == agent
                && matches!(
                    o.what,
                    Observation::Peer {
                        change: PeerChange::Up,
                        ..
                    }
                )),
            "{host:?}: agent {agent} never saw a peer come up"
        );
    }
}

fn broadcast_reaches_everyone(host: Host) {
    let mut spec = base(Config::default());
    spec.workload = vec![broadcast(
        ACT_NS,
        0,
        StandardChannel::Suggestions,
        Priority::Normal,
    )];
    let outcome = host.run(&spec);
    let id = id_of(&outcome, 0);
    for agent in 1..AGENTS {
        assert_eq!(
            deliveries_of(&outcome, agent, id).len(),
            1,
            "{host:?}: agent {agent} must deliver the broadcast once"
        );
    }
    assert_eq!(outcome.report.messages[0].coverage, 1.0, "{host:?}");
}

fn duplicate_suppressed(host: Host) {
    let mut config = Config::default();
    config.strategy = colony_core::config::Strategy::Push {
        fanout: std::num::NonZeroU8::new(4).expect("4 > 0"),
    };
    let mut spec = base(config);
    spec.workload = vec![broadcast(
        ACT_NS,
        0,
        StandardChannel::Suggestions,
        Priority::Normal,
    )];
    let outcome = host.run(&spec);
    let id = id_of(&outcome, 0);
    let duplicates: u64 = outcome
        .stats
        .iter()
        .map(|s| s.drops_of(DropReason::Duplicate))
        .sum();
    assert!(
        duplicates > 0,
        "{host:?}: fanout 4 among 8 must send copies"
    );
    for agent in 1..AGENTS {
        assert_eq!(
            deliveries_of(&outcome, agent, id).len(),
            1,
            "{host:?}: agent {agent} delivered a duplicate"
        );
    }
    assert_eq!(outcome.report.totals.redeliveries, 0, "{host:?}");
}

fn rate_limit_enforced(host: Host) {
    let config = Config::default();
    let (rate, burst) = (config.rate_per_s, config.rate_burst);
    let mut spec = base(config);
    let sent = 3 * burst;
    spec.script = (0..sent)
        .map(|_| {
            let action = Action::SendTo {
                to: 2,
                channel_hash: StandardChannel::Suggestions.hash(),
                priority: Priority::Normal,
                payload: PayloadKind::App { len: 16 },
            };
            act(ACT_NS, 1, action)
        })
        .collect();
    let outcome = host.run(&spec);
    let delivered = outcome
        .observed
        .iter()
        .filter(|o| o.agent == 2 && matches!(o.what, Observation::Delivered { .. }))
        .count() as u32;
    // All sends leave at once: the bucket admits its burst, plus what
    // refills while the datagrams trickle in (well under one second).
    assert!(
        delivered >= 1 && delivered <= burst + rate,
        "{host:?}: {delivered} of {sent} delivered through a {rate}/s bucket of {burst}"
    );
    let limited = outcome.stats[2].drops_of(DropReason::RateLimited);
    assert_eq!(
        u64::from(delivered) + limited,
        u64::from(sent),
        "{host:?}: every message is delivered or dropped as rate-limited"
    );
}

fn critical_in_minimal_mode(host: Host) {
    let mut spec = base(Config::default());
    spec.script = vec![act(
        ACT_NS - 200_000_000,
        3,
        Action::SetAttention(AttentionMode::Minimal),
    )];
    spec.workload = vec![
        broadcast(ACT_NS, 0, StandardChannel::Errors, Priority::Critical),
        broadcast(ACT_NS, 0, StandardChannel::Suggestions, Priority::Normal),
    ];
    let outcome = host.run(&spec);
    let critical = deliveries_of(&outcome, 3, id_of(&outcome, 0));
    let normal = deliveries_of(&outcome, 3, id_of(&outcome, 1));
    assert_eq!(critical, vec![Disposition::Immediate], "{host:?}");
    assert_eq!(normal, vec![Disposition::Digest], "{host:?}");
}

fn request_response(host: Host) {
    let mut spec = base(Config::default());
    let timeout = Duration::from_secs(1);
    spec.script = vec![act(ACT_NS, 4, Action::Request { to: 5, timeout })];
    let outcome = host.run(&spec);
    let saw = |agent: u32, what: &Observation| {
        outcome
            .observed
            .iter()
            .any(|o| o.agent == agent && o.what == *what)
    };
    assert!(saw(5, &Observation::Query { from: 4 }), "{host:?}");
    let answer = Observation::Response {
        from: 5,
        answer: QUERY_ANSWER.into(),
    };
    assert!(saw(4, &answer), "{host:?}: no answer");
    assert!(
        !saw(4, &Observation::RequestTimedOut { to: 5 }),
        "{host:?}: answered and timed out"
    );
}

fn leave(host: Host) {
    let mut spec = base(Config::default());
    spec.script = vec![act(ACT_NS, 6, Action::Leave)];
    spec.workload = vec![broadcast(
        ACT_NS + 500_000_000,
        0,
        StandardChannel::Suggestions,
        Priority::Normal,
    )];
    let outcome = host.run(&spec);
    assert!(
        outcome.observed.iter().any(|o| o.agent != 6
            && o.what
                == Observation::Peer {
                    peer: 6,
                    change: PeerChange::Left
                }),
        "{host:?}: no neighbour saw agent 6 leave"
    );
    let id = id_of(&outcome, 0);
    assert!(deliveries_of(&outcome, 6, id).is_empty(), "{host:?}");
    for agent in (1..AGENTS).filter(|a| *a != 6) {
        assert_eq!(
            deliveries_of(&outcome, agent, id).len(),
            1,
            "{host:?}: agent {agent}"
        );
    }
}

/// One test per (case, host), so a failure names both.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod fast {
            $(#[test] fn $case() { super::$case(super::Host::Fast) })*
        }
        mod turmoil {
            $(#[test] fn $case() { super::$case(super::Host::Turmoil) })*
        }
        mod udp {
            $(#[test] fn $case() { super::$case(super::Host::Udp) })*
        }
    };
}

conformance!(
    join,
    broadcast_reaches_everyone,
    duplicate_suppressed,
    rate_limit_enforced,
    critical_in_minimal_mode,
    request_response,
    leave,
);
