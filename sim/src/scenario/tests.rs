//! Scenario loading: good files resolve, bad ones say where and why.

use super::*;
use colony_core::Priority;
use colony_core::config::Strategy;

const GOOD: &str = r#"
name = "tiny"
seeds = [3, 4]

[stop]
duration = "30s"

[agents]
count = 50

[protocol]
strategy = "push"
fanout = 1
sampling = "uniform"

[network]
latency = { distribution = "uniform", min = "1ms", max = "5ms" }
loss = "1/100"

[[workload]]
from = 7
channel = "_suggestions"

[expect]
coverage = 1.0
rounds_to_full = 20
"#;

fn error_of(text: &str) -> ScenarioError {
    Scenario::parse("test.toml", text.to_string()).expect_err("the scenario is invalid")
}

#[test]
fn a_good_scenario_resolves_to_a_spec_per_seed() {
    let scenario = Scenario::parse("test.toml", GOOD.to_string()).unwrap();
    assert_eq!(scenario.file.seeds, [3, 4]);
    let spec = scenario.spec(3);
    assert_eq!(spec.agents, 50);
    assert_eq!(spec.seed, 3);
    assert_eq!(spec.workload.len(), 1);
    assert_eq!(spec.workload[0].origin, 7);
    assert_eq!(spec.workload[0].priority, Priority::Normal);
    assert_eq!(spec.network.loss, crate::ratio::Ratio::new(1, 100).unwrap());
    assert!(matches!(spec.node.strategy, Strategy::Push { .. }));
    assert!(
        !spec.node.failure_detection,
        "off by default with uniform sampling"
    );
}

#[test]
fn a_typo_in_a_key_names_line_column_key_and_the_near_key() {
    let text = GOOD.replace("fanout = 1", "fanot = 1");
    let error = error_of(&text);
    assert_eq!(error.line, 13, "{error}");
    assert_eq!(error.column, 1, "{error}");
    assert_eq!(error.key.as_deref(), Some("fanot"));
    assert_eq!(error.hint.as_deref(), Some("did you mean `fanout`?"));
    let shown = error.to_string();
    assert!(
        shown.starts_with("test.toml:13:1: error: unknown field `fanot`"),
        "{shown}"
    );
}

#[test]
fn a_bad_unit_is_reported_at_its_value() {
    let error = error_of(&GOOD.replace("duration = \"30s\"", "duration = \"30 parsecs\""));
    assert_eq!(error.line, 6, "{error}");
    assert!(error.message.contains("unknown duration unit"), "{error}");
    let error = error_of(&GOOD.replace("duration = \"30s\"", "duration = 30"));
    assert!(
        error.message.contains("durations are strings with a unit"),
        "{error}"
    );
}

#[test]
fn an_unknown_agent_in_the_workload_is_reported_at_its_value() {
    let error = error_of(&GOOD.replace("from = 7", "from = 50"));
    assert_eq!(
        (error.line, error.column, error.key.as_deref()),
        (21, 8, Some("from")),
        "{error}"
    );
    assert!(
        error.message.contains("agents are numbered 0..50"),
        "{error}"
    );
}

#[test]
fn a_bad_channel_is_reported_at_its_value() {
    let error = error_of(&GOOD.replace("\"_suggestions\"", "\"suggestions\""));
    assert_eq!(
        (error.line, error.key.as_deref()),
        (22, Some("channel")),
        "{error}"
    );
}

#[test]
fn plumtree_over_uniform_sampling_points_at_the_strategy() {
    let error = error_of(&GOOD.replace("strategy = \"push\"", "strategy = \"plumtree\""));
    assert_eq!(
        (error.line, error.column, error.key.as_deref()),
        (12, 12, Some("strategy")),
        "{error}"
    );
    assert!(error.message.contains("sampling = views"), "{error}");
}

