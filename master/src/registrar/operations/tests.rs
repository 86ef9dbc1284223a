//! Each registry operation on small registries, including the cases Mesos treats as
//! "should not happen".

use super::*;

fn info(id: &str) -> AgentInfo {
    AgentInfo {
        hostname: format!("host-{id}"),
        id: Some(AgentId::new(id)),
        ..AgentInfo::default()
    }
}

fn at(nanoseconds: i64) -> TimeInfo {
    TimeInfo { nanoseconds }
}

fn id(id: &str) -> AgentId {
    AgentId::new(id)
}

fn ids(list: &[TimestampedAgent]) -> Vec<&str> {
    list.iter().map(|agent| agent.id.as_str()).collect()
}

fn admitted(registry: &Registry) -> Vec<&str> {
    registry
        .agents
        .iter()
        .filter_map(|agent| agent.info.id.as_ref().map(AgentId::as_str))
        .collect()
}

/// A registry with `a1` and `a2` admitted, `u1` unreachable and `g1` gone.
fn registry() -> Registry {
    let mut registry = Registry::default();
    for agent in ["a1", "a2", "u1", "g1"] {
        assert_eq!(
            AdmitAgent { info: info(agent) }.perform(&mut registry),
            Ok(true)
        );
    }
    let unreachable = MarkAgentUnreachable {
        id: id("u1"),
        time: at(10),
    };
    assert_eq!(unreachable.perform(&mut registry), Ok(true));
    let gone = MarkAgentGone {
        id: id("g1"),
        time: at(20),
    };
    assert_eq!(gone.perform(&mut registry), Ok(true));
    registry
}

/// Asserts that `operation` fails with `expected` and leaves the registry untouched.
fn assert_refused(operation: &dyn RegistryOperation, expected: RegistryError) {
    let mut registry = registry();
    assert_eq!(operation.perform(&mut registry), Err(expected));
    assert_eq!(
        registry,
        self::registry(),
        "a refused operation changes nothing"
    );
}

#[test]
fn admitting_appends_in_order() {
    let registry = registry();
    assert_eq!(admitted(&registry), ["a1", "a2"]);
    assert_eq!(ids(&registry.unreachable), ["u1"]);
    assert_eq!(ids(&registry.gone), ["g1"]);
}

#[test]
fn admitting_twice_changes_nothing() {
    let mut registry = registry();
    assert_eq!(
        AdmitAgent { info: info("a1") }.perform(&mut registry),
        Ok(false)
    );
    assert_eq!(registry, self::registry());
}

#[test]
fn an_agent_without_id_is_refused() {
    let mut nameless = info("x");
    nameless.id = None;
    let expected = RegistryError::MissingAgentId {
        hostname: "host-x".into(),
    };
    assert_refused(
        &AdmitAgent {
            info: nameless.clone(),
        },
        expected.clone(),
    );
    assert_refused(&MarkAgentReachable { info: nameless }, expected);
}

#[test]
fn marking_unreachable_moves_the_agent_with_its_time() {
    let mut registry = registry();
    let operation = MarkAgentUnreachable {
        id: id("a1"),
        time: at(30),
    };
    assert_eq!(operation.perform(&mut registry), Ok(true));
    assert_eq!(admitted(&registry), ["a2"]);
    assert_eq!(registry.unreachable.last().unwrap().timestamp, at(30));
    assert_eq!(ids(&registry.unreachable), ["u1", "a1"]);
}

#[test]
fn only_admitted_agents_become_unreachable_or_are_removed() {
    for agent in ["u1", "g1", "nobody"] {
        let expected = RegistryError::AgentNotAdmitted { id: id(agent) };
        let unreachable = MarkAgentUnreachable {
            id: id(agent),
            time: at(30),
        };
        assert_refused(&unreachable, expected.clone());
        assert_refused(&RemoveAgent { id: id(agent) }, expected);
    }
}

#[test]
fn marking_reachable_readmits_an_unreachable_agent() {
    let mut registry = registry();
    assert_eq!(
        MarkAgentReachable { info: info("u1") }.perform(&mut registry),
        Ok(true)
    );
    assert_eq!(admitted(&registry), ["a1", "a2", "u1"]);
    assert!(registry.unreachable.is_empty());
}

#[test]
fn marking_reachable_an_admitted_agent_changes_nothing() {
    let mut registry = registry();
    assert_eq!(
        MarkAgentReachable { info: info("a1") }.perform(&mut registry),
        Ok(false)
    );
    assert_eq!(registry, self::registry());
}

#[test]
fn marking_reachable_admits_an_agent_whose_entry_was_pruned() {
    let mut registry = registry();
    assert_eq!(
        MarkAgentReachable { info: info("old") }.perform(&mut registry),
        Ok(true)
    );
    assert!(registry.is_admitted(&id("old")));
}

#[test]
fn a_gone_agent_is_never_readmitted() {
    assert_refused(
        &MarkAgentReachable { info: info("g1") },
        RegistryError::AgentGone { id: id("g1") },
    );
}

