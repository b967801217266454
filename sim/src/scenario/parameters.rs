//! The parameters printed before a run, read from the resolved run (not the
//! file), so they are what runs: defaults filled in, shares turned into
//! counts.

use colony_core::config::{Detector, Sampling, Strategy};

use crate::network::Latency;
use crate::plan::SimSpec;
use crate::script::Action;

fn strategy(strategy: &Strategy) -> String {
    match strategy {
        Strategy::Push { fanout } => format!("push, fanout {fanout}"),
        Strategy::Pull => "pull".into(),
        Strategy::PushPull { fanout } => format!("push-pull, fanout {fanout}"),
        Strategy::Rumor {
            fanout,
            loss,
            stop,
            k,
        } => format!("rumor ({loss:?}, {stop:?}, k = {k}), fanout {fanout}").to_lowercase(),
        Strategy::Plumtree { repair_after } => format!("plumtree, repair after {repair_after:?}"),
    }
}

fn latency(latency: &Latency) -> String {
    match latency {
        Latency::Constant(d) => format!("constant {d:?}"),
        Latency::Uniform { min, max } => format!("uniform {min:?}..{max:?}"),
        Latency::Normal {
            mean,
            std_dev,
            floor,
        } => format!("normal mean {mean:?} sd {std_dev:?} floor {floor:?}"),
        Latency::LogNormal {
            median,
            sigma_milli,
            floor,
        } => format!(
            "lognormal median {median:?} sigma {} floor {floor:?}",
            f64::from(*sigma_milli) / 1000.0
        ),
    }
}

fn detection(spec: &SimSpec) -> String {
    match (&spec.node.detector, spec.node.failure_detection) {
        (_, false) => "off".into(),
        (Detector::ActiveView, true) => "active view".into(),
        (Detector::FullMembership(swim), true) if swim.lifeguard => "swim + lifeguard".into(),
        (Detector::FullMembership(_), true) => "swim".into(),
    }
}

/// What `spec` runs, as (name, value) lines.
pub(super) fn of(spec: &SimSpec) -> Vec<(String, String)> {
    let node = &spec.node;
    let requests = spec
        .script
        .iter()
        .filter(|a| matches!(a.action, Action::Request { .. }))
        .count();
    let sampling = match node.sampling {
        Sampling::Uniform { .. } => "uniform",
        Sampling::Views => "views",
    };
    let lines = [
        ("agents", spec.agents.to_string()),
        ("strategy", strategy(&node.strategy)),
        ("sampling", sampling.into()),
        ("failure detection", detection(spec)),
        ("gossip interval", format!("{:?}", node.gossip_interval)),
        ("latency", latency(&spec.network.latency)),
        (
            "loss / duplication",
            format!("{} / {}", spec.network.loss, spec.network.duplicate),
        ),
        ("attention", format!("{:?}", node.attention).to_lowercase()),
        (
            "broadcasts / sends / requests",
            format!(
                "{} / {} / {requests}",
                spec.workload.len(),
                spec.script.len() - requests
            ),
        ),
        (
            "stop",
            format!(
                "{:?} or full coverage: {}",
                std::time::Duration::from_nanos(spec.stop.duration_ns),
                spec.stop.at_full_coverage
            ),
        ),
    ];
    lines.into_iter().map(|(k, v)| (k.into(), v)).collect()
}
