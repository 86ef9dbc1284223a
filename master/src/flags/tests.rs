//! Loading, validating and showing the master's flags.

use std::sync::{Mutex, PoisonError};

use super::*;

/// Loading reads `MESOS_*` variables, so loads and the test that sets variables take
/// turns.
static ENVIRONMENT: Mutex<()> = Mutex::new(());

fn load(args: &[&str]) -> Result<Flags, FlagError> {
    let _environment = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    load_unlocked(args)
}

fn load_unlocked(args: &[&str]) -> Result<Flags, FlagError> {
    Flags::parse_from_env_and_args(std::iter::once("mesos-master").chain(args.iter().copied()))
}

fn in_memory() -> Flags {
    Flags {
        registry: RegistryBackend::InMemory,
        ..Flags::default()
    }
}

#[test]
fn defaults_are_mesos_defaults() {
    assert_eq!(load(&["--registry=in_memory"]).unwrap(), in_memory());
    let flags = Flags::default();
    assert_eq!(flags.port, 5050);
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(15));
    assert_eq!(flags.max_agent_ping_timeouts, 5);
    assert_eq!(flags.agent_reregister_timeout, Duration::from_secs(600));
    assert_eq!(flags.registry, RegistryBackend::ReplicatedLog);
}

#[test]
fn flags_are_spelled_as_mesos_spells_them() {
    let flags = load(&[
        "--ip=10.0.0.5",
        "--port=5051",
        "--advertise_ip=192.0.2.1",
        "--advertise_port=15050",
        "--hostname=master.example",
        "--work_dir=/var/lib/mesos",
        "--agent_ping_timeout=5secs",
        "--max_agent_ping_timeouts=3",
        "--agent_reregister_timeout=1hrs",
        "--allocation_interval=500ms",
        "--offer_timeout=30secs",
        "--roles=web,batch",
        "--weights=web=2,batch=1",
        "--fair_sharing_excluded_resource_names=gpus",
        "--min_allocatable_resources=cpus:1;mem:64",
        "--max_completed_frameworks=10",
        "--cluster=prod",
        "--quiet",
        "--no-hostname_lookup",
        "--logging_level=WARNING",
    ])
    .unwrap();
    assert_eq!(flags.ip, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(flags.port, 5051);
    assert_eq!(flags.advertise_port, Some(15050));
    assert_eq!(flags.work_dir, Some(PathBuf::from("/var/lib/mesos")));
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(5));
    assert_eq!(flags.max_agent_ping_timeouts, 3);
    assert_eq!(flags.agent_reregister_timeout, Duration::from_secs(3600));
    assert_eq!(flags.allocation_interval, Duration::from_millis(500));
    assert_eq!(flags.offer_timeout, Some(Duration::from_secs(30)));
    assert_eq!(flags.weights.as_deref(), Some("web=2,batch=1"));
    assert_eq!(
        flags.fair_sharing_excluded_resources(),
        BTreeSet::from(["gpus".to_owned()])
    );
    assert_eq!(flags.min_allocatable_quantities().unwrap()[0]["mem"], 64.0);
    assert_eq!(flags.cluster.as_deref(), Some("prod"));
    assert!(flags.quiet);
    assert!(!flags.hostname_lookup);
    assert_eq!(flags.logging_level, LoggingLevel::Warning);
    let roles = flags.role_whitelist().unwrap();
    assert_eq!(roles.into_iter().collect::<Vec<_>>(), ["*", "batch", "web"]);
}

#[test]
fn booleans_take_every_stout_form() {
    for (arg, expected) in [
        ("--quiet", true),
        ("--quiet=true", true),
        ("--quiet=false", false),
        ("--no-quiet", false),
    ] {
        let flags = load(&["--registry=in_memory", arg]).unwrap();
        assert_eq!(flags.quiet, expected, "{arg}");
    }
    let error = load(&["--registry=in_memory", "--no-quiet=true"]).unwrap_err();
    assert!(error.to_string().contains("--no-quiet=true"), "{error}");
    assert!(load(&["--registry=in_memory", "--no-port"]).is_err());
}

#[test]
fn values_need_an_equals_sign() {
    let error = load(&["--registry=in_memory", "--port", "5051"]).unwrap_err();
    assert_eq!(error.exit_code(), 1);
}

