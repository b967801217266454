//! The HyParView overlay and PlumTree's repair under the faults that lost
//! deliveries on a calm or lossy network: half-open links, links formed
//! after a message passed, a lost IWANT, joins through an isolated contact,
//! a neighbour that misses a refutation. Each test fails without its fix.

mod driver;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use colony_core::config::{Config, Strategy};
use colony_core::control::Control;
use colony_core::message::MessageId;
use colony_core::node::{Command, Event, PeerChange};
use driver::{Net, encode_control, record};

fn plumtree() -> Config {
    Config {
        strategy: Strategy::Plumtree {
            repair_after: Duration::from_millis(300),
        },
        ..Config::default()
    }
}

fn delivered(net: &Net, node: u32, id: MessageId) -> bool {
    net.events[node as usize]
        .iter()
        .any(|(_, e)| matches!(e, Event::Delivered(d) if d.id == id))
}

/// A NEIGHBOR reply overtaken by the DISCONNECT sent after it leaves the
/// requester holding a peer that does not hold it: the peer sends it
/// nothing. The requester's next probe of that peer must close the link.
#[test]
fn a_half_open_link_is_closed_by_the_next_probe() {
    let mut net = Net::new(40, plumtree(), 1);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(3));
    // A stranger with a full view: it has no reason to take node 7 on.
    let stranger = (1..40)
        .find(|p| {
            *p != 7
                && !net.nodes[7].active_view().contains(p)
                && net.nodes[*p as usize].active_view().len() == 5
        })
        .expect("node 7 has a non-neighbour with a full view");
    // The reply arrives with nothing before it: node 7 now holds a peer
    // that never accepted it.
    net.inject(
        stranger,
        7,
        &encode_control(1, &Control::NeighborReply { accepted: true }),
    );
    assert!(net.nodes[7].active_view().contains(&stranger));
    assert!(!net.nodes[stranger as usize].active_view().contains(&7));
    net.run_for(Duration::from_secs(8));
    let holds = net.nodes[7].active_view().contains(&stranger);
    let held = net.nodes[stranger as usize].active_view().contains(&7);
    assert_eq!(holds, held, "the link is symmetric again (or gone)");
}

/// The tree carries what is broadcast after a link forms: an agent that
/// joins after a message passed must still be told of it and repair it.
#[test]
fn an_agent_that_joins_after_a_broadcast_still_delivers_it() {
    let mut net = Net::new(12, plumtree(), 2);
    net.join_through_zero(1..11);
    net.run_for(Duration::from_secs(2));
    let id = net.broadcast(3, b"overlay");
    net.run_for(Duration::from_secs(2));
    assert!((1..11).filter(|i| *i != 3).all(|i| delivered(&net, i, id)));
    net.command(11, Command::Join { contacts: vec![5] })
        .unwrap();
    net.run_for(Duration::from_secs(3));
    assert!(delivered(&net, 11, id), "the late joiner got the broadcast");
}

/// PlumTree's repair asks the announcers in turn until the message comes:
/// a lost IWANT (or a lost reply) must not lose the message.
#[test]
fn a_lost_iwant_is_retried_with_the_next_announcer() {
    let mut net = Net::new(16, plumtree(), 3);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    // Node 9's first IWANT is lost; every other message passes.
    let first_iwant_lost = Rc::new(RefCell::new(false));
    let flag = Rc::clone(&first_iwant_lost);
    let sent = record(&mut net, move |from, _to, control| {
        let first = from == 9 && matches!(control, Control::IWant { .. }) && !*flag.borrow();
        if first {
            *flag.borrow_mut() = true;
        }
        first
    });
    // Make every neighbour of 9 lazy towards it: they announce, 9 repairs.
    let neighbours: Vec<u32> = net.nodes[9].active_view().to_vec();
    for n in &neighbours {
        net.inject(9, *n, &encode_control(2, &Control::Prune));
    }
    let id = net.broadcast(2, b"overlay");
    net.run_for(Duration::from_secs(5));
    assert!(*first_iwant_lost.borrow(), "an IWANT was sent and lost");
    let iwants = sent
        .borrow()
        .iter()
        .filter(|(_, from, _, c)| *from == 9 && matches!(c, Control::IWant { .. }))
        .count();
    assert!(iwants >= 2, "node 9 asked again ({iwants} IWANTs)");
    assert!(delivered(&net, 9, id), "node 9 repaired the message");
}

/// A contact with no neighbour is outside the overlay: it passes a join on
/// to its passive view instead of admitting the joiner into an island of
/// two, which later joins through either of them would grow.
#[test]
fn an_isolated_contact_passes_a_join_on() {
    let mut net = Net::new(10, plumtree(), 4);
    net.join_through_zero(1..8);
    net.run_for(Duration::from_secs(2));
    // Node 8 never joined; it knows node 2 from a shuffle, and node 9
    // joins through it before it found a neighbour.
    net.inject(
        2,
        8,
        &encode_control(3, &Control::ShuffleReply { peers: vec![2] }),
    );
    net.inject(9, 8, &encode_control(4, &Control::Join));
    assert!(
        !net.nodes[8].active_view().contains(&9),
        "the isolated contact admitted the joiner"
    );
    net.run_for(Duration::from_secs(1));
    assert!(
        net.nodes[9].active_view().iter().any(|p| *p < 8),
        "the joiner reached the overlay: {:?}",
        net.nodes[9].active_view()
    );
}

