//! `AgentObserver` (Mesos's `slave-observer(N)`): pings one agent every
//! `--agent_ping_timeout` and has the master mark it unreachable after
//! `--max_agent_ping_timeouts` pings in a row go unanswered.
//!
//! Messages: sends `PingSlaveMessage` to the agent; handles `PongSlaveMessage` from it.

use std::time::Duration;

use libproc::{Addr, Context, Pid, Process, ProcessId};
use mesos_proto::messages::{PingSlaveMessage, PongSlaveMessage};
use mesos_proto::AgentId;

use crate::flags::Flags;
use crate::master::Master;

/// The health checker of one agent.
#[derive(Debug)]
pub struct AgentObserver {
    agent_id: AgentId,
    agent: Pid,
    master: Addr<Master>,
    timeout: Duration,
    max_timeouts: u32,
    /// A ping is out and no pong came back yet.
    pinged: bool,
    /// Pings in a row that went unanswered.
    timeouts: u32,
}

impl AgentObserver {
    /// Starts watching `agent`; returns the observer, or `None` if it could not be
    /// spawned (then the agent goes unwatched, which is logged).
    pub fn start(
        agent_id: AgentId,
        agent: Pid,
        master: Addr<Master>,
        flags: &Flags,
    ) -> Option<Addr<AgentObserver>> {
        let observer = AgentObserver {
            agent_id,
            agent,
            master,
            timeout: flags.agent_ping_timeout,
            max_timeouts: flags.max_agent_ping_timeouts,
            pinged: false,
            timeouts: 0,
        };
        match libproc::spawn(observer, ProcessId::generate("slave-observer")) {
            Ok(addr) => Some(addr),
            Err(error) => {
                tracing::error!(%error, "Could not start an agent's health checker");
                None
            }
        }
    }

    /// The agent re-registered, possibly from a new pid: pings go there, and the
    /// count of misses starts again.
    pub fn reconnected(observer: &Addr<AgentObserver>, agent: Pid) {
        drop(libproc::dispatch(observer, move |observer, _ctx| {
            observer.agent = agent;
            observer.pinged = false;
            observer.timeouts = 0;
        }));
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        ctx.send(&self.agent, PingSlaveMessage { connected: true });
        self.pinged = true;
        ctx.delay(self.timeout, AgentObserver::ping_timeout);
    }

    fn pong(&mut self, from: Pid, _pong: PongSlaveMessage, _ctx: &mut Context<Self>) {
        if from != self.agent {
            return tracing::warn!(%from, agent_id = %self.agent_id, "Ignoring pong from a pid that is not the agent's");
        }
        self.pinged = false;
        self.timeouts = 0;
    }

    fn ping_timeout(&mut self, ctx: &mut Context<Self>) {
        if self.pinged {
            self.timeouts += 1;
            tracing::debug!(agent_id = %self.agent_id, misses = self.timeouts, "Agent missed a ping");
            if self.timeouts >= self.max_timeouts {
                tracing::warn!(agent_id = %self.agent_id, misses = self.timeouts, "Agent failed its health checks");
                let agent_id = self.agent_id.clone();
                drop(libproc::dispatch(&self.master, move |master, ctx| {
                    master.mark_unreachable(&agent_id, ctx)
                }));
                self.timeouts = 0;
            }
        }
        self.ping(ctx);
    }
}

impl Process for AgentObserver {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        // From the agent.
        ctx.install(AgentObserver::pong);
        self.ping(ctx);
    }
}
