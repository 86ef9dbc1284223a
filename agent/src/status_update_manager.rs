//! Reliable delivery of task status updates from the agent to the master
//! (Mesos `TaskStatusUpdateManager` and `TaskStatusUpdateStream`,
//! `mesos-messages.md` §1.5).
//!
//! Every task has one [`UpdateStream`]: the updates the agent accepted for it,
//! in order. Only the head is in flight; it is resent on the schedule of
//! [`next_retry_interval`] until the master relays the framework's
//! acknowledgement, which pops it and puts the next one in flight. An
//! acknowledged terminal update ends the stream. Duplicates (an executor
//! retrying, an acknowledgement for both an update and its resend) are
//! recognised by uuid and ignored.
//!
//! For frameworks that checkpoint, each accepted update and each
//! acknowledgement is appended to the task's `task.updates` file *before* it
//! changes the stream, so that after a restart [`UpdateStream::replay`]
//! rebuilds exactly the stream that was acknowledged to the executor.
//!
//! The pure stream and the retry schedule come first; the
//! [`StatusUpdateManager`] process only wires them to timers and to the
//! callback that sends heads to the master.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use libproc::{Context, Process, Timer};
use mesos_proto::messages::StatusUpdate;
use mesos_proto::{FrameworkId, TaskId};
use tracing::warn;

use crate::state::{self, StateError, StatusUpdateRecord};

/// How long the first forward of an update waits for its acknowledgement
/// before it is resent (Mesos `STATUS_UPDATE_RETRY_INTERVAL_MIN`).
pub const STATUS_UPDATE_RETRY_INTERVAL_MIN: Duration = Duration::from_secs(10);

/// The longest wait between resends (Mesos `STATUS_UPDATE_RETRY_INTERVAL_MAX`).
pub const STATUS_UPDATE_RETRY_INTERVAL_MAX: Duration = Duration::from_secs(10 * 60);

/// How long to wait for an acknowledgement after a send: the minimum after
/// the first send (`previous` is `None`), then double the previous wait,
/// capped at the maximum.
pub fn next_retry_interval(previous: Option<Duration>) -> Duration {
    match previous {
        None => STATUS_UPDATE_RETRY_INTERVAL_MIN,
        Some(previous) => previous.saturating_mul(2).clamp(
            STATUS_UPDATE_RETRY_INTERVAL_MIN,
            STATUS_UPDATE_RETRY_INTERVAL_MAX,
        ),
    }
}

/// Why a stream refused an update, an acknowledgement or its records.
#[derive(Debug, thiserror::Error)]
#[error("status update stream of task {task_id} of framework {framework_id}: {kind}")]
pub struct StreamError {
    /// The stream's framework.
    pub framework_id: FrameworkId,
    /// The stream's task.
    pub task_id: TaskId,
    /// What went wrong.
    pub kind: StreamErrorKind,
}

/// What went wrong in a stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamErrorKind {
    /// The update carries no uuid, so it could never be acknowledged.
    #[error("the update has no uuid")]
    MissingUuid,
    /// The update is for another task than the stream's.
    #[error("the update is for task {0}")]
    WrongTask(TaskId),
    /// A terminal update was acknowledged; the stream takes nothing more.
    #[error("the stream is terminated")]
    Terminated,
    /// Appending to `task.updates` failed; the stream refuses everything
    /// afterwards, because memory and file no longer agree.
    #[error("failed to checkpoint: {0}")]
    Checkpoint(#[source] StateError),
    /// An earlier checkpoint failed (see `Checkpoint`).
    #[error("the stream failed earlier: {0}")]
    Failed(String),
    /// The manager has no stream for that task.
    #[error("no such stream")]
    Unknown,
    /// Checkpointed records cannot have been written by a stream.
    #[error("inconsistent checkpointed records: {0}")]
    Replay(String),
}

/// What [`UpdateStream::update`] did with an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Queued (and checkpointed); it is the head if the queue was empty.
    Queued,
    /// Its uuid was already received or acknowledged; ignored.
    Duplicate,
}

/// What [`UpdateStream::acknowledge`] did with an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// The head was acknowledged and popped; `terminated` says whether it was
    /// terminal, which ends the stream.
    Acknowledged {
        /// Whether the stream is now terminated.
        terminated: bool,
    },
    /// That uuid was acknowledged before; ignored.
    Duplicate,
    /// The uuid is not the head's (for example the acknowledgement of an
    /// update whose resend was acknowledged already); ignored.
    Unexpected,
}

