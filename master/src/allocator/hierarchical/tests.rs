//! Behaviour of the allocator, call by call, with time passed in by hand.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use mesos_proto::{AgentId, FrameworkId, Resources};
use proptest::prelude::*;

use crate::allocator::{
    AgentCapabilities, Allocation, AllocatorError, FrameworkCapabilities, FrameworkConfig,
    HierarchicalAllocator, Options, Quota, ResourceQuantities,
};

fn resources(text: &str) -> Resources {
    Resources::parse(text, "*").expect("test resources parse")
}

/// `text` offered or allocated to `role`.
fn allocated(text: &str, role: &str) -> Resources {
    let mut resources = resources(text);
    resources.allocate(role);
    resources
}

fn roles(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// An allocator with a hand-driven clock and numbered agents and
/// frameworks (the Nomad harness idea).
struct Harness {
    allocator: HierarchicalAllocator,
    now: Instant,
    agents: u32,
    frameworks: u32,
}

impl Harness {
    fn new() -> Self {
        Self::with(Options::default())
    }

    fn with(options: Options) -> Self {
        Self {
            allocator: HierarchicalAllocator::new(options).expect("valid options"),
            now: Instant::now(),
            agents: 0,
            frameworks: 0,
        }
    }

    fn add_agent(&mut self, text: &str) -> AgentId {
        self.add_agent_with(text, AgentCapabilities::ALL)
    }

    fn add_agent_with(&mut self, text: &str, capabilities: AgentCapabilities) -> AgentId {
        self.agents += 1;
        let id = AgentId::new(format!("agent{}", self.agents));
        self.allocator
            .add_agent(id.clone(), capabilities, resources(text), &HashMap::new())
            .expect("new agent");
        id
    }

    fn add_framework(&mut self, role: &str) -> FrameworkId {
        self.add_framework_with(FrameworkConfig::in_role(role))
    }

    fn add_framework_with(&mut self, config: FrameworkConfig) -> FrameworkId {
        self.frameworks += 1;
        let id = FrameworkId::new(format!("framework{}", self.frameworks));
        self.allocator
            .add_framework(id.clone(), config, &HashMap::new(), true)
            .expect("new framework");
        id
    }

    fn allocate(&mut self) -> Vec<Allocation> {
        self.allocator.allocate(self.now, None)
    }

    /// The only allocation of a cycle.
    fn allocate_one(&mut self) -> Allocation {
        let mut allocations = self.allocate();
        assert_eq!(allocations.len(), 1, "{allocations:#?}");
        allocations.remove(0)
    }

    fn decline(&mut self, allocation: &Allocation, refuse: Option<Duration>) {
        self.allocator.recover_resources(
            &allocation.framework_id,
            &allocation.agent_id,
            &allocation.resources,
            refuse,
            self.now,
        );
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }
}

fn quota(guarantees: &str, limits: &str) -> Quota {
    Quota {
        guarantees: ResourceQuantities::parse(guarantees).unwrap(),
        limits: ResourceQuantities::parse(limits).unwrap(),
    }
}

// ----- DRF ---------------------------------------------------------------

#[test]
fn each_new_agent_goes_whole_to_the_role_with_the_lowest_share() {
    let mut h = Harness::new();
    let agent1 = h.add_agent("cpus:2;mem:1024");
    let framework1 = h.add_framework("role1");
    let offer = h.allocate_one();
    assert_eq!(
        (&offer.framework_id, &offer.agent_id),
        (&framework1, &agent1)
    );
    assert_eq!(offer.resources, allocated("cpus:2;mem:1024", "role1"));
    assert_eq!(offer.role, "role1");

    // role1 holds 2/3 of the cpus once agent2 arrives, role2 nothing.
    let framework2 = h.add_framework("role2");
    h.add_agent("cpus:1;mem:512");
    assert_eq!(h.allocate_one().framework_id, framework2);

    // role1: 2/6 cpus; role2: 1/6 cpus, so role2 again.
    h.add_agent("cpus:3;mem:2048");
    assert_eq!(h.allocate_one().framework_id, framework2);

    // role1 (0.2) is now below role2 (0.4); within role1 the new
    // framework3 (share 0) goes before framework1.
    let framework3 = h.add_framework("role1");
    h.add_agent("cpus:4;mem:4096");
    assert_eq!(h.allocate_one().framework_id, framework3);
}

#[test]
fn equal_shares_take_turns_by_allocation_count_then_name() {
    let mut h = Harness::new();
    let a = h.add_framework("r");
    let b = h.add_framework("r");
    h.add_agent("cpus:1;mem:100");
    let first = h.allocate_one();
    assert_eq!(first.framework_id, a);
    h.decline(&first, None);
    // Both hold nothing again, but `a` has had one allocation.
    assert_eq!(h.allocate_one().framework_id, b);
}

#[test]
fn weights_favour_heavier_roles() {
    let mut options = Options::default();
    options.weights.insert("heavy".into(), 3.0);
    let mut h = Harness::with(options);
    let light = h.add_framework("light");
    let heavy = h.add_framework("heavy");
    for _ in 0..4 {
        h.add_agent("cpus:1;mem:100");
    }
    let mut per_framework: HashMap<FrameworkId, usize> = HashMap::new();
    for offer in h.allocate() {
        *per_framework.entry(offer.framework_id).or_default() += 1;
    }
    // Ties go by name, so heavy takes the first agent (share 1/4/3); light
    // the second (heavy's 1/12 < light's 0); then heavy stays below light's
    // 1/4 until it holds three agents (3/4/3 = 1/4).
    assert_eq!(per_framework[&heavy], 3);
    assert_eq!(per_framework[&light], 1);
    assert_eq!(h.allocator.role_share("heavy"), Some(0.25));
    let summary = h.allocator.roles();
    assert_eq!(summary[0].role, "heavy");
    assert_eq!(summary[0].weight, 3.0);
}

#[test]
fn hierarchical_roles_compete_as_subtrees() {
    let mut h = Harness::new();
    let eng_web = h.add_framework("eng/web");
    let eng_db = h.add_framework("eng/db");
    let ops = h.add_framework("ops");
    h.add_agent("cpus:1;mem:100");
    // All at zero: `eng` sorts before `ops`, `eng/db` before `eng/web`.
    let first = h.allocate_one();
    assert_eq!(first.framework_id, eng_db);
    // Now subtree `eng` holds everything: `ops` comes first, then `eng/web`.
    h.add_agent("cpus:1;mem:100");
    assert_eq!(h.allocate_one().framework_id, ops);
    h.add_agent("cpus:1;mem:100");
    assert_eq!(h.allocate_one().framework_id, eng_web);
}

#[test]
fn hierarchical_roles_skip_agents_without_the_capability() {
    let mut h = Harness::new();
    h.add_framework("eng/web");
    let old = AgentCapabilities {
        hierarchical_role: false,
        ..AgentCapabilities::ALL
    };
    h.add_agent_with("cpus:1;mem:100", old);
    assert!(h.allocate().is_empty());
}

#[test]
fn excluded_resource_names_do_not_count_for_fairness() {
    let options = Options {
        fair_sharing_excluded_resource_names: BTreeSet::from(["gpus".to_string()]),
        ..Options::default()
    };
    let mut h = Harness::with(options);
    let gpu_capable = FrameworkConfig {
        capabilities: FrameworkCapabilities {
            gpu_resources: true,
            ..FrameworkCapabilities::default()
        },
        ..FrameworkConfig::in_role("a")
    };
    let a = h.add_framework_with(gpu_capable.clone());
    h.add_framework_with(FrameworkConfig {
        roles: roles(&["b"]),
        ..gpu_capable
    });
    h.add_agent("cpus:1;mem:100;gpus:4");
    assert_eq!(h.allocate_one().framework_id, a);
    h.add_agent("cpus:9;mem:900");
    h.allocate_one();
    // `a` holds a tenth of the cpus and memory but all the GPUs. Without the
    // GPUs its share (1/11) is below `b`'s (9/11), so it gets the new agent.
    h.add_agent("cpus:1;mem:100");
    assert_eq!(h.allocate_one().framework_id, a);
}

// ----- Reservations ------------------------------------------------------

#[test]
fn reserved_resources_go_only_to_their_role_and_its_descendants() {
    let mut h = Harness::new();
    let other = h.add_framework("other");
    h.add_agent("cpus(eng):4;mem(eng):400");
    assert!(
        h.allocate().is_empty(),
        "nothing for a role without reservations"
    );
    let child = h.add_framework("eng/web");
    let offer = h.allocate_one();
    assert_eq!(offer.framework_id, child);
    assert_eq!(
        offer.resources,
        allocated("cpus(eng):4;mem(eng):400", "eng/web")
    );
    // Unreserved resources still go to anyone.
    h.add_agent("cpus:1;mem:100");
    assert_eq!(h.allocate_one().framework_id, other);
}

#[test]
fn an_offer_holds_the_role_reservations_and_unreserved_resources_together() {
    let mut h = Harness::new();
    h.add_framework("eng");
    h.add_agent("cpus(eng):2;cpus:1;mem:100");
    let offer = h.allocate_one();
    assert_eq!(
        offer.resources,
        allocated("cpus(eng):2;cpus:1;mem:100", "eng")
    );
    let summary = h.allocator.roles();
    assert_eq!(summary[0].reserved.to_string(), "cpus:2");
    assert_eq!(summary[0].allocated.to_string(), "cpus:3;mem:100");
}

// ----- Filters -----------------------------------------------------------

#[test]
fn a_refusal_filter_suppresses_the_same_resources_until_it_expires() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    h.add_agent("cpus:1;mem:512");
    let offer = h.allocate_one();
    h.decline(&offer, Some(Duration::from_secs(10)));
    assert_eq!(h.allocator.offer_filters("r"), 1);
    h.advance(Duration::from_secs(9));
    assert!(h.allocate().is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.allocate_one().framework_id, framework);
    assert_eq!(h.allocator.offer_filters("r"), 0);
}

