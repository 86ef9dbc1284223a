use super::*;
use mesos_proto::mesos::{CommandInfo, FrameworkCapability};

fn framework() -> FrameworkInfo {
    FrameworkInfo {
        user: "u".into(),
        name: "n".into(),
        ..Default::default()
    }
}

#[test]
fn frameworks_need_a_user_and_a_name() {
    assert!(validate_framework(&framework(), None).is_ok());
    let no_user = FrameworkInfo {
        user: String::new(),
        ..framework()
    };
    assert_eq!(
        validate_framework(&no_user, None).unwrap_err().to_string(),
        "Invalid FrameworkInfo: 'user' must be set"
    );
    let no_name = FrameworkInfo {
        name: String::new(),
        ..framework()
    };
    assert!(validate_framework(&no_name, None).is_err());
}

#[test]
fn roles_follow_the_multi_role_capability_and_the_whitelist() {
    let multi = FrameworkCapability {
        kind: FrameworkCapabilityType::MULTI_ROLE,
    };
    let roles_without_capability = FrameworkInfo {
        roles: vec!["a".into()],
        ..framework()
    };
    assert!(validate_framework(&roles_without_capability, None).is_err());
    let role_with_capability = FrameworkInfo {
        role: Some("a".into()),
        capabilities: vec![multi],
        ..framework()
    };
    assert!(validate_framework(&role_with_capability, None).is_err());
    let duplicates = FrameworkInfo {
        roles: vec!["a".into(), "a".into()],
        capabilities: vec![multi],
        ..framework()
    };
    assert!(validate_framework(&duplicates, None).is_err());
    let bad_role = FrameworkInfo {
        role: Some("a//b".into()),
        ..framework()
    };
    assert!(validate_framework(&bad_role, None).is_err());
    let whitelist: BTreeSet<String> = ["web".to_owned()].into();
    let web = FrameworkInfo {
        role: Some("web".into()),
        ..framework()
    };
    let db = FrameworkInfo {
        role: Some("db".into()),
        ..framework()
    };
    assert!(validate_framework(&web, Some(&whitelist)).is_ok());
    assert!(validate_framework(&db, Some(&whitelist)).is_err());
    assert!(
        validate_framework(&framework(), Some(&whitelist)).is_ok(),
        "'*' is always allowed"
    );
}

#[test]
fn ids_are_checked_as_mesos_does() {
    assert!(validate_id("task id", "web.1").is_ok());
    for bad in ["", ".", "..", "a/b", "a\nb", &"x".repeat(256)] {
        assert!(validate_id("task id", bad).is_err(), "{bad:?}");
    }
}

#[test]
fn offers_must_be_outstanding_for_the_framework_on_one_agent() {
    let owner = |id: &OfferId| match id.as_str() {
        "o1" | "o2" => Some(("f1", AgentId::from("a1"))),
        "o3" => Some(("f1", AgentId::from("a2"))),
        "o4" => Some(("f2", AgentId::from("a1"))),
        _ => None,
    };
    let ids = |names: &[&str]| names.iter().map(|n| OfferId::from(*n)).collect::<Vec<_>>();
    assert_eq!(
        validate_offers(&ids(&["o1", "o2"]), &"f1", owner),
        Ok(AgentId::from("a1"))
    );
    for bad in [&[][..], &["o1", "o1"], &["o9"], &["o4"], &["o1", "o3"]] {
        assert!(validate_offers(&ids(bad), &"f1", owner).is_err(), "{bad:?}");
    }
}

