//! `libproc-rpc`: libprocess's ClientServer workload across two OS processes over TCP
//! loopback (clients here, the server in a child process), then a sequential run for
//! the round trip; raw TCP on the same loopback, in the same run, as the baseline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context as _};
use libproc::{Pid, ProcessId};
use serde_json::json;

use crate::pingpong::{Client, Server};
use crate::report;

/// The workload's knobs.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Client processes.
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// Requests per client.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Requests in flight per client.
    #[arg(long, default_value_t = 250)]
    concurrency: u64,
    /// Payload bytes per request.
    #[arg(long, default_value_t = 3)]
    payload: usize,
    /// Requests of the sequential (one in flight) run.
    #[arg(long, default_value_t = 20_000)]
    sequential: u64,
    /// Runs; medians are reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Figures of one run.
#[derive(Debug, Default)]
struct Figures {
    rate: f64,
    round_trip_p50: f64,
    round_trip_p99: f64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    crate::start_runtime()?;
    let mut server = ServerProcess::start(args.payload)?;
    let (mut libproc_runs, mut raw_runs) = (vec![], vec![]);
    for run in 1..=args.runs {
        let libproc = libproc_run(&args, &server.pid)?;
        let raw = raw_run(&args, server.raw)?;
        println!(
            "run {run}: libproc {:.0} req/s, round trip p50 {:.1} µs p99 {:.1} µs | raw TCP {:.0} req/s, round trip p50 {:.1} µs p99 {:.1} µs",
            libproc.rate, libproc.round_trip_p50 * 1e6, libproc.round_trip_p99 * 1e6,
            raw.rate, raw.round_trip_p50 * 1e6, raw.round_trip_p99 * 1e6,
        );
        libproc_runs.push(libproc);
        raw_runs.push(raw);
    }
    server.stop();
    let median = |runs: &[Figures], f: fn(&Figures) -> f64| {
        report::median(&runs.iter().map(f).collect::<Vec<_>>())
    };
    let rate = median(&libproc_runs, |f| f.rate);
    let p50 = median(&libproc_runs, |f| f.round_trip_p50);
    let raw_rate = median(&raw_runs, |f| f.rate);
    let raw_p50 = median(&raw_runs, |f| f.round_trip_p50);
    println!(
        "median: libproc {rate:.0} req/s and {:.1} µs round trip; raw TCP {raw_rate:.0} req/s and {:.1} µs",
        p50 * 1e6,
        raw_p50 * 1e6
    );
    report::finish(
        "libproc-rpc",
        json!({
            "clients": args.clients,
            "requests_per_client": args.requests,
            "concurrency": args.concurrency,
            "payload_bytes": args.payload,
            "runs": args.runs,
            "median_requests_per_sec": rate.round(),
            "median_round_trip_us": p50 * 1e6,
            "median_round_trip_p99_us": median(&libproc_runs, |f| f.round_trip_p99) * 1e6,
            "raw_tcp_requests_per_sec": raw_rate.round(),
            "raw_tcp_round_trip_us": raw_p50 * 1e6,
            "rate_vs_raw_tcp": rate / raw_rate,
            "round_trip_vs_raw_tcp": p50 / raw_p50,
        }),
    );
    Ok(())
}

fn libproc_run(args: &Args, server: &Pid) -> anyhow::Result<Figures> {
    let payload = vec![b'1'; args.payload];
    let (seconds, _) = run_clients(
        server,
        args.clients,
        args.requests,
        args.concurrency,
        &payload,
    )?;
    let (_, round_trips) = run_clients(server, 1, args.sequential, 1, &payload)?;
    Ok(Figures {
        rate: (args.clients * args.requests) as f64 / seconds,
        round_trip_p50: report::median(&round_trips),
        round_trip_p99: report::percentile(&round_trips, 0.99),
    })
}