#[test]
fn a_filter_lasts_at_least_one_allocation_interval() {
    let mut h = Harness::new();
    h.add_framework("r");
    h.add_agent("cpus:1;mem:512");
    let offer = h.allocate_one();
    h.decline(&offer, Some(Duration::from_millis(10)));
    h.advance(Duration::from_millis(500));
    assert!(h.allocate().is_empty());
    h.advance(Duration::from_millis(500));
    assert_eq!(h.allocate().len(), 1);
}

#[test]
fn offering_more_than_was_refused_goes_through() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let agent = h.add_agent("cpus:2;mem:512");
    let offer = h.allocate_one();
    // Keep half, refuse the rest for a long time.
    let kept = allocated("cpus:1;mem:256", "r");
    let refused = &offer.resources - &kept;
    h.allocator.recover_resources(
        &framework,
        &agent,
        &refused,
        Some(Duration::from_secs(60)),
        h.now,
    );
    assert!(h.allocate().is_empty(), "the refused half is filtered");
    // The kept half comes back without a filter: the whole agent is more
    // than was refused.
    h.allocator
        .recover_resources(&framework, &agent, &kept, None, h.now);
    assert_eq!(h.allocate_one().resources, allocated("cpus:2;mem:512", "r"));
}

#[test]
fn filters_are_per_framework_and_others_get_the_offer() {
    let mut h = Harness::new();
    let a = h.add_framework("r");
    let b = h.add_framework("r");
    h.add_agent("cpus:1;mem:512");
    let offer = h.allocate_one();
    assert_eq!(offer.framework_id, a);
    h.decline(&offer, Some(Duration::from_secs(60)));
    assert_eq!(h.allocate_one().framework_id, b);
}

