//! The containerizer against the real kernel: real processes, real cgroups, real
//! namespaces. Tests that need cgroups fail (never pass silently) when not run as
//! root with a writable cgroup hierarchy. This machine binds `cpu` and `memory` to
//! cgroups v1, so these tests exercise v1; the v2 code is covered by the parser and
//! limit unit tests in `containerizer/cgroups.rs`.
//!
//! Each test uses its own `--cgroups_root`, container ids and sandbox, and a
//! [`Cleanup`] guard kills and removes what is left even when an assertion fails.

mod support;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use mesos_agent::containerizer::{Containerizer, Isolator, LaunchSpec, Launched};
use mesos_agent::flags::Flags;
use mesos_proto::mesos::StatusReason;
use mesos_proto::{ContainerId, Resources};
use support::{CgroupRoot, NEEDS_CGROUPS, V1_CONTROLLERS};

const DEADLINE: Duration = Duration::from_secs(60);
const MB: u64 = 1024 * 1024;

/// Kills and removes, on drop, every cgroup under the test's root and its sandbox.
struct Cleanup {
    root: String,
    sandbox: PathBuf,
}

impl Cleanup {
    fn new(test: &str) -> Self {
        let root = format!("mesos-test-{test}-{}", std::process::id());
        let sandbox = std::env::temp_dir().join(&root);
        std::fs::create_dir_all(&sandbox).unwrap();
        Self { root, sandbox }
    }

    /// The agent's flags with this test's cgroups root.
    fn flags(&self, isolation: &str, more: &[&str]) -> Flags {
        let mut args = vec![
            "mesos-agent".to_owned(),
            "--master=127.0.0.1:5050".to_owned(),
            format!("--work_dir={}", self.sandbox.display()),
            format!("--isolation={isolation}"),
            format!("--cgroups_root={}", self.root),
        ];
        args.extend(more.iter().map(|s| (*s).to_owned()));
        Flags::try_parse_from(args).unwrap()
    }

    /// A containerizer that must really use cgroups.
    fn cgroups(&self, more: &[&str]) -> Containerizer {
        let containerizer =
            Containerizer::new(&self.flags("cgroups/cpu,cgroups/mem", more)).unwrap();
        assert!(
            containerizer.isolators().any(|i| i == Isolator::CgroupsMem),
            "{NEEDS_CGROUPS}"
        );
        containerizer
    }

    /// A shell command run in a sandbox of its own.
    fn shell(&self, name: &str, command: &str) -> LaunchSpec {
        let sandbox = self.sandbox.join(name);
        std::fs::create_dir_all(&sandbox).unwrap();
        LaunchSpec {
            program: command.to_owned(),
            arguments: vec![],
            shell: true,
            environment: [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into(),
            sandbox,
        }
    }

    fn cgroup(&self, controller: &str, container: &str) -> PathBuf {
        Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(&self.root)
            .join(container)
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        drop(CgroupRoot(self.root.clone()));
        let _ = std::fs::remove_dir_all(&self.sandbox);
    }
}

fn resources(text: &str) -> Resources {
    Resources::parse(text, "*").unwrap()
}

/// Polls `check` until it gives a value, failing after [`DEADLINE`].
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Awaits `future`, failing after [`DEADLINE`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A pid written by the container into `file` in its sandbox.
async fn pid_in(spec: &LaunchSpec, file: &str) -> i32 {
    let path = spec.sandbox.join(file);
    eventually(file, || {
        std::fs::read_to_string(&path).ok()?.trim().parse().ok()
    })
    .await
}

/// Whether `pid` is a live process (a zombie is dead, only not yet reaped).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_runs_in_its_cgroups_with_its_cpu_and_memory_limits() {
    let test = Cleanup::new("limits");
    let mut containerizer = test.cgroups(&["--cgroups_enable_cfs"]);
    let id = ContainerId::from("limits");
    let spec = test.shell("limits", "sleep 1000");
    let launched = containerizer
        .launch(&id, &spec, &resources("cpus:0.5;mem:64"))
        .unwrap();
    let membership = read(Path::new(&format!("/proc/{}/cgroup", launched.pid())));
    let expected = format!("/{}/limits", test.root);
    for controller in V1_CONTROLLERS {
        assert!(
            membership.lines().any(|line| {
                let mut fields = line.splitn(3, ':');
                let (_, controllers, path) = (fields.next(), fields.next(), fields.next());
                controllers.is_some_and(|c| c.split(',').any(|c| c == controller))
                    && path == Some(expected.as_str())
            }),
            "not in the {controller} cgroup {expected}: {membership}"
        );
    }
    let cpu = test.cgroup("cpu", "limits");
    let memory = test.cgroup("memory", "limits");
    assert_eq!(read(&cpu.join("cpu.shares")), "512");
    assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(
        read(&memory.join("memory.limit_in_bytes")),
        (64 * MB).to_string()
    );
    assert_eq!(
        read(&memory.join("memory.soft_limit_in_bytes")),
        (64 * MB).to_string()
    );

    containerizer
        .update(&id, &resources("cpus:1;mem:128"))
        .unwrap();
    assert_eq!(read(&cpu.join("cpu.shares")), "1024");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "100000");
    assert_eq!(
        read(&memory.join("memory.limit_in_bytes")),
        (128 * MB).to_string()
    );