/// A neighbour that misses the suspect's refutation (lost on the way) must
/// not confirm the death of an agent that still answers its probes.
#[test]
fn a_suspect_that_answers_a_probe_is_not_confirmed_dead() {
    let mut config = plumtree();
    config.strategy = Strategy::PushPull {
        fanout: std::num::NonZeroU8::new(2).unwrap(),
    };
    let mut net = Net::new(10, config, 5);
    net.join_all_through_zero();
    net.run_for(Duration::from_secs(5));
    let suspect = net.nodes[1].active_view()[0];
    // Node 1 hears a suspicion of its neighbour, and every refutation
    // (an Alive update) is lost.
    let _sent = record(&mut net, |_from, _to, control| {
        matches!(
            control,
            Control::MemberUpdate {
                state: colony_core::control::MemberState::Alive,
                ..
            }
        )
    });
    let rumour = Control::MemberUpdate {
        member: suspect,
        incarnation: 0,
        state: colony_core::control::MemberState::Suspect,
    };
    let bytes = encode_control(4, &rumour);
    let witness = (0..10)
        .find(|w| *w != 1 && *w != suspect)
        .expect("a third node");
    net.inject(witness, 1, &bytes);
    net.run_for(Duration::from_secs(15));
    let failed = net.events[1].iter().any(
        |(_, e)| matches!(e, Event::Peer { peer, change: PeerChange::Failed } if *peer == suspect),
    );
    assert!(!failed, "node 1 confirmed the death of live node {suspect}");
}

/// A passive peer that does not answer a neighbour request within a round
/// is dropped (HyParView drops a passive peer whose connection fails):
/// otherwise a node short of neighbours asks crashed agents forever.
#[test]
fn a_passive_peer_that_never_answers_is_dropped() {
    let mut net = Net::new(12, plumtree(), 6);
    net.join_through_zero(1..11);
    net.run_for(Duration::from_secs(2));
    // Node 11 knows node 3 and the crashed node 10 only, and needs
    // neighbours: it asks them in turn.
    net.crash(10);
    net.inject(
        3,
        11,
        &encode_control(5, &Control::ShuffleReply { peers: vec![3, 10] }),
    );
    net.run_for(Duration::from_secs(3));
    assert!(
        !net.nodes[11].passive_view().contains(&10),
        "node 11 still counts on the crashed node 10: {:?}",
        net.nodes[11].passive_view()
    );
    assert!(net.nodes[11].active_view().contains(&3));
}

/// An agent this node confirmed dead, offered back by a peer that has not
/// heard yet, does not return to the passive view; once it speaks again
/// (a restart), it may.
#[test]
fn a_confirmed_death_keeps_the_agent_out_of_the_passive_view_until_it_speaks() {
    let mut net = Net::new(12, plumtree(), 7);
    net.join_through_zero(1..11);
    net.run_for(Duration::from_secs(2));
    let dead = Control::MemberUpdate {
        member: 11,
        incarnation: 0,
        state: colony_core::control::MemberState::Dead,
    };
    net.inject(2, 5, &encode_control(6, &dead));
    net.inject(
        2,
        5,
        &encode_control(7, &Control::ShuffleReply { peers: vec![11] }),
    );
    assert!(!net.nodes[5].passive_view().contains(&11));
    // Node 11 speaks: it is up after all.
    net.inject(
        11,
        5,
        &encode_control(8, &Control::ShuffleReply { peers: vec![4] }),
    );
    net.inject(
        2,
        5,
        &encode_control(9, &Control::ShuffleReply { peers: vec![11] }),
    );
    assert!(net.nodes[5].passive_view().contains(&11));
}

/// A few agents left with only each other, every view short, reach out:
/// full agents refuse their low-priority requests, so once a shuffle period
/// they ask with high priority.
#[test]
fn a_small_island_of_short_views_reaches_the_overlay() {
    let mut net = Net::new(40, plumtree(), 8);
    net.join_through_zero(1..37);
    net.run_for(Duration::from_secs(3));
    // Agents 37, 38 and 39 hold only each other, and know one full outsider.
    let outsider = (1..37)
        .find(|p| net.nodes[*p as usize].active_view().len() == 5)
        .expect("a full agent");
    let island = [37u32, 38, 39];
    for a in island {
        for b in island.iter().copied().filter(|b| *b != a) {
            net.inject(
                b,
                a,
                &encode_control(10, &Control::NeighborReply { accepted: true }),
            );
        }
        net.inject(
            outsider,
            a,
            &encode_control(
                11,
                &Control::ShuffleReply {
                    peers: vec![outsider],
                },
            ),
        );
    }
    net.run_for(Duration::from_secs(25));
    let reached = island
        .iter()
        .any(|a| net.nodes[*a as usize].active_view().iter().any(|p| *p < 37));
    assert!(reached, "the island is still cut off");
}