// ----- Suppress and revive ----------------------------------------------

#[test]
fn a_suppressed_role_gets_nothing_until_revived() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    h.allocator
        .suppress_offers(&framework, &BTreeSet::new())
        .unwrap();
    h.add_agent("cpus:1;mem:512");
    assert!(h.allocate().is_empty());
    h.allocator
        .revive_offers(&framework, &roles(&["r"]))
        .unwrap();
    assert_eq!(h.allocate_one().framework_id, framework);
}

#[test]
fn revive_clears_the_framework_filters() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    h.add_agent("cpus:1;mem:512");
    let offer = h.allocate_one();
    h.decline(&offer, Some(Duration::from_secs(3600)));
    assert!(h.allocate().is_empty());
    h.allocator
        .revive_offers(&framework, &BTreeSet::new())
        .unwrap();
    assert_eq!(h.allocate().len(), 1);
}

#[test]
fn suppressing_an_unsubscribed_role_is_refused() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let error = h
        .allocator
        .suppress_offers(&framework, &roles(&["elsewhere"]))
        .unwrap_err();
    assert!(matches!(error, AllocatorError::NotSubscribed { .. }));
}

#[test]
fn update_framework_moves_it_between_roles() {
    let mut h = Harness::new();
    let framework = h.add_framework("old");
    h.allocator
        .update_framework(&framework, FrameworkConfig::in_role("new"))
        .unwrap();
    h.add_agent("cpus:1;mem:512");
    assert_eq!(h.allocate_one().role, "new");
    let listed: Vec<String> = h.allocator.roles().into_iter().map(|r| r.role).collect();
    assert_eq!(listed, ["new"]);
}

