//! The example frameworks against a real cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use mesos_tests::{binary, Cluster, Spawned};
use serde_json::Value;

/// How long 200 tasks may take: each is an executor process started and reaped on a
/// small, shared machine.
const TWO_HUNDRED_TASKS_DEADLINE: Duration = Duration::from_secs(600);

#[test]
fn test_framework_runs_200_tasks_across_three_agents() {
    let cluster = Cluster::builder("test-framework")
        .agents(
            3,
            &["--resources=cpus:4;mem:512;disk:1024;ports:[31000-31099]"],
        )
        .start();
    let agents: Vec<String> = (0..3).map(|index| cluster.agent_id(index)).collect();
    let mut framework = Spawned::start(
        &binary("examples/test_framework"),
        &[
            format!("--master={}", cluster.master()),
            "--num_tasks=200".to_owned(),
        ],
        &cluster.dir().join("test_framework.log"),
    );

    let status = framework.exit_status(TWO_HUNDRED_TASKS_DEADLINE);
    assert!(status.success(), "test_framework exited with {status}");

    let state = cluster.until("200 finished tasks in /master/state", |state| {
        finished_tasks_by_agent(state).values().sum::<usize>() == 200
    });
    let by_agent = finished_tasks_by_agent(&state);
    for agent in &agents {
        assert!(
            by_agent.get(agent).is_some_and(|&count| count > 0),
            "agent {agent} ran none of the tasks: {by_agent:?}"
        );
    }
}

/// The finished tasks of the test framework, counted by agent, whether the framework
/// is still known or already completed.
fn finished_tasks_by_agent(state: &Value) -> BTreeMap<String, usize> {
    let frameworks = ["frameworks", "completed_frameworks"]
        .iter()
        .flat_map(|list| state[list].as_array().into_iter().flatten())
        .filter(|framework| framework["name"] == "Test Framework (Rust)");
    let mut by_agent = BTreeMap::new();
    for task in frameworks.flat_map(|framework| {
        framework["completed_tasks"]
            .as_array()
            .into_iter()
            .flatten()
    }) {
        if task["state"] == "TASK_FINISHED" {
            let agent = task["slave_id"].as_str().unwrap_or_default().to_owned();
            *by_agent.entry(agent).or_insert(0) += 1;
        }
    }
    by_agent
}
