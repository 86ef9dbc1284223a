//! A ping-pong between two OS processes over libproc, to try the runtime by hand and to
//! serve as the peer in cross-process tests.
//!
//! - `libproc-pingpong pong`: runs a `pong` process that answers every `Ping` with a
//!   `Pong` carrying the same sequence number, and prints `PID <pid>` on stdout.
//! - `libproc-pingpong ping <pid> [count] [payload-bytes]`: sends `count` pings (1,000
//!   in flight) carrying a payload, checks that the pongs come back in order, and
//!   prints the rate.
//! - `libproc-pingpong demo [count]`: starts a `pong` child process and pings it.
//!
//! The runtime binds as `LIBPROCESS_IP` / `LIBPROCESS_PORT` say (127.0.0.1 and a free
//! port by default).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use libproc::{Config, Context, Message, Pid, Process, ProcessId, Runtime};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// A ping with its sequence number, and a payload to make it as large as wanted.
#[derive(Debug, Serialize, Deserialize)]
struct Ping {
    sequence: u64,
    payload: Vec<u8>,
}

impl Message for Ping {
    const NAME: &'static str = "libproc.examples.Ping";
}

/// The answer to a ping, with the same sequence number.
#[derive(Debug, Serialize, Deserialize)]
struct Pong {
    sequence: u64,
}

impl Message for Pong {
    const NAME: &'static str = "libproc.examples.Pong";
}

/// Answers pings.
struct Ponger;

impl Process for Ponger {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From any pinger.
        ctx.install(
            |_: &mut Self, from: Pid, ping: Ping, ctx: &mut Context<Self>| {
                ctx.send(
                    &from,
                    Pong {
                        sequence: ping.sequence,
                    },
                );
            },
        );
    }
}

/// Sends `count` pings with up to `window` in flight, checking the order of the pongs.
struct Pinger {
    ponger: Pid,
    count: u64,
    window: u64,
    payload: Vec<u8>,
    sent: u64,
    received: u64,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

impl Pinger {
    fn finish(&mut self, result: Result<(), String>, ctx: &mut Context<Self>) {
        if let Some(done) = self.done.take() {
            let _ = done.send(result);
        }
        ctx.terminate();
    }
}

impl Process for Pinger {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From the ponger.
        ctx.install(Pinger::pong);
        ctx.link(&self.ponger);
        while self.sent < self.count.min(self.window) {
            self.ping(ctx);
        }
    }

    fn exited(&mut self, pid: &Pid, ctx: &mut Context<Self>) {
        self.finish(Err(format!("lost the connection to {pid}")), ctx);
    }
}

impl Pinger {
    fn pong(&mut self, _from: Pid, pong: Pong, ctx: &mut Context<Self>) {
        if pong.sequence != self.received {
            let error = format!(
                "pong {} arrived when {} was expected",
                pong.sequence, self.received
            );
            return self.finish(Err(error), ctx);
        }
        self.received += 1;
        if self.received == self.count {
            return self.finish(Ok(()), ctx);
        }
        if self.sent < self.count {
            self.ping(ctx);
        }
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        let ping = Ping {
            sequence: self.sent,
            payload: self.payload.clone(),
        };
        ctx.send(&self.ponger, ping);
        self.sent += 1;
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("pong") => pong(),
        Some("ping") => match (args.get(1), parse_count(args.get(2)), args.get(3)) {
            (Some(pid), Ok(count), payload) => pid
                .parse::<Pid>()
                .map_err(|e| e.to_string())
                .and_then(|pid| Ok((pid, parse_payload(payload)?)))
                .and_then(|(pid, payload)| ping(pid, count, payload)),
            (None, _, _) => Err("ping needs the pong's pid".to_owned()),
            (_, Err(e), _) => Err(e),
        },
        Some("demo") => parse_count(args.get(1)).and_then(demo),
        _ => Err(
            "usage: libproc-pingpong pong | ping <pid> [count] [payload-bytes] | demo [count]"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("libproc-pingpong: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse_count(arg: Option<&String>) -> Result<u64, String> {
    arg.map_or(Ok(100_000), |text| {
        text.parse().map_err(|e| format!("count '{text}': {e}"))
    })
}

fn parse_payload(arg: Option<&String>) -> Result<usize, String> {
    arg.map_or(Ok(0), |text| {
        text.parse().map_err(|e| format!("payload '{text}': {e}"))
    })
}

fn start() -> Result<(), String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    Runtime::start(config).map(drop).map_err(|e| e.to_string())
}

fn pong() -> Result<(), String> {
    start()?;
    let ponger = libproc::spawn(Ponger, "pong").map_err(|e| e.to_string())?;
    println!("PID {}", ponger.pid());
    Runtime::block_on(libproc::wait(ponger.pid()));
    Ok(())
}

fn ping(ponger: Pid, count: u64, payload: usize) -> Result<(), String> {
    start()?;
    let (done, finished) = oneshot::channel();
    let pinger = Pinger {
        ponger: ponger.clone(),
        count,
        window: 1000,
        payload: vec![b'p'; payload],
        sent: 0,
        received: 0,
        done: Some(done),
    };
    let started = Instant::now();
    libproc::spawn(pinger, ProcessId::generate("ping")).map_err(|e| e.to_string())?;
    let result = Runtime::block_on(finished).map_err(|_| "the pinger vanished".to_owned())?;
    result?;
    let elapsed = started.elapsed();
    println!(
        "{count} pings answered in order by {ponger} in {:.3} s ({:.0} round trips/s)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn demo(count: u64) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("pong")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start the pong process: {e}"))?;
    let result = read_pid(&mut child).and_then(|pid| {
        println!("pong runs as OS process {} with pid {pid}", child.id());
        ping(pid, count, 0)
    });
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn read_pid(child: &mut Child) -> Result<Pid, String> {
    let stdout = child
        .stdout
        .take()
        .ok_or("the pong process has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    line.trim()
        .strip_prefix("PID ")
        .ok_or_else(|| format!("the pong process said '{}' instead of its pid", line.trim()))?
        .parse()
        .map_err(|e: libproc::ParsePidError| e.to_string())
}