#[test]
fn update_framework_suppresses_and_revives_roles() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let suppressed = FrameworkConfig {
        suppressed_roles: roles(&["r"]),
        ..FrameworkConfig::in_role("r")
    };
    h.allocator
        .update_framework(&framework, suppressed)
        .unwrap();
    h.add_agent("cpus:1;mem:512");
    assert!(h.allocate().is_empty());
    h.allocator
        .update_framework(&framework, FrameworkConfig::in_role("r"))
        .unwrap();
    assert_eq!(h.allocate().len(), 1);
}

// ----- Quota -------------------------------------------------------------

#[test]
fn a_quota_guarantee_is_met_before_fair_sharing() {
    let mut h = Harness::new();
    // `other` has the lower share, but `quota` is below its guarantee.
    let guaranteed = h.add_framework("quota");
    h.add_framework("other");
    h.allocator
        .update_quota("quota", quota("cpus:2", ""))
        .unwrap();
    h.add_agent("cpus:1;mem:100");
    h.add_agent("cpus:1;mem:100");
    let offers = h.allocate();
    assert_eq!(offers.len(), 2);
    assert!(offers.iter().all(|offer| offer.framework_id == guaranteed));
}

#[test]
fn headroom_for_unmet_guarantees_is_held_back_from_others() {
    let mut h = Harness::new();
    let quota_framework = h.add_framework("quota");
    h.allocator
        .suppress_offers(&quota_framework, &BTreeSet::new())
        .unwrap();
    h.allocator
        .update_quota("quota", quota("cpus:3;mem:300", ""))
        .unwrap();
    let other = h.add_framework("other");
    for _ in 0..4 {
        h.add_agent("cpus:1;mem:100");
    }
    // `quota` wants nothing now, but three agents' worth is kept for it.
    let offers = h.allocate();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].framework_id, other);
    assert_eq!(offers[0].resources, allocated("cpus:1;mem:100", "other"));
    // Once revived it gets its guarantee.
    h.allocator
        .revive_offers(&quota_framework, &BTreeSet::new())
        .unwrap();
    let offers = h.allocate();
    assert_eq!(offers.len(), 3);
    assert!(offers
        .iter()
        .all(|offer| offer.framework_id == quota_framework));
}

