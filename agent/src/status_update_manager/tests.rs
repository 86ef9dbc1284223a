use mesos_proto::mesos::{TaskState, TaskStatus};

use super::*;
use crate::state::test_support::TempDir;

fn update(state: TaskState, uuid: u8) -> StatusUpdate {
    StatusUpdate {
        framework_id: "f1".into(),
        status: TaskStatus {
            task_id: "t1".into(),
            state,
            uuid: Some(vec![uuid; 16]),
            ..TaskStatus::default()
        },
        uuid: Some(vec![uuid; 16]),
        ..StatusUpdate::default()
    }
}

fn stream() -> UpdateStream {
    UpdateStream::new("f1".into(), "t1".into(), None)
}

fn head_uuid(stream: &UpdateStream) -> Option<u8> {
    stream.head().and_then(uuid_of).map(|u| u[0])
}

#[test]
fn retry_schedule_doubles_from_min_to_max() {
    let mut previous = None;
    let mut waits = Vec::new();
    for _ in 0..9 {
        let next = next_retry_interval(previous);
        waits.push(next.as_secs());
        previous = Some(next);
    }
    assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
}

#[test]
fn retry_schedule_never_overflows() {
    assert_eq!(
        next_retry_interval(Some(Duration::MAX)),
        STATUS_UPDATE_RETRY_INTERVAL_MAX
    );
}

#[test]
fn only_the_oldest_update_is_in_flight() {
    let mut s = stream();
    assert_eq!(
        s.update(update(TaskState::TASK_RUNNING, 1)).unwrap(),
        Accepted::Queued
    );
    assert_eq!(
        s.update(update(TaskState::TASK_FINISHED, 2)).unwrap(),
        Accepted::Queued
    );
    assert_eq!(head_uuid(&s), Some(1));
    assert_eq!(s.pending().len(), 2);
}

#[test]
fn acknowledgement_pops_the_head_and_exposes_the_next() {
    let mut s = stream();
    s.update(update(TaskState::TASK_RUNNING, 1)).unwrap();
    s.update(update(TaskState::TASK_FINISHED, 2)).unwrap();
    let outcome = s.acknowledge(&[1; 16]).unwrap();
    assert_eq!(outcome, AckOutcome::Acknowledged { terminated: false });
    assert_eq!(head_uuid(&s), Some(2));
}

#[test]
fn acknowledged_terminal_update_terminates_the_stream() {
    let mut s = stream();
    s.update(update(TaskState::TASK_FINISHED, 1)).unwrap();
    assert_eq!(
        s.acknowledge(&[1; 16]).unwrap(),
        AckOutcome::Acknowledged { terminated: true }
    );
    assert!(s.is_terminated());
    let err = s.update(update(TaskState::TASK_RUNNING, 2)).unwrap_err();
    assert!(matches!(err.kind, StreamErrorKind::Terminated), "{err}");
    assert_eq!(err.task_id.as_str(), "t1");
}

#[test]
fn duplicate_updates_are_ignored() {
    let mut s = stream();
    s.update(update(TaskState::TASK_RUNNING, 1)).unwrap();
    assert_eq!(
        s.update(update(TaskState::TASK_RUNNING, 1)).unwrap(),
        Accepted::Duplicate
    );
    s.acknowledge(&[1; 16]).unwrap();
    assert_eq!(
        s.update(update(TaskState::TASK_RUNNING, 1)).unwrap(),
        Accepted::Duplicate
    );
    assert_eq!(s.pending().len(), 0);
}

#[test]
fn acknowledgements_not_for_the_head_are_ignored() {
    let mut s = stream();
    assert_eq!(s.acknowledge(&[9; 16]).unwrap(), AckOutcome::Unexpected);
    s.update(update(TaskState::TASK_RUNNING, 1)).unwrap();
    s.update(update(TaskState::TASK_RUNNING, 2)).unwrap();
    assert_eq!(s.acknowledge(&[2; 16]).unwrap(), AckOutcome::Unexpected);
    assert_eq!(
        s.acknowledge(&[1; 16]).unwrap(),
        AckOutcome::Acknowledged { terminated: false }
    );
    assert_eq!(s.acknowledge(&[1; 16]).unwrap(), AckOutcome::Duplicate);
    assert_eq!(head_uuid(&s), Some(2));
}

