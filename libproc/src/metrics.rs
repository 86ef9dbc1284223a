//! The runtime's metrics registry, behind the `metrics` facade, and its own counters.
//!
//! `/metrics/snapshot` serves every metric as one flat JSON object, as Mesos does:
//! counters and gauges by name, histograms (Mesos's timers) as `name/count`, `/min`,
//! `/max`, `/p50`, `/p90`, `/p99` over their last values. Labels, if any, are appended
//! to the name as `/value`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use serde_json::{Map, Value};

/// How many recent values a histogram keeps for its percentiles.
const WINDOW: usize = 1000;

#[derive(Default)]
struct Registry {
    counters: RwLock<BTreeMap<String, Arc<AtomicU64>>>,
    gauges: RwLock<BTreeMap<String, Arc<AtomicU64>>>,
    histograms: RwLock<BTreeMap<String, Arc<Window>>>,
}

#[derive(Default)]
struct Window(Mutex<VecDeque<f64>>);

impl HistogramFn for Window {
    fn record(&self, value: f64) {
        let mut values = self.0.lock().expect("a histogram lock is never poisoned");
        if values.len() == WINDOW {
            values.pop_front();
        }
        values.push_back(value);
    }
}

fn flat_name(key: &Key) -> String {
    let mut name = key.name().to_owned();
    for label in key.labels() {
        name.push('/');
        name.push_str(label.value());
    }
    name
}

fn get_or_insert<T: Default>(map: &RwLock<BTreeMap<String, Arc<T>>>, key: &Key) -> Arc<T> {
    let name = flat_name(key);
    if let Some(found) = map
        .read()
        .expect("metric maps are never poisoned")
        .get(&name)
    {
        return found.clone();
    }
    map.write()
        .expect("metric maps are never poisoned")
        .entry(name)
        .or_default()
        .clone()
}

/// The recorder handed to the facade; the registry stays reachable for snapshots.
#[derive(Debug, Clone, Copy)]
struct Installed(&'static Registry);

impl Recorder for Installed {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(get_or_insert(&self.0.counters, key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(get_or_insert(&self.0.gauges, key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(get_or_insert(&self.0.histograms, key))
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

static REGISTRY: OnceLock<&'static Registry> = OnceLock::new();

/// Installs the registry as the global recorder, once. If the program installed its
/// own recorder first, that one keeps the metrics and the snapshot stays empty.
pub(crate) fn install() {
    REGISTRY.get_or_init(|| {
        let registry: &'static Registry = Box::leak(Box::default());
        if metrics::set_global_recorder(Installed(registry)).is_err() {
            tracing::warn!(
                "Another metrics recorder is installed; /metrics/snapshot will be empty"
            );
        }
        registry
    });
}

/// Every metric as one flat JSON object, as `/metrics/snapshot` serves it.
pub fn snapshot() -> Map<String, Value> {
    let mut out = Map::new();
    let Some(registry) = REGISTRY.get() else {
        return out;
    };
    let read = |value: &AtomicU64| value.load(Ordering::Relaxed);
    for (name, counter) in registry.counters.read().expect("never poisoned").iter() {
        out.insert(name.clone(), Value::from(read(counter)));
    }
    for (name, gauge) in registry.gauges.read().expect("never poisoned").iter() {
        out.insert(name.clone(), Value::from(f64::from_bits(read(gauge))));
    }
    for (name, window) in registry.histograms.read().expect("never poisoned").iter() {
        summarize(&mut out, name, window);
    }
    if let Some(node) = crate::runtime::try_node() {
        out.insert(
            "libproc/processes".into(),
            Value::from(node.processes().len()),
        );
    }
    out
}

fn summarize(out: &mut Map<String, Value>, name: &str, window: &Window) {
    let mut values: Vec<f64> = window
        .0
        .lock()
        .expect("never poisoned")
        .iter()
        .copied()
        .collect();
    out.insert(format!("{name}/count"), Value::from(values.len()));
    if values.is_empty() {
        return;
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    for (suffix, value) in [
        ("min", values[0]),
        ("max", values[values.len() - 1]),
        ("p50", at(0.5)),
        ("p90", at(0.9)),
        ("p99", at(0.99)),
    ] {
        out.insert(format!("{name}/{suffix}"), Value::from(value));
    }
}

macro_rules! counters {
    ($($(#[$doc:meta])* $function:ident => $key:literal,)*) => {
        $(
            $(#[$doc])*
            pub(crate) fn $function() {
                static COUNTER: OnceLock<Counter> = OnceLock::new();
                COUNTER.get_or_init(|| metrics::counter!($key)).increment(1);
            }
        )*
    };
}

counters! {
    /// A message arrived from another runtime.
    message_received => "libproc/messages_received",
    /// A message left for another runtime.
    message_sent => "libproc/messages_sent",
    /// A message was dropped: no such process, or no handler for its name.
    message_dropped => "libproc/messages_dropped",
    /// A message body did not decode as its handler's type.
    message_undecodable => "libproc/messages_undecodable",
    /// A frame was malformed or over the size limit.
    frame_invalid => "libproc/frames_invalid",
    /// A peer's handshake was refused.
    handshake_rejected => "libproc/handshakes_rejected",
    /// An inbound connection was accepted.
    connection_accepted => "libproc/connections_accepted",
    /// A link's connection broke and its linker was told.
    link_exited => "libproc/links_exited",
    /// An HTTP request arrived.
    http_request => "libproc/http_requests",
    /// An HTTP connection ended on a malformed request or an I/O error.
    http_invalid => "libproc/http_invalid",
    /// An HTTP request named no process or route.
    http_not_found => "libproc/http_not_found",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_summarize_their_window() {
        let window = Window::default();
        for value in 1..=WINDOW + 10 {
            window.record(value as f64);
        }
        let mut out = Map::new();
        summarize(&mut out, "t", &window);
        assert_eq!(out["t/count"], Value::from(WINDOW));
        assert_eq!(out["t/min"], Value::from(11.0));
        assert_eq!(out["t/max"], Value::from((WINDOW + 10) as f64));
    }

    #[test]
    fn labels_become_path_segments() {
        let key = Key::from_parts("master/messages", vec![metrics::Label::new("name", "ping")]);
        assert_eq!(flat_name(&key), "master/messages/ping");
    }
}
