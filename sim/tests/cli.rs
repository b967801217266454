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
        if let Some(t) = baseline["figures"]["time_to_full_coverage_ms_max"].as_f64() {
            baseline["figures"]["time_to_full_coverage_ms_max"] = serde_json::json!(t / 2.0);
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
