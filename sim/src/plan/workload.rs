//! The workload's broadcasts and what each carries: built by the scenario,
//! read by every host, measured by the metrics.

use colony_core::Priority;
use colony_core::payload::{
    BugReport, ErrorReport, LlmEndpoint, LlmUsage, Payload, Status, Suggestion,
};

/// One broadcast of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// Virtual time of the broadcast, nanoseconds.
    pub at_ns: u64,
    /// The agent that broadcasts.
    pub origin: u32,
    /// Channel id.
    pub channel_hash: u32,
    /// Priority.
    pub priority: Priority,
    /// What the broadcast carries.
    pub payload: PayloadKind,
}

/// The payload of a workload broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadKind {
    /// Opaque application bytes of this length (measures dissemination only).
    App {
        /// Bytes.
        len: usize,
    },
    /// An LLM usage report (`_llm_usage`): the origin's endpoint, saturated.
    LlmUsage,
    /// A status update: what the origin works on and how far along it is.
    Status,
    /// A suggestion naming a file and line.
    Suggestion,
    /// A bug report.
    BugReport,
    /// An error report.
    Error,
    /// An extended JSON message, sent as type `extended`.
    Json {
        /// Its text.
        text: String,
    },
}

impl PayloadKind {
    /// The payload of broadcast `index` from `origin`.
    pub fn build(&self, origin: u32, index: u32) -> Payload {
        match self {
            PayloadKind::App { len } => Payload::App(vec![0; *len]),
            PayloadKind::LlmUsage => Payload::LlmUsage(LlmUsage {
                endpoints: vec![LlmEndpoint {
                    provider: "aws_bedrock".into(),
                    account: format!("agent-{origin}"),
                    region: "us-east-1".into(),
                    model: "claude-3-5-sonnet".into(),
                    rate_limit_remaining: 0,
                    tokens_remaining: 0,
                    saturated: true,
                    latency_ms: 420,
                }],
                requests_last_minute: 127,
            }),
            PayloadKind::Status => Payload::Status(Status {
                working_on: format!("task-{index}"),
                progress: 0.5,
            }),
            PayloadKind::Suggestion => Payload::Suggestion(Suggestion {
                suggestion: format!("look at task-{index} before merging"),
                file: Some("src/lib.rs".into()),
                line: Some(index),
            }),
            PayloadKind::BugReport => Payload::BugReport(BugReport {
                bug: format!("task-{index} fails its tests"),
                file: Some("src/lib.rs".into()),
                description: format!("agent-{origin} saw an assertion fail"),
            }),
            PayloadKind::Error => Payload::Error(ErrorReport {
                error: format!("task-{index} timed out"),
                detail: Some(format!("agent-{origin} gave up after 3 retries")),
            }),
            PayloadKind::Json { text } => Payload::Extended(text.clone()),
        }
    }
}
