//! Tasks in real cgroups through a real master and agent: a memory hog is OOM-killed
//! and reported with the memory limitation; killing a task leaves none of its
//! processes behind, not even a daemon; the sandbox is served by `/files`, which
//! refuses every way out of it; `/monitor/statistics` shows the container's usage.
//! The cgroup tests fail with a clear message where the machine has no writable
//! cgroups (not root, or none mounted).

mod support;

use mesos_proto::mesos::{StatusReason, TaskState};
use mesos_proto::scheduler::{Call, CallType, Kill};
use support::{
    eventually, get, get_json, process_running, AgentKind, CgroupRoot, Cluster, NEEDS_CGROUPS,
};

/// A cluster whose agent isolates with cgroups under the test's own root.
async fn cgroups_cluster(name: &str, root: &CgroupRoot) -> Cluster {
    assert!(
        nix::unistd::geteuid().is_root() && std::path::Path::new("/sys/fs/cgroup/memory").exists()
            || std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
        "{NEEDS_CGROUPS}"
    );
    let flag = root.flag();
    Cluster::start(
        name,
        AgentKind::InProcess,
        false,
        &["--isolation=cgroups/cpu,cgroups/mem", &flag],
    )
    .await
}

fn agent_pid(cluster: &Cluster) -> libproc::Pid {
    libproc::Pid::new("slave(1)", cluster.master.addr)
}

#[tokio::test]
async fn a_memory_hog_fails_with_the_memory_limitation() {
    let root = CgroupRoot::new("agent-oom");
    let cluster = cgroups_cluster("oom", &root).await;
    let updates = cluster.next_update();
    let mut task = cluster.command_task("hog", "x=a; while :; do x=$x$x; done");
    task.resources = mesos_proto::Resources::parse("cpus:0.2;mem:32", "*").unwrap();
    cluster.launch_task(task).await;
    let updates = cluster.updates_until(updates, TaskState::TASK_FAILED).await;
    let failed = &updates.last().unwrap().status;
    assert_eq!(
        failed.reason,
        Some(StatusReason::REASON_CONTAINER_LIMITATION_MEMORY),
        "{:?}",
        failed.message
    );
    let message = failed.message.as_deref().unwrap_or("");
    assert!(message.starts_with("Memory limit exceeded"), "{message}");
}

#[tokio::test]
async fn killing_a_task_leaves_no_process_behind_not_even_a_daemon() {
    let root = CgroupRoot::new("agent-orphans");
    let cluster = cgroups_cluster("orphans", &root).await;
    let updates = cluster.next_update();
    let tag = fastrand::u32(100_000..999_999);
    let (child, daemon) = (format!("sleep 5{tag}"), format!("sleep 6{tag}"));
    let command = format!("{child} & (setsid sh -c 'exec {daemon}' &); wait");
    cluster.launch("forker", &command).await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    eventually("the task's child and daemon", || async {
        (process_running(&child) && process_running(&daemon)).then_some(())
    })
    .await;
    let kill = Call {
        kind: CallType::KILL,
        kill: Some(Kill {
            task_id: "forker".into(),
            agent_id: Some(cluster.offer.agent_id.clone()),
            kill_policy: None,
        }),
        ..Default::default()
    };
    let next = cluster.next_update();
    cluster.call(kill).await;
    cluster.updates_until(next, TaskState::TASK_KILLED).await;
    eventually("every process of the task to be gone", || async {
        (!process_running(&child) && !process_running(&daemon)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_sandbox_is_served_and_monitored_and_nothing_outside_it() {
    let root = CgroupRoot::new("agent-files");
    let cluster = cgroups_cluster("files", &root).await;
    let updates = cluster.next_update();
    cluster
        .launch("served", "echo visible; exec sleep 1000")
        .await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    let agent = agent_pid(&cluster);
    let state = get_json(&agent, "/slave(1)/state").await;
    let sandbox = state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .expect("the executor's sandbox")
        .to_owned();

    let stdout = eventually("the task's output in /files/read", || async {
        let read = get_json(
            &agent,
            &format!("/files/read?path={sandbox}/stdout&offset=0"),
        )
        .await;
        read["data"]
            .as_str()
            .filter(|data| data.contains("visible"))
            .map(str::to_owned)
    })
    .await;
    assert!(stdout.contains("visible"));
    let listing = get_json(&agent, &format!("/files/browse?path={sandbox}")).await;
    assert!(listing.as_array().is_some_and(|entries| entries
        .iter()
        .any(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/stdout")))));

    std::os::unix::fs::symlink("/etc", format!("{sandbox}/escape")).unwrap();
    for outside in [
        format!("{sandbox}/../../../../.."),
        "/etc/passwd".to_owned(),
        format!("{sandbox}/escape/passwd"),
        format!("{sandbox}/stdout%00"),
    ] {
        let response = get(&agent, &format!("/files/read?path={outside}&offset=0")).await;
        assert!(
            response.starts_with("HTTP/1.1 404"),
            "{outside} was not refused: {response}"
        );
    }

    let statistics = eventually("the container's usage", || async {
        let entries = get_json(&agent, "/slave(1)/monitor/statistics").await;
        let entry = entries.as_array()?.first()?.clone();
        (entry["statistics"]["mem_rss_bytes"].as_f64() > Some(0.0)).then_some(entry)
    })
    .await;
    assert_eq!(statistics["executor_id"], "served");
    assert_eq!(statistics["framework_id"], cluster.framework_id.as_str());
    assert_eq!(
        statistics["statistics"]["mem_limit_bytes"],
        64.0 * 1024.0 * 1024.0
    );
}