#[test]
fn names_are_lower_cased_and_a_lone_double_dash_ends_the_flags() {
    let flags = load(&[
        "--REGISTRY=in_memory",
        "--Port=6060",
        "--",
        "--port=1",
        "junk",
    ])
    .unwrap();
    assert_eq!(flags.port, 6060);
}

#[test]
fn deprecated_agent_names_load() {
    let flags = load(&[
        "--registry=in_memory",
        "--slave_ping_timeout=3secs",
        "--max_slave_ping_timeouts=2",
        "--slave_reregister_timeout=20mins",
    ])
    .unwrap();
    assert_eq!(flags.agent_ping_timeout, Duration::from_secs(3));
    assert_eq!(flags.max_agent_ping_timeouts, 2);
    assert_eq!(flags.agent_reregister_timeout, Duration::from_secs(1200));
    let twice = load(&[
        "--registry=in_memory",
        "--slave_ping_timeout=3secs",
        "--agent_ping_timeout=3secs",
    ]);
    assert!(twice.is_err(), "one flag loaded under two names");
}

#[test]
fn unknown_and_malformed_flags_name_the_flag() {
    for (args, named) in [
        (
            &["--registry=in_memory", "--no_such_flag=1"][..],
            "no_such_flag",
        ),
        (
            &["--registry=in_memory", "--agent_ping_timeout=15"],
            "agent_ping_timeout",
        ),
        (&["--registry=in_memory", "--port=http"], "port"),
        (
            &["--registry=in_memory", "--registry=log_storage"],
            "registry",
        ),
        (
            &["--registry=in_memory", "--logging_level=info"],
            "logging_level",
        ),
        (
            &["--registry=in_memory", "--max_agent_ping_timeouts=0"],
            "max_agent_ping_timeouts",
        ),
        (
            &[
                "--registry=in_memory",
                "--zk=localhost:2181/mesos",
                "--quorum=1",
            ],
            "zk",
        ),
        (&["--registry=in_memory", "--quorum=0"], "quorum"),
    ] {
        let error = load(args).unwrap_err();
        assert!(matches!(error, FlagError::Parse(_)), "{args:?}: {error:?}");
        assert!(error.to_string().contains(named), "{args:?}: {error}");
        assert_eq!(error.exit_code(), 1);
    }
}

#[test]
fn help_and_version_are_not_errors() {
    let help = load(&["--help"]).unwrap_err();
    assert!(matches!(&help, FlagError::Help(text) if text.contains("--work_dir")));
    assert_eq!(help.exit_code(), 0);
    let version = load(&["--version"]).unwrap_err();
    assert_eq!(version, FlagError::Version("mesos 1.11.0".into()));
    assert_eq!(version.exit_code(), 0);
}

#[test]
fn the_replicated_log_needs_a_work_dir() {
    let error = load(&[]).unwrap_err();
    assert!(
        matches!(
            error,
            FlagError::Missing {
                flag: "work_dir",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("--work_dir"));
}

#[test]
fn zookeeper_needs_a_quorum_for_the_replicated_log() {
    let error = load(&["--work_dir=/tmp/m", "--zk=zk://a:2181,b:2181/mesos"]).unwrap_err();
    assert!(
        matches!(error, FlagError::Missing { flag: "quorum", .. }),
        "{error:?}"
    );
    let flags = load(&["--work_dir=/tmp/m", "--zk=zk://a:2181/mesos", "--quorum=2"]).unwrap();
    assert_eq!(flags.quorum, Some(2));
    assert!(load(&["--registry=in_memory", "--zk=zk://a:2181/mesos"]).is_ok());
}

#[test]
fn values_mesos_refuses_at_startup_are_refused() {
    for (arg, flag) in [
        (
            "--agent_reregister_timeout=5mins",
            "agent_reregister_timeout",
        ),
        ("--offer_timeout=0secs", "offer_timeout"),
        ("--allocation_interval=0ms", "allocation_interval"),
        ("--agent_ping_timeout=0secs", "agent_ping_timeout"),
        ("--roles=web,-bad", "roles"),
        (
            "--min_allocatable_resources=cpus",
            "min_allocatable_resources",
        ),
    ] {
        let error = load(&["--registry=in_memory", arg]).unwrap_err();
        assert!(
            matches!(&error, FlagError::InvalidValue { flag: f, .. } if *f == flag),
            "{arg}: {error:?}"
        );
        assert!(error.to_string().contains(&format!("--{flag}")), "{error}");
    }
}

#[test]
fn the_environment_is_read_and_the_command_line_wins() {
    let _environment = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    std::env::set_var("MESOS_REGISTRY", "in_memory");
    std::env::set_var("MESOS_PORT", "6000");
    std::env::set_var("MESOS_CLUSTER", "from-env");
    std::env::set_var("MESOS_QUIET", "true");
    let flags = load_unlocked(&["--port=7000"]);
    std::env::set_var("MESOS_AGENT_PING_TIMEOUT", "15");
    let bad = load_unlocked(&[]);
    for name in [
        "MESOS_REGISTRY",
        "MESOS_PORT",
        "MESOS_CLUSTER",
        "MESOS_QUIET",
        "MESOS_AGENT_PING_TIMEOUT",
    ] {
        std::env::remove_var(name);
    }
    let flags = flags.unwrap();
    assert_eq!(flags.registry, RegistryBackend::InMemory);
    assert_eq!(flags.port, 7000);
    assert_eq!(flags.cluster.as_deref(), Some("from-env"));
    assert!(flags.quiet);
    assert!(bad.unwrap_err().to_string().contains("agent_ping_timeout"));
}

#[test]
fn every_flag_is_read_from_its_mesos_variable() {
    for arg in command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" || long == "version" {
            continue;
        }
        let expected = format!("MESOS_{}", long.to_ascii_uppercase());
        assert_eq!(
            arg.get_env().and_then(|env| env.to_str()),
            Some(&*expected),
            "--{long}"
        );
    }
}

