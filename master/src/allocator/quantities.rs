//! Amounts of scalar resources, without reservations or allocation (Mesos
//! `ResourceQuantities` and `ResourceLimits`).
//!
//! Quota, `--min_allocatable_resources` and fair sharing only look at how much
//! of each scalar kind there is. [`ResourceQuantities`] is the public,
//! name-keyed form. Inside the allocator the kinds are interned
//! ([`Kinds`]) and amounts are dense vectors of thousandths
//! ([`Quantities`]), so that the allocation loop adds and compares them
//! without touching a string.

use std::collections::BTreeMap;
use std::fmt;

use mesos_proto::{Resource, Resources, Scalar, Value};

/// Why a quantity list was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum QuantitiesError {
    /// A piece that is not `name:number`.
    #[error("bad quantity '{token}': expected 'name:number'")]
    Syntax {
        /// The offending `;`-separated piece.
        token: String,
    },
    /// A number that is negative, NaN or too large.
    #[error("bad quantity '{token}': the amount must be a finite number >= 0")]
    InvalidAmount {
        /// The offending piece.
        token: String,
    },
    /// One name given twice in one list.
    #[error("resource '{name}' is given more than once")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// `--min_allocatable_resources` with nothing in it.
    #[error("no quantities given")]
    Empty,
}

/// Amounts of scalar resources by name (Mesos `ResourceQuantities`): `cpus:4;
/// mem:1024`. A name that is absent counts as zero, except in
/// [`Quota::limits`](crate::allocator::Quota::limits), where absent means
/// unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceQuantities {
    amounts: BTreeMap<String, Scalar>,
}

impl ResourceQuantities {
    /// No quantities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `name:number;name:number`, as Mesos's quota and
    /// `--min_allocatable_resources` texts are written. Zero amounts are kept
    /// out, as Mesos does.
    pub fn parse(text: &str) -> Result<Self, QuantitiesError> {
        let mut quantities = Self::new();
        for token in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
            let syntax = || QuantitiesError::Syntax {
                token: token.to_owned(),
            };
            let (name, amount) = token.split_once(':').ok_or_else(syntax)?;
            let name = name.trim();
            if name.is_empty() {
                return Err(syntax());
            }
            let amount: f64 = amount.trim().parse().map_err(|_| syntax())?;
            let scalar = Scalar::from_f64(amount)
                .ok()
                .filter(|scalar| !scalar.is_negative())
                .ok_or_else(|| QuantitiesError::InvalidAmount {
                    token: token.to_owned(),
                })?;
            if quantities.amounts.contains_key(name) {
                return Err(QuantitiesError::Duplicate {
                    name: name.to_owned(),
                });
            }
            quantities.set(name, scalar);
        }
        Ok(quantities)
    }

    /// The scalar amounts of `resources`, whatever their reservation or
    /// allocation.
    pub fn of(resources: &Resources) -> Self {
        let mut quantities = Self::new();
        for (name, scalar) in resources.scalars() {
            quantities.set(&name, scalar);
        }
        quantities
    }

    /// Sets the amount of `name`; zero removes it.
    pub fn set(&mut self, name: &str, amount: Scalar) {
        if amount <= Scalar::ZERO {
            self.amounts.remove(name);
        } else {
            self.amounts.insert(name.to_owned(), amount);
        }
    }

    /// The amount of `name`, zero when absent.
    pub fn get(&self, name: &str) -> Scalar {
        self.amounts.get(name).copied().unwrap_or_default()
    }

    /// The names and amounts, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Scalar)> {
        self.amounts
            .iter()
            .map(|(name, amount)| (name.as_str(), *amount))
    }

    /// Whether no amount is set.
    pub fn is_empty(&self) -> bool {
        self.amounts.is_empty()
    }

    /// Whether each amount of `other` is at most the one here.
    pub fn contains(&self, other: &ResourceQuantities) -> bool {
        other.iter().all(|(name, amount)| self.get(name) >= amount)
    }
}

impl fmt::Display for ResourceQuantities {
    /// `cpus:4;mem:1024`, the form [`ResourceQuantities::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, amount)) in self.iter().enumerate() {
            let separator = if i == 0 { "" } else { ";" };
            write!(f, "{separator}{name}:{amount}")?;
        }
        Ok(())
    }
}

impl<S: AsRef<str>> FromIterator<(S, Scalar)> for ResourceQuantities {
    fn from_iter<I: IntoIterator<Item = (S, Scalar)>>(iter: I) -> Self {
        let mut quantities = Self::new();
        for (name, amount) in iter {
            let sum = quantities.get(name.as_ref()) + amount;
            quantities.set(name.as_ref(), sum);
        }
        quantities
    }
}

