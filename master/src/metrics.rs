//! The master's metrics, under Mesos's keys (`master/messages_register_slave`,
//! `master/tasks_running`, `master/cpus_total`...), served by the runtime at
//! `/metrics/snapshot`. Counters count events as they happen; gauges are set from the
//! master's state by `Master::refresh_metrics`, every second.

use std::collections::HashMap;

use mesos_proto::mesos::TaskState;
use mesos_proto::scheduler::Call;
use metrics::{counter, gauge, Counter};

/// Counters the master increments.
#[derive(Debug, Default)]
pub struct Metrics {
    messages: HashMap<&'static str, Counter>,
}

impl Metrics {
    /// Counts one received message under `master/messages_<name>`.
    pub fn message(&mut self, wire_name: &'static str) {
        self.messages
            .entry(wire_name)
            .or_insert_with(|| counter!(message_key(wire_name)))
            .increment(1);
    }

    /// Counts a scheduler `Call` under the key Mesos counts what it asks for under;
    /// the legacy message of the same request has that key as its name.
    pub fn call(&self, call: &Call) {
        for key in call_keys(call) {
            counter!(key).increment(1);
        }
    }

    /// A message dropped before its handler (the registry was not recovered yet).
    pub fn dropped_message(&self) {
        counter!("master/dropped_messages").increment(1);
    }

    /// An agent was admitted.
    pub fn agent_registered(&self) {
        counter!("master/slave_registrations").increment(1);
    }

    /// An agent was removed (unregistered or unreachable).
    pub fn agent_removed(&self) {
        counter!("master/slave_removals").increment(1);
    }

    /// A framework was removed.
    pub fn framework_removed(&self) {
        counter!("master/frameworks_removed").increment(1);
    }

    /// Offers were sent.
    pub fn offers_sent(&self, count: usize) {
        counter!("master/offers_sent").increment(count as u64);
    }

    /// A task was launched.
    pub fn task_launched(&self) {
        counter!("master/tasks_launched").increment(1);
    }

    /// A task reached a state; terminal ones are counted (`master/tasks_finished`...).
    pub fn task_state(&self, state: TaskState) {
        if state.is_terminal() {
            counter!(state_key(state)).increment(1);
        }
    }

    /// A status update from an agent was forwarded.
    pub fn valid_status_update(&self, state: TaskState) {
        counter!("master/valid_status_updates").increment(1);
        self.task_state(state);
    }

    /// A status update was ignored.
    pub fn invalid_status_update(&self) {
        counter!("master/invalid_status_updates").increment(1);
    }
}

/// Mesos's key for a message: `mesos.internal.RegisterSlaveMessage` →
/// `master/messages_register_slave`; a scheduler call → `master/messages_scheduler_call`.
pub fn message_key(wire_name: &str) -> String {
    let short = wire_name.rsplit('.').next().unwrap_or(wire_name);
    let short = short.strip_suffix("Message").unwrap_or(short);
    let mut key = String::from("master/messages_");
    if wire_name == "mesos.scheduler.Call" {
        key.push_str("scheduler_");
    }
    for (index, c) in short.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            key.push('_');
        }
        key.push(c.to_ascii_lowercase());
    }
    key
}

/// Mesos's keys for a scheduler `Call` (none for the kinds Mesos does not count):
/// SUBSCRIBE counts as a registration, or a re-registration when it has an id; each
/// LAUNCH of an ACCEPT counts as a launch, or as a decline when it has no task.
pub fn call_keys(call: &Call) -> Vec<&'static str> {
    use mesos_proto::mesos::OperationType;
    use mesos_proto::scheduler::CallType::*;
    match call.kind {
        SUBSCRIBE => {
            let id = call.framework_id.as_ref().or_else(|| {
                call.subscribe
                    .as_ref()
                    .and_then(|s| s.framework_info.id.as_ref())
            });
            if id.is_some_and(|id| !id.as_str().is_empty()) {
                vec!["master/messages_reregister_framework"]
            } else {
                vec!["master/messages_register_framework"]
            }
        }
        ACCEPT => call
            .accept
            .iter()
            .flat_map(|accept| &accept.operations)
            .filter(|operation| operation.kind == OperationType::LAUNCH)
            .map(|operation| {
                let tasks = operation.launch.as_ref().map_or(0, |l| l.task_infos.len());
                if tasks > 0 {
                    "master/messages_launch_tasks"
                } else {
                    "master/messages_decline_offers"
                }
            })
            .collect(),
        DECLINE => vec!["master/messages_decline_offers"],
        REVIVE => vec!["master/messages_revive_offers"],
        SUPPRESS => vec!["master/messages_suppress_offers"],
        KILL => vec!["master/messages_kill_task"],
        ACKNOWLEDGE => vec!["master/messages_status_update_acknowledgement"],
        RECONCILE => vec!["master/messages_reconcile_tasks"],
        MESSAGE => vec!["master/messages_framework_to_executor"],
        REQUEST => vec!["master/messages_resource_request"],
        _ => vec![],
    }
}

/// `TASK_FINISHED` → `master/tasks_finished`.
pub fn state_key(state: TaskState) -> String {
    let name = state
        .name()
        .trim_start_matches("TASK_")
        .to_ascii_lowercase();
    format!("master/tasks_{name}")
}

/// Sets a gauge.
pub fn set(key: &'static str, value: f64) {
    gauge!(key).set(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_mesos_s() {
        assert_eq!(
            message_key("mesos.internal.RegisterSlaveMessage"),
            "master/messages_register_slave"
        );
        assert_eq!(
            message_key("mesos.internal.StatusUpdateAcknowledgementMessage"),
            "master/messages_status_update_acknowledgement"
        );
        assert_eq!(
            message_key("mesos.scheduler.Call"),
            "master/messages_scheduler_call"
        );
        assert_eq!(
            state_key(TaskState::TASK_GONE_BY_OPERATOR),
            "master/tasks_gone_by_operator"
        );
    }

    #[test]
    fn calls_count_under_mesos_s_keys() {
        use mesos_proto::mesos::{Launch, OfferOperation, OperationType};
        use mesos_proto::scheduler::{Accept, CallType};
        let call = |kind| Call {
            kind,
            ..Call::default()
        };
        assert_eq!(
            call_keys(&call(CallType::SUBSCRIBE)),
            ["master/messages_register_framework"]
        );
        let resubscribe = Call {
            framework_id: Some("f".into()),
            ..call(CallType::SUBSCRIBE)
        };
        assert_eq!(
            call_keys(&resubscribe),
            ["master/messages_reregister_framework"]
        );
        let launch = |tasks: usize| OfferOperation {
            kind: OperationType::LAUNCH,
            launch: Some(Launch {
                task_infos: vec![Default::default(); tasks],
            }),
            launch_group: None,
        };
        let accept = Call {
            accept: Some(Accept {
                operations: vec![launch(2), launch(0)],
                ..Accept::default()
            }),
            ..call(CallType::ACCEPT)
        };
        assert_eq!(
            call_keys(&accept),
            [
                "master/messages_launch_tasks",
                "master/messages_decline_offers"
            ]
        );
        assert_eq!(
            call_keys(&call(CallType::REVIVE)),
            ["master/messages_revive_offers"]
        );
        assert!(call_keys(&call(CallType::TEARDOWN)).is_empty());
    }
}
