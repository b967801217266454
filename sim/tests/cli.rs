//! The `colony` command as a user meets it: exit codes, located errors, the
//! files a run writes, the CI gate.

use std::path::PathBuf;
use std::process::Command;

fn colony() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_colony"));
    // Scenario paths in these tests are relative to the workspace root.
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    command
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("colony-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_quickstart_run_passes_and_writes_report_plots_html_and_the_scenario() {
    let out = temp_dir("quickstart");
    let result = colony()
        .args([
            "run",
            "scenarios/quickstart.toml",
            "--threads",
            "2",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        stdout.contains("seed 1"),
        "the seed is printed first: {stdout}"
    );
    assert!(stdout.contains("pass  coverage"), "{stdout}");
    for file in [
        "report.json",
        "report.html",
        "scenario.toml",
        "coverage.png",
        "coverage.svg",
        "latency_cdf.png",
        "drops.svg",
        "overlay.svg",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["agents"], 500);
    assert_eq!(report["messages"][0]["coverage"], 1.0);
}

#[test]
fn a_scenario_with_a_typo_fails_with_line_column_and_a_hint() {
    let dir = temp_dir("typo");
    let file = dir.join("typo.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/quickstart.toml"
    ))
    .unwrap();
    std::fs::write(&file, text.replace("fanout = 2", "fanuot = 2")).unwrap();
    let result = colony().arg("run").arg(&file).output().unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("typo.toml:16:1: error: unknown field `fanuot`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `fanout`?"), "{stderr}");
}

#[test]
fn a_failed_expectation_exits_one_and_prints_the_reproducing_command() {
    let dir = temp_dir("strict");
    let file = dir.join("strict.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/quickstart.toml"
    ))
    .unwrap();
    std::fs::write(
        &file,
        text.replace(
            "time_to_full_coverage = \"3s\"",
            "time_to_full_coverage = \"10ms\"",
        ),
    )
    .unwrap();
    let result = colony()
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("FAIL  time_to_full_coverage"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "reproduce: colony run {} --seed 1",
            file.display()
        )),
        "{stdout}"
    );
    assert!(
        dir.join("out/report.json").exists(),
        "the report of a failed run is kept"
    );
}

#[test]
fn bad_arguments_exit_two() {
    assert_eq!(
        colony()
            .args(["run", "scenarios/quickstart.toml", "--threads", "zero"])
            .status()
            .unwrap()
            .code(),
        Some(2)
    );
    assert_eq!(
        colony()
            .args(["run", "no/such/file.toml"])
            .status()
            .unwrap()
            .code(),
        Some(2)
    );
    assert_eq!(
        colony().args(["frobnicate"]).status().unwrap().code(),
        Some(2)
    );
}