/// One task's status updates, in order, with the head in flight (Mesos
/// `TaskStatusUpdateStream`).
#[derive(Debug)]
pub struct UpdateStream {
    framework_id: FrameworkId,
    task_id: TaskId,
    /// `task.updates`, for frameworks that checkpoint.
    checkpoint: Option<PathBuf>,
    received: HashSet<Vec<u8>>,
    acknowledged: HashSet<Vec<u8>>,
    pending: VecDeque<StatusUpdate>,
    terminated: bool,
    failed: Option<String>,
}

impl UpdateStream {
    /// An empty stream for `task_id`; with `checkpoint`, every update and
    /// acknowledgement is appended to that `task.updates` file first.
    pub fn new(framework_id: FrameworkId, task_id: TaskId, checkpoint: Option<PathBuf>) -> Self {
        Self {
            framework_id,
            task_id,
            checkpoint,
            received: HashSet::new(),
            acknowledged: HashSet::new(),
            pending: VecDeque::new(),
            terminated: false,
            failed: None,
        }
    }

    /// The stream's framework.
    pub fn framework_id(&self) -> &FrameworkId {
        &self.framework_id
    }

    /// The stream's task.
    pub fn task_id(&self) -> &TaskId {
        &self.task_id
    }

    /// The update in flight: the oldest one not acknowledged yet.
    pub fn head(&self) -> Option<&StatusUpdate> {
        self.pending.front()
    }

    /// Every update not acknowledged yet, head first.
    pub fn pending(&self) -> impl ExactSizeIterator<Item = &StatusUpdate> {
        self.pending.iter()
    }

    /// Whether a terminal update was acknowledged, so the stream is over.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }

    /// Accepts an update from the executor or the agent: checkpoints it when
    /// the framework checkpoints, then queues it behind the ones in flight.
    pub fn update(&mut self, update: StatusUpdate) -> Result<Accepted, StreamError> {
        self.check_failed()?;
        if update.status.task_id != self.task_id {
            return Err(self.error(StreamErrorKind::WrongTask(update.status.task_id)));
        }
        let uuid = uuid_of(&update).ok_or_else(|| self.error(StreamErrorKind::MissingUuid))?;
        if self.received.contains(uuid) || self.acknowledged.contains(uuid) {
            warn!(task_id = %self.task_id, framework_id = %self.framework_id, uuid = %Hex(uuid),
                "Ignoring duplicate status update");
            return Ok(Accepted::Duplicate);
        }
        if self.terminated {
            return Err(self.error(StreamErrorKind::Terminated));
        }
        self.append(|| StatusUpdateRecord::Update(update.clone()))?;
        self.received.insert(uuid.to_vec());
        self.pending.push_back(update);
        Ok(Accepted::Queued)
    }

    /// Handles the framework's acknowledgement of `uuid`, relayed by the
    /// master: if it is the head's, checkpoints it and pops the head.
    pub fn acknowledge(&mut self, uuid: &[u8]) -> Result<AckOutcome, StreamError> {
        self.check_failed()?;
        if self.acknowledged.contains(uuid) {
            warn!(task_id = %self.task_id, uuid = %Hex(uuid), "Ignoring duplicate acknowledgement");
            return Ok(AckOutcome::Duplicate);
        }
        if self.terminated {
            return Err(self.error(StreamErrorKind::Terminated));
        }
        if self.head().and_then(uuid_of) != Some(uuid) {
            warn!(task_id = %self.task_id, uuid = %Hex(uuid),
                "Ignoring acknowledgement that is not for the update in flight");
            return Ok(AckOutcome::Unexpected);
        }
        self.append(|| StatusUpdateRecord::Ack(uuid.to_vec()))?;
        Ok(self.pop_acknowledged())
    }

    /// Rebuilds the stream from the records its `task.updates` file held, in
    /// order, without writing them again. Records a stream could not have
    /// written (an acknowledgement of anything but the head, an update after
    /// the end) are an error.
    pub fn replay(
        &mut self,
        records: impl IntoIterator<Item = StatusUpdateRecord>,
    ) -> Result<(), StreamError> {
        for record in records {
            self.replay_one(record)?;
        }
        Ok(())
    }

