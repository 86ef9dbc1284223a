//! `mesos-local`: a master and `--num_slaves` agents in one process and one libproc
//! runtime, as Mesos's local mode. The agents share the runtime's address, so each is
//! its own process (`slave(1)`, `slave(2)`...), and they share its `files` process.
//!
//! On the way out every executor the agents started is destroyed: the agents are
//! stopped, then each is started once more on its work dir with `--recover=cleanup`,
//! which destroys every executor it recovers (their containers, the whole process tree)
//! and stops. The temporary work dir is removed last.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;
use libproc::{Addr, Pid};
use mesos_agent::files::Files;
use mesos_agent::flags::Flags as AgentFlags;
use mesos_agent::resources::{agent_resources, Machine};
use mesos_agent::Agent;
use mesos_master::flags::{Flags as MasterFlags, RegistryBackend};
use mesos_master::Master;
use mesos_proto::values::Range;
use mesos_proto::Resources;

/// How long stopping one agent, or cleaning up its executors, may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// `mesos-local`'s flags, each also read from `MESOS_<NAME>`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "mesos-local",
    version = mesos_proto::MESOS_VERSION,
    about = "A Mesos master and agents in one process, for trying Mesos out",
    rename_all = "snake_case"
)]
pub struct Flags {
    /// The IP to listen on; loopback, so that an unauthenticated cluster is not
    /// reachable from the network unless asked.
    #[arg(long, env = "MESOS_IP", default_value = "127.0.0.1")]
    pub ip: IpAddr,
    /// The port to listen on (the master's and the agents').
    #[arg(long, env = "MESOS_PORT", default_value_t = 5050)]
    pub port: u16,
    /// How many agents to run.
    #[arg(long, env = "MESOS_NUM_SLAVES", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub num_slaves: u32,
    /// Where the agents keep sandboxes and checkpoints (`<work_dir>/agent-<n>`); a new
    /// temporary directory, removed on exit, when unset.
    #[arg(long, env = "MESOS_WORK_DIR")]
    pub work_dir: Option<PathBuf>,
    /// The resources each agent offers; when unset, the machine's CPUs, memory, disk
    /// and ports `[31000-32000]` are split evenly between the agents.
    #[arg(long, env = "MESOS_RESOURCES")]
    pub resources: Option<String>,
    /// The agents' isolators (see `mesos-agent --help`).
    #[arg(long, env = "MESOS_ISOLATION", default_value = "posix/cpu,posix/mem")]
    pub isolation: String,
    /// Where `mesos-executor` is; the directory of this binary when unset.
    #[arg(long, env = "MESOS_LAUNCHER_DIR")]
    pub launcher_dir: Option<PathBuf>,
    /// Log nothing to stderr.
    #[arg(long, env = "MESOS_QUIET", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub quiet: bool,
}

impl Flags {
    /// The directory holding `mesos-executor`, checked to hold it.
    pub fn launcher_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.launcher_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_exe()
                .context("find this binary's directory")?
                .parent()
                .context("this binary has no directory")?
                .to_path_buf(),
        };
        if !dir.join("mesos-executor").is_file() {
            bail!(
                "{} has no mesos-executor: build it (cargo build --release -p mesos-executor-driver) or pass --launcher_dir",
                dir.display()
            );
        }
        Ok(dir)
    }

    /// The runtime's configuration: the master is the default HTTP delegate, so
    /// `/state` is the master's, as for `mesos-master`.
    pub fn runtime_config(&self) -> libproc::Config {
        libproc::Config {
            bind: SocketAddr::new(self.ip, self.port),
            delegate: Some(mesos_master::MASTER_ID.into()),
            ..libproc::Config::default()
        }
    }
}

/// The work dir: given, or a temporary one this cluster removes when it stops.
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
    temporary: bool,
}

impl WorkDir {
    fn new(given: Option<&Path>) -> anyhow::Result<WorkDir> {
        let (path, temporary) = match given {
            Some(path) => (path.to_path_buf(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "mesos-local-{}-{:08x}",
                    std::process::id(),
                    fastrand::u32(..)
                )),
                true,
            ),
        };
        std::fs::create_dir_all(&path)
            .with_context(|| format!("create the work dir {}", path.display()))?;
        Ok(WorkDir { path, temporary })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.temporary {
            if let Err(error) = std::fs::remove_dir_all(&self.path) {
                tracing::warn!(%error, path = %self.path.display(), "Could not remove the work dir");
            }
        }
    }
}

