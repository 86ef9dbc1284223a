use std::fs;

use mesos_proto::mesos::{AgentInfo, ExecutorInfo, FrameworkInfo, Task, TaskState, TaskStatus};
use mesos_proto::{ContainerId, ExecutorId, FrameworkId, TaskId};

use super::test_support::TempDir;
use super::*;
use crate::paths::Run;

fn update(task: &str, state: TaskState, uuid: u8) -> StatusUpdate {
    StatusUpdate {
        framework_id: "f1".into(),
        status: TaskStatus {
            task_id: task.into(),
            state,
            uuid: Some(vec![uuid; 16]),
            ..TaskStatus::default()
        },
        uuid: Some(vec![uuid; 16]),
        ..StatusUpdate::default()
    }
}

fn agent_info() -> AgentInfo {
    AgentInfo {
        hostname: "host-1".into(),
        id: Some("a1".into()),
        checkpoint: Some(true),
        ..AgentInfo::default()
    }
}

fn is_corrupt(result: Result<impl std::fmt::Debug, StateError>, path: &Path) -> bool {
    matches!(result, Err(StateError::Corrupt { path: p, .. }) if p == path)
}

#[test]
fn write_atomically_creates_parents_and_replaces() {
    let dir = TempDir::new("atomic");
    let path = dir.path().join("a/b/file");
    write_atomically(&path, b"first").unwrap();
    write_atomically(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1, "no temp files are left behind");
}

#[test]
fn checkpoint_round_trips() {
    let dir = TempDir::new("ckpt");
    let path = dir.path().join("slave.info");
    checkpoint(&path, &agent_info()).unwrap();
    assert_eq!(
        read_checkpoint::<AgentInfo>(&path).unwrap(),
        Some(agent_info())
    );
}

#[test]
fn missing_checkpoint_is_none() {
    let dir = TempDir::new("missing");
    let path = dir.path().join("nothing");
    assert_eq!(read_checkpoint::<AgentInfo>(&path).unwrap(), None);
}

#[test]
fn foreign_file_is_a_clear_error() {
    let dir = TempDir::new("foreign");
    let path = dir.path().join("slave.info");
    fs::write(&path, b"{\"hostname\": \"json, not a checkpoint\"}").unwrap();
    let err = read_checkpoint::<AgentInfo>(&path).unwrap_err();
    assert!(err.to_string().contains("bad magic"), "{err}");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
}

#[test]
fn truncated_checkpoint_is_corrupt_at_every_cut() {
    let dir = TempDir::new("cut");
    let path = dir.path().join("slave.info");
    checkpoint(&path, &agent_info()).unwrap();
    let whole = fs::read(&path).unwrap();
    for cut in 0..whole.len() {
        fs::write(&path, &whole[..cut]).unwrap();
        assert!(
            is_corrupt(read_checkpoint::<AgentInfo>(&path), &path),
            "cut at {cut}"
        );
    }
}

#[test]
fn unknown_version_is_refused() {
    let dir = TempDir::new("version");
    let path = dir.path().join("slave.info");
    checkpoint(&path, &agent_info()).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes[4] = CHECKPOINT_VERSION + 1;
    fs::write(&path, &bytes).unwrap();
    let err = read_checkpoint::<AgentInfo>(&path).unwrap_err();
    assert!(err.to_string().contains("unsupported version"), "{err}");
}

#[test]
fn records_round_trip_in_order() {
    let dir = TempDir::new("records");
    let path = dir.path().join("tasks/t1/task.updates");
    let written = [
        StatusUpdateRecord::Update(update("t1", TaskState::TASK_RUNNING, 1)),
        StatusUpdateRecord::Ack(vec![1; 16]),
        StatusUpdateRecord::Update(update("t1", TaskState::TASK_FINISHED, 2)),
    ];
    for record in &written {
        append_record(&path, record).unwrap();
    }
    let read = read_records(&path).unwrap();
    assert_eq!(read.records, written);
    assert_eq!(read.torn_at, None);
}

#[test]
fn records_are_length_prefixed_little_endian() {
    let dir = TempDir::new("layout");
    let path = dir.path().join("task.updates");
    append_record(&path, &StatusUpdateRecord::Ack(vec![7; 16])).unwrap();
    let bytes = fs::read(&path).unwrap();
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    assert_eq!(len, bytes.len() - 4);
}

#[test]
fn torn_last_record_is_tolerated_and_reported() {
    let dir = TempDir::new("torn");
    let path = dir.path().join("task.updates");
    let first = StatusUpdateRecord::Update(update("t1", TaskState::TASK_RUNNING, 1));
    append_record(&path, &first).unwrap();
    let good_len = fs::metadata(&path).unwrap().len();
    append_record(&path, &StatusUpdateRecord::Ack(vec![1; 16])).unwrap();
    let whole = fs::read(&path).unwrap();
    for cut in good_len as usize + 1..whole.len() {
        fs::write(&path, &whole[..cut]).unwrap();
        let read = read_records(&path).unwrap();
        assert_eq!(read.records, std::slice::from_ref(&first), "cut at {cut}");
        assert_eq!(read.torn_at, Some(good_len), "cut at {cut}");
    }
}

