//! Command tasks through a real master and agent (in this runtime) and a real
//! `mesos-executor` OS process: launched, run, killed, reported, acknowledged.

mod support;

use mesos_proto::mesos::{
    CommandUri, DurationInfo, ExecutorInfo, KillPolicy, StatusReason, TaskState,
};
use mesos_proto::scheduler::{Call, CallType, Kill};
use support::{
    eventually, find_files, get_json, process_running, start_master, states, AgentKind, Cluster,
};

async fn cluster(name: &str, extra: &[&str]) -> Cluster {
    Cluster::start(name, AgentKind::InProcess, false, extra).await
}

#[tokio::test]
async fn a_command_task_runs_on_the_agent_and_finishes() {
    let cluster = cluster("finish", &[]).await;
    let updates = cluster.next_update();
    cluster.launch("hello-1", "echo hello from the task").await;
    let updates = cluster
        .updates_until(updates, TaskState::TASK_FINISHED)
        .await;
    assert_eq!(
        states(&updates),
        [
            TaskState::TASK_STARTING,
            TaskState::TASK_RUNNING,
            TaskState::TASK_FINISHED
        ]
    );
    let stdout = find_files(&cluster.work_dir.0.join("slaves"), "stdout")
        .into_iter()
        .map(|path| std::fs::read_to_string(path).unwrap_or_default())
        .find(|output| output.contains("hello from the task"));
    assert!(
        stdout.is_some(),
        "no sandbox stdout holds the task's output"
    );
    let agent = libproc::Pid::new("slave(1)", cluster.master.addr);
    let executor = eventually("the completed executor in the agent's state", || async {
        let state = get_json(&agent, "/slave(1)/state").await;
        let executor = &state["completed_frameworks"][0]["completed_executors"][0];
        (executor["completed_tasks"][0]["state"] == "TASK_FINISHED").then(|| executor.clone())
    })
    .await;
    assert_eq!(executor["completed_tasks"][0]["id"], "hello-1");
    let directory = executor["directory"].as_str().unwrap_or_default();
    assert!(std::path::Path::new(directory).join("stdout").exists());
}

#[tokio::test]
async fn a_failing_command_reports_its_exit_status() {
    let cluster = cluster("exit-code", &[]).await;
    let updates = cluster.next_update();
    cluster.launch("fails", "exit 3").await;
    let updates = cluster.updates_until(updates, TaskState::TASK_FAILED).await;
    let failed = &updates.last().unwrap().status;
    let message = failed.message.as_deref().unwrap_or("");
    assert!(message.contains('3'), "the exit status is in '{message}'");
}

async fn kill(cluster: &Cluster, task_id: &str) {
    let kill = Call {
        kind: CallType::KILL,
        kill: Some(Kill {
            task_id: task_id.into(),
            agent_id: Some(cluster.offer.agent_id.clone()),
            kill_policy: None,
        }),
        ..Default::default()
    };
    cluster.call(kill).await;
}

