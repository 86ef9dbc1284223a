//! The harness itself: what a cluster leaves behind is gone once it is dropped.

use std::path::PathBuf;

use mesos_proto::mesos::{FrameworkInfo, TaskState};
use mesos_tests::{framework_info, session_alive, Cluster, Framework};

#[test]
fn dropping_a_cluster_kills_orphaned_executors_and_removes_cgroups_and_dirs() {
    let mut cluster = Cluster::builder("harness-cleanup")
        .agent(&["--isolation=cgroups/cpu,cgroups/mem"])
        .start();
    // Checkpointed, so that the executor outlives its agent.
    let info = FrameworkInfo {
        checkpoint: Some(true),
        failover_timeout: Some(60.0),
        ..framework_info("harness-cleanup")
    };
    let framework = Framework::start(info, &cluster.master());
    framework.registered();
    framework.launch("sleeper", "sleep 1000");
    framework.updates_until("sleeper", TaskState::TASK_RUNNING);
    cluster.kill_agent(0);
    let executors = cluster.executor_pids(0);
    assert_eq!(executors.len(), 1, "the executor outlives its agent");
    let cgroups: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|hierarchy| hierarchy.path().join(cluster.cgroups_root()))
        .chain([PathBuf::from("/sys/fs/cgroup").join(cluster.cgroups_root())])
        .filter(|cgroup| cgroup.exists())
        .collect();
    assert!(!cgroups.is_empty(), "the container has cgroups");
    let dir = cluster.dir().to_owned();

    drop(framework);
    drop(cluster);

    assert!(
        !session_alive(executors[0]),
        "the executor and its task are killed"
    );
    for cgroup in cgroups {
        assert!(!cgroup.exists(), "{} is removed", cgroup.display());
    }
    assert!(!dir.exists(), "{} is removed", dir.display());
}
