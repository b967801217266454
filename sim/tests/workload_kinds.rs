//! Workload kinds beyond broadcasts: requests answered (or timed out) and
//! measured, direct sends delivered, typed and extended JSON payloads
//! broadcast intact; every inconsistent workload key a located error.

use colony_reports::RunReport;
use colony_sim::engine::Engine;
use colony_sim::hosts::turmoil;
use colony_sim::scenario::Scenario;

const BASE: &str = r#"
name = "workload-kinds"
seeds = [5]

[stop]
duration = "8s"
at_full_coverage = false

[agents]
count = 60

[protocol]
strategy = "push-pull"
fanout = 3
sampling = "views"

[network]
latency = { distribution = "constant", value = "10ms" }
"#;

const REQUESTS: &str = r#"
[[workload]]
kind = "request"
at = "2s"
from = 1
to = 2
count = 10
every = "100ms"
timeout = "1s"

[[workload]]
kind = "send"
at = "2s"
from = 3
to = 4
payload = "suggestion"
count = 5
every = "200ms"
"#;

fn scenario(text: &str) -> Scenario {
    Scenario::parse("t.toml", text.to_string()).expect("a valid scenario")
}

fn run(text: &str) -> RunReport {
    let scenario = scenario(text);
    let mut report = Engine::new(scenario.spec(5))
        .expect("an engine")
        .run(2, &mut |_| {});
    report.expectations = scenario.expectations(&report);
    report
}

#[test]
fn requests_are_answered_in_one_round_trip_and_sends_delivered() {
    let report = run(&format!("{BASE}{REQUESTS}"));
    let d = report.direct.expect("a direct section");
    assert_eq!(
        (d.requests, d.requests_answered, d.requests_timed_out),
        (10, 10, 0),
        "{d:?}"
    );
    assert_eq!((d.requests_refused, d.requests_unresolved), (0, 0));
    // Two hops of a constant 10 ms link.
    assert_eq!((d.round_trip_ms.p50, d.round_trip_ms.max), (20.0, 20.0));
    assert_eq!((d.sends, d.sends_delivered), (5, 5), "{d:?}");
    assert_eq!(d.send_latency_ms.p50, 10.0);
    // Point-to-point traffic is not a broadcast: no coverage row for it.
    assert!(report.messages.is_empty());
}

#[test]
fn requests_to_a_crashed_agent_time_out_and_fail_their_expectation() {
    let text = format!(
        "{BASE}{REQUESTS}\n[[faults]]\nkind = \"crash\"\nat = \"2450ms\"\nagents = [2]\n\
         \n[expect]\nrequests_answered = 0.9\n"
    );
    let report = run(&text);
    let d = report.direct.expect("a direct section");
    // Requests at 2.0 .. 2.4 s are answered; from 2.5 s the asker waits 1 s.
    assert_eq!((d.requests_answered, d.requests_timed_out), (5, 5), "{d:?}");
    let verdict = &report.expectations[0];
    assert_eq!(verdict.name, "requests_answered");
    assert!(!verdict.passed, "{verdict:?}");
}

#[test]
fn typed_and_json_broadcasts_reach_everyone_intact() {
    let json = r#"{"id": "x/1/1", "from": "x", "to": "group:_bugs", "type": "plan", "topic": "rollout", "payload": {"steps": 3}, "priority": "critical", "timestamp": "2026-12-06T10:00:00Z", "ttl": 600}"#;
    let mut text = BASE.to_string();
    for (payload, channel) in [
        ("suggestion", "_suggestions"),
        ("bug-report", "_bugs"),
        ("error", "_errors"),
        ("status", "_status"),
    ] {
        text += &format!(
            "\n[[workload]]\nat = \"2s\"\nfrom = 7\nchannel = \"{channel}\"\npayload = \"{payload}\"\n"
        );
    }
    text += &format!(
        "\n[[workload]]\nat = \"2s\"\nfrom = 8\nchannel = \"_bugs\"\npayload = \"json\"\njson = '{json}'\n"
    );
    let report = run(&text);
    assert_eq!(report.messages.len(), 5);
    for m in &report.messages {
        assert_eq!(m.coverage, 1.0, "{m:?}");
    }
    assert_eq!(report.totals.tampered_deliveries, 0);
    assert!(report.direct.is_none());
}

#[test]
fn turmoil_measures_requests_as_the_engine_does() {
    // Small, as turmoil runs every agent on one thread.
    let small = BASE
        .replace("count = 60", "count = 8")
        .replace("duration = \"8s\"", "duration = \"4s\"");
    let spec = scenario(&format!("{small}{REQUESTS}")).spec(5);
    let outcome = turmoil::run(&spec, &mut |_| {}).expect("a turmoil run");
    let d = outcome.report.direct.expect("a direct section");
    assert_eq!((d.requests, d.requests_answered), (10, 10), "{d:?}");
    assert_eq!((d.sends, d.sends_delivered), (5, 5), "{d:?}");
}

#[test]
fn inconsistent_workload_keys_are_located_errors() {
    let line = |body: &str| format!("{BASE}\n[[workload]]\n{body}\n");
    for (body, key, expected) in [
        ("to = 3", "to", "needs kind = \"send\" or \"request\""),
        ("kind = \"request\"", "kind", "needs `to`"),
        ("kind = \"send\"\nto = 60", "to", "does not exist"),
        ("kind = \"send\"\nfrom = 4\nto = 4", "to", "to itself"),
        (
            "kind = \"request\"\nto = 2\npayload = \"status\"",
            "payload",
            "carries its question",
        ),
        ("timeout = \"1s\"", "timeout", "only a request"),
        ("payload = \"json\"", "payload", "needs `json`"),
        ("json = '{}'", "json", "the text of payload"),
        (
            "payload = \"json\"\njson = '{\"id\": 1}'",
            "json",
            "not an extended message",
        ),
    ] {
        let error = Scenario::parse("t.toml", line(body)).expect_err(body);
        assert_eq!(error.key.as_deref(), Some(key), "{body}: {error}");
        assert!(error.line >= 21, "{body}: {error}");
        assert!(error.message.contains(expected), "{body}: {error}");
    }
    // A JSON message's channel must be the line's: `to` names _bugs here.
    let mismatch = line(
        "payload = \"json\"\njson = '{\"id\": \"x\", \"from\": \"x\", \"to\": \"group:_bugs\", \
         \"type\": \"plan\", \"payload\": null, \"priority\": \"normal\", \
         \"timestamp\": \"2026-12-06T10:00:00Z\", \"ttl\": 60}'",
    );
    let error = Scenario::parse("t.toml", mismatch).expect_err("channel mismatch");
    assert!(error.message.contains("travels on _bugs"), "{error}");
}