#[tokio::test]
async fn a_task_ignoring_sigterm_is_killed_with_sigkill_after_its_grace_period() {
    let cluster = cluster("kill-grace", &[]).await;
    let updates = cluster.next_update();
    let marker = format!("sleep 7{}", fastrand::u32(100_000..999_999));
    let mut task = cluster.command_task("stubborn", &format!("trap '' TERM; {marker}"));
    task.kill_policy = Some(KillPolicy {
        grace_period: Some(DurationInfo {
            nanoseconds: 500_000_000,
        }),
    });
    cluster.launch_task(task).await;
    let updates = cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    eventually("the task's process", || async {
        process_running(&marker).then_some(())
    })
    .await;
    kill(&cluster, "stubborn").await;
    let next = cluster.next_update();
    let killed = cluster.updates_until(next, TaskState::TASK_KILLED).await;
    assert!(!updates.is_empty() && !killed.is_empty());
    eventually("the stubborn process to be gone", || async {
        (!process_running(&marker)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_executor_that_never_registers_is_destroyed_and_its_task_fails() {
    let cluster = cluster(
        "registration-timeout",
        &["--executor_registration_timeout=500ms"],
    )
    .await;
    let updates = cluster.next_update();
    let marker = format!("sleep 8{}", fastrand::u32(100_000..999_999));
    let mut task = cluster.command_task("silent", "unused");
    task.command = None;
    task.executor = Some(ExecutorInfo {
        executor_id: "silent-executor".into(),
        command: Some(mesos_proto::mesos::CommandInfo {
            value: Some(marker.clone()),
            ..Default::default()
        }),
        ..Default::default()
    });
    cluster.launch_task(task).await;
    let updates = cluster.updates_until(updates, TaskState::TASK_FAILED).await;
    assert_eq!(
        updates.last().unwrap().status.reason,
        Some(StatusReason::REASON_EXECUTOR_REGISTRATION_TIMEOUT)
    );
    eventually("the executor's process to be gone", || async {
        (!process_running(&marker)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn tearing_down_a_framework_shuts_its_executors_down() {
    let cluster = cluster("teardown", &["--executor_shutdown_grace_period=1secs"]).await;
    let updates = cluster.next_update();
    let marker = format!("sleep 9{}", fastrand::u32(100_000..999_999));
    cluster.launch("doomed", &marker).await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    cluster
        .call(Call {
            kind: CallType::TEARDOWN,
            ..Default::default()
        })
        .await;
    eventually("the task's process to be gone", || async {
        (!process_running(&marker)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_running_task_is_reported_to_a_restarted_master() {
    let cluster = cluster("restart", &[]).await;
    let updates = cluster.next_update();
    cluster.launch("sleeper", "sleep 1000").await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;

    libproc::terminate(&cluster.master);
    libproc::wait(&cluster.master).await;
    let master = start_master().await;
    let state = eventually("the agent's re-registration with its task", || async {
        let state = get_json(&master, "/master/state").await;
        (state["frameworks"][0]["tasks"][0]["state"] == "TASK_RUNNING").then_some(state)
    })
    .await;
    let framework = &state["frameworks"][0];
    assert_eq!(framework["id"], cluster.framework_id.as_str());
    assert_eq!(
        framework["recovered"], true,
        "known from the agent's report until it re-subscribes"
    );
    assert_eq!(framework["tasks"][0]["id"], "sleeper");
    assert_eq!(state["slaves"][0]["id"], cluster.offer.agent_id.as_str());
}

#[tokio::test]
async fn the_agent_shows_a_running_task_in_its_state_and_metrics() {
    let cluster = cluster("state", &[]).await;
    let updates = cluster.next_update();
    cluster.launch("shown", "sleep 1000").await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    let agent = libproc::Pid::new("slave(1)", cluster.master.addr);
    let state = get_json(&agent, "/slave(1)/state").await;
    let executor = &state["frameworks"][0]["executors"][0];
    assert_eq!(state["frameworks"][0]["id"], cluster.framework_id.as_str());
    assert_eq!(executor["tasks"][0]["id"], "shown");
    assert_eq!(executor["tasks"][0]["state"], "TASK_RUNNING");
    let directory = executor["directory"].as_str().unwrap_or_default();
    assert!(std::path::Path::new(directory).join("stdout").exists());
    eventually("the agent's gauges", || async {
        let metrics = get_json(&agent, "/metrics/snapshot").await;
        let shown = metrics["slave/tasks_running"] == 1.0
            && metrics["slave/registered"] == 1.0
            && metrics["slave/executors_running"] == 1.0
            && metrics["slave/cpus_used"].as_f64() > Some(0.0);
        shown.then_some(())
    })
    .await;
}

#[tokio::test]
async fn local_uris_are_fetched_into_the_sandbox_and_others_fail_the_task() {
    let cluster = cluster("fetch", &[]).await;
    let script = cluster.work_dir.0.with_extension("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho fetched and ran\n").unwrap();
    let updates = cluster.next_update();
    let mut task = cluster.command_task("fetched", "./script.sh");
    let command = task.command.as_mut().unwrap();
    command.uris = vec![CommandUri {
        value: format!("file://{}", script.display()),
        executable: Some(true),
        output_file: Some("script.sh".into()),
        ..Default::default()
    }];
    cluster.launch_task(task).await;
    let updates = cluster
        .updates_until(updates, TaskState::TASK_FINISHED)
        .await;
    assert_eq!(updates.last().unwrap().status.task_id.as_str(), "fetched");
    let _ = std::fs::remove_file(&script);

    let offers = libproc::testing::future_message::<mesos_proto::messages::ResourceOffersMessage>(
        &cluster.master,
        cluster.scheduler.pid(),
    );
    cluster
        .call(Call {
            kind: CallType::REVIVE,
            ..Default::default()
        })
        .await;
    let offer = support::within("another offer", offers)
        .await
        .offers
        .remove(0);
    let updates = cluster.next_update();
    let mut task = cluster.command_task("unfetchable", "true");
    task.command.as_mut().unwrap().uris = vec![CommandUri {
        value: "http://example.invalid/artifact".into(),
        ..Default::default()
    }];
    cluster.launch_task_on(&offer, task).await;
    let updates = cluster.updates_until(updates, TaskState::TASK_FAILED).await;
    let failed = &updates.last().unwrap().status;
    assert_eq!(
        failed.reason,
        Some(StatusReason::REASON_CONTAINER_LAUNCH_FAILED)
    );
    let message = failed.message.as_deref().unwrap_or("");
    assert!(message.contains("unsupported scheme 'http'"), "{message}");
}

#[tokio::test]
async fn the_v1_operator_api_answers_about_tasks_containers_and_sandbox_files() {
    let cluster = cluster("operator", &[]).await;
    let updates = cluster.next_update();
    cluster
        .launch("watched", "echo operator-visible; exec sleep 1000")
        .await;
    cluster
        .updates_until(updates, TaskState::TASK_RUNNING)
        .await;
    let agent = libproc::Pid::new("slave(1)", cluster.master.addr);
    let call = |body: &'static str| support::post_json(&agent, "/slave(1)/api/v1", body);

    let health = support::body_json(&call(r#"{"type":"GET_HEALTH"}"#).await);
    assert_eq!(health["get_health"]["healthy"], true);
    let tasks = support::body_json(&call(r#"{"type":"GET_TASKS"}"#).await);
    assert_eq!(
        tasks["get_tasks"]["launched_tasks"][0]["task_id"]["value"],
        "watched"
    );
    let containers = support::body_json(&call(r#"{"type":"GET_CONTAINERS"}"#).await);
    let container = &containers["get_containers"]["containers"][0];
    assert_eq!(container["executor_id"]["value"], "watched");
    assert!(container["resource_statistics"]["mem_limit_bytes"].is_number());

    let state = get_json(&agent, "/slave(1)/state").await;
    let sandbox = state["frameworks"][0]["executors"][0]["directory"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = format!(r#"{{"type":"LIST_FILES","list_files":{{"path":"{sandbox}"}}}}"#);
    let listed = support::body_json(&support::post_json(&agent, "/slave(1)/api/v1", &list).await);
    let infos = listed["list_files"]["file_infos"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(infos
        .iter()
        .any(|i| i["path"].as_str().is_some_and(|p| p.ends_with("/stdout"))));
    let read =
        format!(r#"{{"type":"READ_FILE","read_file":{{"path":"{sandbox}/stdout","offset":0}}}}"#);
    let data = eventually("the task's output through READ_FILE", || {
        let read = read.clone();
        let agent = agent.clone();
        async move {
            let answer =
                support::body_json(&support::post_json(&agent, "/slave(1)/api/v1", &read).await);
            let data =
                mesos_proto::v1::json::base64::decode(answer["read_file"]["data"].as_str()?)?;
            let text = String::from_utf8(data).ok()?;
            text.contains("operator-visible").then_some(text)
        }
    })
    .await;
    assert!(data.starts_with("operator-visible"));

    let outside = support::post_json(
        &agent,
        "/slave(1)/api/v1",
        r#"{"type":"READ_FILE","read_file":{"path":"/etc/passwd","offset":0}}"#,
    )
    .await;
    assert!(outside.starts_with("HTTP/1.1 404"), "{outside}");
    let unknown = call(r#"{"type":"GET_NOTHING"}"#).await;
    assert!(unknown.starts_with("HTTP/1.1 400"), "{unknown}");
    let unserved = call(r#"{"type":"LAUNCH_CONTAINER"}"#).await;
    assert!(unserved.starts_with("HTTP/1.1 501"), "{unserved}");
}
