//! The `colony` command: argument parsing (clap) and one module per
//! subcommand. Exit codes: 0 when everything holds, 1 when an expectation
//! fails or the CI gate finds a regression, 2 on bad input.

mod check;
mod cluster;
mod node;
mod run;
mod stdin;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::scenario::{Scenario, ScenarioFile};

/// Exit code when every expectation holds.
pub const EXIT_OK: u8 = 0;
/// Exit code when an expectation fails or the gate finds a regression.
pub const EXIT_FAILED: u8 = 1;
/// Exit code on bad input (scenario, arguments, files).
pub const EXIT_BAD_INPUT: u8 = 2;

/// Deterministic simulation and benchmarking of agent-swarm coordination protocols.
#[derive(Debug, Parser)]
#[command(name = "colony", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario file and write its report, plots and HTML page.
    Run(run::RunArgs),
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of scenario files (for editors).
    Schema,
    /// Re-render the plots and HTML page of a run directory from its report.json.
    Report {
        /// A run directory (holding report.json).
        dir: PathBuf,
    },
    /// Run the CI scenario set and compare it with the committed baselines.
    Check(check::CheckArgs),
    /// Run one agent over real UDP: join peers, print deliveries, take commands on stdin.
    Node(node::NodeArgs),
    /// Start N agent processes on 127.0.0.1, run a scenario's workload in real time, report.
    Cluster(cluster::ClusterArgs),
}

/// The single-threaded tokio runtime of the commands that run real agents.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Parses the arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Validate { files } => validate(&files),
        Command::Schema => schema(),
        Command::Report { dir } => report(&dir),
        Command::Check(args) => check::check(&args),
        Command::Node(args) => node::node(&args),
        Command::Cluster(args) => cluster::cluster(&args),
    };
    ExitCode::from(code)
}

fn validate(files: &[PathBuf]) -> u8 {
    let mut code = EXIT_OK;
    for file in files {
        match Scenario::load(&file.to_string_lossy()) {
            Ok(scenario) => {
                let count = scenario.file.agents.count.get_ref();
                println!(
                    "ok      {} ({}: {count} agents)",
                    file.display(),
                    scenario.name()
                );
            }
            Err(error) => {
                eprintln!("{error}");
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}

fn schema() -> u8 {
    let schema = schemars::schema_for!(ScenarioFile);
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            println!("{text}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("colony: cannot render the schema: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn report(dir: &std::path::Path) -> u8 {
    let path = dir.join("report.json");
    let report: colony_reports::RunReport = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(report) => report,
        Err(e) => {
            eprintln!("colony: cannot read {}: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
    };
    print!("{}", colony_reports::render_summary(&report));
    match run::write_views(&report, dir) {
        Ok(()) => {
            println!("plots and report.html written to {}", dir.display());
            EXIT_OK
        }
        Err(e) => {
            eprintln!("colony: {e}");
            EXIT_BAD_INPUT
        }
    }
}
