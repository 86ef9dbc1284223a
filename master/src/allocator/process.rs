//! `AllocatorProcess`: the pure `HierarchicalAllocator` in a process of its own, so
//! that allocation cycles run beside the master instead of inside it; and `Allocator`,
//! the master's facade to it, whose methods only dispatch (Mesos's `MesosAllocator`).
//!
//! Cycles run every `--allocation_interval`, and at once (for the agents concerned)
//! when an agent or framework is added or activated, or a framework revives. Requests
//! queued while a run is pending are merged into it. Each cycle's allocations go to
//! the master's `offer`.

use std::collections::{BTreeSet, HashMap, HashSet};

use libproc::{Addr, Clock, Context, Process, ProcessId, SpawnError};
use mesos_proto::mesos::{
    AgentCapability, AgentCapabilityType, AgentInfo, Filters, FrameworkCapabilityType,
    FrameworkInfo,
};
use mesos_proto::{AgentId, FrameworkId, Resources};

use super::hierarchical::HierarchicalAllocator;
use super::{
    refuse_duration, AgentCapabilities, AllocatorError, FrameworkCapabilities, FrameworkConfig,
    Options,
};
use crate::master::Master;

/// Which agents the next immediate cycle covers.
#[derive(Debug)]
enum Pending {
    /// No immediate cycle is queued.
    Nothing,
    /// These agents.
    Agents(HashSet<AgentId>),
    /// Every agent.
    All,
}

/// The process that owns the allocator's state.
#[derive(Debug)]
pub struct AllocatorProcess {
    allocator: HierarchicalAllocator,
    master: Option<Addr<Master>>,
    pending: Pending,
}

impl Process for AllocatorProcess {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.delay(
            self.allocator.options().allocation_interval,
            AllocatorProcess::allocation_tick,
        );
    }
}

impl AllocatorProcess {
    /// The periodic cycle over every agent.
    fn allocation_tick(&mut self, ctx: &mut Context<Self>) {
        self.allocate(None);
        ctx.delay(
            self.allocator.options().allocation_interval,
            AllocatorProcess::allocation_tick,
        );
    }

    /// Queues an immediate cycle for `agents` (every agent when `None`), merged with
    /// the requests that arrive before it runs.
    fn request_allocation(&mut self, agents: Option<AgentId>, ctx: &mut Context<Self>) {
        let first = matches!(self.pending, Pending::Nothing);
        self.pending = match (
            std::mem::replace(&mut self.pending, Pending::Nothing),
            agents,
        ) {
            (Pending::All, _) | (_, None) => Pending::All,
            (Pending::Nothing, Some(agent)) => Pending::Agents(HashSet::from([agent])),
            (Pending::Agents(mut set), Some(agent)) => {
                set.insert(agent);
                Pending::Agents(set)
            }
        };
        if first {
            // Behind the events already queued, so that they join this cycle.
            drop(libproc::dispatch(
                &ctx.addr(),
                |process: &mut AllocatorProcess, _| process.run_pending(),
            ));
        }
    }

    fn run_pending(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing => {}
            Pending::All => self.allocate(None),
            Pending::Agents(agents) => {
                let agents: Vec<AgentId> = agents.into_iter().collect();
                self.allocate(Some(&agents));
            }
        }
    }

    fn allocate(&mut self, agents: Option<&[AgentId]>) {
        let allocations = self.allocator.allocate(Clock::now(), agents);
        metrics::counter!("allocator/mesos/allocation_runs").increment(1);
        if allocations.is_empty() {
            return;
        }
        if let Some(master) = &self.master {
            drop(libproc::dispatch(master, move |master, ctx| {
                master.offer(allocations, ctx)
            }));
        }
    }
}

/// Logs what the allocator refused: the master validated first, so this means the
/// two disagree, which is a bug to see in the log rather than a reason to stop.
fn logged(result: Result<(), AllocatorError>) {
    if let Err(error) = result {
        tracing::warn!(%error, "The allocator refused a call from the master");
    }
}

/// The master's handle to the allocator process. Every method dispatches and returns
/// at once.
#[derive(Debug, Clone)]
pub struct Allocator {
    addr: Addr<AllocatorProcess>,
}

impl Allocator {
    /// Spawns the allocator process.
    pub fn start(options: Options) -> Result<Allocator, StartAllocatorError> {
        let allocator = HierarchicalAllocator::new(options)?;
        let process = AllocatorProcess {
            allocator,
            master: None,
            pending: Pending::Nothing,
        };
        let addr = libproc::spawn(process, ProcessId::generate("hierarchical-allocator"))?;
        Ok(Allocator { addr })
    }

    /// Stops the allocator process (the master does, when it stops).
    pub fn stop(&self) {
        libproc::terminate(self.addr.pid());
    }

    fn call(
        &self,
        f: impl FnOnce(&mut AllocatorProcess, &mut Context<AllocatorProcess>) + Send + 'static,
    ) {
        drop(libproc::dispatch(&self.addr, f));
    }

    /// Where allocations go: the master calls it from its `initialize`.
    pub fn initialize(&self, master: Addr<Master>) {
        self.call(move |process, _| process.master = Some(master));
    }