#[test]
fn lifeguard_without_the_swim_detector_points_at_its_line() {
    let views = GOOD.replace(
        "sampling = \"uniform\"",
        "sampling = \"views\"\nlifeguard = true",
    );
    let error = error_of(&views);
    assert_eq!(
        (error.line, error.key.as_deref()),
        (15, Some("lifeguard")),
        "{error}"
    );
    assert!(error.message.contains("detector = \"swim\""), "{error}");
    let swim = views.replace("lifeguard = true", "lifeguard = true\ndetector = \"swim\"");
    assert!(Scenario::parse("t.toml", swim).is_ok());
}

#[test]
fn the_swim_detector_without_failure_detection_points_at_it() {
    let error = error_of(&GOOD.replace(
        "sampling = \"uniform\"",
        "sampling = \"uniform\"\ndetector = \"swim\"",
    ));
    assert_eq!(
        (error.line, error.key.as_deref()),
        (15, Some("detector")),
        "{error}"
    );
}

#[test]
fn a_zero_fanout_points_at_its_line() {
    let error = error_of(&GOOD.replace("fanout = 1", "fanout = 0"));
    assert_eq!(
        (error.line, error.key.as_deref()),
        (13, Some("fanout")),
        "{error}"
    );
}

#[test]
fn byzantine_groups_resolve_and_bad_ones_are_located() {
    let text = format!(
        "{GOOD}\n[[byzantine]]\nbehaviour = \"forge\"\nshare = \"1/4\"\nvictim = 3\nfrom = \"2s\"\n"
    );
    let scenario = Scenario::parse("t.toml", text).unwrap();
    let spec = scenario.spec(1);
    let groups = spec.adversary.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups[0].behaviour,
        crate::byzantine::Behaviour::Forge { victim: 3 }
    );
    assert_eq!(groups[0].from_ns, 2_000_000_000);
    // The last quarter: the first agents (broadcast origins) stay honest.
    let count = spec.agents;
    assert!(groups[0].agents.contains(count - 1) && !groups[0].agents.contains(0));
    let error = error_of(&format!(
        "{GOOD}\n[[byzantine]]\nbehaviour = \"forge\"\nshare = \"1/4\"\n"
    ));
    assert_eq!(error.key.as_deref(), Some("byzantine"), "{error}");
    assert!(error.message.contains("needs `victim`"), "{error}");
    let error = error_of(&format!(
        "{GOOD}\n[[byzantine]]\nbehaviour = \"gossipy\"\nshare = \"1/4\"\n"
    ));
    assert!(error.line > 0, "{error}");
}

#[test]
fn faults_resolve_to_a_timeline_and_bad_ones_are_located() {
    let text = format!(
        "{GOOD}\n[[faults]]\nkind = \"partition\"\nat = \"1s\"\nuntil = \"5s\"\nshare = \"1/2\"\n"
    );
    let spec = Scenario::parse("test.toml", text).unwrap().spec(1);
    assert_eq!(spec.faults.faults().len(), 1);
    assert!(spec.faults.cut(0, 30, 2_000_000_000));
    assert!(!spec.faults.cut(0, 30, 6_000_000_000));
    let error = error_of(&format!(
        "{GOOD}\n[[faults]]\nkind = \"crash\"\nat = \"1s\"\nagents = [99]\n"
    ));
    assert_eq!(error.key.as_deref(), Some("faults"), "{error}");
    assert!(error.message.contains("agent 99 does not exist"), "{error}");
    let error = error_of(&format!(
        "{GOOD}\n[[faults]]\nkind = \"loss\"\nat = \"3s\"\nuntil = \"2s\"\nloss = \"1/2\"\n"
    ));
    assert!(error.message.contains("after `at`"), "{error}");
}