#[test]
fn to_json_shows_every_flag_as_a_string() {
    let flags = Flags {
        ip: Some("10.0.0.5".parse().unwrap()),
        advertise_ip: Some("192.0.2.1".parse().unwrap()),
        advertise_port: Some(15050),
        hostname: Some("m".into()),
        work_dir: Some("/var/lib/mesos".into()),
        zk: Some("zk://a:2181/mesos".into()),
        quorum: Some(1),
        offer_timeout: Some(Duration::from_secs(90)),
        roles: Some("a,b".into()),
        weights: Some("a=2".into()),
        fair_sharing_excluded_resource_names: Some("gpus".into()),
        cluster: Some("prod".into()),
        ..Flags::default()
    };
    let json = flags.to_json();
    let shown = json["flags"].as_object().unwrap();
    let names: BTreeSet<&str> = shown.keys().map(String::as_str).collect();
    let command = command();
    let expected: BTreeSet<&str> = command
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|long| *long != "help" && *long != "version")
        .collect();
    assert_eq!(names, expected);
    assert!(shown.values().all(serde_json::Value::is_string));
    assert_eq!(shown["port"], "5050");
    assert_eq!(shown["agent_ping_timeout"], "15secs");
    assert_eq!(shown["offer_timeout"], "90secs");
    assert_eq!(shown["registry_max_agent_age"], "2weeks");
    assert_eq!(shown["registry"], "replicated_log");
    assert_eq!(shown["logging_level"], "INFO");
    assert_eq!(shown["hostname_lookup"], "true");
    assert_eq!(shown["work_dir"], "/var/lib/mesos");
}

#[test]
fn to_json_leaves_unset_flags_out() {
    let json = in_memory().to_json();
    assert!(json["flags"].get("work_dir").is_none());
    assert!(json["flags"].get("offer_timeout").is_none());
    assert_eq!(json["flags"]["registry"], "in_memory");
}

#[test]
fn shown_values_load_back() {
    let flags = Flags {
        work_dir: Some("/w".into()),
        offer_timeout: Some(Duration::from_millis(1500)),
        roles: Some("a,b".into()),
        quiet: true,
        ..Flags::default()
    };
    let args: Vec<String> = flags.to_json()["flags"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| format!("--{name}={}", value.as_str().unwrap()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(load(&args).unwrap(), flags);
}

#[test]
fn an_empty_work_dir_is_refused() {
    let flags = Flags {
        work_dir: Some(PathBuf::new()),
        ..Flags::default()
    };
    let error = flags.validate().unwrap_err();
    assert!(
        matches!(
            error,
            FlagError::InvalidValue {
                flag: "work_dir",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(load(&["--work_dir="]).is_err());
}
