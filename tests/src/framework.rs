//! A framework in the test process: the real `MesosSchedulerDriver` with a scheduler
//! that records every callback as an [`Event`], after an optional [`Reaction`] (so a
//! framework can launch on its offers without the test stepping in).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use mesos_proto::mesos::{
    CommandInfo, Filters, FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskState, TaskStatus,
};
use mesos_proto::{AgentId, ExecutorId, FrameworkId, OfferId, Resources};
use mesos_scheduler_driver::{MesosSchedulerDriver, Scheduler, SchedulerDriver, Status};

use crate::poll::DEADLINE;

/// One scheduler callback with its arguments.
#[derive(Debug, Clone)]
pub enum Event {
    /// `registered`.
    Registered(FrameworkId, MasterInfo),
    /// `reregistered`.
    Reregistered(MasterInfo),
    /// `disconnected`.
    Disconnected,
    /// `resource_offers`.
    Offers(Vec<Offer>),
    /// `offer_rescinded`.
    Rescinded(OfferId),
    /// `status_update`.
    Update(TaskStatus),
    /// `framework_message`.
    Message(ExecutorId, AgentId, Vec<u8>),
    /// `agent_lost`.
    AgentLost(AgentId),
    /// `executor_lost`.
    ExecutorLost(ExecutorId, AgentId, i32),
    /// `error`.
    Error(String),
}

/// What the scheduler does with its driver on a callback, before recording it. It
/// runs on the driver's process, so it must not block.
pub type Reaction = Box<dyn FnMut(&dyn SchedulerDriver, &Event) + Send>;

/// The scheduler: every callback goes to the test through a channel.
struct Recorder {
    events: Sender<Event>,
    reaction: Option<Reaction>,
}

impl Recorder {
    fn record(&mut self, driver: &dyn SchedulerDriver, event: Event) {
        if let Some(reaction) = &mut self.reaction {
            reaction(driver, &event);
        }
        // The test may have stopped listening; the driver need not care.
        let _ = self.events.send(event);
    }
}

impl Scheduler for Recorder {
    fn registered(&mut self, driver: &dyn SchedulerDriver, id: FrameworkId, info: MasterInfo) {
        self.record(driver, Event::Registered(id, info));
    }
    fn reregistered(&mut self, driver: &dyn SchedulerDriver, info: MasterInfo) {
        self.record(driver, Event::Reregistered(info));
    }
    fn disconnected(&mut self, driver: &dyn SchedulerDriver) {
        self.record(driver, Event::Disconnected);
    }
    fn resource_offers(&mut self, driver: &dyn SchedulerDriver, offers: Vec<Offer>) {
        self.record(driver, Event::Offers(offers));
    }
    fn offer_rescinded(&mut self, driver: &dyn SchedulerDriver, offer_id: OfferId) {
        self.record(driver, Event::Rescinded(offer_id));
    }
    fn status_update(&mut self, driver: &dyn SchedulerDriver, status: TaskStatus) {
        self.record(driver, Event::Update(status));
    }
    fn framework_message(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        data: Vec<u8>,
    ) {
        self.record(driver, Event::Message(executor_id, agent_id, data));
    }
    fn agent_lost(&mut self, driver: &dyn SchedulerDriver, agent_id: AgentId) {
        self.record(driver, Event::AgentLost(agent_id));
    }
    fn executor_lost(
        &mut self,
        driver: &dyn SchedulerDriver,
        executor_id: ExecutorId,
        agent_id: AgentId,
        status: i32,
    ) {
        self.record(driver, Event::ExecutorLost(executor_id, agent_id, status));
    }
    fn error(&mut self, driver: &dyn SchedulerDriver, message: String) {
        self.record(driver, Event::Error(message));
    }
}

/// A started driver and the events of its scheduler. Dropping it drops the driver,
/// which only disconnects it: the framework fails over.
pub struct Framework {
    /// The driver, for the test to call as a scheduler would.
    pub driver: MesosSchedulerDriver,
    events: Receiver<Event>,
    /// Events received while waiting for others, oldest first.
    pending: RefCell<VecDeque<Event>>,
}

impl std::fmt::Debug for Framework {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framework").finish_non_exhaustive()
    }
}

impl Framework {
    /// Starts a driver for `info` against `master` (`ip:port`).
    pub fn start(info: FrameworkInfo, master: &str) -> Framework {
        Framework::start_reacting(info, master, None)
    }

