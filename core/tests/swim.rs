//! Full-membership SWIM and Lifeguard (`Detector::FullMembership`): what
//! the authors' and memberlist's detector promises that the active-view
//! detector does not: every member learns a death, probes walk a shuffled
//! round-robin order, and under Lifeguard a suspect hears its suspicion on
//! the next ping, a node that misses acks slows down, and independent
//! suspecters shorten a suspicion.

mod driver;

use std::time::Duration;

use colony_core::config::{Config, Detector, Swim};
use colony_core::control::{Control, MemberState};
use colony_core::node::{Event, PeerChange};
use colony_core::time::Time;
use driver::{Net, record};

const AGENTS: u32 = 50;

fn swim(lifeguard: bool) -> Config {
    Config {
        detector: Detector::FullMembership(Swim {
            lifeguard,
            ..Swim::default()
        }),
        ..Config::default()
    }
}

/// A settled swarm of [`AGENTS`]: joined through agent 0, then a minute
/// (two member syncs) for every member list to fill.
fn settled(config: Config) -> Net {
    let mut net = Net::new(AGENTS, config, 1);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(60));
    net
}

fn failed(net: &Net, node: u32, peer: u32) -> Option<Time> {
    net.events[node as usize].iter().find_map(|(at, e)| {
        matches!(e, Event::Peer { peer: p, change: PeerChange::Failed } if *p == peer)
            .then_some(*at)
    })
}

#[test]
fn every_member_learns_a_death_not_only_its_neighbours() {
    let mut net = settled(swim(false));
    net.crash(7);
    net.run_for(Duration::from_secs(40));
    let unaware: Vec<u32> = (0..AGENTS)
        .filter(|n| *n != 7 && failed(&net, *n, 7).is_none())
        .collect();
    assert!(unaware.is_empty(), "never confirmed 7 dead: {unaware:?}");
    let false_deaths = (0..AGENTS)
        .flat_map(|n| (0..AGENTS).map(move |p| (n, p)))
        .filter(|(n, p)| *p != 7 && failed(&net, *n, *p).is_some())
        .count();
    assert_eq!(false_deaths, 0, "a live member was confirmed dead");
}

#[test]
fn probes_walk_every_member_within_two_rounds_of_the_order() {
    let mut net = settled(swim(false));
    let sent = record(&mut net, |_, _, _| false);
    net.run_for(Duration::from_secs(u64::from(2 * AGENTS)));
    let targets: Vec<u32> = sent
        .borrow()
        .iter()
        .filter(|(_, from, _, c)| *from == 3 && matches!(c, Control::Ping { relay: None, .. }))
        .map(|(_, _, to, _)| *to)
        .collect();
    let window = 2 * (AGENTS as usize - 1);
    assert!(targets.len() >= window, "{} probes", targets.len());
    // Round-robin over a shuffled order: any 2(n-1) consecutive probes
    // cover every member (SWIM's time-bounded completeness). Uniformly
    // random targets would miss some member almost surely.
    for probes in targets.windows(window) {
        let missed: Vec<u32> = (0..AGENTS)
            .filter(|m| *m != 3 && !probes.contains(m))
            .collect();
        assert!(
            missed.is_empty(),
            "not probed in {window} probes: {missed:?}"
        );
    }
}

/// Acks from agent 5 are lost, so everyone suspects it: under Lifeguard
/// every ping to it from a member that suspects it carries the suspicion
/// first, and agent 5 refutes.
#[test]
fn a_suspect_hears_its_suspicion_on_the_next_ping_under_lifeguard() {
    let mut net = settled(swim(true));
    let sent = record(&mut net, |from, _, c| {
        from == 5 && matches!(c, Control::Ack { .. })
    });
    net.run_for(Duration::from_secs(20));
    let suspecting = |node: u32, at: Time| {
        let mut suspects = false;
        for (t, e) in &net.events[node as usize] {
            if *t >= at {
                break;
            }
            if let Event::Peer { peer: 5, change } = e {
                suspects = *change == PeerChange::Suspected;
            }
        }
        suspects
    };
    let log = sent.borrow();
    let buddy_pings: Vec<bool> = log
        .iter()
        .filter_map(|(at, from, to, c)| match c {
            Control::Ping { relay: None, news } if *to == 5 => Some((*at, *from, news)),
            _ => None,
        })
        // Sent a latency before the filter saw it: the sender suspected 5
        // by then if it did a latency before.
        .filter(|(at, from, _)| suspecting(*from, Time::from_ns(at.as_ns() - 10_000_000)))
        .map(|(_, _, news)| {
            news.first()
                .is_some_and(|n| n.member == 5 && n.state == MemberState::Suspect)
        })
        .collect();
    assert!(!buddy_pings.is_empty(), "no member suspected agent 5");
    assert!(
        buddy_pings.iter().all(|b| *b),
        "pings to a suspect without the suspicion: {buddy_pings:?}"
    );
    let refutations = log
        .iter()
        .filter(|(_, from, _, c)| *from == 5 && carries_refutation(c))
        .count();
    assert!(refutations > 0, "agent 5 never refuted");
}

fn carries_refutation(c: &Control<u32>) -> bool {
    let news = match c {
        Control::Ping { news, .. } | Control::Ack { news, .. } | Control::PingReq { news, .. } => {
            news
        }
        _ => return false,
    };
    news.iter()
        .any(|n| n.member == 5 && n.state == MemberState::Alive && n.incarnation > 0)
}

/// Agent 3 hears no ack at all (its inbound link is broken): under
/// Lifeguard it takes the silence as its own ill health and probes less
/// often, instead of suspecting everyone at full speed.
#[test]
fn a_node_that_hears_no_acks_slows_its_probing_under_lifeguard() {
    let pings_by_3 = |lifeguard: bool| {
        let mut net = settled(swim(lifeguard));
        let sent = record(&mut net, |_, to, c| {
            to == 3 && matches!(c, Control::Ack { .. })
        });
        net.run_for(Duration::from_secs(30));
        sent.borrow()
            .iter()
            .filter(|(_, from, _, c)| *from == 3 && matches!(c, Control::Ping { relay: None, .. }))
            .count()
    };
    let (plain, lifeguard) = (pings_by_3(false), pings_by_3(true));
    assert!(plain >= 29, "SWIM probes once a period: {plain}");
    assert!(
        lifeguard * 3 < plain,
        "Lifeguard's health multiplier: {lifeguard} probes against {plain}"
    );
}

/// Under Lifeguard a suspicion starts at six times the shortest timeout
/// and shrinks as other members suspect too: with a whole swarm probing a
/// crashed member, the first confirmation comes well before the longest.
#[test]
fn independent_suspecters_shorten_a_suspicion_under_lifeguard() {
    let mut net = settled(swim(true));
    let crash = net.now;
    net.crash(7);
    net.run_for(Duration::from_secs(60));
    let first = (0..AGENTS)
        .filter_map(|n| failed(&net, n, 7))
        .min()
        .expect("agent 7 confirmed dead");
    // n = 50: shortest 4 · log10(50) · 1 s = 6.8 s, longest 40.8 s.
    let took = first.as_ns() - crash.as_ns();
    assert!(
        took < Duration::from_secs(20).as_nanos() as u64,
        "first confirmation {took} ns after the crash"
    );
}