/// One agent of the cluster: its process id and flags, kept to clean up after it.
#[derive(Debug)]
struct LocalAgent {
    id: String,
    flags: AgentFlags,
    addr: Addr<Agent>,
}

/// A running local cluster: the master and its agents in this runtime.
#[derive(Debug)]
pub struct Cluster {
    master: Addr<Master>,
    agents: Vec<LocalAgent>,
    work_dir: WorkDir,
}

impl Cluster {
    /// Starts the master, then the agents, in the running libproc runtime.
    pub fn start(flags: &Flags) -> anyhow::Result<Cluster> {
        let address = libproc::Runtime::address().context("the runtime is not started")?;
        let launcher_dir = flags.launcher_dir()?;
        let work_dir = WorkDir::new(flags.work_dir.as_deref())?;
        let master_flags = MasterFlags {
            ip: Some(flags.ip),
            port: address.port(),
            registry: RegistryBackend::InMemory,
            quiet: flags.quiet,
            ..MasterFlags::default()
        };
        master_flags.validate().context("the master's flags")?;
        let master = mesos_master::start(master_flags).context("start the master")?;
        let files = Arc::new(Files::spawn().context("start the files process")?);
        let resources = match &flags.resources {
            Some(given) => vec![given.clone(); flags.num_slaves as usize],
            None => {
                let machine = Machine::detect(&work_dir.path);
                let whole = agent_resources(None, "*", machine).context("measure the machine")?;
                shares(&whole, flags.num_slaves)
            }
        };
        let mut agents = Vec::new();
        for (index, resources) in resources.into_iter().enumerate() {
            let n = index + 1;
            let agent_flags = AgentFlags::try_parse_from([
                "mesos-agent".to_owned(),
                format!("--master={}", master.pid()),
                format!(
                    "--work_dir={}",
                    work_dir.path.join(format!("agent-{n}")).display()
                ),
                format!("--resources={resources}"),
                format!("--isolation={}", flags.isolation),
                format!("--cgroups_root=mesos-local-{}-{n}", std::process::id()),
                format!("--launcher_dir={}", launcher_dir.display()),
                format!("--quiet={}", flags.quiet),
            ])
            .with_context(|| format!("the flags of agent {n}"))?;
            let id = format!("slave({n})");
            let addr = mesos_agent::start_named(agent_flags.clone(), files.clone(), &id)
                .with_context(|| format!("start agent {id}"))?;
            agents.push(LocalAgent {
                id,
                flags: agent_flags,
                addr,
            });
        }
        Ok(Cluster {
            master,
            agents,
            work_dir,
        })
    }

    /// The master's pid.
    pub fn master(&self) -> &Pid {
        self.master.pid()
    }

    /// The agents' pids, `slave(1)` first.
    pub fn agents(&self) -> impl Iterator<Item = &Pid> + '_ {
        self.agents.iter().map(|agent| agent.addr.pid())
    }

    /// The directory under which each agent has its work dir.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir.path
    }

    /// Stops the master and the agents, destroys every executor the agents started,
    /// and removes a temporary work dir. Blocks; call it outside the runtime.
    pub fn stop(self) -> anyhow::Result<()> {
        libproc::terminate(self.master.pid());
        libproc::Runtime::block_on(libproc::wait(self.master.pid()));
        for agent in &self.agents {
            drop(libproc::dispatch(&agent.addr, |agent, ctx| {
                agent.shut_down(ctx)
            }));
        }
        // Every agent is waited for even when another could not be; the first
        // failure is the one reported.
        let mut outcome = Ok(());
        for agent in &self.agents {
            outcome = outcome.and(wait_for(agent.addr.pid(), &agent.id));
            remove_cgroups_root(&agent.flags.cgroups_root);
        }
        outcome
    }
}

/// Waits until the process `pid` has finished, within `STOP_TIMEOUT`.
fn wait_for(pid: &Pid, what: &str) -> anyhow::Result<()> {
    libproc::Runtime::block_on(async {
        tokio::time::timeout(STOP_TIMEOUT, libproc::wait(pid)).await
    })
    .map_err(|_| anyhow::anyhow!("{what} did not stop within {STOP_TIMEOUT:?}"))
}

