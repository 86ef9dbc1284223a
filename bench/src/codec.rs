//! `codec`: encode and decode time and size of representative Mesos messages with the
//! codec candidates (postcard and bincode 2.0.1), to choose libproc's codec.
//!
//! The messages are shaped as Mesos's `ResourceOffersMessage` (one offer: 3 resources
//! and 8 strings) and `StatusUpdateMessage`, built from `mesos-proto`'s ids and
//! resources so that their binary form is the one the wire carries.

use std::hint::black_box;
use std::time::Instant;

use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, Resources, TaskId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Encodings and decodings per measurement.
    #[arg(long, default_value_t = 200_000)]
    iterations: u32,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Attribute {
    name: String,
    text: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Offer {
    id: OfferId,
    framework_id: FrameworkId,
    agent_id: AgentId,
    hostname: String,
    resources: Resources,
    attributes: Vec<Attribute>,
    allocation_role: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct ResourceOffers {
    offers: Vec<Offer>,
    pids: Vec<String>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct TaskStatus {
    task_id: TaskId,
    state: u32,
    message: Option<String>,
    source: u32,
    reason: Option<u32>,
    agent_id: AgentId,
    executor_id: Option<ExecutorId>,
    timestamp: f64,
    uuid: Vec<u8>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StatusUpdate {
    framework_id: FrameworkId,
    executor_id: Option<ExecutorId>,
    agent_id: AgentId,
    status: TaskStatus,
    timestamp: f64,
    uuid: Vec<u8>,
    latest_state: Option<u32>,
    pid: String,
}

fn offer() -> ResourceOffers {
    let resources = Resources::parse("cpus:24;mem:4096;ports:[31000-32000]", "*")
        .expect("the sample resources parse");
    ResourceOffers {
        offers: vec![Offer {
            id: "4a5d9e1c-7f3b-4c2a-9d8e-1b2c3d4e5f60-O12345".into(),
            framework_id: "4a5d9e1c-7f3b-4c2a-9d8e-1b2c3d4e5f60-0007".into(),
            agent_id: "4a5d9e1c-7f3b-4c2a-9d8e-1b2c3d4e5f60-S42".into(),
            hostname: "agent-42.cluster.example".into(),
            resources,
            attributes: vec![
                Attribute {
                    name: "rack".into(),
                    text: "r17".into(),
                },
                Attribute {
                    name: "zone".into(),
                    text: "eu-west-1b".into(),
                },
            ],
            allocation_role: "*".into(),
        }],
        pids: vec!["slave(1)@10.0.3.42:5051".into()],
    }
}

fn status_update() -> StatusUpdate {
    StatusUpdate {
        framework_id: "4a5d9e1c-7f3b-4c2a-9d8e-1b2c3d4e5f60-0007".into(),
        executor_id: Some("web-server.3f2e".into()),
        agent_id: "4a5d9e1c-7f3b-4c2a-9d8e-1b2c3d4e5f60-S42".into(),
        status: TaskStatus {
            task_id: "web-server.3f2e".into(),
            state: 1,
            message: Some("Command started".into()),
            source: 2,
            reason: None,
            agent_id: "4a5d9e1c-7f3b-4c2a-9d8e-1b2c3d4e5f60-S42".into(),
            executor_id: Some("web-server.3f2e".into()),
            timestamp: 1_795_000_000.123,
            uuid: (0..16).collect(),
        },
        timestamp: 1_795_000_000.125,
        uuid: (16..32).collect(),
        latest_state: Some(1),
        pid: "executor(1)@10.0.3.42:40111".into(),
    }
}

/// A codec under test. Encoding appends to a buffer, as libproc appends a body to its
/// frame header, so that the figures are the codec's and not the allocator's.
struct Candidate {
    name: &'static str,
    encode: fn(&dyn ErasedSerialize, &mut Vec<u8>),
}

/// Lets one function pointer encode any message.
trait ErasedSerialize {
    fn postcard(&self, out: &mut Vec<u8>);
    fn bincode(&self, out: &mut Vec<u8>);
}

impl<T: Serialize> ErasedSerialize for T {
    fn postcard(&self, out: &mut Vec<u8>) {
        *out = postcard::to_extend(self, std::mem::take(out)).expect("postcard encodes the sample");
    }

    fn bincode(&self, out: &mut Vec<u8>) {
        bincode::serde::encode_into_std_write(self, out, bincode::config::standard())
            .expect("bincode encodes the sample");
    }
}

fn postcard_decode<T: DeserializeOwned>(bytes: &[u8]) -> T {
    postcard::from_bytes(bytes).expect("postcard decodes its own encoding")
}

fn bincode_decode<T: DeserializeOwned>(bytes: &[u8]) -> T {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .expect("bincode decodes its own encoding")
        .0
}

const CANDIDATES: [Candidate; 2] = [
    Candidate {
        name: "postcard",
        encode: |m, out| m.postcard(out),
    },
    Candidate {
        name: "bincode",
        encode: |m, out| m.bincode(out),
    },
];

/// Nanoseconds per call of `f`, median over runs.
fn time(iterations: u32, runs: usize, mut f: impl FnMut()) -> f64 {
    let samples: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..iterations {
                f();
            }
            started.elapsed().as_nanos() as f64 / iterations as f64
        })
        .collect();
    report::median(&samples)
}

fn measure<T>(args: &Args, message: &str, sample: &T) -> Vec<serde_json::Value>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    CANDIDATES
        .iter()
        .map(|candidate| {
            let mut bytes = Vec::new();
            (candidate.encode)(sample, &mut bytes);
            let decode: fn(&[u8]) -> T = match candidate.name {
                "postcard" => postcard_decode::<T>,
                _ => bincode_decode::<T>,
            };
            assert_eq!(&decode(&bytes), sample, "{} round trip", candidate.name);
            let mut buffer = Vec::with_capacity(1024);
            let encode_ns = time(args.iterations, args.runs, || {
                buffer.clear();
                (candidate.encode)(black_box(sample), &mut buffer);
                black_box(&buffer);
            });
            let decode_ns = time(args.iterations, args.runs, || {
                black_box(decode(black_box(&bytes)));
            });
            println!(
                "{message:>14} {:>9}: {:>4} bytes, encode {encode_ns:>6.0} ns, decode {decode_ns:>6.0} ns",
                candidate.name,
                bytes.len()
            );
            json!({"message": message, "codec": candidate.name, "bytes": bytes.len(),
                   "encode_ns": encode_ns.round(), "decode_ns": decode_ns.round()})
        })
        .collect()
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut results = measure(&args, "offer", &offer());
    results.extend(measure(&args, "status_update", &status_update()));
    report::finish(
        "codec",
        json!({"iterations": args.iterations, "runs": args.runs, "results": results}),
    );
    Ok(())
}