#[test]
fn every_bundled_scenario_validates() {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"))
            .unwrap()
            .chain(
                std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/ci")).unwrap(),
            )
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.to_string_lossy().to_string())
            .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let result = colony().arg("validate").args(&files).output().unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn the_schema_is_json_that_names_every_section() {
    let result = colony().arg("schema").output().unwrap();
    assert!(result.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let properties = &schema["properties"];
    for key in [
        "name", "seeds", "stop", "agents", "protocol", "network", "workload", "expect",
    ] {
        assert!(properties.get(key).is_some(), "schema lacks {key}");
    }
}

#[test]
fn the_ci_gate_passes_on_the_committed_baselines_and_fails_on_a_tighter_one() {
    let result = colony().args(["check", "--threads", "2"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{stdout}");
    assert!(stdout.contains("no regression"), "{stdout}");

    // A baseline that claims faster convergence than the code delivers.
    let dir = temp_dir("baselines");
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../reports/baselines")).unwrap()
    {
        let path = entry.unwrap().path();
        let mut baseline: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // Only the last seed of each scenario: every seed is compared.
        let last = baseline["runs"].as_array().unwrap().len() - 1;
        let figures = &mut baseline["runs"][last]["figures"];
        if let Some(t) = figures["time_to_full_coverage_ms_max"].as_f64() {
            figures["time_to_full_coverage_ms_max"] = serde_json::json!(t / 2.0);
        }
        std::fs::write(dir.join(path.file_name().unwrap()), baseline.to_string()).unwrap();
    }
    let result = colony()
        .args(["check", "--baseline"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REGRESSED"), "{stdout}");
}

#[test]
fn the_ci_gate_fails_on_a_stale_baseline_and_says_so() {
    // The committed figures, under a trace hash no run produces.
    let dir = temp_dir("stale-baselines");
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../reports/baselines")).unwrap()
    {
        let path = entry.unwrap().path();
        let mut baseline: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        baseline["runs"][0]["trace_hash"] = serde_json::json!("0000000000000000");
        std::fs::write(dir.join(path.file_name().unwrap()), baseline.to_string()).unwrap();
    }
    let result = colony()
        .args(["check", "--baseline"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("stale baseline"), "{stdout}");
    assert!(!stdout.contains("REGRESSED"), "{stdout}");
}

#[test]
fn turmoil_runs_a_small_scenario_and_writes_the_same_report() {
    let out = temp_dir("turmoil");
    let result = colony()
        .args([
            "run",
            "scenarios/agreement-50.toml",
            "--engine",
            "turmoil",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{stdout}");
    assert!(stdout.contains("turmoil"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["engine"], "turmoil");
    assert_eq!(report["agents"], 50);
    assert_eq!(report["messages"][0]["coverage"], 1.0);
}

#[test]
fn turmoil_refuses_a_large_scenario_and_says_why() {
    let result = colony()
        .args(["run", "scenarios/quickstart.toml", "--engine", "turmoil"])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("500 agents is too many for turmoil"),
        "{stderr}"
    );
    assert!(stderr.contains("--engine fast"), "{stderr}");
}

/// Agent processes still running whose command line names `marker`.
fn processes_with(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0; // not Linux: nothing to check
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(marker))
        .count()
}

#[test]
fn a_cluster_of_real_processes_reaches_everyone_and_stops_every_process() {
    let out = temp_dir("cluster");
    // The seed marks this test's agent processes (`--seed 4242`).
    let result = colony()
        .args([
            "cluster",
            "--agents",
            "8",
            "--scenario",
            "scenarios/quickstart.toml",
            "--seed",
            "4242",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("8 agent processes"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["engine"], "udp-processes");
    assert_eq!(report["messages"][0]["coverage"], 1.0);
    assert_eq!(report["messages"][0]["delivered"], 7);
    assert!(
        report["totals"]["drops"]
            .get("agent_stats_missing")
            .is_none()
    );
    assert_eq!(
        processes_with("--seed\x004242"),
        0,
        "agent processes left behind"
    );
}

#[test]
fn an_interrupted_cluster_stops_its_processes_and_keeps_what_it_collected() {
    let out = temp_dir("cluster-interrupted");
    let child = colony()
        .args([
            "cluster",
            "--agents",
            "4",
            "--scenario",
            "scenarios/quickstart.toml",
            "--seed",
            "4343",
            "--out",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Agents start and join within the first second; the broadcast is at 3 s.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // The shell's own `kill`: no procps needed.
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        out.join("report.json").exists(),
        "the partial report is written"
    );
    assert_eq!(
        processes_with("--seed\x004343"),
        0,
        "agent processes left behind"
    );
}

#[test]
fn a_cluster_refuses_what_real_processes_cannot_do() {
    let uniform = colony()
        .args(["cluster", "--scenario", "scenarios/agreement-50.toml"])
        .output()
        .unwrap();
    assert_eq!(uniform.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&uniform.stderr).contains("views"));
    let too_many = colony()
        .args([
            "cluster",
            "--agents",
            "5000",
            "--scenario",
            "scenarios/quickstart.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(too_many.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_many.stderr).contains("1 to 100 processes"));
}

#[test]
fn a_node_answers_each_stdin_line_and_leaves_at_the_end_of_input() {
    use std::io::Write;
    let mut child = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "broadcast hello").unwrap();
    writeln!(stdin, "fly away").unwrap();
    writeln!(stdin, "join 300.1.1.1:5").unwrap();
    drop(stdin);
    let result = child.wait_with_output().unwrap();
    assert!(result.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "listening");
    let by_line = |n: u64| {
        lines
            .iter()
            .find(|l| l["line"] == n)
            .unwrap_or_else(|| panic!("no answer to line {n}: {lines:?}"))
    };
    assert_eq!(by_line(1)["event"], "sent");
    assert_eq!(by_line(2)["event"], "refused");
    assert!(
        by_line(3)["error"]
            .as_str()
            .unwrap()
            .contains("not an IPv4 address")
    );
    assert_eq!(lines.last().unwrap()["event"], "stats");
}

/// A normal-priority message reaches a Focused node as a "queued" notice
/// without its text; `read` prints it with its text; the final counters
/// name their drop reasons. Two real processes on loopback, each bounded by
/// `--for` so a lost datagram fails the test instead of hanging it.
#[test]
fn a_queued_message_is_announced_then_read_with_its_text() {
    use std::io::{BufRead, BufReader, Write};
    let mut reader_node = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--json", "--for", "8s"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = reader_node.stdin.take().unwrap();
    let mut lines = BufReader::new(reader_node.stdout.take().unwrap()).lines();
    let mut next = || -> serde_json::Value {
        let line = lines.next().expect("a line").expect("utf-8");
        serde_json::from_str(&line).unwrap()
    };
    let listening = next();
    let addr = listening["addr"].as_str().unwrap().to_string();
    let mut sender = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--peer", &addr])
        .args(["--broadcast", "hello world", "--after", "1s", "--for", "3s"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let notice = loop {
        let line = next();
        assert_ne!(line["event"], "stats", "stopped before the broadcast came");
        if line["event"] == "delivered" {
            break line;
        }
    };
    assert_eq!(notice["disposition"], "queued", "{notice}");
    assert_eq!(notice["text"], "", "a notice carries no text");
    writeln!(stdin, "read").unwrap();
    let read = loop {
        let line = next();
        assert_ne!(line["event"], "stats", "stopped before the read");
        if line["event"] == "read" {
            break line;
        }
    };
    assert_eq!(read["text"], "hello world");
    assert_eq!(read["id"], notice["id"]);
    let stats = loop {
        let line = next();
        if line["event"] == "stats" {
            break line;
        }
    };
    assert!(stats["drops"].is_object(), "labelled drops: {stats}");
    drop(stdin);
    assert!(reader_node.wait().unwrap().success());
    assert!(sender.wait().unwrap().success());
}

/// Two processes started 3 s apart, with a 2 s message TTL: the later one's
/// broadcast is delivered by the earlier one, whose clock agrees on the
/// time (real Unix time in both headers, not time since each start).
#[test]
fn a_node_started_later_than_the_ttl_is_heard_by_an_earlier_one() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("late-node");
    let scenario = dir.join("short-ttl.toml");
    std::fs::write(
        &scenario,
        "name = \"short-ttl\"\n[stop]\nduration = \"10s\"\n[agents]\ncount = 2\n\
         [protocol]\nmessage_ttl = \"2s\"\n",
    )
    .unwrap();
    let scenario = scenario.to_string_lossy().into_owned();
    let mut early = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--json", "--for", "7s"])
        .args(["--scenario", &scenario])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(early.stdout.take().unwrap()).lines();
    let listening: serde_json::Value =
        serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let addr = listening["addr"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let late = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--peer", &addr])
        .args(["--scenario", &scenario])
        .args(["--broadcast", "late news", "--after", "1s", "--for", "2s"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(late.success());
    let events: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(early.wait().unwrap().success());
    assert!(
        events.iter().any(|e| e["event"] == "delivered"),
        "the late node's broadcast never arrived: {events:?}"
    );
    let stats = events.last().unwrap();
    assert_eq!(stats["event"], "stats");
    assert!(stats["drops"].get("expired").is_none(), "{stats}");
}

/// `signatures = true` reaches real processes: a node with keys from the
/// scenario's seed and its index delivers a signed broadcast and drops an
/// unsigned one; without an index it refuses to start, saying why.
#[test]
fn a_signing_node_verifies_what_it_receives_and_needs_an_index() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("signed-nodes");
    let scenario = dir.join("signed.toml");
    std::fs::write(
        &scenario,
        "name = \"signed\"\n[stop]\nduration = \"10s\"\n[agents]\ncount = 4\n\
         [protocol]\nsignatures = true\n",
    )
    .unwrap();
    let scenario = scenario.to_string_lossy().into_owned();
    let refused = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--scenario", &scenario])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--index"));
    let mut verifier = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--json", "--for", "5s"])
        .args(["--scenario", &scenario, "--index", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(verifier.stdout.take().unwrap()).lines();
    let listening: serde_json::Value =
        serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let addr = listening["addr"].as_str().unwrap().to_string();
    let sender = |extra: &[&str], text: &str| {
        colony()
            .args(["node", "--bind", "127.0.0.1:0", "--peer", &addr])
            .args(extra)
            .args(["--broadcast", text, "--after", "1s", "--for", "2500ms"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut signed = sender(&["--scenario", &scenario, "--index", "1"], "signed");
    let mut unsigned = sender(&[], "unsigned");
    assert!(signed.wait().unwrap().success());
    assert!(unsigned.wait().unwrap().success());
    let events: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(verifier.wait().unwrap().success());
    let delivered = events.iter().filter(|e| e["event"] == "delivered").count();
    assert_eq!(delivered, 1, "only the signed broadcast: {events:?}");
    let stats = events.last().unwrap();
    assert!(
        stats["drops"]["unsigned"].as_u64().unwrap_or(0) >= 1,
        "{stats}"
    );
}

/// `colony node`'s stdin reaches every kind of message the core has: a
/// request answered by the other node (which answers every query), a direct
/// send, a typed status broadcast and an extended JSON message, each
/// printed by the receiver with its text.
#[test]
fn a_node_sends_requests_typed_and_json_messages_from_stdin() {
    use std::io::{BufRead, BufReader, Write};
    let mut receiver = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--json", "--for", "6s"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut receiver_stdin = receiver.stdin.take().unwrap();
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let listening: serde_json::Value =
        serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let addr = listening["addr"].as_str().unwrap().to_string();
    let mut asker = colony()
        .args(["node", "--bind", "127.0.0.1:0", "--json", "--for", "4s"])
        .args(["--peer", &addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = asker.stdin.take().unwrap();
    let extended = r#"{"id": "a/1/1", "from": "a", "to": "group:_bugs", "type": "plan", "topic": "rollout", "payload": {"steps": 3}, "priority": "critical", "timestamp": "2026-12-06T10:00:00Z", "ttl": 600}"#;
    // Let the join settle before broadcasting.
    std::thread::sleep(std::time::Duration::from_secs(1));
    writeln!(stdin, "request {addr} 2s are you there?").unwrap();
    writeln!(stdin, "send {addr} just for you").unwrap();
    writeln!(
        stdin,
        r#"typed _bugs critical status {{"working_on": "review", "progress": 0.5}}"#
    )
    .unwrap();
    writeln!(stdin, "json {extended}").unwrap();
    let asked = asker.wait_with_output().unwrap();
    drop(stdin);
    // The direct send is normal priority: queued in Focused mode, then read.
    writeln!(receiver_stdin, "read").unwrap();
    assert!(asked.status.success());
    let asker_lines: Vec<serde_json::Value> = String::from_utf8_lossy(&asked.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let requested = asker_lines
        .iter()
        .find(|l| l["event"] == "requested")
        .unwrap_or_else(|| panic!("no request sent: {asker_lines:?}"));
    let answer = format!("request {}: answer from {addr}: ack", requested["request"]);
    assert!(
        asker_lines.iter().any(|l| l["what"] == answer.as_str()),
        "no `{answer}`: {asker_lines:?}"
    );
    let texts: Vec<String> = lines
        .map(|l| serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap())
        .filter(|l| l["event"] == "delivered" || l["event"] == "read")
        .map(|l| l["text"].as_str().unwrap().to_string())
        .collect();
    assert!(receiver.wait().unwrap().success());
    assert!(texts.contains(&"just for you".to_string()), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains(r#""working_on":"review""#)),
        "{texts:?}"
    );
    assert!(texts.contains(&extended.to_string()), "{texts:?}");
}