    fn replay_one(&mut self, record: StatusUpdateRecord) -> Result<(), StreamError> {
        let replay_error =
            |stream: &Self, reason: &str| stream.error(StreamErrorKind::Replay(reason.to_owned()));
        if self.terminated {
            return Err(replay_error(
                self,
                "a record follows the terminal acknowledgement",
            ));
        }
        match record {
            StatusUpdateRecord::Update(update) => {
                let Some(uuid) = uuid_of(&update) else {
                    return Err(replay_error(self, "an update has no uuid"));
                };
                if !self.received.insert(uuid.to_vec()) {
                    return Err(replay_error(self, "an update is recorded twice"));
                }
                self.pending.push_back(update);
            }
            StatusUpdateRecord::Ack(uuid) => {
                if self.head().and_then(uuid_of) != Some(&uuid[..]) {
                    return Err(replay_error(self, "an acknowledgement is not for the head"));
                }
                self.pop_acknowledged();
            }
        }
        Ok(())
    }

    /// Pops the head, whose acknowledgement was just recorded.
    fn pop_acknowledged(&mut self) -> AckOutcome {
        let head = self
            .pending
            .pop_front()
            .expect("callers check the acknowledgement matches the head");
        if let Some(uuid) = uuid_of(&head) {
            self.acknowledged.insert(uuid.to_vec());
        }
        self.terminated = head.status.state.is_terminal();
        AckOutcome::Acknowledged {
            terminated: self.terminated,
        }
    }

    /// Appends a record to `task.updates` if the framework checkpoints; a
    /// failure fails the stream for good.
    fn append(&mut self, record: impl FnOnce() -> StatusUpdateRecord) -> Result<(), StreamError> {
        let Some(path) = &self.checkpoint else {
            return Ok(());
        };
        if let Err(e) = state::append_record(path, &record()) {
            self.failed = Some(e.to_string());
            return Err(self.error(StreamErrorKind::Checkpoint(e)));
        }
        Ok(())
    }

    fn check_failed(&self) -> Result<(), StreamError> {
        match &self.failed {
            Some(reason) => Err(self.error(StreamErrorKind::Failed(reason.clone()))),
            None => Ok(()),
        }
    }

    fn error(&self, kind: StreamErrorKind) -> StreamError {
        StreamError {
            framework_id: self.framework_id.clone(),
            task_id: self.task_id.clone(),
            kind,
        }
    }
}

/// The uuid that acknowledges `update`: `status.uuid`, or the deprecated copy
/// in `update.uuid` from older senders.
pub fn uuid_of(update: &StatusUpdate) -> Option<&[u8]> {
    update.status.uuid.as_deref().or(update.uuid.as_deref())
}

/// The key of a stream: one task of one framework.
type StreamKey = (FrameworkId, TaskId);

/// Called with each update to send to the master: the first send of a new
/// head, every retry, and every head again on `resume`.
pub type Forward = Box<dyn FnMut(&StatusUpdate) + Send>;

/// A stream the manager keeps, with the retry timer of its head.
#[derive(Debug)]
struct Tracked {
    stream: UpdateStream,
    /// The pending retry of the head.
    retry: Option<Timer>,
    /// Counts sends, so a retry whose timer fired just before it was
    /// cancelled can tell it is stale.
    sends: u64,
}

impl Tracked {
    fn new(stream: UpdateStream) -> Self {
        Self {
            stream,
            retry: None,
            sends: 0,
        }
    }

    fn cancel_retry(&mut self) {
        if let Some(timer) = self.retry.take() {
            timer.cancel();
        }
    }
}

/// The agent's status update manager process (Mesos
/// `TaskStatusUpdateManagerProcess`): one [`UpdateStream`] per task, the head
/// of each sent through the `forward` callback and resent on the
/// [`next_retry_interval`] schedule until acknowledged.
///
/// It installs no messages: the `Agent` calls it by `dispatch` when an
/// executor sends an update, when the master relays an acknowledgement, and
/// when the agent (dis)connects. It starts paused, because a starting agent
/// is not registered yet.
pub struct StatusUpdateManager {
    forward: Forward,
    streams: HashMap<StreamKey, Tracked>,
    paused: bool,
}

impl fmt::Debug for StatusUpdateManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusUpdateManager")
            .field("streams", &self.streams.len())
            .field("paused", &self.paused)
            .finish_non_exhaustive()
    }
}

impl Process for StatusUpdateManager {}

impl StatusUpdateManager {
    /// A paused manager with no streams that sends heads through `forward`.
    pub fn new(forward: Forward) -> Self {
        Self {
            forward,
            streams: HashMap::new(),
            paused: true,
        }
    }