#[test]
fn garbage_in_the_middle_is_an_error() {
    let dir = TempDir::new("garbage");
    let path = dir.path().join("task.updates");
    append_record(&path, &StatusUpdateRecord::Ack(vec![1; 16])).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    bytes[4] = 0xff; // An enum tag postcard does not know.
    fs::write(&path, &bytes).unwrap();
    append_record(&path, &StatusUpdateRecord::Ack(vec![2; 16])).unwrap();
    assert!(is_corrupt(read_records(&path), &path));
}

#[test]
fn oversized_record_length_is_an_error() {
    let dir = TempDir::new("oversized");
    let path = dir.path().join("task.updates");
    fs::write(&path, u32::MAX.to_le_bytes()).unwrap();
    assert!(is_corrupt(read_records(&path), &path));
}

/// A work dir with one agent, framework, executor, run and task checkpointed.
struct Fixture {
    dir: TempDir,
    agent_id: AgentId,
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    container_id: ContainerId,
    task_id: TaskId,
}

impl Fixture {
    fn new(tag: &str) -> Self {
        let f = Fixture {
            dir: TempDir::new(tag),
            agent_id: "a1".into(),
            framework_id: "f1".into(),
            executor_id: "e1".into(),
            container_id: "c1".into(),
            task_id: "t1".into(),
        };
        f.write_all();
        f
    }

    fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self) -> Run<'_> {
        Run {
            agent_id: &self.agent_id,
            framework_id: &self.framework_id,
            executor_id: &self.executor_id,
            container_id: &self.container_id,
        }
    }

    fn write_all(&self) {
        let (w, a, f, e) = (
            self.work_dir(),
            &self.agent_id,
            &self.framework_id,
            &self.executor_id,
        );
        checkpoint(&paths::agent_info(w, a).unwrap(), &agent_info()).unwrap();
        mark_latest_agent(w, a).unwrap();
        checkpoint(
            &paths::framework_info(w, a, f).unwrap(),
            &FrameworkInfo::default(),
        )
        .unwrap();
        write_text(
            &paths::framework_pid(w, a, f).unwrap(),
            "scheduler@127.0.0.1:5050",
        )
        .unwrap();
        checkpoint(
            &paths::executor_info(w, a, f, e).unwrap(),
            &ExecutorInfo::default(),
        )
        .unwrap();
        let run = self.run();
        write_text(&run.forked_pid(w).unwrap(), "4242\n").unwrap();
        write_text(
            &run.libprocess_pid(w).unwrap(),
            "executor(1)@127.0.0.1:4000",
        )
        .unwrap();
        checkpoint(&run.task_info(w, &self.task_id).unwrap(), &Task::default()).unwrap();
        let record = StatusUpdateRecord::Update(update("t1", TaskState::TASK_RUNNING, 1));
        append_record(&self.updates(), &record).unwrap();
    }

    fn updates(&self) -> PathBuf {
        self.run()
            .task_updates(self.work_dir(), &self.task_id)
            .unwrap()
    }
}

#[test]
fn fresh_work_dir_recovers_nothing() {
    let dir = TempDir::new("fresh");
    assert_eq!(recover_agent(dir.path(), true).unwrap(), None);
}

#[test]
fn recovers_the_whole_tree() {
    let fx = Fixture::new("tree");
    let state = recover_agent(fx.work_dir(), true).unwrap().unwrap();
    assert_eq!(state.id, fx.agent_id);
    assert_eq!(state.info, Some(agent_info()));
    assert_eq!(state.errors, 0);
    let [framework] = &state.frameworks[..] else {
        panic!("{state:?}")
    };
    assert_eq!(framework.pid.as_deref(), Some("scheduler@127.0.0.1:5050"));
    let [executor] = &framework.executors[..] else {
        panic!("{framework:?}")
    };
    let [run] = &executor.runs[..] else {
        panic!("{executor:?}")
    };
    assert_eq!(run.container_id, fx.container_id);
    assert_eq!(run.forked_pid, Some(4242));
    assert_eq!(
        run.libprocess_pid.as_deref(),
        Some("executor(1)@127.0.0.1:4000")
    );
    assert!(!run.completed);
    let [task] = &run.tasks[..] else {
        panic!("{run:?}")
    };
    assert_eq!(task.id, fx.task_id);
    assert_eq!(task.task, Some(Task::default()));
    assert_eq!(task.records.len(), 1);
}

#[test]
fn sentinel_marks_the_run_completed() {
    let fx = Fixture::new("sentinel");
    write_text(&fx.run().executor_sentinel(fx.work_dir()).unwrap(), "").unwrap();
    let state = recover_agent(fx.work_dir(), true).unwrap().unwrap();
    assert!(state.frameworks[0].executors[0].runs[0].completed);
}