/// Removes an agent's (now empty) cgroups root from every hierarchy, if it made one.
fn remove_cgroups_root(root: &str) {
    let base = Path::new("/sys/fs/cgroup");
    let _ = std::fs::remove_dir(base.join(root));
    for hierarchy in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let _ = std::fs::remove_dir(hierarchy.path().join(root));
    }
}

/// An even share of `whole` for each of `n` agents: `1/n` of each scalar (CPUs to the
/// hundredth, megabytes whole) and `1/n` of the ports as one contiguous slice each, so
/// that agents do not each claim the whole machine, nor the same ports.
pub fn shares(whole: &Resources, n: u32) -> Vec<String> {
    let n = n.max(1);
    let ports: Vec<u64> = whole
        .ports()
        .map(|ranges| {
            ranges
                .as_slice()
                .iter()
                .flat_map(|range| range.begin..=range.end)
                .collect()
        })
        .unwrap_or_default();
    let per_agent_ports = ports.len() / n as usize;
    (0..n as usize)
        .map(|index| {
            let mut parts = Vec::new();
            for (name, scalar) in whole.scalars() {
                let share = scalar.value() / f64::from(n);
                let share = if name == "cpus" {
                    (share * 100.0).floor() / 100.0
                } else {
                    share.floor()
                };
                parts.push(format!("{name}:{share}"));
            }
            let slice = &ports[(index * per_agent_ports)..((index + 1) * per_agent_ports)];
            if let Some(ranges) = contiguous(slice) {
                parts.push(format!("ports:[{ranges}]"));
            }
            parts.join(";")
        })
        .collect()
}

/// Sorted port numbers as Mesos range text (`31000-31499,31600-31700`); `None` when
/// there are none.
fn contiguous(ports: &[u64]) -> Option<String> {
    let mut ranges: Vec<Range> = Vec::new();
    for &port in ports {
        match ranges.last_mut() {
            Some(last) if last.end + 1 == port => last.end = port,
            _ => ranges.push(Range::new(port, port)),
        }
    }
    (!ranges.is_empty()).then(|| {
        ranges
            .iter()
            .map(Range::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole() -> Resources {
        Resources::parse("cpus:3;mem:1000;disk:5001;ports:[31000-32000]", "*").unwrap()
    }

    #[test]
    fn one_agent_gets_everything() {
        let shares = shares(&whole(), 1);
        let share = Resources::parse(&shares[0], "*").unwrap();
        assert_eq!(share, whole());
    }

    #[test]
    fn agents_split_the_machine_and_the_ports() {
        let shares: Vec<Resources> = shares(&whole(), 2)
            .iter()
            .map(|text| Resources::parse(text, "*").unwrap())
            .collect();
        assert_eq!(shares[0].cpus(), Some(1.5));
        assert_eq!(shares[0].mem(), Some(500.0));
        assert_eq!(shares[1].disk(), Some(2500.0));
        assert_eq!(
            shares[0].ports().map(|p| p.to_string()),
            Some("[31000-31499]".to_owned())
        );
        assert_eq!(
            shares[1].ports().map(|p| p.to_string()),
            Some("[31500-31999]".to_owned())
        );
    }

    #[test]
    fn cpus_are_cut_to_the_hundredth() {
        let shares = shares(&whole(), 7);
        assert!(shares[0].starts_with("cpus:0.42;"), "{}", shares[0]);
    }

    #[test]
    fn scattered_ports_become_several_ranges() {
        assert_eq!(contiguous(&[1, 2, 3, 7, 8]).as_deref(), Some("1-3,7-8"));
        assert_eq!(contiguous(&[]), None);
    }

    #[test]
    fn flags_have_mesos_names_and_defaults() {
        let flags = Flags::try_parse_from(["mesos-local"]).unwrap();
        assert_eq!(flags.port, 5050);
        assert_eq!(flags.num_slaves, 1);
        assert!(flags.work_dir.is_none());
        let flags = Flags::try_parse_from(["mesos-local", "--num_slaves=3", "--quiet"]).unwrap();
        assert_eq!(flags.num_slaves, 3);
        assert!(flags.quiet);
        assert!(Flags::try_parse_from(["mesos-local", "--num_slaves=0"]).is_err());
    }
}