    /// Adopts a stream rebuilt by [`UpdateStream::replay`] at recovery; its
    /// head is sent on the next `resume`. A terminated stream has nothing
    /// left to send and is dropped.
    pub fn recover(&mut self, stream: UpdateStream) {
        if stream.is_terminated() {
            return;
        }
        let key = (stream.framework_id().clone(), stream.task_id().clone());
        self.streams.insert(key, Tracked::new(stream));
    }

    /// Accepts an update for its task's stream, creating the stream (with
    /// `checkpoint` as its `task.updates`, for checkpointing frameworks) on
    /// the first update. A new head is sent at once unless paused.
    pub fn update(
        &mut self,
        update: StatusUpdate,
        checkpoint: Option<PathBuf>,
        ctx: &mut Context<Self>,
    ) -> Result<Accepted, StreamError> {
        let key = (update.framework_id.clone(), update.status.task_id.clone());
        let tracked = self.streams.entry(key.clone()).or_insert_with(|| {
            Tracked::new(UpdateStream::new(key.0.clone(), key.1.clone(), checkpoint))
        });
        let accepted = tracked.stream.update(update)?;
        if accepted == Accepted::Queued && tracked.stream.pending().len() == 1 {
            self.forward_head(&key, None, ctx);
        }
        Ok(accepted)
    }

    /// Handles an acknowledgement the master relayed: pops the head, sends
    /// the next one, and forgets the stream once it is terminated.
    pub fn acknowledge(
        &mut self,
        framework_id: &FrameworkId,
        task_id: &TaskId,
        uuid: &[u8],
        ctx: &mut Context<Self>,
    ) -> Result<AckOutcome, StreamError> {
        let key = (framework_id.clone(), task_id.clone());
        let Some(tracked) = self.streams.get_mut(&key) else {
            return Err(StreamError {
                framework_id: key.0,
                task_id: key.1,
                kind: StreamErrorKind::Unknown,
            });
        };
        let outcome = tracked.stream.acknowledge(uuid)?;
        if let AckOutcome::Acknowledged { terminated } = outcome {
            tracked.cancel_retry();
            if terminated {
                self.streams.remove(&key);
            } else {
                self.forward_head(&key, None, ctx);
            }
        }
        Ok(outcome)
    }

    /// Drops every stream of a framework being shut down: nobody would
    /// acknowledge their updates.
    pub fn cleanup(&mut self, framework_id: &FrameworkId) {
        self.streams.retain(|(framework, _), tracked| {
            let keep = framework != framework_id;
            if !keep {
                tracked.cancel_retry();
            }
            keep
        });
    }

    /// Stops sending, when the agent loses its master; pending retries
    /// lapse.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Sends every head again and restarts their retries from the minimum,
    /// when the agent has (re)registered.
    pub fn resume(&mut self, ctx: &mut Context<Self>) {
        self.paused = false;
        let keys: Vec<StreamKey> = self.streams.keys().cloned().collect();
        for key in keys {
            self.forward_head(&key, None, ctx);
        }
    }

    /// The number of streams with updates not yet acknowledged or kept.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Sends the head of `key`'s stream, if any and not paused, and
    /// schedules its retry after the wait following `previous`.
    fn forward_head(
        &mut self,
        key: &StreamKey,
        previous: Option<Duration>,
        ctx: &mut Context<Self>,
    ) {
        let Some(tracked) = self.streams.get_mut(key) else {
            return;
        };
        tracked.cancel_retry();
        let Some(head) = tracked.stream.head() else {
            return;
        };
        if self.paused {
            return;
        }
        (self.forward)(head);
        tracked.sends += 1;
        let (sends, wait) = (tracked.sends, next_retry_interval(previous));
        let retry_key = key.clone();
        let timer = ctx.delay(wait, move |this: &mut Self, ctx| {
            this.retry_timeout(&retry_key, sends, wait, ctx)
        });
        tracked.retry = Some(timer);
    }

    /// The head sent (as send number `sends`) `wait` ago was not
    /// acknowledged: send it again, unless anything was sent since (an
    /// acknowledgement moved the stream on, or `resume` resent it) or the
    /// manager is paused.
    fn retry_timeout(
        &mut self,
        key: &StreamKey,
        sends: u64,
        wait: Duration,
        ctx: &mut Context<Self>,
    ) {
        let Some(tracked) = self.streams.get(key) else {
            return;
        };
        if tracked.sends != sends || self.paused {
            return;
        }
        warn!(framework_id = %key.0, task_id = %key.1, "Resending unacknowledged status update");
        self.forward_head(key, Some(wait), ctx);
    }
}

/// Prints a uuid's bytes as hex in log lines.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests;