/// Parses `--min_allocatable_resources`: `|`-separated alternatives, each a
/// [`ResourceQuantities`] text (`cpus:0.01|mem:32`). An offer is made only if
/// it holds at least one alternative in full.
pub fn parse_min_allocatable_resources(
    text: &str,
) -> Result<Vec<ResourceQuantities>, QuantitiesError> {
    let alternatives = text
        .split('|')
        .map(ResourceQuantities::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if alternatives.iter().all(ResourceQuantities::is_empty) {
        return Err(QuantitiesError::Empty);
    }
    Ok(alternatives
        .into_iter()
        .filter(|alternative| !alternative.is_empty())
        .collect())
}

/// The scalar resource names the allocator has seen, each with a dense index.
/// There are a handful (`cpus`, `mem`, `disk`, `gpus`, ...), so a linear scan
/// beats hashing.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kinds {
    names: Vec<String>,
}

impl Kinds {
    /// The index of `name`, if it was registered.
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| known == name)
    }

    /// The index of `name`, registering it when new.
    pub(crate) fn register(&mut self, name: &str) -> usize {
        self.find(name).unwrap_or_else(|| {
            self.names.push(name.to_owned());
            self.names.len() - 1
        })
    }

    /// Registers every scalar name of `resources`.
    pub(crate) fn register_all(&mut self, resources: &Resources) {
        for resource in resources {
            if matches!(resource.value, Value::Scalar(_)) {
                self.register(&resource.name);
            }
        }
    }

    pub(crate) fn name(&self, kind: usize) -> &str {
        &self.names[kind]
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// Scalar amounts in thousandths, indexed by kind. Shorter vectors are padded
/// with zeros on demand, since kinds are registered as agents bring them.
/// Subtraction saturates at zero: a quantity is never negative.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Quantities {
    millis: Vec<i64>,
}

impl Quantities {
    /// The scalar amounts of `resources`, of kinds already registered.
    pub(crate) fn of(resources: &Resources, kinds: &Kinds) -> Self {
        let mut quantities = Self::default();
        for resource in resources {
            quantities.add_resource(resource, kinds);
        }
        quantities
    }

    /// Adds one resource's amount if it is a scalar of a registered kind.
    pub(crate) fn add_resource(&mut self, resource: &Resource, kinds: &Kinds) {
        if let Value::Scalar(scalar) = resource.value {
            if let Some(kind) = kinds.find(&resource.name) {
                self.add(kind, scalar.millis());
            }
        }
    }

    /// The dense form of `named`, registering its kinds.
    pub(crate) fn of_named(named: &ResourceQuantities, kinds: &mut Kinds) -> Self {
        let mut quantities = Self::default();
        for (name, amount) in named.iter() {
            quantities.add(kinds.register(name), amount.millis());
        }
        quantities
    }

    /// The public, name-keyed form.
    pub(crate) fn to_named(&self, kinds: &Kinds) -> ResourceQuantities {
        self.iter()
            .map(|(kind, millis)| (kinds.name(kind), Scalar::from_millis(millis)))
            .collect()
    }

    /// The non-zero amounts by kind.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.millis
            .iter()
            .enumerate()
            .filter(|(_, millis)| **millis > 0)
            .map(|(kind, millis)| (kind, *millis))
    }

    pub(crate) fn get(&self, kind: usize) -> i64 {
        self.millis.get(kind).copied().unwrap_or(0)
    }

    fn add(&mut self, kind: usize, millis: i64) {
        if self.millis.len() <= kind {
            self.millis.resize(kind + 1, 0);
        }
        self.millis[kind] = self.millis[kind].saturating_add(millis);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.millis.iter().all(|millis| *millis <= 0)
    }

    /// Sets the amount of `kind` to zero.
    pub(crate) fn clear(&mut self, kind: usize) {
        if let Some(millis) = self.millis.get_mut(kind) {
            *millis = 0;
        }
    }

    /// Whether each amount of `other` is at most the one here.
    pub(crate) fn contains(&self, other: &Quantities) -> bool {
        other.iter().all(|(kind, millis)| self.get(kind) >= millis)
    }

    /// `self - other`, each amount floored at zero.
    pub(crate) fn saturating_sub(&self, other: &Quantities) -> Quantities {
        let mut result = self.clone();
        result -= other;
        result
    }
}

impl std::ops::AddAssign<&Quantities> for Quantities {
    fn add_assign(&mut self, other: &Quantities) {
        for (kind, millis) in other.iter() {
            self.add(kind, millis);
        }
    }
}

impl std::ops::SubAssign<&Quantities> for Quantities {
    fn sub_assign(&mut self, other: &Quantities) {
        for (kind, millis) in other.iter() {
            if let Some(mine) = self.millis.get_mut(kind) {
                *mine = (*mine - millis).max(0);
            }
        }
    }
}

/// Upper bounds on some kinds (Mesos `ResourceLimits`): a kind without a
/// bound is unlimited, which a dense [`Quantities`] cannot say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    bounds: Vec<(usize, i64)>,
}