/// Runs `clients` clients to completion; returns the seconds taken and the round trips
/// (recorded when one request is in flight).
fn run_clients(
    server: &Pid,
    clients: u64,
    requests: u64,
    window: u64,
    payload: &[u8],
) -> anyhow::Result<(f64, Vec<f64>)> {
    let mut addrs = Vec::new();
    let mut finished = Vec::new();
    for _ in 0..clients {
        let (client, done) = Client::new(server.clone(), requests, window, payload.to_vec());
        addrs
            .push(libproc::spawn(client, ProcessId::generate("client")).context("spawn a client")?);
        finished.push(done);
    }
    let started = Instant::now();
    for addr in &addrs {
        drop(libproc::dispatch(addr, |client, ctx| client.start(ctx)));
    }
    let round_trips = libproc::Runtime::block_on(async {
        let mut round_trips = Vec::new();
        for done in finished {
            round_trips.extend(done.await.context("a client vanished")?.round_trips);
        }
        anyhow::Ok(round_trips)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let pids: Vec<Pid> = addrs.iter().map(|a| a.pid().clone()).collect();
    crate::throughput::stop(&pids);
    Ok((seconds, round_trips))
}

/// The same exchange over one plain TCP connection: pipelined with the same window for
/// the rate, then one request at a time for the round trip.
fn raw_run(args: &Args, server: SocketAddr) -> anyhow::Result<Figures> {
    let mut stream = TcpStream::connect(server).context("connect to the raw echo server")?;
    stream.set_nodelay(true)?;
    let request = vec![b'1'; args.payload];
    let mut answer = vec![0u8; args.payload];
    let total = args.clients * args.requests;
    let started = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < total {
        while sent < total && sent - received < args.concurrency {
            stream.write_all(&request)?;
            sent += 1;
        }
        stream.read_exact(&mut answer)?;
        received += 1;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let mut round_trips = Vec::with_capacity(args.sequential as usize);
    for _ in 0..args.sequential {
        let sent_at = Instant::now();
        stream.write_all(&request)?;
        stream.read_exact(&mut answer)?;
        round_trips.push(sent_at.elapsed().as_secs_f64());
    }
    Ok(Figures {
        rate,
        round_trip_p50: report::median(&round_trips),
        round_trip_p99: report::percentile(&round_trips, 0.99),
    })
}

/// The child OS process that serves both the libproc server and the raw echo.
struct ServerProcess {
    child: Child,
    pid: Pid,
    raw: SocketAddr,
}

impl ServerProcess {
    fn start(payload: usize) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("find this binary")?;
        let mut child = Command::new(exe)
            .args(["libproc-rpc-server", "--payload", &payload.to_string()])
            .env("LIBPROCESS_IP", "127.0.0.1")
            .env("LIBPROCESS_PORT", "0")
            .stdout(Stdio::piped())
            .spawn()
            .context("start the server process")?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut next = |prefix: &str| -> anyhow::Result<String> {
            let line = lines.next().context("the server said nothing")??;
            match line.strip_prefix(prefix) {
                Some(rest) => Ok(rest.to_owned()),
                None => bail!("the server said '{line}' instead of '{prefix}…'"),
            }
        };
        let pid = next("PID ")?.parse().context("the server's pid")?;
        let raw = next("RAW ")?.parse().context("the server's raw address")?;
        Ok(ServerProcess { child, pid, raw })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side: a libproc server, and a raw TCP echo of `payload`-byte requests.
pub(crate) fn serve(payload: usize) -> anyhow::Result<()> {
    crate::start_runtime()?;
    let server = libproc::spawn(Server, "server").context("spawn the server")?;
    let listener = TcpListener::bind("127.0.0.1:0").context("bind the raw echo")?;
    println!("PID {}", server.pid());
    println!("RAW {}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || echo(stream, payload));
        }
    });
    libproc::Runtime::block_on(libproc::wait(server.pid()));
    Ok(())
}

fn echo(mut stream: TcpStream, payload: usize) {
    let _ = stream.set_nodelay(true);
    let mut request = vec![0u8; payload];
    while stream.read_exact(&mut request).is_ok() {
        if stream.write_all(&request).is_err() {
            return;
        }
    }
}
