//! Weighted fair sharing between roles, as the master's allocator does it.

use std::sync::atomic::{AtomicU32, Ordering};

use mesos_proto::mesos::{Filters, FrameworkInfo, Offer};
use mesos_scheduler_driver::SchedulerDriver;
use mesos_tests::{command_task, framework_info, until, Cluster, Event, Framework};
use serde_json::Value;

/// Each agent: room for two tasks.
const AGENT_RESOURCES: &str = "--resources=cpus:1;mem:256;disk:1024;ports:[31000-31099]";
const AGENTS: usize = 8;
const TASK: &str = "cpus:0.5;mem:128";

/// A framework in `role` that launches as many long tasks as fit on every offer it
/// gets, for as long as it gets offers: it always wants more than the cluster has.
fn greedy_framework(role: &str, master: &str) -> Framework {
    let info = FrameworkInfo {
        role: Some(role.to_owned()),
        ..framework_info(&format!("greedy-{role}"))
    };
    let role = role.to_owned();
    let launched = AtomicU32::new(0);
    let reaction = Box::new(move |driver: &dyn SchedulerDriver, event: &Event| {
        let Event::Offers(offers) = event else {
            return;
        };
        for offer in offers {
            let tasks = (0..fitting_tasks(offer))
                .map(|_| {
                    let id = format!("{role}-{}", launched.fetch_add(1, Ordering::Relaxed));
                    command_task(&id, offer, TASK, "sleep 3600")
                })
                .collect();
            driver.launch_tasks(vec![offer.id.clone()], tasks, Filters::default());
        }
    });
    Framework::start_reacting(info, master, Some(reaction))
}

/// How many `TASK`s fit in `offer`.
fn fitting_tasks(offer: &Offer) -> u32 {
    let scalars = offer.resources.scalars();
    let amount = |name: &str| scalars.get(name).map_or(0.0, |scalar| scalar.value());
    let by_cpus = (amount("cpus") / 0.5).floor();
    let by_mem = (amount("mem") / 128.0).floor();
    by_cpus.min(by_mem) as u32
}

/// `role`'s entry in `/master/roles`.
fn role<'a>(roles: &'a Value, name: &str) -> Option<&'a Value> {
    roles["roles"]
        .as_array()?
        .iter()
        .find(|entry| entry["name"] == name)
}

/// The cpus allocated to `name` in `/master/roles`.
fn role_cpus(roles: &Value, name: &str) -> f64 {
    role(roles, name)
        .and_then(|entry| entry["resources"]["cpus"].as_f64())
        .unwrap_or(0.0)
}

#[test]
fn allocations_follow_role_weights_one_to_three() {
    let mut cluster = Cluster::builder("weights")
        .master_flag("--roles=light,heavy")
        .master_flag("--weights=light=1,heavy=3")
        .agents(AGENTS, &[AGENT_RESOURCES])
        .build();
    cluster.start_master();
    let light = greedy_framework("light", &cluster.master());
    let heavy = greedy_framework("heavy", &cluster.master());
    light.registered();
    heavy.registered();
    // Agents join only now, so that every offer is contended by both roles.
    for index in 0..AGENTS {
        cluster.start_agent(index);
    }

    let total = AGENTS as f64;
    let roles = until("the whole cluster allocated", || {
        let roles = cluster.master_json("/master/roles")?;
        let allocated = role_cpus(&roles, "light") + role_cpus(&roles, "heavy");
        (allocated >= total).then_some(roles)
    });

    for (name, weight) in [("light", 1.0), ("heavy", 3.0)] {
        let entry = role(&roles, name).expect("the role is listed");
        assert_eq!(entry["weight"].as_f64(), Some(weight), "{name}: {entry}");
    }
    let (light_cpus, heavy_cpus) = (role_cpus(&roles, "light"), role_cpus(&roles, "heavy"));
    assert!(light_cpus > 0.0, "the light role got nothing: {roles}");
    let ratio = heavy_cpus / light_cpus;
    assert!(
        (2.0..=4.5).contains(&ratio),
        "heavy:light is {heavy_cpus}:{light_cpus}, not near 3:1: {roles}"
    );
}
