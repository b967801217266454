//! The `colony` command. Today it only explains what exists; `run`, `check`,
//! `validate`, `schema` and `report` arrive with the scenario issue.

use std::process::ExitCode;

const HELP: &str = "\
colony: deterministic simulation and benchmarking of agent-swarm coordination protocols

USAGE:
    colony <COMMAND>

Commands that exist today:
    help        print this message

Coming with the next issues (not implemented yet):
    run FILE    run a scenario file (scenarios/*.toml) and write a report
    check       run the CI scenario set against reports/baselines/
    validate    check scenario files
    schema      print the scenario JSON Schema
    report DIR  re-render plots and HTML from a report

Today the protocol core's wire format is what is built: see README.md for
its tests, benches and fuzz targets.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("colony: `{other}` is not available yet (see `colony --help`)");
            ExitCode::from(2)
        }
    }
}