#[test]
fn a_quota_limit_caps_what_a_role_is_offered() {
    let mut h = Harness::new();
    h.add_framework("capped");
    h.allocator
        .update_quota("capped", quota("", "cpus:3"))
        .unwrap();
    h.add_agent("cpus:2;mem:100");
    h.add_agent("cpus:2;mem:100");
    let offers = h.allocate();
    let cpus: f64 = offers.iter().filter_map(|o| o.resources.cpus()).sum();
    let mem: f64 = offers.iter().filter_map(|o| o.resources.mem()).sum();
    assert_eq!(cpus, 3.0);
    // Memory has no limit.
    assert_eq!(mem, 200.0);
    // Nothing more while the limit is reached.
    assert!(h.allocate().is_empty());
}

#[test]
fn guarantees_above_limits_of_others_do_not_block_reserved_offers() {
    let mut h = Harness::new();
    h.add_framework("quota");
    h.allocator
        .update_quota("quota", quota("cpus:10", ""))
        .unwrap();
    let eng = h.add_framework("eng");
    // The headroom held for `quota` is unreserved: `eng` still gets its own
    // reservation.
    h.add_agent("cpus(eng):1;mem(eng):100");
    let offer = h.allocate_one();
    assert_eq!(offer.framework_id, eng);
}

// ----- Minimum offers and capabilities -----------------------------------

#[test]
fn leftovers_below_the_minimum_are_not_offered() {
    let mut h = Harness::new();
    h.add_framework("r");
    h.add_agent("cpus:0.005;mem:16;disk:100");
    assert!(h.allocate().is_empty());
    h.add_agent("cpus:0.01;mem:1");
    assert_eq!(h.allocate().len(), 1);
}

#[test]
fn a_framework_may_set_its_own_minimum_per_role() {
    let mut h = Harness::new();
    let picky = FrameworkConfig {
        min_allocatable_resources: [(
            "r".to_string(),
            vec![ResourceQuantities::parse("cpus:4").unwrap()],
        )]
        .into(),
        ..FrameworkConfig::in_role("r")
    };
    h.add_framework_with(picky);
    h.add_agent("cpus:2;mem:1000");
    assert!(h.allocate().is_empty());
    h.add_agent("cpus:4;mem:10");
    assert_eq!(h.allocate().len(), 1);
}

#[test]
fn gpu_agents_go_only_to_gpu_frameworks() {
    let mut h = Harness::new();
    h.add_framework("r");
    h.add_agent("cpus:1;mem:100;gpus:1");
    assert!(h.allocate().is_empty());
    let gpu = h.add_framework_with(FrameworkConfig {
        capabilities: FrameworkCapabilities {
            gpu_resources: true,
            ..FrameworkCapabilities::default()
        },
        ..FrameworkConfig::in_role("r")
    });
    assert_eq!(h.allocate_one().framework_id, gpu);
}

#[test]
fn multi_role_frameworks_skip_agents_that_are_not() {
    let mut h = Harness::new();
    h.add_framework_with(FrameworkConfig {
        capabilities: FrameworkCapabilities {
            multi_role: true,
            ..FrameworkCapabilities::default()
        },
        ..FrameworkConfig::in_role("r")
    });
    let old = AgentCapabilities {
        multi_role: false,
        ..AgentCapabilities::ALL
    };
    h.add_agent_with("cpus:1;mem:100", old);
    assert!(h.allocate().is_empty());
}

// ----- Activity and lifecycle --------------------------------------------

#[test]
fn inactive_agents_and_frameworks_get_nothing() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let agent = h.add_agent("cpus:1;mem:100");
    h.allocator.deactivate_agent(&agent).unwrap();
    assert!(h.allocate().is_empty());
    h.allocator.activate_agent(&agent).unwrap();
    h.allocator.deactivate_framework(&framework).unwrap();
    assert!(h.allocate().is_empty());
    h.allocator.activate_framework(&framework).unwrap();
    assert_eq!(h.allocate().len(), 1);
}

#[test]
fn an_inactive_framework_added_with_used_resources_is_accounted_for() {
    let mut h = Harness::new();
    let agent = h.add_agent("cpus:4;mem:400");
    let used = HashMap::from([(agent.clone(), allocated("cpus:1;mem:100", "r"))]);
    let framework = FrameworkId::new("restarted");
    h.allocator
        .add_framework(
            framework.clone(),
            FrameworkConfig::in_role("r"),
            &used,
            false,
        )
        .unwrap();
    assert!(h.allocate().is_empty());
    assert_eq!(h.allocator.framework_share(&framework, "r"), Some(0.25));
}

