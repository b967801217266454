//! Scenario files: parsed once (TOML, every error with file, line, column
//! and key), resolved once into the [`SimSpec`] every seed runs (each
//! section in the file named after it), and judged (`expect`, one table in
//! `expect.rs`). The format is documented in `scenarios/README.md`.

mod adversary;
mod agents;
mod error;
mod expect;
mod faults;
mod file;
mod network;
mod parameters;
mod protocol;
mod select;
mod units;
mod workload;

use colony_reports::{Expectation, RunReport};

use crate::plan::{SimSpec, StopCondition};

pub use error::ScenarioError;
pub use file::ScenarioFile;
pub use units::{DurationText, RatioText};

/// Most agents a scenario may ask for: ten million, ten times the largest
/// run the engine is built for, so a typo (an extra zero) fails fast instead
/// of exhausting memory.
pub const AGENTS_MAX: u32 = 10_000_000;

/// Most broadcasts a scenario may schedule: metrics keep per-broadcast
/// delivery times, so this bounds their memory.
pub const BROADCASTS_MAX: usize = 100_000;

/// Most churn departures per second a fault may ask for: the departures are
/// expanded into commands up front, so this (times the fault's length)
/// bounds their memory; 100,000/s is a tenth of a million agents a second.
pub const CHURN_RATE_MAX: u32 = 100_000;

/// Most departures one churn fault may expand to (each is two commands).
pub const CHURN_DEPARTURES_MAX: u32 = 10_000_000;

/// A loaded scenario, resolved once: its file, and the run it describes
/// with every seed (the seed is the only thing left to fill).
#[derive(Debug)]
pub struct Scenario {
    /// The file as given on the command line.
    pub path: String,
    /// Its exact text (copied next to reports).
    pub source: String,
    /// The parsed file.
    pub file: ScenarioFile,
    /// The run, resolved and checked, with seed 0.
    resolved: SimSpec,
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &str) -> Result<Scenario, ScenarioError> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            ScenarioError::file(path, format!("cannot read the scenario file: {e}"))
        })?;
        Scenario::parse(path, source)
    }

    /// Checks and resolves scenario text; `path` labels errors.
    pub fn parse(path: &str, source: String) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile =
            toml::from_str(&source).map_err(|e| ScenarioError::from_toml(path, &source, &e))?;

        let resolved = Resolver {
            path,
            source: &source,
            file: &file,
        }
        .resolve()?;
        Ok(Scenario {
            path: path.to_string(),
            source,
            file,
            resolved,
        })
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The run of one seed.
    pub fn spec(&self, seed: u64) -> SimSpec {
        SimSpec {
            seed,
            ..self.resolved.clone()
        }
    }

    /// The parameters a run resolves to, for printing before it starts:
    /// read from the resolved run, so they are what runs.
    pub fn resolved_parameters(&self) -> Vec<(String, String)> {
        parameters::of(&self.resolved)
    }

    /// The verdict of every `expect` against one run's report.
    pub fn expectations(&self, report: &RunReport) -> Vec<Expectation> {
        expect::judge(&self.file.expect, report)
    }
}

/// What resolving a scenario reads: the file, its text and its path (for
/// located errors). Each section's resolution is in the file named after
/// it.
struct Resolver<'a> {
    path: &'a str,
    source: &'a str,
    file: &'a ScenarioFile,
}

impl Resolver<'_> {
    fn error_at_key(&self, section: &str, key: &str, message: impl Into<String>) -> ScenarioError {
        let offset = locate_key(self.source, section, key).unwrap_or(0);
        ScenarioError::at(self.path, self.source, offset..offset, message).key(key)
    }

    /// Checks every section, in file order, and builds the run.
    fn resolve(&self) -> Result<SimSpec, ScenarioError> {
        let f = &self.file;
        if f.seeds.is_empty() {
            return Err(self.error_at_key("", "seeds", "`seeds` needs at least one seed"));
        }
        let count = *f.agents.count.get_ref();
        if count == 0 || count > AGENTS_MAX {
            return Err(ScenarioError::at(
                self.path,
                self.source,
                f.agents.count.span(),
                format!("agent count {count} is outside 1..={AGENTS_MAX}"),
            )
            .key("count"));
        }
        self.check_shares()?;
        let workload = self.workload(count)?;
        let subscriptions = self.subscriptions(count)?;
        self.check_receivers(&subscriptions)?;
        let cpu = self.cpu_groups(count)?;
        self.regions(count)?;
        let faults = self.faults(count)?;
        let adversary = self.adversary(count)?;
        let network = self.network()?;
        let node = self.node_config(count)?;
        let stop = StopCondition {
            duration_ns: f.stop.duration.as_ns(),
            at_full_coverage: f.stop.at_full_coverage,
        };
        Ok(SimSpec {
            workload: workload.broadcasts,
            script: workload.direct,
            cpu,
            faults,
            adversary,
            signatures: f.protocol.signatures,
            subscriptions,
            ..SimSpec::new(f.name.clone(), count, 0, node, network, stop)
        })
    }

    /// Expectations that are shares lie between 0 and 1.
    fn check_shares(&self) -> Result<(), ScenarioError> {
        let e = &self.file.expect;
        for (key, share) in [
            ("coverage", e.coverage),
            ("requests_answered", e.requests_answered),
        ] {
            if share.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
                return Err(self.error_at_key(
                    "expect",
                    key,
                    format!("{key} is a share between 0 and 1"),
                ));
            }
        }
        Ok(())
    }
}

/// Byte offset of `key = …` in `[section]` (top level when `section` is
/// empty), or of the section's header when the key is not written, by a
/// plain text search: enough to point the user at the right line.
fn locate_key(source: &str, section: &str, key: &str) -> Option<usize> {
    let mut in_section = section.is_empty();
    let mut header_offset = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('[') {
            let header = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            in_section = !section.is_empty() && header == section;
            if in_section && header_offset.is_none() {
                header_offset = Some(offset + indent);
            }
        } else if in_section
            && trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(offset + indent);
        }
        offset += line.len();
    }
    header_offset
}

#[cfg(test)]
mod tests;