#[test]
fn recovery_within_judges_every_fault_that_ended() {
    let text =
        |bound: &str| {
            format!(
            "{GOOD}\n[[faults]]\nkind = \"loss\"\nat = \"0s\"\nuntil = \"2s\"\nloss = \"9/10\"\n"
        )
        .replace("[expect]", &format!("[expect]\nrecovery_within = \"{bound}\""))
        };
    let verdict = |bound: &str| {
        let scenario = Scenario::parse("t.toml", text(bound)).unwrap();
        let report = crate::engine::Engine::new(scenario.spec(3))
            .unwrap()
            .run(1, &mut |_| {});
        let recovered = report.faults[0].recovered_after_ns;
        let verdicts = scenario.expectations(&report);
        let v = verdicts
            .iter()
            .find(|v| v.name == "recovery_within")
            .unwrap()
            .clone();
        (v, recovered)
    };
    // Nine datagrams in ten lost for the first 2 s: the broadcast at 0
    // completes only after the loss ends.
    let (loose, recovered) = verdict("1h");
    assert!(loose.passed, "{loose:?}");
    assert!(recovered.is_some_and(|ns| ns > 0), "{recovered:?}");
    let (strict, _) = verdict("1ns");
    assert!(!strict.passed, "{strict:?}");
}

#[test]
fn broken_toml_and_missing_keys_are_located() {
    let error = error_of("name = \"x\"\n[stop\n");
    assert_eq!(error.line, 2, "{error}");
    let error = error_of("name = \"x\"\n[stop]\nduration = \"1s\"\n");
    assert_eq!(error.key.as_deref(), Some("agents"), "{error}");
}

#[test]
fn regions_split_the_agents_and_need_a_matching_matrix() {
    let text = GOOD.replace(
        "count = 50\n",
        "count = 50\nregions = [{ name = \"eu\", share = \"1/2\" }, { name = \"us\", share = \"1/2\" }]\n",
    );
    let error = error_of(&text);
    assert_eq!(error.key.as_deref(), Some("region_latency"), "{error}");
    let with_matrix = text.replace(
        "loss = \"1/100\"",
        "loss = \"1/100\"\nregion_latency = [[{ distribution = \"constant\", value = \"2ms\" }, { distribution = \"constant\", value = \"40ms\" }], [{ distribution = \"constant\", value = \"40ms\" }, { distribution = \"constant\", value = \"2ms\" }]]",
    );
    let scenario = Scenario::parse("test.toml", with_matrix).unwrap();
    let regions = scenario.spec(1).network.regions.unwrap();
    assert_eq!(regions.starts, [0, 25]);
}

#[test]
fn expectations_compare_a_report_with_the_expect_section() {
    let scenario = Scenario::parse("test.toml", GOOD.to_string()).unwrap();
    let report = crate::engine::Engine::new(scenario.spec(3))
        .unwrap()
        .run(1, &mut |_| {});
    let verdicts = scenario.expectations(&report);
    assert_eq!(verdicts.len(), 2);
    assert!(verdicts.iter().all(|v| v.passed), "{verdicts:?}");
    let strict = Scenario::parse(
        "test.toml",
        GOOD.replace("rounds_to_full = 20", "rounds_to_full = 1"),
    )
    .unwrap();
    let verdicts = strict.expectations(&report);
    assert!(!verdicts[1].passed, "{verdicts:?}");
}

#[test]
fn burst_loss_and_clog_faults_resolve_and_name_what_they_miss() {
    let text = format!(
        "{GOOD}\n[[faults]]\nkind = \"burst-loss\"\nat = \"1s\"\nshare = \"1/2\"\nenter = \"1/100\"\nexit = \"1/5\"\n"
    );
    let spec = Scenario::parse("t.toml", text).unwrap().spec(1);
    assert!(matches!(
        spec.faults.faults()[0].kind,
        crate::faults::FaultKind::BurstLoss { .. }
    ));
    let error = error_of(&format!(
        "{GOOD}\n[[faults]]\nkind = \"burst-loss\"\nat = \"1s\"\nshare = \"1/2\"\n"
    ));
    assert!(error.message.contains("`enter` and `exit`"), "{error}");
    let error = error_of(&format!(
        "{GOOD}\n[[faults]]\nkind = \"clog\"\nat = \"1s\"\nshare = \"1/2\"\n"
    ));
    assert!(error.message.contains("needs `until`"), "{error}");
}