#[test]
fn recovered_resources_return_to_the_pool() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let agent = h.add_agent("cpus:4;mem:400");
    let offer = h.allocate_one();
    assert!(h.allocator.agent_available(&agent).unwrap().is_empty());
    let part = allocated("cpus:1;mem:100", "r");
    h.allocator
        .recover_resources(&framework, &agent, &part, None, h.now);
    assert_eq!(
        h.allocator.agent_available(&agent),
        Some(&resources("cpus:1;mem:100"))
    );
    let held = h.allocator.framework_allocation(&framework).unwrap();
    assert_eq!(held[&agent], &offer.resources - &part);
    assert_eq!(h.allocate_one().resources, part);
}

#[test]
fn recovering_what_was_never_offered_changes_nothing() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let agent = h.add_agent("cpus:4;mem:400");
    let bogus = allocated("cpus:1", "r");
    h.allocator
        .recover_resources(&framework, &agent, &bogus, None, h.now);
    assert_eq!(
        h.allocator.agent_available(&agent),
        Some(&resources("cpus:4;mem:400"))
    );
}

#[test]
fn removing_a_framework_frees_its_resources() {
    let mut h = Harness::new();
    let gone = h.add_framework("r");
    let agent = h.add_agent("cpus:4;mem:400");
    h.allocate_one();
    h.allocator.remove_framework(&gone).unwrap();
    assert_eq!(
        h.allocator.agent_available(&agent),
        Some(&resources("cpus:4;mem:400"))
    );
    assert!(h.allocator.roles().is_empty());
    let next = h.add_framework("r");
    assert_eq!(h.allocate_one().framework_id, next);
}

#[test]
fn removing_an_agent_forgets_its_offers_and_totals() {
    let mut h = Harness::new();
    let framework = h.add_framework("r");
    let agent = h.add_agent("cpus:4;mem:400");
    let offer = h.allocate_one();
    h.allocator.remove_agent(&agent).unwrap();
    assert!(h.allocator.total_resources().is_empty());
    assert_eq!(h.allocator.framework_share(&framework, "r"), Some(0.0));
    // The master recovering the offer afterwards is harmless.
    h.decline(&offer, None);
    assert!(h.allocator.remove_agent(&agent).is_err());
}

#[test]
fn updating_an_agent_total_changes_what_is_free() {
    let mut h = Harness::new();
    h.add_framework("r");
    let agent = h.add_agent("cpus:1;mem:100");
    h.allocate_one();
    h.allocator
        .update_agent(&agent, Some(resources("cpus:3;mem:100")), None)
        .unwrap();
    assert_eq!(h.allocate_one().resources, allocated("cpus:2", "r"));
    assert_eq!(h.allocator.total_resources().to_string(), "cpus:3;mem:100");
}

#[test]
fn an_agent_reports_used_resources_of_a_framework_not_yet_back() {
    let mut h = Harness::new();
    let framework = FrameworkId::new("returning");
    let used = HashMap::from([(framework.clone(), allocated("cpus:3;mem:300", "r"))]);
    let agent = AgentId::new("agent");
    h.allocator
        .add_agent(
            agent.clone(),
            AgentCapabilities::ALL,
            resources("cpus:4;mem:400"),
            &used,
        )
        .unwrap();
    assert_eq!(
        h.allocator.agent_available(&agent),
        Some(&resources("cpus:1;mem:100"))
    );
    let agent_used = HashMap::from([(agent.clone(), allocated("cpus:3;mem:300", "r"))]);
    h.allocator
        .add_framework(
            framework.clone(),
            FrameworkConfig::in_role("r"),
            &agent_used,
            true,
        )
        .unwrap();
    assert_eq!(h.allocator.framework_share(&framework, "r"), Some(0.75));
    h.allocator.remove_framework(&framework).unwrap();
    assert_eq!(
        h.allocator.agent_available(&agent),
        Some(&resources("cpus:4;mem:400"))
    );
}

