//! Channel subscriptions in scenarios (`[[agents.subscribe]]`): a custom
//! or `_debug` channel reaches the agents subscribed to it and coverage is
//! measured over them; a broadcast nobody but its origin can receive is a
//! located error, not a coverage of 1.0 over zero agents.

use colony_reports::RunReport;
use colony_sim::engine::Engine;
use colony_sim::scenario::Scenario;

const BASE: &str = r#"
name = "subscriptions-test"
seeds = [3]

[stop]
duration = "10s"
at_full_coverage = false

[agents]
count = 200

[protocol]
strategy = "push-pull"
fanout = 2
sampling = "views"

[network]
latency = { distribution = "uniform", min = "5ms", max = "15ms" }

[[workload]]
at = "4s"
from = 0
channel = "custom:review"
"#;

fn run(text: &str) -> RunReport {
    let scenario = Scenario::parse("t.toml", text.to_string()).expect("a valid scenario");
    Engine::new(scenario.spec(3))
        .expect("an engine")
        .run(2, &mut |_| {})
}

#[test]
fn a_custom_channel_reaches_its_subscribers_and_coverage_counts_them_only() {
    let text = format!(
        "{BASE}\n[[agents.subscribe]]\nchannel = \"custom:review\"\nshare = \"1/2\"\n\
         \n[[agents.subscribe]]\nchannel = \"custom:review\"\nagents = [50, 150, 199]\n"
    );
    let report = run(&text);
    let m = &report.messages[0];
    // Agents 0..100 and 150, 199 (50 twice counts once), the origin aside.
    assert_eq!(m.eligible, 101, "{m:?}");
    assert_eq!(m.delivered, 101);
    assert_eq!(m.coverage, 1.0);
    assert!(m.time_to_full_coverage_ns.is_some(), "{m:?}");
    // Agents that did not subscribe relay it without delivering it.
    assert!(
        report
            .totals
            .drops
            .get("unsubscribed")
            .copied()
            .unwrap_or(0)
            > 0
    );
}

#[test]
fn debug_subscribers_receive_debug_broadcasts() {
    let text = BASE.replace("custom:review", "_debug")
        + "\n[[agents.subscribe]]\nchannel = \"_debug\"\nfirst = 10\ncount = 20\n";
    let m = &run(&text).messages[0];
    assert_eq!((m.eligible, m.delivered), (20, 20), "{m:?}");
}

#[test]
fn a_broadcast_nobody_else_receives_is_a_located_error() {
    let error = Scenario::parse("t.toml", BASE.to_string()).expect_err("no receiver");
    assert_eq!(
        (error.line, error.key.as_deref()),
        (23, Some("channel")),
        "{error}"
    );
    assert!(error.message.contains("[[agents.subscribe]]"), "{error}");
    // Subscribing the origin alone does not help.
    let origin_only =
        format!("{BASE}\n[[agents.subscribe]]\nchannel = \"custom:review\"\nagents = [0]\n");
    assert!(Scenario::parse("t.toml", origin_only).is_err());
}

#[test]
fn bad_subscription_groups_are_located_errors() {
    let group = |body: &str| format!("{BASE}\n[[agents.subscribe]]\n{body}\n");
    for (body, expected) in [
        ("channel = \"custom:review\"", "exactly one of"),
        (
            "channel = \"custom:review\"\nshare = \"1/2\"\nfirst = 3",
            "exactly one of",
        ),
        (
            "channel = \"custom:review\"\nagents = [200]",
            "does not exist",
        ),
        ("channel = \"review\"\nshare = \"1/2\"", "unknown channel"),
    ] {
        let error = Scenario::parse("t.toml", group(body)).expect_err(body);
        assert_eq!(error.key.as_deref(), Some("subscribe"), "{error}");
        assert_eq!(error.line, 26, "{error}");
        assert!(error.message.contains(expected), "{body}: {error}");
    }
    // More custom channels than an agent may hold.
    let many: String = (0..17)
        .map(|i| format!("\n[[agents.subscribe]]\nchannel = \"custom:c{i}\"\nshare = \"1/2\"\n"))
        .collect();
    let error = Scenario::parse(
        "t.toml",
        format!(
            "{BASE}\n[[agents.subscribe]]\nchannel = \"custom:review\"\nshare = \"1/2\"\n{many}"
        ),
    )
    .expect_err("17 custom channels");
    assert_eq!(error.key.as_deref(), Some("subscribe"), "{error}");
}