impl Limits {
    pub(crate) fn of_named(named: &ResourceQuantities, kinds: &mut Kinds) -> Self {
        let mut bounds: Vec<(usize, i64)> = named
            .iter()
            .map(|(name, amount)| (kinds.register(name), amount.millis()))
            .collect();
        bounds.sort_unstable();
        Self { bounds }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// The room left under each bound once `consumed` is taken, floored at
    /// zero; kinds without a bound stay unlimited.
    pub(crate) fn headroom(&self, consumed: &Quantities) -> Limits {
        let bounds = self
            .bounds
            .iter()
            .map(|&(kind, limit)| (kind, (limit - consumed.get(kind)).max(0)))
            .collect();
        Limits { bounds }
    }

    fn bound(&self, kind: usize) -> Option<i64> {
        self.bounds
            .iter()
            .find(|(bounded, _)| *bounded == kind)
            .map(|(_, limit)| *limit)
    }
}

/// How much of each kind a shrink may keep.
pub(crate) trait ShrinkTarget {
    /// The amount of `kind` still allowed; `None` means unlimited.
    fn allowance(&self, kind: usize) -> Option<i64>;
}

impl ShrinkTarget for Quantities {
    /// Absent means zero.
    fn allowance(&self, kind: usize) -> Option<i64> {
        Some(self.get(kind))
    }
}

impl ShrinkTarget for Limits {
    /// Absent means unlimited.
    fn allowance(&self, kind: usize) -> Option<i64> {
        self.bound(kind)
    }
}

/// The scalar resources of `resources` cut down to fit `target` (Mesos
/// `shrinkResources`), taking resources in order until each kind's allowance
/// is spent. Only scalars may be shrunk; callers pass nothing else.
pub(crate) fn shrink(
    resources: &Resources,
    target: &impl ShrinkTarget,
    kinds: &Kinds,
) -> Resources {
    let mut spent: Vec<i64> = vec![0; kinds.len()];
    let mut result = Resources::new();
    for resource in resources {
        let Value::Scalar(scalar) = resource.value else {
            continue;
        };
        let Some(kind) = kinds.find(&resource.name) else {
            continue;
        };
        let keep = match target.allowance(kind) {
            None => scalar.millis(),
            Some(allowance) => scalar.millis().min(allowance - spent[kind]),
        };
        if keep <= 0 {
            continue;
        }
        spent[kind] += keep;
        let mut kept = resource.clone();
        kept.value = Value::Scalar(Scalar::from_millis(keep));
        result += kept;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(text: &str) -> Resources {
        Resources::parse(text, "*").unwrap()
    }

    #[test]
    fn parses_and_prints_quantity_lists() {
        let quantities = ResourceQuantities::parse("cpus:1.5; mem:32;disk:0").unwrap();
        assert_eq!(quantities.to_string(), "cpus:1.5;mem:32");
        assert_eq!(quantities.get("gpus"), Scalar::ZERO);
        assert!(ResourceQuantities::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_malformed_quantity_lists() {
        for text in [
            "cpus",
            "cpus:x",
            ":1",
            "cpus:-1",
            "cpus:NaN",
            "cpus:1;cpus:2",
        ] {
            assert!(ResourceQuantities::parse(text).is_err(), "{text}");
        }
        let error = ResourceQuantities::parse("cpus:1;cpus:2").unwrap_err();
        assert_eq!(error.to_string(), "resource 'cpus' is given more than once");
    }

    #[test]
    fn min_allocatable_resources_are_alternatives() {
        let alternatives = parse_min_allocatable_resources("cpus:0.01|mem:32").unwrap();
        assert_eq!(alternatives.len(), 2);
        assert_eq!(alternatives[1].get("mem"), Scalar::from_units(32));
        assert_eq!(
            parse_min_allocatable_resources("|"),
            Err(QuantitiesError::Empty)
        );
    }

    #[test]
    fn dense_quantities_add_subtract_and_contain() {
        let mut kinds = Kinds::default();
        kinds.register_all(&resources("cpus:4;mem:100;ports:[1-2]"));
        let total = Quantities::of(&resources("cpus:4;mem:100"), &kinds);
        let part = Quantities::of(&resources("cpus(r):1;mem:150"), &kinds);
        assert!(!total.contains(&part));
        let left = total.saturating_sub(&part);
        assert_eq!(left.to_named(&kinds).to_string(), "cpus:3");
        let mut sum = left.clone();
        sum += &part;
        assert_eq!(sum.to_named(&kinds).to_string(), "cpus:4;mem:150");
    }

    #[test]
    fn shrink_respects_quantities_and_limits() {
        let mut kinds = Kinds::default();
        let offered = resources("cpus:4;mem:100;disk:10");
        kinds.register_all(&offered);
        let target =
            Quantities::of_named(&ResourceQuantities::parse("cpus:1").unwrap(), &mut kinds);
        assert_eq!(shrink(&offered, &target, &kinds), resources("cpus:1"));
        let limits = Limits::of_named(&ResourceQuantities::parse("cpus:1").unwrap(), &mut kinds);
        assert_eq!(
            shrink(&offered, &limits, &kinds),
            resources("cpus:1;mem:100;disk:10")
        );
        let consumed = Quantities::of(&resources("cpus:3"), &kinds);
        assert_eq!(
            shrink(&offered, &limits.headroom(&consumed), &kinds),
            resources("mem:100;disk:10")
        );
    }
}