#[test]
fn unknown_ids_and_bad_input_are_refused() {
    let mut h = Harness::new();
    let ghost = FrameworkId::new("ghost");
    assert_eq!(
        h.allocator.remove_framework(&ghost),
        Err(AllocatorError::UnknownFramework(ghost))
    );
    assert!(h.allocator.update_weight("r", 0.0).is_err());
    assert!(h.allocator.update_weight("a//b", 1.0).is_err());
    let agent = h.add_agent("cpus:1");
    assert_eq!(
        h.allocator.add_agent(
            agent.clone(),
            AgentCapabilities::ALL,
            resources("cpus:1"),
            &HashMap::new()
        ),
        Err(AllocatorError::DuplicateAgent(agent))
    );
    let bad = FrameworkConfig::in_role("-bad");
    assert!(h
        .allocator
        .add_framework(FrameworkId::new("f"), bad, &HashMap::new(), true)
        .is_err());
}

#[test]
fn candidate_agents_limit_the_cycle() {
    let mut h = Harness::new();
    h.add_framework("r");
    let first = h.add_agent("cpus:1;mem:100");
    let second = h.add_agent("cpus:1;mem:100");
    let offers = h
        .allocator
        .allocate(h.now, Some(&[second.clone(), second.clone()]));
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].agent_id, second);
    let offers = h.allocator.allocate(h.now, None);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].agent_id, first);
}

// ----- Determinism and invariants ------------------------------------------

/// Ten frameworks over two roles decline each other's offers on fifty
/// agents; returns the offers of five cycles.
fn scripted_run(seed: u64) -> Vec<(String, String, String)> {
    let mut h = Harness::with(Options {
        seed,
        ..Options::default()
    });
    for i in 0..10 {
        h.add_framework(if i % 2 == 0 { "a" } else { "b" });
    }
    for _ in 0..50 {
        h.add_agent("cpus:4;mem:1024;ports:[31000-32000]");
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        for offer in h.allocate() {
            seen.push((
                offer.framework_id.to_string(),
                offer.agent_id.to_string(),
                offer.resources.to_string(),
            ));
            h.decline(&offer, Some(Duration::from_secs(3600)));
        }
        h.advance(Duration::from_secs(1));
    }
    seen
}

#[test]
fn a_fixed_seed_gives_the_same_offers() {
    let first = scripted_run(7);
    assert_eq!(first.len(), 250);
    assert_eq!(first, scripted_run(7));
    assert_ne!(first, scripted_run(8));
}

/// One step of the random script.
#[derive(Clone, Debug)]
enum Step {
    Allocate,
    /// Decline the n-th outstanding offer, maybe with a filter.
    Decline(usize, bool),
    /// Give back half of the n-th outstanding offer's cpus.
    ReturnPart(usize),
    AddAgent(u8),
    RemoveAgent(usize),
    RemoveFramework(usize),
    Advance,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Allocate),
        3 => (0..64usize, any::<bool>()).prop_map(|(n, filter)| Step::Decline(n, filter)),
        2 => (0..64usize).prop_map(Step::ReturnPart),
        1 => (1..8u8).prop_map(Step::AddAgent),
        1 => (0..64usize).prop_map(Step::RemoveAgent),
        1 => (0..64usize).prop_map(Step::RemoveFramework),
        1 => Just(Step::Advance),
    ]
}

/// Checks that on every agent, what is offered or allocated plus what is
/// free is exactly the total.
fn assert_conserved(h: &Harness, agents: &[(AgentId, Resources)], frameworks: &[FrameworkId]) {
    for (agent, total) in agents {
        let mut sum = h.allocator.agent_available(agent).unwrap().clone();
        for framework in frameworks {
            if let Some(held) = h.allocator.framework_allocation(framework) {
                if let Some(resources) = held.get(agent) {
                    let mut resources = resources.clone();
                    resources.unallocate();
                    sum += &resources;
                }
            }
        }
        assert_eq!(&sum, total, "agent {agent}");
    }
}