    /// A framework subscribed (or was recovered, inactive, from agents' reports).
    pub fn add_framework(
        &self,
        id: FrameworkId,
        info: FrameworkInfo,
        used: HashMap<AgentId, Resources>,
        active: bool,
        suppressed: HashSet<String>,
    ) {
        let config = framework_config(&info, suppressed);
        self.call(move |process, ctx| {
            logged(process.allocator.add_framework(id, config, &used, active));
            if active {
                process.request_allocation(None, ctx);
            }
        });
    }

    /// A framework's roles, capabilities or suppressed roles changed.
    pub fn update_framework(
        &self,
        id: FrameworkId,
        info: FrameworkInfo,
        suppressed: HashSet<String>,
    ) {
        let config = framework_config(&info, suppressed);
        self.call(move |process, _| logged(process.allocator.update_framework(&id, config)));
    }

    /// A framework was removed; what it held is free again.
    pub fn remove_framework(&self, id: FrameworkId) {
        self.call(move |process, _| logged(process.allocator.remove_framework(&id)));
    }

    /// A framework is offered resources again.
    pub fn activate_framework(&self, id: FrameworkId) {
        self.call(move |process, ctx| {
            logged(process.allocator.activate_framework(&id));
            process.request_allocation(None, ctx);
        });
    }

    /// A framework is offered nothing until activated.
    pub fn deactivate_framework(&self, id: FrameworkId) {
        self.call(move |process, _| logged(process.allocator.deactivate_framework(&id)));
    }

    /// An agent was admitted, with what its tasks already use per framework.
    pub fn add_agent(
        &self,
        id: AgentId,
        info: AgentInfo,
        capabilities: Vec<AgentCapability>,
        used: HashMap<FrameworkId, Resources>,
    ) {
        let capabilities = agent_capabilities(&capabilities);
        self.call(move |process, ctx| {
            logged(
                process
                    .allocator
                    .add_agent(id.clone(), capabilities, info.resources, &used),
            );
            process.request_allocation(Some(id), ctx);
        });
    }

    /// An agent was removed.
    pub fn remove_agent(&self, id: AgentId) {
        self.call(move |process, _| logged(process.allocator.remove_agent(&id)));
    }

    /// An agent's resources are offered again.
    pub fn activate_agent(&self, id: AgentId) {
        self.call(move |process, ctx| {
            logged(process.allocator.activate_agent(&id));
            process.request_allocation(Some(id), ctx);
        });
    }

    /// An agent's resources are not offered until it is activated.
    pub fn deactivate_agent(&self, id: AgentId) {
        self.call(move |process, _| logged(process.allocator.deactivate_agent(&id)));
    }

    /// Resources come back: declined or unused with `filters` (whose unset
    /// `refuse_seconds` means five seconds), or rescinded and freed with `None`.
    pub fn recover_resources(
        &self,
        framework_id: FrameworkId,
        agent_id: AgentId,
        resources: Resources,
        filters: Option<Filters>,
    ) {
        let refuse = filters.and_then(|f| refuse_duration(f.refuse_seconds));
        self.call(move |process, _| {
            process.allocator.recover_resources(
                &framework_id,
                &agent_id,
                &resources,
                refuse,
                Clock::now(),
            )
        });
    }

    /// SUPPRESS.
    pub fn suppress(&self, id: FrameworkId, roles: Vec<String>) {
        let roles: BTreeSet<String> = roles.into_iter().collect();
        self.call(move |process, _| logged(process.allocator.suppress_offers(&id, &roles)));
    }

    /// REVIVE: filters cleared and a cycle at once.
    pub fn revive(&self, id: FrameworkId, roles: Vec<String>) {
        let roles: BTreeSet<String> = roles.into_iter().collect();
        self.call(move |process, ctx| {
            logged(process.allocator.revive_offers(&id, &roles));
            process.request_allocation(None, ctx);
        });
    }
}

/// Why the allocator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartAllocatorError {
    /// Its options were refused.
    #[error(transparent)]
    Options(#[from] AllocatorError),
    /// Its process did not spawn.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

fn framework_config(info: &FrameworkInfo, suppressed: HashSet<String>) -> FrameworkConfig {
    FrameworkConfig {
        roles: info.roles().into_iter().collect(),
        suppressed_roles: suppressed.into_iter().collect(),
        capabilities: FrameworkCapabilities {
            multi_role: info.has_capability(FrameworkCapabilityType::MULTI_ROLE),
            gpu_resources: info.has_capability(FrameworkCapabilityType::GPU_RESOURCES),
            reservation_refinement: info
                .has_capability(FrameworkCapabilityType::RESERVATION_REFINEMENT),
        },
        min_allocatable_resources: Default::default(),
    }
}

fn agent_capabilities(capabilities: &[AgentCapability]) -> AgentCapabilities {
    let has = |kind| capabilities.iter().any(|c| c.kind == kind);
    AgentCapabilities {
        multi_role: has(AgentCapabilityType::MULTI_ROLE),
        hierarchical_role: has(AgentCapabilityType::HIERARCHICAL_ROLE),
    }
}