#[test]
fn update_without_uuid_is_refused() {
    let mut s = stream();
    let mut u = update(TaskState::TASK_RUNNING, 1);
    u.status.uuid = None;
    u.uuid = None;
    let err = s.update(u).unwrap_err();
    assert!(matches!(err.kind, StreamErrorKind::MissingUuid), "{err}");
}

#[test]
fn deprecated_uuid_copy_is_enough() {
    let mut s = stream();
    let mut u = update(TaskState::TASK_RUNNING, 1);
    u.status.uuid = None;
    s.update(u).unwrap();
    assert_eq!(head_uuid(&s), Some(1));
}

#[test]
fn update_for_another_task_is_refused() {
    let mut s = stream();
    let mut u = update(TaskState::TASK_RUNNING, 1);
    u.status.task_id = "t2".into();
    assert!(matches!(
        s.update(u).unwrap_err().kind,
        StreamErrorKind::WrongTask(_)
    ));
}

#[test]
fn checkpointed_stream_replays_to_the_same_state() {
    let dir = TempDir::new("stream");
    let path = dir.path().join("task.updates");
    let mut s = UpdateStream::new("f1".into(), "t1".into(), Some(path.clone()));
    s.update(update(TaskState::TASK_RUNNING, 1)).unwrap();
    s.update(update(TaskState::TASK_RUNNING, 1)).unwrap();
    s.update(update(TaskState::TASK_FINISHED, 2)).unwrap();
    s.acknowledge(&[1; 16]).unwrap();
    s.acknowledge(&[7; 16]).unwrap();

    let records = state::read_records(&path).unwrap().records;
    assert_eq!(
        records.len(),
        3,
        "duplicates and unexpected acks are not recorded"
    );
    let mut replayed = UpdateStream::new("f1".into(), "t1".into(), Some(path.clone()));
    replayed.replay(records).unwrap();
    assert_eq!(head_uuid(&replayed), Some(2));
    assert_eq!(replayed.pending().len(), 1);
    assert_eq!(
        replayed.update(update(TaskState::TASK_RUNNING, 1)).unwrap(),
        Accepted::Duplicate
    );

    replayed.acknowledge(&[2; 16]).unwrap();
    assert!(replayed.is_terminated());
    assert_eq!(state::read_records(&path).unwrap().records.len(), 4);
}

#[test]
fn replay_refuses_records_a_stream_cannot_write() {
    let ack = |n| StatusUpdateRecord::Ack(vec![n; 16]);
    let up = |state, n| StatusUpdateRecord::Update(update(state, n));
    let bad = [
        vec![ack(1)],
        vec![up(TaskState::TASK_RUNNING, 1), ack(2)],
        vec![
            up(TaskState::TASK_RUNNING, 1),
            up(TaskState::TASK_RUNNING, 1),
        ],
        vec![
            up(TaskState::TASK_FAILED, 1),
            ack(1),
            up(TaskState::TASK_RUNNING, 2),
        ],
    ];
    for records in bad {
        let err = stream().replay(records.clone()).unwrap_err();
        assert!(
            matches!(err.kind, StreamErrorKind::Replay(_)),
            "{records:?}: {err}"
        );
    }
}

#[test]
fn failed_checkpoint_fails_the_stream_for_good() {
    let dir = TempDir::new("stream-fail");
    // A directory where the file should be makes every append fail.
    let path = dir.path().join("task.updates");
    std::fs::create_dir(&path).unwrap();
    let mut s = UpdateStream::new("f1".into(), "t1".into(), Some(path));
    let err = s.update(update(TaskState::TASK_RUNNING, 1)).unwrap_err();
    assert!(matches!(err.kind, StreamErrorKind::Checkpoint(_)), "{err}");
    assert_eq!(s.pending().len(), 0, "nothing unrecorded is queued");
    let err = s.acknowledge(&[1; 16]).unwrap_err();
    assert!(matches!(err.kind, StreamErrorKind::Failed(_)), "{err}");
}

mod process {
    use std::sync::{Arc, Mutex};

    use libproc::{Addr, Clock, Config, ProcessId, Runtime, StartError};

    use super::*;