fn run_script(steps: Vec<Step>) {
    let mut h = Harness::new();
    let mut frameworks: Vec<FrameworkId> = ["a", "a", "b", "c/d"]
        .iter()
        .map(|role| h.add_framework(role))
        .collect();
    h.allocator
        .update_quota("b", quota("cpus:3", "cpus:6"))
        .unwrap();
    let mut agents: Vec<(AgentId, Resources)> = Vec::new();
    for text in ["cpus:4;mem:512;ports:[1-100]", "cpus(a):2;cpus:2;mem:256"] {
        agents.push((h.add_agent(text), resources(text)));
    }
    let mut outstanding: Vec<Allocation> = Vec::new();
    for step in steps {
        match step {
            Step::Allocate => outstanding.extend(h.allocate()),
            Step::Decline(n, filter) if !outstanding.is_empty() => {
                let offer = outstanding.swap_remove(n % outstanding.len());
                h.decline(&offer, filter.then(|| Duration::from_secs(5)));
            }
            Step::ReturnPart(n) if !outstanding.is_empty() => {
                let index = n % outstanding.len();
                let offer = &mut outstanding[index];
                let half = offer
                    .resources
                    .filter(|r| r.name == "cpus" && r.is_unreserved());
                if let Some(cpus) = half.cpus().filter(|cpus| *cpus >= 1.0) {
                    let part = allocated(&format!("cpus:{}", (cpus / 2.0).floor()), &offer.role);
                    h.allocator.recover_resources(
                        &offer.framework_id,
                        &offer.agent_id,
                        &part,
                        None,
                        h.now,
                    );
                    offer.resources -= &part;
                }
            }
            Step::AddAgent(cpus) => {
                let text = format!("cpus:{cpus};mem:128;cpus(b):1");
                agents.push((h.add_agent(&text), resources(&text)));
            }
            Step::RemoveAgent(n) if agents.len() > 1 => {
                let (agent, _) = agents.swap_remove(n % agents.len());
                h.allocator.remove_agent(&agent).unwrap();
                outstanding.retain(|offer| offer.agent_id != agent);
            }
            Step::RemoveFramework(n) if frameworks.len() > 1 => {
                let framework = frameworks.swap_remove(n % frameworks.len());
                h.allocator.remove_framework(&framework).unwrap();
                outstanding.retain(|offer| offer.framework_id != framework);
            }
            Step::Advance => h.advance(Duration::from_secs(3)),
            _ => {}
        }
        assert_conserved(&h, &agents, &frameworks);
        let b_cpus: f64 = outstanding
            .iter()
            .filter(|offer| offer.role == "b")
            .filter_map(|offer| offer.resources.filter(|r| r.is_unreserved()).cpus())
            .sum();
        assert!(b_cpus <= 6.0, "quota limit of b exceeded: {b_cpus}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn allocations_never_exceed_any_agent_total(steps in proptest::collection::vec(step(), 1..60)) {
        run_script(steps);
    }
}

#[test]
fn equal_refusals_on_an_agent_share_one_copy() {
    let mut h = Harness::new();
    let a = h.add_framework("r");
    let b = h.add_framework("r");
    let agent = h.add_agent("cpus:2;mem:512;ports:[1-10]");
    for _ in 0..2 {
        let offer = h.allocate_one();
        h.decline(&offer, Some(Duration::from_secs(60)));
    }
    let index = h.allocator.agent_index[&agent];
    let copies: Vec<_> = [a, b]
        .iter()
        .map(|id| {
            let framework = &h.allocator.frameworks[h.allocator.framework_index[id].into()];
            std::sync::Arc::as_ptr(&framework.filters[&index][0].resources)
        })
        .collect();
    assert_eq!(copies[0], copies[1]);
}

#[test]
fn the_allocator_can_move_into_an_actor() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<HierarchicalAllocator>();
}