fn task(id: &str, cpus: &str) -> TaskInfo {
    TaskInfo {
        name: "t".into(),
        task_id: id.into(),
        agent_id: "a1".into(),
        resources: Resources::parse(cpus, "*").unwrap(),
        command: Some(CommandInfo {
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn tasks_must_fit_the_offer_and_be_well_formed() {
    let available = Resources::parse("cpus:2;mem:128", "*").unwrap();
    let taken: HashSet<TaskId> = ["used".into()].into();
    let executors = HashMap::new();
    let context = TaskContext {
        agent_id: &AgentId::from("a1"),
        available: &available,
        task_ids: &taken,
        executors: &executors,
    };
    assert_eq!(
        validate_task(&task("t1", "cpus:1"), &context)
            .unwrap()
            .cpus(),
        Some(1.0)
    );
    assert!(validate_task(&task("t1", "cpus:3"), &context).is_err());
    assert!(validate_task(&task("used", "cpus:1"), &context).is_err());
    assert!(validate_task(&task("a/b", "cpus:1"), &context).is_err());
    let mut no_command = task("t2", "cpus:1");
    no_command.command = None;
    assert!(validate_task(&no_command, &context).is_err());
    let mut other_agent = task("t3", "cpus:1");
    other_agent.agent_id = "a2".into();
    assert!(validate_task(&other_agent, &context).is_err());
}

#[test]
fn a_running_executor_must_be_reused_unchanged() {
    let available = Resources::parse("cpus:4;mem:512", "*").unwrap();
    let executor = ExecutorInfo {
        executor_id: "e".into(),
        command: Some(CommandInfo {
            value: Some("exec".into()),
            ..Default::default()
        }),
        resources: Resources::parse("cpus:1", "*").unwrap(),
        ..Default::default()
    };
    let mut with_executor = task("t", "cpus:1");
    with_executor.command = None;
    with_executor.executor = Some(executor.clone());
    let no_tasks = HashSet::new();
    let none = HashMap::new();
    let new_executor = TaskContext {
        agent_id: &AgentId::from("a1"),
        available: &available,
        task_ids: &no_tasks,
        executors: &none,
    };
    assert_eq!(
        validate_task(&with_executor, &new_executor).unwrap().cpus(),
        Some(2.0)
    );
    let running: HashMap<ExecutorId, ExecutorInfo> =
        [(executor.executor_id.clone(), executor.clone())].into();
    let same = TaskContext {
        executors: &running,
        ..new_executor
    };
    assert_eq!(
        validate_task(&with_executor, &same).unwrap().cpus(),
        Some(1.0)
    );
    let mut changed = executor;
    changed.name = Some("other".into());
    let different: HashMap<ExecutorId, ExecutorInfo> =
        [(changed.executor_id.clone(), changed)].into();
    let conflicting = TaskContext {
        executors: &different,
        ..same
    };
    assert!(validate_task(&with_executor, &conflicting).is_err());
}

#[test]
fn a_task_group_is_checked_as_a_whole() {
    let available = Resources::parse("cpus:4;mem:512", "*").unwrap();
    let no_tasks = HashSet::new();
    let none = HashMap::new();
    let context = TaskContext {
        agent_id: &AgentId::from("a1"),
        available: &available,
        task_ids: &no_tasks,
        executors: &none,
    };
    let executor = ExecutorInfo {
        kind: Some(ExecutorType::DEFAULT),
        executor_id: "default".into(),
        resources: Resources::parse("cpus:0.5;mem:32", "*").unwrap(),
        ..Default::default()
    };
    // Group tasks have commands and carry the group's executor.
    let member = |id: &str, cpus: &str| TaskInfo {
        executor: Some(executor.clone()),
        ..task(id, cpus)
    };
    let group = [member("g1", "cpus:1"), member("g2", "cpus:1")];
    assert_eq!(
        validate_task_group(&executor, &group, &context)
            .unwrap()
            .cpus(),
        Some(2.5)
    );
    let refused = |executor: &ExecutorInfo, tasks: &[TaskInfo]| {
        validate_task_group(executor, tasks, &context).unwrap_err()
    };
    assert!(refused(&executor, &[]).to_string().contains("no tasks"));
    let bad_id = refused(
        &executor,
        &[member("g1", "cpus:1"), member("a/b", "cpus:1")],
    );
    assert!(bad_id.to_string().contains("task a/b"), "{bad_id}");
    assert!(matches!(
        refused(&executor, &[member("g1", "cpus:1"), member("g1", "cpus:1")]),
        ValidationError::TaskGroup(reason) if reason.contains("already in use")
    ));
    let too_big = refused(&executor, &[member("g1", "cpus:2"), member("g2", "cpus:2")]);
    assert!(too_big.to_string().contains("more resources"), "{too_big}");
    let other_executor = TaskInfo {
        executor: Some(ExecutorInfo {
            executor_id: "other".into(),
            ..executor.clone()
        }),
        ..task("g3", "cpus:1")
    };
    assert!(refused(&executor, &[other_executor])
        .to_string()
        .contains("not the group's executor"));

    // A DEFAULT executor has no command; a CUSTOM one has one; the type is set.
    let with_command = ExecutorInfo {
        command: Some(CommandInfo {
            value: Some("exec".into()),
            ..Default::default()
        }),
        ..executor.clone()
    };
    let custom = ExecutorInfo {
        kind: Some(ExecutorType::CUSTOM),
        ..with_command.clone()
    };
    let custom_without_command = ExecutorInfo {
        command: None,
        ..custom.clone()
    };
    let untyped = ExecutorInfo {
        kind: None,
        ..custom.clone()
    };
    let on = |executor: &ExecutorInfo| {
        [TaskInfo {
            executor: Some(executor.clone()),
            ..task("g1", "cpus:1")
        }]
    };
    assert!(validate_task_group(&custom, &on(&custom), &context).is_ok());
    for bad in [with_command, custom_without_command, untyped] {
        assert!(
            validate_task_group(&bad, &on(&bad), &context).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn launch_refuses_the_default_executor() {
    let available = Resources::parse("cpus:4;mem:512", "*").unwrap();
    let mut task = task("t", "cpus:1");
    task.command = None;
    task.executor = Some(ExecutorInfo {
        kind: Some(mesos_proto::mesos::ExecutorType::DEFAULT),
        executor_id: "e".into(),
        ..Default::default()
    });
    let (no_tasks, no_executors) = (HashSet::new(), HashMap::new());
    let context = TaskContext {
        agent_id: &AgentId::from("a1"),
        available: &available,
        task_ids: &no_tasks,
        executors: &no_executors,
    };
    let error = validate_task(&task, &context).unwrap_err().to_string();
    assert!(error.contains("must be 'CUSTOM'"), "{error}");
}