    /// Spawns a manager whose forwards land in the returned list, as the
    /// first byte of each forwarded uuid.
    fn spawn_manager() -> (Addr<StatusUpdateManager>, Arc<Mutex<Vec<u8>>>) {
        match Runtime::start(Config::default()) {
            Ok(_) | Err(StartError::AlreadyStarted(_)) => {}
            Err(e) => panic!("the runtime did not start: {e}"),
        }
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&sent);
        let forward: Forward = Box::new(move |update| {
            let first = uuid_of(update).map_or(0, |uuid| uuid[0]);
            log.lock().expect("no test panics holding it").push(first);
        });
        let manager = StatusUpdateManager::new(forward);
        let addr = libproc::spawn(manager, ProcessId::generate("status-update-manager"))
            .expect("a generated id is free");
        (addr, sent)
    }

    async fn advance(by: u64) {
        Clock::advance(Duration::from_secs(by));
        Clock::settle().await;
    }

    async fn ack(manager: &Addr<StatusUpdateManager>, uuid: u8) -> AckOutcome {
        libproc::dispatch(manager, move |m, ctx| {
            m.acknowledge(&"f1".into(), &"t1".into(), &[uuid; 16], ctx)
        })
        .await
        .unwrap()
        .unwrap()
    }

    #[tokio::test]
    async fn recovered_stream_is_resent_on_resume() {
        let (manager, sent) = spawn_manager();
        let mut stream = stream();
        let records = [
            StatusUpdateRecord::Update(update(TaskState::TASK_RUNNING, 1)),
            StatusUpdateRecord::Ack(vec![1; 16]),
            StatusUpdateRecord::Update(update(TaskState::TASK_FINISHED, 3)),
        ];
        stream.replay(records).unwrap();
        libproc::dispatch(&manager, |m, ctx| {
            m.recover(stream);
            m.resume(ctx);
        })
        .await
        .unwrap();
        // Only the first send is certain: the other test here may advance
        // the shared paused clock past this head's retry.
        let first = sent
            .lock()
            .expect("no test panics holding it")
            .first()
            .copied();
        assert_eq!(first, Some(3));
        libproc::terminate(manager.pid());
    }

    #[tokio::test]
    async fn head_is_retried_with_backoff_until_acknowledged_and_paused_while_disconnected() {
        let (manager, sent) = spawn_manager();
        let sent = move || sent.lock().expect("no test panics holding it").clone();
        Clock::pause();
        libproc::dispatch(&manager, |m, ctx| {
            m.update(update(TaskState::TASK_RUNNING, 1), None, ctx)
                .unwrap();
            m.resume(ctx);
            m.update(update(TaskState::TASK_FINISHED, 2), None, ctx)
                .unwrap();
        })
        .await
        .unwrap();
        assert_eq!(sent(), [1], "only the head is in flight");

        advance(9).await;
        assert_eq!(sent(), [1]);
        advance(1).await;
        assert_eq!(sent(), [1, 1], "first retry after 10 s");
        advance(19).await;
        assert_eq!(sent(), [1, 1]);
        advance(1).await;
        assert_eq!(sent(), [1, 1, 1], "second retry 20 s later");

        let outcome = ack(&manager, 1).await;
        assert_eq!(outcome, AckOutcome::Acknowledged { terminated: false });
        assert_eq!(sent(), [1, 1, 1, 2], "the next head goes at once");

        libproc::dispatch(&manager, |m, _| m.pause()).await.unwrap();
        advance(3600).await;
        assert_eq!(sent(), [1, 1, 1, 2], "nothing is sent while paused");
        libproc::dispatch(&manager, |m, ctx| m.resume(ctx))
            .await
            .unwrap();
        assert_eq!(sent(), [1, 1, 1, 2, 2], "resume resends the head");

        let outcome = ack(&manager, 2).await;
        assert_eq!(outcome, AckOutcome::Acknowledged { terminated: true });
        let streams = libproc::dispatch(&manager, |m, _| m.streams())
            .await
            .unwrap();
        assert_eq!(streams, 0, "a terminated stream is forgotten");
        advance(3600).await;
        assert_eq!(sent().len(), 5, "no retry outlives its acknowledgement");
        Clock::resume();
        libproc::terminate(manager.pid());
    }
}