    /// Starts a driver whose scheduler runs `reaction` on every callback.
    pub fn start_reacting(
        info: FrameworkInfo,
        master: &str,
        reaction: Option<Reaction>,
    ) -> Framework {
        init_logging();
        let (events, receiver) = channel();
        let recorder = Recorder { events, reaction };
        let driver = MesosSchedulerDriver::new(recorder, info, master);
        assert_eq!(driver.start(), Status::DRIVER_RUNNING, "the driver starts");
        Framework {
            driver,
            events: receiver,
            pending: RefCell::default(),
        }
    }

    /// The first event, in order, that `pick` takes, failing the test with `what`
    /// after the deadline. Events `pick` passes over stay queued for later waits.
    pub fn until<T>(&self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let mut pending = self.pending.borrow_mut();
        if let Some((index, picked)) = pending
            .iter()
            .enumerate()
            .find_map(|(index, event)| Some((index, pick(event)?)))
        {
            pending.remove(index);
            return picked;
        }
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => match pick(&event) {
                    Some(picked) => return picked,
                    None => pending.push_back(event),
                },
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "timed out after {DEADLINE:?} waiting for {what}; passed over: {pending:?}"
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the driver is gone while waiting for {what}")
                }
            }
        }
    }

    /// The framework id, once registered.
    pub fn registered(&self) -> FrameworkId {
        self.until("registration", |event| match event {
            Event::Registered(id, _) => Some(id.clone()),
            _ => None,
        })
    }

    /// The offers of the next `resource_offers`.
    pub fn offers(&self) -> Vec<Offer> {
        self.until("offers", |event| match event {
            Event::Offers(offers) => Some(offers.clone()),
            _ => None,
        })
    }

    /// The first offer of the next `resource_offers`; the others of that call are
    /// declined (without filter, so their resources come back at once).
    pub fn offer(&self) -> Offer {
        let mut offers = self.offers().into_iter();
        let first = offers.next().expect("resource_offers carries an offer");
        for other in offers {
            let no_filter = Filters {
                refuse_seconds: Some(0.0),
            };
            self.driver.decline_offer(other.id, no_filter);
        }
        first
    }

    /// The next status update of `task`.
    pub fn update(&self, task: &str) -> TaskStatus {
        self.until(&format!("an update of {task}"), |event| match event {
            Event::Update(status) if status.task_id.as_str() == task => Some(status.clone()),
            _ => None,
        })
    }

    /// Launches `command` as task `id` (using [`TASK_RESOURCES`]) on the next offer,
    /// declining what it leaves; returns that offer.
    pub fn launch(&self, id: &str, command: &str) -> Offer {
        let offer = self.offer();
        let task = command_task(id, &offer, TASK_RESOURCES, command);
        self.driver
            .launch_tasks(vec![offer.id.clone()], vec![task], Filters::default());
        offer
    }

    /// The updates of `task` until one in `state`, which is the last returned.
    pub fn updates_until(&self, task: &str, state: TaskState) -> Vec<TaskStatus> {
        let mut updates: Vec<TaskStatus> = Vec::new();
        while updates.last().map(|update| update.state) != Some(state) {
            let update = self.update(task);
            assert!(
                update.state == state || !update.state.is_terminal(),
                "{task} ended {:?} ({:?}) while waiting for {state:?}",
                update.state,
                update.message
            );
            updates.push(update);
        }
        updates
    }
}

/// What a task launched by [`Framework::launch`] uses.
pub const TASK_RESOURCES: &str = "cpus:0.5;mem:64";

/// A framework as the driver sends it (user and host filled in by the driver).
pub fn framework_info(name: &str) -> FrameworkInfo {
    FrameworkInfo {
        name: name.into(),
        ..FrameworkInfo::default()
    }
}

/// A command task on `offer` using unreserved `resources` (`cpus:0.5;mem:64`); the
/// master allocates them to the offer's role.
pub fn command_task(id: &str, offer: &Offer, resources: &str, command: &str) -> TaskInfo {
    TaskInfo {
        name: id.into(),
        task_id: id.into(),
        agent_id: offer.agent_id.clone(),
        resources: Resources::parse(resources, "*").expect("the task's resources parse"),
        command: Some(CommandInfo {
            value: Some(command.into()),
            ..CommandInfo::default()
        }),
        ..TaskInfo::default()
    }
}

/// Sends the driver's logs to the test's output (shown when a test fails), filtered
/// by `RUST_LOG`.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