#[test]
fn latest_symlinks_are_not_ids() {
    let fx = Fixture::new("latest-run");
    let runs = paths::runs_meta_dir(
        fx.work_dir(),
        &fx.agent_id,
        &fx.framework_id,
        &fx.executor_id,
    )
    .unwrap();
    std::os::unix::fs::symlink(runs.join("c1"), runs.join(paths::LATEST)).unwrap();
    let state = recover_agent(fx.work_dir(), true).unwrap().unwrap();
    assert_eq!(state.frameworks[0].executors[0].runs.len(), 1);
}

#[test]
fn torn_update_record_is_cut_off_so_appends_stay_readable() {
    let fx = Fixture::new("torn-recovery");
    let good_len = fs::metadata(fx.updates()).unwrap().len();
    append_record(&fx.updates(), &StatusUpdateRecord::Ack(vec![1; 16])).unwrap();
    let file = OpenOptions::new().write(true).open(fx.updates()).unwrap();
    file.set_len(good_len + 3).unwrap();

    let state = recover_agent(fx.work_dir(), true).unwrap().unwrap();
    assert_eq!(state.errors, 0);
    assert_eq!(
        state.frameworks[0].executors[0].runs[0].tasks[0]
            .records
            .len(),
        1
    );
    assert_eq!(fs::metadata(fx.updates()).unwrap().len(), good_len);

    append_record(&fx.updates(), &StatusUpdateRecord::Ack(vec![1; 16])).unwrap();
    assert_eq!(read_records(&fx.updates()).unwrap().records.len(), 2);
}

#[test]
fn strict_recovery_fails_on_a_damaged_task() {
    let fx = Fixture::new("strict");
    let task_info = fx.run().task_info(fx.work_dir(), &fx.task_id).unwrap();
    fs::write(&task_info, b"garbage").unwrap();
    let err = recover_agent(fx.work_dir(), true).unwrap_err();
    assert!(
        matches!(&err, StateError::Corrupt { path, .. } if *path == task_info),
        "{err}"
    );
}

#[test]
fn non_strict_recovery_skips_and_counts_damage() {
    let fx = Fixture::new("lenient");
    let task_info = fx.run().task_info(fx.work_dir(), &fx.task_id).unwrap();
    fs::write(&task_info, b"garbage").unwrap();
    let state = recover_agent(fx.work_dir(), false).unwrap().unwrap();
    assert_eq!(state.errors, 1);
    let run = &state.frameworks[0].executors[0].runs[0];
    assert!(run.tasks.is_empty(), "the damaged task is skipped: {run:?}");
    assert_eq!(run.forked_pid, Some(4242), "its run is kept");
}

#[test]
fn non_strict_recovery_skips_a_run_with_a_bad_pid() {
    let fx = Fixture::new("bad-pid");
    write_text(&fx.run().forked_pid(fx.work_dir()).unwrap(), "not-a-pid").unwrap();
    assert!(recover_agent(fx.work_dir(), true).is_err());
    let state = recover_agent(fx.work_dir(), false).unwrap().unwrap();
    assert_eq!(state.errors, 1);
    assert!(state.frameworks[0].executors[0].runs.is_empty());
}

#[test]
fn damaged_agent_info_recovers_no_frameworks_when_lenient() {
    let fx = Fixture::new("bad-agent");
    fs::write(
        paths::agent_info(fx.work_dir(), &fx.agent_id).unwrap(),
        b"xx",
    )
    .unwrap();
    assert!(recover_agent(fx.work_dir(), true).is_err());
    let state = recover_agent(fx.work_dir(), false).unwrap().unwrap();
    assert_eq!(
        (state.info, state.errors, state.frameworks.len()),
        (None, 1, 0)
    );
}

#[test]
fn hostile_directory_name_is_damage() {
    let fx = Fixture::new("hostile");
    let frameworks = paths::frameworks_meta_dir(fx.work_dir(), &fx.agent_id).unwrap();
    fs::create_dir(frameworks.join(paths::LATEST)).unwrap();
    assert!(matches!(
        recover_agent(fx.work_dir(), true),
        Err(StateError::Path(_))
    ));
    let state = recover_agent(fx.work_dir(), false).unwrap().unwrap();
    assert_eq!((state.errors, state.frameworks.len()), (1, 1));
}

#[test]
fn mark_latest_agent_replaces_the_link() {
    let dir = TempDir::new("relink");
    mark_latest_agent(dir.path(), &"a1".into()).unwrap();
    mark_latest_agent(dir.path(), &"a2".into()).unwrap();
    let target = fs::read_link(paths::latest_agent(dir.path())).unwrap();
    assert_eq!(
        target,
        paths::agent_meta_dir(dir.path(), &"a2".into()).unwrap()
    );
}
