//! The `[[workload]]` lines resolved: broadcasts (measured for coverage)
//! and the point-to-point traffic of `kind = "send"` and `"request"` (run as
//! scripted actions, measured in the report's `direct` section), with every
//! inconsistent key a located error.

use std::time::Duration;

use colony_core::Priority;
use colony_core::channel::Channel;
use colony_core::extended::{Destination, ExtendedMessage};

use super::file::{PayloadName, PriorityName, WorkloadItem, WorkloadKind};
use super::{BROADCASTS_MAX, Resolver, ScenarioError};
use crate::plan::{Broadcast, PayloadKind};
use crate::script::{Action, ScriptedAction};

/// How long a request waits for its answer when the line names no
/// `timeout`: a few seconds, like the RPC deadlines agent frameworks use,
/// and well above any simulated round trip.
const REQUEST_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// What the workload makes agents do.
#[derive(Debug, Default)]
pub(super) struct Workload {
    /// Broadcasts, in line order.
    pub(super) broadcasts: Vec<Broadcast>,
    /// Sends and requests.
    pub(super) direct: Vec<ScriptedAction>,
}

impl Resolver<'_> {
    fn workload_error(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::at(self.path, self.source, span, message).key(key)
    }

    /// Every workload line, checked and expanded.
    pub(super) fn workload(&self, count: u32) -> Result<Workload, ScenarioError> {
        let lines = &self.file.workload;
        let messages: u64 = lines.iter().map(|w| u64::from(w.count)).sum();
        if messages > BROADCASTS_MAX as u64 {
            return Err(self.error_at_key(
                "",
                "workload",
                format!("{messages} workload messages exceed {BROADCASTS_MAX}"),
            ));
        }
        let mut workload = Workload::default();
        for item in lines {
            self.workload_line(item, count, &mut workload)?;
        }
        Ok(workload)
    }

    fn workload_line(
        &self,
        item: &WorkloadItem,
        count: u32,
        into: &mut Workload,
    ) -> Result<(), ScenarioError> {
        let from = *item.from.get_ref();
        if from >= count {
            return Err(self.workload_error(
                item.from.span(),
                "from",
                format!("agent {from} does not exist: agents are numbered 0..{count}"),
            ));
        }
        let channel = Channel::parse(item.channel.get_ref())
            .map_err(|e| self.workload_error(item.channel.span(), "channel", e.to_string()))?;
        let priority = match item.priority {
            Some(PriorityName::Critical) => Priority::Critical,
            Some(PriorityName::Normal) => Priority::Normal,
            Some(PriorityName::Background) => Priority::Background,
            None => channel.default_priority(),
        };
        let kind = *item.kind.get_ref();
        let to = self.receiver(item, kind, from, count)?;
        let payload = self.payload(item, kind, &channel)?;
        if item.timeout.is_some() && kind != WorkloadKind::Request {
            return Err(self.error_at_key("workload", "timeout", "only a request has a `timeout`"));
        }
        let timeout = item
            .timeout
            .as_ref()
            .map_or(REQUEST_TIMEOUT_DEFAULT, |t| Duration::from_nanos(t.as_ns()));
        for i in 0..u64::from(item.count) {
            let at_ns = item
                .at
                .as_ns()
                .saturating_add(i.saturating_mul(item.every.as_ns()));
            let action = match (kind, to) {
                (WorkloadKind::Send, Some(to)) => Action::SendTo {
                    to,
                    channel_hash: channel.hash(),
                    priority,
                    payload: payload.clone(),
                },
                (WorkloadKind::Request, Some(to)) => Action::Request { to, timeout },
                _ => {
                    into.broadcasts.push(Broadcast {
                        at_ns,
                        origin: from,
                        channel_hash: channel.hash(),
                        priority,
                        payload: payload.clone(),
                    });
                    continue;
                }
            };
            into.direct.push(ScriptedAction {
                at_ns,
                agent: from,
                action,
            });
        }
        Ok(())
    }

    /// The `to` of a send or request (required there, refused elsewhere).
    fn receiver(
        &self,
        item: &WorkloadItem,
        kind: WorkloadKind,
        from: u32,
        count: u32,
    ) -> Result<Option<u32>, ScenarioError> {
        match (&item.to, kind) {
            (Some(to), WorkloadKind::Broadcast) => Err(self.workload_error(
                to.span(),
                "to",
                "a broadcast goes to every subscriber: `to` needs kind = \"send\" or \"request\"",
            )),
            (None, WorkloadKind::Broadcast) => Ok(None),
            (None, _) => Err(self.workload_error(
                item.kind.span(),
                "kind",
                "a send or a request needs `to`, the receiving agent",
            )),
            (Some(to), _) => {
                let index = *to.get_ref();
                if index >= count {
                    return Err(self.workload_error(
                        to.span(),
                        "to",
                        format!("agent {index} does not exist: agents are numbered 0..{count}"),
                    ));
                }
                if index == from {
                    return Err(self.workload_error(
                        to.span(),
                        "to",
                        format!("agent {from} would send to itself"),
                    ));
                }
                Ok(Some(index))
            }
        }
    }

    /// What a broadcast or send carries (a request carries its question).
    fn payload(
        &self,
        item: &WorkloadItem,
        kind: WorkloadKind,
        channel: &Channel,
    ) -> Result<PayloadKind, ScenarioError> {
        let name = item
            .payload
            .as_ref()
            .map_or(PayloadName::App, |p| *p.get_ref());
        if let (Some(payload), WorkloadKind::Request) = (&item.payload, kind) {
            return Err(self.workload_error(
                payload.span(),
                "payload",
                "a request carries its question: `payload` is for broadcasts and sends",
            ));
        }
        match (&item.json, name) {
            (None, PayloadName::Json) => Err(self.workload_error(
                item.payload.as_ref().map_or(0..0, |p| p.span()),
                "payload",
                "payload = \"json\" needs `json`, the extended message's text",
            )),
            (Some(json), PayloadName::Json) => self.extended(json, kind, channel),
            (Some(json), _) => Err(self.workload_error(
                json.span(),
                "json",
                "`json` is the text of payload = \"json\"",
            )),
            (None, PayloadName::App) => Ok(PayloadKind::App {
                len: usize::from(item.payload_bytes),
            }),
            (None, PayloadName::LlmUsage) => Ok(PayloadKind::LlmUsage),
            (None, PayloadName::Status) => Ok(PayloadKind::Status),
            (None, PayloadName::Suggestion) => Ok(PayloadKind::Suggestion),
            (None, PayloadName::BugReport) => Ok(PayloadKind::BugReport),
            (None, PayloadName::Error) => Ok(PayloadKind::Error),
        }
    }

    /// An extended message's text, checked against the design's form and
    /// against the line: a broadcast travels on the line's channel, which is
    /// the channel its `to` names (`group:CHANNEL`, or its type's channel
    /// for `broadcast`), as a real node sending it would choose.
    fn extended(
        &self,
        json: &toml::Spanned<String>,
        kind: WorkloadKind,
        channel: &Channel,
    ) -> Result<PayloadKind, ScenarioError> {
        let text = json.get_ref();
        let message: ExtendedMessage = serde_json::from_str(text).map_err(|e| {
            self.workload_error(json.span(), "json", format!("not an extended message: {e}"))
        })?;
        let travels_on = message.channel();
        let consistent = match (&message.to, kind) {
            (Destination::Agent(_), WorkloadKind::Broadcast) => false,
            (_, WorkloadKind::Broadcast) => travels_on == *channel,
            _ => true,
        };
        if !consistent {
            return Err(self.workload_error(
                json.span(),
                "json",
                format!(
                    "the message is `to` {} and travels on {travels_on}, but the line \
                     broadcasts on {channel}: set the line's `channel`, or `to` \
                     \"group:{channel}\"",
                    message.to
                ),
            ));
        }
        // One line, as a real node's stdin takes it (keys sorted).
        let compact = serde_json::from_str::<serde_json::Value>(text)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| text.clone());
        Ok(PayloadKind::Json { text: compact })
    }
}