#[test]
fn removing_forgets_an_admitted_agent() {
    let mut registry = registry();
    assert_eq!(
        RemoveAgent { id: id("a1") }.perform(&mut registry),
        Ok(true)
    );
    assert_eq!(admitted(&registry), ["a2"]);
    assert!(!registry.is_unreachable(&id("a1")) && !registry.is_gone(&id("a1")));
}

#[test]
fn admitted_and_unreachable_agents_can_be_marked_gone() {
    let mut registry = registry();
    for (agent, time) in [("a1", 40), ("u1", 50)] {
        let gone = MarkAgentGone {
            id: id(agent),
            time: at(time),
        };
        assert_eq!(gone.perform(&mut registry), Ok(true));
    }
    assert_eq!(admitted(&registry), ["a2"]);
    assert!(registry.unreachable.is_empty());
    assert_eq!(ids(&registry.gone), ["g1", "a1", "u1"]);
    assert_eq!(registry.gone[2].timestamp, at(50));
}

#[test]
fn marking_gone_twice_or_an_unknown_agent_is_refused() {
    let gone = |agent: &str| MarkAgentGone {
        id: id(agent),
        time: at(60),
    };
    assert_refused(
        &gone("g1"),
        RegistryError::AgentAlreadyGone { id: id("g1") },
    );
    assert_refused(
        &gone("nobody"),
        RegistryError::AgentUnknown { id: id("nobody") },
    );
}

#[test]
fn weights_are_set_and_kept() {
    let mut registry = Registry::default();
    let update = |pairs: &[(&str, f64)]| UpdateWeights {
        weights: pairs.iter().map(|(r, w)| (r.to_string(), *w)).collect(),
    };
    assert_eq!(
        update(&[("web", 2.0), ("batch", 1.0)]).perform(&mut registry),
        Ok(true)
    );
    assert_eq!(update(&[("web", 2.0)]).perform(&mut registry), Ok(false));
    assert_eq!(update(&[]).perform(&mut registry), Ok(false));
    assert_eq!(update(&[("web", 3.0)]).perform(&mut registry), Ok(true));
    assert_eq!(registry.weights["web"], 3.0);
    assert_eq!(
        registry.weights["batch"], 1.0,
        "roles not named keep their weight"
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let before = registry.clone();
        let result = update(&[("ok", 1.0), ("web", bad)]).perform(&mut registry);
        assert!(
            matches!(result, Err(RegistryError::InvalidWeight { .. })),
            "{bad}"
        );
        assert_eq!(registry, before, "a bad weight changes nothing");
    }
}

#[test]
fn prune_forgets_the_listed_agents_only() {
    let mut registry = registry();
    let prune = Prune {
        unreachable: BTreeSet::from([id("u1"), id("a1")]),
        gone: BTreeSet::from([id("g1")]),
    };
    assert_eq!(prune.perform(&mut registry), Ok(true));
    assert!(registry.unreachable.is_empty() && registry.gone.is_empty());
    assert_eq!(
        admitted(&registry),
        ["a1", "a2"],
        "admitted agents are not pruned"
    );
    assert_eq!(prune.perform(&mut registry), Ok(false));
}

fn entries(times: &[(&str, i64)]) -> Vec<TimestampedAgent> {
    times
        .iter()
        .map(|(agent, time)| TimestampedAgent {
            id: id(agent),
            timestamp: at(*time),
        })
        .collect()
}

#[test]
fn pruning_selects_by_age() {
    let limits = PruneLimits {
        max_age: Duration::from_nanos(100),
        max_count: 10,
    };
    let list = entries(&[("old", 0), ("edge", 100), ("new", 150), ("future", 500)]);
    let selected = select_for_pruning(&list, at(200), &limits);
    assert_eq!(
        selected,
        BTreeSet::from([id("old")]),
        "only strictly older than max_age"
    );
}

#[test]
fn pruning_selects_the_oldest_beyond_the_count() {
    let limits = PruneLimits {
        max_age: Duration::from_secs(3600),
        max_count: 2,
    };
    let list = entries(&[("first", 1), ("second", 2), ("third", 3), ("fourth", 4)]);
    let selected = select_for_pruning(&list, at(5), &limits);
    assert_eq!(selected, BTreeSet::from([id("first"), id("second")]));
}

#[test]
fn prune_select_covers_both_lists() {
    let mut registry = registry();
    let limits = PruneLimits {
        max_age: Duration::from_nanos(15),
        max_count: 100,
    };
    let prune = Prune::select(&registry, at(30), &limits);
    assert_eq!(prune.unreachable, BTreeSet::from([id("u1")]));
    assert!(prune.gone.is_empty());
    assert_eq!(prune.perform(&mut registry), Ok(true));
}

#[test]
fn default_limits_are_mesos_defaults() {
    let limits = PruneLimits::default();
    assert_eq!(limits.max_age, Duration::from_secs(14 * 24 * 3600));
    assert_eq!(limits.max_count, 102_400);
}