    let watch = containerizer.watch(&id);
    within("destroy", containerizer.destroy(&id)).await.unwrap();
    assert_eq!(
        within("the watch to end", watch).await,
        None,
        "a destroyed container ends its watch without a limitation"
    );
    for controller in V1_CONTROLLERS {
        assert!(
            !test.cgroup(controller, "limits").exists(),
            "{controller} cgroup left"
        );
    }
    assert!(!alive(i32::try_from(launched.pid()).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_hog_is_oom_killed_and_reported_as_a_memory_limitation() {
    let test = Cleanup::new("oom");
    let mut containerizer = test.cgroups(&[]);
    let id = ContainerId::from("hog");
    let spec = test.shell("hog", "x=a; while :; do x=$x$x; done");
    let mut launched = containerizer
        .launch(&id, &spec, &resources("cpus:0.1;mem:32"))
        .unwrap();
    let watch = containerizer.watch(&id);
    let limitation = within("the OOM notification", watch)
        .await
        .expect("the watch ended without a limitation");
    assert_eq!(
        limitation.reason,
        StatusReason::REASON_CONTAINER_LIMITATION_MEMORY
    );
    assert!(
        limitation
            .message
            .starts_with("Memory limit exceeded: Requested: 32MB Maximum Used: "),
        "{}",
        limitation.message
    );
    let status = within("the hog's end", launched.wait()).await.unwrap();
    assert_eq!(
        mesos_agent::containerizer::describe_exit(status),
        "Command terminated with signal 9"
    );
    let reported = containerizer
        .limitation(&id)
        .expect("the OOM kill is counted");
    assert_eq!(
        reported.reason,
        StatusReason::REASON_CONTAINER_LIMITATION_MEMORY
    );
    assert!(reported.resources.mem().is_some());
    within("destroy", containerizer.destroy(&id)).await.unwrap();
}

/// Starts a container with a background child and a double-forked daemon in a
/// session of its own, and returns their pids once both are running.
async fn launch_with_daemon(
    containerizer: &mut Containerizer,
    test: &Cleanup,
    name: &str,
) -> (Launched, Vec<i32>) {
    let spec = test.shell(
        name,
        "sleep 1000 & echo $! > child.pid; \
         (setsid sh -c 'echo $$ > daemon.pid; exec sleep 1001' &); wait",
    );
    let launched = containerizer
        .launch(
            &ContainerId::from(name),
            &spec,
            &resources("cpus:0.1;mem:64"),
        )
        .unwrap();
    let pids = vec![
        i32::try_from(launched.pid()).unwrap(),
        pid_in(&spec, "child.pid").await,
        pid_in(&spec, "daemon.pid").await,
    ];
    (launched, pids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_leaves_no_process_behind_not_even_a_daemon() {
    let test = Cleanup::new("orphans");
    let mut containerizer = test.cgroups(&[]);
    let (_launched, pids) = launch_with_daemon(&mut containerizer, &test, "tree").await;
    assert!(pids.iter().all(|pid| alive(*pid)));
    let daemon = procfs::process::Process::new(pids[2])
        .unwrap()
        .stat()
        .unwrap();
    assert_eq!(
        daemon.session, pids[2],
        "the daemon leads a session of its own"
    );
    assert_eq!(daemon.ppid, 1, "the daemon was orphaned to init");
    within("destroy", containerizer.destroy(&ContainerId::from("tree")))
        .await
        .unwrap();
    for pid in pids {
        eventually(&format!("process {pid} to die"), || {
            (!alive(pid)).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posix_destroy_kills_the_executor_session_and_its_children() {
    let test = Cleanup::new("posix-destroy");
    let mut containerizer = Containerizer::new(&test.flags("posix/cpu,posix/mem", &[])).unwrap();
    let spec = test.shell("session", "sleep 1000 & echo $! > child.pid; sleep 1001");
    let id = ContainerId::from("session");
    let launched = containerizer
        .launch(&id, &spec, &resources("cpus:0.1;mem:64"))
        .unwrap();
    let child = pid_in(&spec, "child.pid").await;
    within("destroy", containerizer.destroy(&id)).await.unwrap();
    for pid in [i32::try_from(launched.pid()).unwrap(), child] {
        eventually(&format!("process {pid} to die"), || {
            (!alive(pid)).then_some(())
        })
        .await;
    }
}

/// The pid namespace of `pid`, as `/proc` names it.
fn pid_namespace(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executor_is_pid_1_of_its_namespace_and_destroy_ends_the_namespace() {
    let test = Cleanup::new("pidns");
    let mut containerizer =
        Containerizer::new(&test.flags("posix/cpu,posix/mem,namespaces/pid", &[])).unwrap();
    let spec = test.shell(
        "pidns",
        "echo $$ > ns.pid; ls /proc | grep -c '^[0-9]' > visible; sleep 1000 & wait",
    );
    let id = ContainerId::from("pidns");
    let launched = containerizer
        .launch(&id, &spec, &resources("cpus:0.1;mem:64"))
        .unwrap();
    assert_eq!(pid_in(&spec, "ns.pid").await, 1, "the executor is pid 1");
    let visible: u32 = pid_in(&spec, "visible").await.try_into().unwrap();
    assert!(
        visible < 10,
        "/proc shows only the namespace's {visible} processes"
    );
    let host_pid = i32::try_from(launched.pid()).unwrap();
    let namespace = pid_namespace(host_pid).unwrap();
    assert_ne!(
        Some(&namespace),
        pid_namespace(std::process::id() as i32).as_ref()
    );
    let members = || -> Vec<i32> {
        procfs::process::all_processes()
            .unwrap()
            .flatten()
            .map(|p| p.pid)
            .filter(|pid| alive(*pid) && pid_namespace(*pid).as_ref() == Some(&namespace))
            .collect()
    };
    eventually("the namespace's sleep", || {
        (members().len() >= 2).then_some(())
    })
    .await;
    within("destroy", containerizer.destroy(&id)).await.unwrap();
    eventually("the namespace to empty", || {
        members().is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_linux_gives_the_executor_a_mount_namespace_of_its_own() {
    let test = Cleanup::new("mntns");
    let mut containerizer =
        Containerizer::new(&test.flags("posix/cpu,posix/mem,filesystem/linux", &[])).unwrap();
    let spec = test.shell("mntns", "sleep 1000");
    let id = ContainerId::from("mntns");
    let launched = containerizer
        .launch(&id, &spec, &resources("cpus:0.1;mem:32"))
        .unwrap();
    let namespace = |pid: u32| std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    assert_ne!(namespace(launched.pid()), namespace(std::process::id()));
    within("destroy", containerizer.destroy(&id)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reports_the_memory_of_a_running_container() {
    let test = Cleanup::new("usage");
    let mut containerizer = test.cgroups(&[]);
    let id = ContainerId::from("usage");
    let spec = test.shell(
        "usage",
        "x=$(head -c 8000000 /dev/zero | tr '\\0' a); echo ready > ready; sleep 1000",
    );
    containerizer
        .launch(&id, &spec, &resources("cpus:0.5;mem:64"))
        .unwrap();
    // `ready` is written before the shell forks `sleep`: wait for both processes.
    let statistics = eventually("the container to allocate and sleep", || {
        let ready = spec.sandbox.join("ready").exists();
        let statistics = containerizer.usage(&id).ok()?;
        (ready && statistics.processes.unwrap_or(0) >= 2).then_some(statistics)
    })
    .await;
    assert!(
        statistics.mem_total_bytes.unwrap_or(0) > 0,
        "{statistics:?}"
    );
    assert!(statistics.mem_rss_bytes.unwrap_or(0) > 0, "{statistics:?}");
    assert!(statistics.processes.unwrap_or(0) >= 2, "{statistics:?}");
    assert!(statistics.cpus_user_time_secs.is_some(), "{statistics:?}");
    assert_eq!(statistics.cpus_limit, Some(0.5));
    assert_eq!(statistics.mem_limit_bytes, Some(64 * MB));
    within("destroy", containerizer.destroy(&id)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posix_usage_sums_the_processes_of_the_container() {
    let test = Cleanup::new("posix-usage");
    let mut containerizer = Containerizer::new(&test.flags("posix/cpu,posix/mem", &[])).unwrap();
    let id = ContainerId::from("usage");
    let spec = test.shell("usage", "sleep 1000 & echo started > ready; wait");
    containerizer
        .launch(&id, &spec, &resources("cpus:0.25;mem:32"))
        .unwrap();
    eventually("the child", || {
        spec.sandbox.join("ready").exists().then_some(())
    })
    .await;
    let statistics = eventually("both processes", || {
        let statistics = containerizer.usage(&id).ok()?;
        (statistics.processes == Some(2)).then_some(statistics)
    })
    .await;
    assert!(statistics.mem_rss_bytes.unwrap_or(0) > 0, "{statistics:?}");
    assert_eq!(statistics.cpus_limit, Some(0.25));
    within("destroy", containerizer.destroy(&id)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_usable_hierarchy_cgroups_isolation_falls_back_to_posix() {
    let test = Cleanup::new("fallback");
    let flags = test.flags(
        "cgroups/mem",
        &["--cgroups_hierarchy=/nonexistent/cgroup/hierarchy"],
    );
    let mut containerizer = Containerizer::new(&flags).unwrap();
    assert_eq!(
        containerizer.isolators().collect::<Vec<_>>(),
        vec![Isolator::PosixMem]
    );
    let id = ContainerId::from("fallback");
    let spec = test.shell("fallback", "echo hello");
    let mut launched = containerizer
        .launch(&id, &spec, &resources("cpus:0.1;mem:32"))
        .unwrap();
    assert!(within("the echo", launched.wait()).await.unwrap().success());
    assert_eq!(read(&spec.sandbox.join("stdout")), "hello");
    within("destroy", containerizer.destroy(&id)).await.unwrap();
}

#[test]
fn unknown_isolators_and_containerizers_are_refused() {
    let test = Cleanup::new("refused");
    let error = Containerizer::new(&test.flags("posix/cpu,cgroups/net", &[])).unwrap_err();
    assert!(error.to_string().contains("'cgroups/net'"), "{error}");
    let error = Containerizer::new(&test.flags("posix/cpu", &["--containerizers=mesos,docker"]))
        .unwrap_err();
    assert!(error.to_string().contains("'docker'"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_destroys_orphan_cgroups_and_keeps_listed_ones() {
    let test = Cleanup::new("recover");
    let mut before = test.cgroups(&[]);
    let kept = before
        .launch(
            &"kept".into(),
            &test.shell("kept", "sleep 1000"),
            &resources("cpus:0.1;mem:32"),
        )
        .unwrap();
    let orphan = before
        .launch(
            &"orphan".into(),
            &test.shell("orphan", "sleep 1000"),
            &resources("cpus:0.1;mem:32"),
        )
        .unwrap();
    // The agent restarts: a new containerizer knows only what the checkpoints list.
    drop(before);
    let mut after = test.cgroups(&[]);
    let recovery = after.recover(&[("kept".into(), kept.pid())]).unwrap();
    assert_eq!(recovery.orphans, vec![ContainerId::from("orphan")]);
    within("the orphans' cleanup", recovery.cleanup)
        .await
        .unwrap();
    for controller in V1_CONTROLLERS {
        assert!(
            !test.cgroup(controller, "orphan").exists(),
            "{controller} orphan cgroup left"
        );
        assert!(
            test.cgroup(controller, "kept").exists(),
            "{controller} kept cgroup removed"
        );
    }
    let orphan_pid = i32::try_from(orphan.pid()).unwrap();
    eventually("the orphan to die", || (!alive(orphan_pid)).then_some(())).await;
    assert!(alive(i32::try_from(kept.pid()).unwrap()));

    let recovered = &recovery.processes[0];
    assert_eq!(recovered.container_id, ContainerId::from("kept"));
    let ended = recovered.wait();
    within("destroy", after.destroy(&"kept".into()))
        .await
        .unwrap();
    within("the recovered process's end", ended).await;
    assert!(!test.cgroup("memory", "kept").exists());
}
