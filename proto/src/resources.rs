//! Resources and their arithmetic (Mesos `Resource`, `Resources`,
//! `resources.cpp`).
//!
//! A [`Resource`] is one named value (`cpus:2`) with its reservation stack and
//! the role it is allocated to. [`Resources`] is a bag of them in which
//! resources that only differ by amount are merged, so `cpus:1` plus `cpus:1`
//! is one `cpus:2`. Two resources merge ("are addable") when their name, type,
//! reservation stack and allocation role are equal.
//!
//! Only valid resources enter a [`Resources`]: `+=` of an invalid or empty
//! resource is a no-op, as in Mesos, and the fallible constructors report the
//! first invalid one.
//!
//! - `text.rs`: the `--resources` text form (parsing and `Display`).
//! - `json.rs`: the JSON mapping, the binary encoding and the flat state form.

mod json;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::encoding::optional_field;
use crate::mesos::Labels;
use crate::roles::{self, RoleError, DEFAULT_ROLE};
use crate::values::{Ranges, Scalar, Set, Value, ValueError, ValueType};

/// The most `Resource` entries one parsed or decoded list may hold. Merging
/// is linear in the list length, so this keeps a hostile input from costing
/// quadratic time.
pub const MAX_RESOURCES: usize = 4096;

/// Why resources were refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ResourcesError {
    /// A resource without a name.
    #[error("resource name is empty")]
    EmptyName,
    /// A malformed value: NaN, inverted or overlapping ranges, a duplicate
    /// set item, an unknown type, ...
    #[error("resource '{name}': {source}")]
    InvalidValue {
        /// The resource's name.
        name: String,
        /// What is wrong with the value.
        source: ValueError,
    },
    /// A scalar below zero.
    #[error("resource '{name}': negative value {value}")]
    Negative {
        /// The resource's name.
        name: String,
        /// The value given.
        value: Scalar,
    },
    /// A reservation to a malformed role.
    #[error("resource '{name}': {source}")]
    InvalidRole {
        /// The resource's name.
        name: String,
        /// What is wrong with the role.
        source: RoleError,
    },
    /// A reservation stack that breaks the refinement rules.
    #[error("resource '{name}': invalid reservation: {reason}")]
    InvalidReservation {
        /// The resource's name.
        name: String,
        /// What is wrong with the stack.
        reason: String,
    },
    /// One name given with two value types in one `--resources`.
    #[error("resource '{name}' is given both as {first} and as {second}")]
    IncompatibleTypes {
        /// The resource's name.
        name: String,
        /// The type seen first.
        first: ValueType,
        /// The conflicting type.
        second: ValueType,
    },
    /// A dynamic reservation in `--resources`, where only static ones belong.
    #[error("resource '{name}': dynamic reservations cannot be given in --resources")]
    DynamicReservation {
        /// The resource's name.
        name: String,
    },
    /// Text that is not `name(role):value`.
    #[error("bad resource '{token}': {reason}")]
    Syntax {
        /// The offending `;`-separated piece.
        token: String,
        /// What was expected.
        reason: &'static str,
    },
    /// A list longer than [`MAX_RESOURCES`].
    #[error("more than {limit} resources")]
    TooManyResources {
        /// The limit.
        limit: usize,
    },
    /// JSON that is not an array of Mesos `Resource` objects.
    #[error("invalid resources JSON: {message}")]
    Json {
        /// The decoder's explanation.
        message: String,
    },
}

/// Whether a reservation was made by the operator at agent start (`STATIC`)
/// or later through a RESERVE operation (`DYNAMIC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReservationType {
    /// From `--resources` on the agent.
    #[serde(rename = "STATIC")]
    Static,
    /// From a RESERVE operation by a framework or operator.
    #[serde(rename = "DYNAMIC")]
    Dynamic,
}

impl ReservationType {
    /// The Mesos enum name.
    pub fn name(self) -> &'static str {
        match self {
            ReservationType::Static => "STATIC",
            ReservationType::Dynamic => "DYNAMIC",
        }
    }
}

/// One level of a resource's reservation stack (Mesos
/// `Resource.ReservationInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ReservationInfo {
    /// Static or dynamic.
    pub r#type: ReservationType,
    /// The role the resource is reserved to.
    pub role: String,
    /// Who made a dynamic reservation.
    #[serde(default)]
    pub principal: Option<String>,
    /// Free-form labels of a dynamic reservation.
    #[serde(default)]
    pub labels: Option<Labels>,
}

impl ReservationInfo {
    /// A static reservation to `role`, as `--resources` makes.
    pub fn new_static(role: impl Into<String>) -> Self {
        Self {
            r#type: ReservationType::Static,
            role: role.into(),
            principal: None,
            labels: None,
        }
    }

    /// A dynamic reservation to `role` by `principal`.
    pub fn new_dynamic(role: impl Into<String>, principal: Option<String>) -> Self {
        Self {
            r#type: ReservationType::Dynamic,
            role: role.into(),
            principal,
            labels: None,
        }
    }
}

impl Serialize for ReservationInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human_readable = serializer.is_human_readable();
        let mut state = serializer.serialize_struct("ReservationInfo", 4)?;
        state.serialize_field("type", &self.r#type)?;
        state.serialize_field("role", &self.role)?;
        optional_field(&mut state, human_readable, "principal", &self.principal)?;
        optional_field(&mut state, human_readable, "labels", &self.labels)?;
        state.end()
    }
}

/// The role an offered or used resource is allocated to (Mesos
/// `Resource.AllocationInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AllocationInfo {
    /// The role.
    pub role: String,
}

/// One named resource (Mesos `Resource`), in the post-refinement format:
/// the reservation stack is `reservations`, and the legacy `role` and
/// `reservation` fields exist only in JSON.
///
/// Disk info, revocability, sharing and resource providers are not modelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// `cpus`, `mem`, `disk`, `ports`, `gpus`, or any operator-defined name.
    pub name: String,
    /// The amount.
    pub value: Value,
    /// The reservation stack, outermost first; empty means unreserved. The
    /// last entry is the role the resource is reserved to; each later entry
    /// refines the one before to a subrole.
    pub reservations: Vec<ReservationInfo>,
    /// Set on resources offered or used, to say for which role.
    pub allocation_info: Option<AllocationInfo>,
}

impl Resource {
    /// An unreserved, unallocated resource.
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            value,
            reservations: Vec::new(),
            allocation_info: None,
        }
    }

    /// The same resource with `reservation` pushed on its stack.
    pub fn with_reservation(mut self, reservation: ReservationInfo) -> Self {
        self.reservations.push(reservation);
        self
    }

    /// The type of the value.
    pub fn value_type(&self) -> ValueType {
        self.value.value_type()
    }

    /// Whether the amount is zero, or holds no range or item.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Whether the resource is reserved to no role.
    pub fn is_unreserved(&self) -> bool {
        self.reservations.is_empty()
    }

    /// The role the resource is reserved to: the top of its stack.
    pub fn reservation_role(&self) -> Option<&str> {
        self.reservations.last().map(|r| r.role.as_str())
    }

    /// Whether the resource is reserved, to `role` when one is given.
    pub fn is_reserved(&self, role: Option<&str>) -> bool {
        match (self.reservation_role(), role) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(reserved), Some(role)) => reserved == role,
        }
    }

    /// Whether the top of the stack is a dynamic reservation.
    pub fn is_dynamically_reserved(&self) -> bool {
        self.reservations
            .last()
            .is_some_and(|r| r.r#type == ReservationType::Dynamic)
    }

    /// Whether a framework in `role` may be offered this resource: it is
    /// unreserved, or reserved to `role` or to one of its ancestors.
    pub fn is_allocatable_to(&self, role: &str) -> bool {
        self.reservation_role()
            .is_none_or(|reserved| role == reserved || roles::is_strict_subrole_of(role, reserved))
    }

    /// Checks what the type does not already guarantee (Mesos
    /// `Resources::validate`): a name, a non-negative scalar, and a
    /// well-formed reservation stack.
    pub fn validate(&self) -> Result<(), ResourcesError> {
        if self.name.is_empty() {
            return Err(ResourcesError::EmptyName);
        }
        if let Value::Scalar(scalar) = self.value {
            if scalar.is_negative() {
                return Err(ResourcesError::Negative {
                    name: self.name.clone(),
                    value: scalar,
                });
            }
        }
        self.validate_reservations()
    }

    /// Every role valid and not `*`; every refinement dynamic and to a strict
    /// subrole of the level below it.
    fn validate_reservations(&self) -> Result<(), ResourcesError> {
        let invalid = |reason: String| ResourcesError::InvalidReservation {
            name: self.name.clone(),
            reason,
        };
        let mut ancestor: Option<&str> = None;
        for reservation in &self.reservations {
            let role = reservation.role.as_str();
            roles::validate(role).map_err(|source| ResourcesError::InvalidRole {
                name: self.name.clone(),
                source,
            })?;
            if role == DEFAULT_ROLE {
                return Err(invalid("role '*' cannot be reserved".into()));
            }
            if let Some(ancestor) = ancestor {
                if reservation.r#type == ReservationType::Static {
                    return Err(invalid("a refined reservation cannot be STATIC".into()));
                }
                if !roles::is_strict_subrole_of(role, ancestor) {
                    return Err(invalid(format!(
                        "role '{role}' is not a refinement of '{ancestor}'"
                    )));
                }
            }
            ancestor = Some(role);
        }
        Ok(())
    }

    /// Whether `self` and `other` merge into one entry of a [`Resources`].
    fn addable(&self, other: &Resource) -> bool {
        self.name == other.name
            && self.value_type() == other.value_type()
            && self.reservations == other.reservations
            && self.allocation_info == other.allocation_info
    }
}

/// A bag of valid resources with Mesos's arithmetic (Mesos `Resources`).
///
/// Equality is Mesos's: each side contains the other, whatever the order of
/// entries.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// Valid, non-empty, and pairwise not addable.
    resources: Vec<Resource>,
}

impl Resources {
    /// No resources.
    pub fn new() -> Self {
        Self::default()
    }

    /// The resources, one entry per distinct name, type, reservation stack
    /// and allocation role.
    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.resources.iter()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether there is nothing at all.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Whether every resource of `other` fits in `self`, with matching
    /// reservations and allocation.
    pub fn contains(&self, other: &Resources) -> bool {
        other
            .resources
            .iter()
            .all(|wanted| self.contains_valid(wanted))
    }

    /// Whether `wanted` is valid and fits in `self`.
    pub fn contains_resource(&self, wanted: &Resource) -> bool {
        wanted.validate().is_ok() && (wanted.is_empty() || self.contains_valid(wanted))
    }

    fn contains_valid(&self, wanted: &Resource) -> bool {
        self.resources
            .iter()
            .any(|have| have.addable(wanted) && have.value.contains(&wanted.value))
    }

    /// The entries for which `predicate` holds.
    pub fn filter(&self, predicate: impl Fn(&Resource) -> bool) -> Resources {
        // Filtering a merged bag leaves it merged, so no re-adding is needed.
        let resources = self.resources.iter().filter(|r| predicate(r)).cloned();
        Resources {
            resources: resources.collect(),
        }
    }

    /// The reserved resources, only those reserved to `role` when one is
    /// given.
    pub fn reserved(&self, role: Option<&str>) -> Resources {
        self.filter(|r| r.is_reserved(role))
    }

    /// The unreserved resources.
    pub fn unreserved(&self) -> Resources {
        self.filter(Resource::is_unreserved)
    }

    /// What a framework in `role` may be offered: the unreserved resources
    /// and those reserved to `role` or to an ancestor of it.
    pub fn allocatable_to(&self, role: &str) -> Resources {
        self.filter(|r| r.is_allocatable_to(role))
    }

    /// The reserved resources grouped by the role they are reserved to.
    pub fn reservations(&self) -> BTreeMap<String, Resources> {
        let mut by_role: BTreeMap<String, Resources> = BTreeMap::new();
        for resource in &self.resources {
            if let Some(role) = resource.reservation_role() {
                by_role
                    .entry(role.to_owned())
                    .or_default()
                    .add_resource(resource.clone());
            }
        }
        by_role
    }

    /// The same amounts with every reservation stripped (Mesos
    /// `toUnreserved()`, formerly `flatten()`). Allocation is kept.
    pub fn flatten(&self) -> Resources {
        let mut flattened = Resources::new();
        for resource in &self.resources {
            let mut resource = resource.clone();
            resource.reservations.clear();
            flattened.add_resource(resource);
        }
        flattened
    }

    /// Marks every resource as allocated to `role`.
    pub fn allocate(&mut self, role: &str) {
        self.set_allocation(Some(AllocationInfo {
            role: role.to_owned(),
        }));
    }

    /// Clears every resource's allocation.
    pub fn unallocate(&mut self) {
        self.set_allocation(None);
    }

    /// Rebuilds the bag, since entries that differed only by allocation merge
    /// once their allocation is the same.
    fn set_allocation(&mut self, allocation_info: Option<AllocationInfo>) {
        let resources = std::mem::take(&mut self.resources);
        for mut resource in resources {
            resource.allocation_info = allocation_info.clone();
            self.add_resource(resource);
        }
    }

    /// The allocated resources grouped by the role they are allocated to.
    pub fn allocations(&self) -> BTreeMap<String, Resources> {
        let mut by_role: BTreeMap<String, Resources> = BTreeMap::new();
        for resource in &self.resources {
            if let Some(allocation) = &resource.allocation_info {
                by_role
                    .entry(allocation.role.clone())
                    .or_default()
                    .add_resource(resource.clone());
            }
        }
        by_role
    }

    /// The total of the scalar resources called `name`, across reservations
    /// and allocations; `None` when there are none.
    pub fn get_scalar(&self, name: &str) -> Option<Scalar> {
        self.values_named(name, |value| match value {
            Value::Scalar(scalar) => Some(*scalar),
            _ => None,
        })
        .reduce(|total, scalar| total + scalar)
    }

    /// The union of the ranges resources called `name`.
    pub fn get_ranges(&self, name: &str) -> Option<Ranges> {
        self.union_named(name, |value| match value {
            Value::Ranges(ranges) => Some(ranges),
            _ => None,
        })
    }

    /// The union of the set resources called `name`.
    pub fn get_set(&self, name: &str) -> Option<Set> {
        self.union_named(name, |value| match value {
            Value::Set(set) => Some(set),
            _ => None,
        })
    }

    /// The union of the values that `pick` finds in the entries called
    /// `name`.
    fn union_named<'a, T>(
        &'a self,
        name: &'a str,
        pick: impl Fn(&'a Value) -> Option<&'a T> + 'a,
    ) -> Option<T>
    where
        T: Clone + for<'b> AddAssign<&'b T> + 'a,
    {
        let mut all = self.values_named(name, pick);
        let mut total = all.next()?.clone();
        for more in all {
            total += more;
        }
        Some(total)
    }

    /// The values of the entries called `name` that `pick` accepts.
    fn values_named<'a, T: 'a>(
        &'a self,
        name: &'a str,
        pick: impl Fn(&'a Value) -> Option<T> + 'a,
    ) -> impl Iterator<Item = T> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.name == name)
            .filter_map(move |r| pick(&r.value))
    }

    /// Total `cpus`.
    pub fn cpus(&self) -> Option<f64> {
        self.get_scalar("cpus").map(Scalar::value)
    }

    /// Total `gpus`.
    pub fn gpus(&self) -> Option<f64> {
        self.get_scalar("gpus").map(Scalar::value)
    }

    /// Total `mem`, in megabytes.
    pub fn mem(&self) -> Option<f64> {
        self.get_scalar("mem").map(Scalar::value)
    }

    /// Total `disk`, in megabytes.
    pub fn disk(&self) -> Option<f64> {
        self.get_scalar("disk").map(Scalar::value)
    }

    /// All `ports`.
    pub fn ports(&self) -> Option<Ranges> {
        self.get_ranges("ports")
    }

    /// The total of each scalar resource by name, whatever its reservation
    /// or allocation (the quantities Mesos's quota and DRF work with).
    pub fn scalars(&self) -> BTreeMap<String, Scalar> {
        let mut totals: BTreeMap<String, Scalar> = BTreeMap::new();
        for resource in &self.resources {
            if let Value::Scalar(scalar) = resource.value {
                *totals.entry(resource.name.clone()).or_default() += scalar;
            }
        }
        totals
    }

    /// Merges a valid resource in (Mesos `Resources::add`).
    fn add_resource(&mut self, resource: Resource) {
        if resource.is_empty() {
            return;
        }
        match self
            .resources
            .iter_mut()
            .find(|have| have.addable(&resource))
        {
            Some(have) => have.value += &resource.value,
            None => self.resources.push(resource),
        }
    }

    /// Takes a valid resource out (Mesos `Resources::subtract`). An entry
    /// that becomes empty, or negative because more was taken than was
    /// there, disappears.
    fn subtract_resource(&mut self, resource: &Resource) {
        if resource.is_empty() {
            return;
        }
        let Some(index) = self
            .resources
            .iter()
            .position(|have| have.addable(resource))
        else {
            return;
        };
        let have = &mut self.resources[index];
        have.value -= &resource.value;
        let negative = matches!(have.value, Value::Scalar(scalar) if scalar.is_negative());
        if negative || have.is_empty() {
            self.resources.swap_remove(index);
        }
    }
}

impl PartialEq for Resources {
    fn eq(&self, other: &Self) -> bool {
        self.contains(other) && other.contains(self)
    }
}

impl Eq for Resources {}

impl TryFrom<Vec<Resource>> for Resources {
    type Error = ResourcesError;

    /// Merges a list, refusing it at its first invalid resource.
    fn try_from(list: Vec<Resource>) -> Result<Self, Self::Error> {
        if list.len() > MAX_RESOURCES {
            return Err(ResourcesError::TooManyResources {
                limit: MAX_RESOURCES,
            });
        }
        let mut resources = Resources::new();
        for resource in list {
            resource.validate()?;
            resources.add_resource(resource);
        }
        Ok(resources)
    }
}

impl From<Resources> for Vec<Resource> {
    fn from(resources: Resources) -> Self {
        resources.resources
    }
}

impl<'a> IntoIterator for &'a Resources {
    type Item = &'a Resource;
    type IntoIter = std::slice::Iter<'a, Resource>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl AddAssign<Resource> for Resources {
    /// Merges `resource` in; an invalid one is ignored, as in Mesos.
    fn add_assign(&mut self, resource: Resource) {
        if resource.validate().is_ok() {
            self.add_resource(resource);
        }
    }
}

impl SubAssign<&Resource> for Resources {
    /// Takes `resource` out; an invalid one is ignored, as in Mesos.
    fn sub_assign(&mut self, resource: &Resource) {
        if resource.validate().is_ok() {
            self.subtract_resource(resource);
        }
    }
}

impl AddAssign<&Resources> for Resources {
    fn add_assign(&mut self, other: &Resources) {
        for resource in &other.resources {
            self.add_resource(resource.clone());
        }
    }
}

impl SubAssign<&Resources> for Resources {
    fn sub_assign(&mut self, other: &Resources) {
        for resource in &other.resources {
            self.subtract_resource(resource);
        }
    }
}

/// Derives the by-value and by-reference forms of `+` and `-` from `+=` and
/// `-=` on `&Resources`.
macro_rules! resources_operator {
    ($trait:ident, $method:ident, $assign_trait:ident, $assign:ident) => {
        impl $trait<&Resources> for &Resources {
            type Output = Resources;
            fn $method(self, other: &Resources) -> Resources {
                let mut result = self.clone();
                $assign_trait::$assign(&mut result, other);
                result
            }
        }

        impl $trait<&Resources> for Resources {
            type Output = Resources;
            fn $method(mut self, other: &Resources) -> Resources {
                $assign_trait::$assign(&mut self, other);
                self
            }
        }

        impl $trait for Resources {
            type Output = Resources;
            fn $method(mut self, other: Resources) -> Resources {
                $assign_trait::$assign(&mut self, &other);
                self
            }
        }

        impl $assign_trait for Resources {
            fn $assign(&mut self, other: Resources) {
                $assign_trait::$assign(self, &other);
            }
        }
    };
}

resources_operator!(Add, add, AddAssign, add_assign);
resources_operator!(Sub, sub, SubAssign, sub_assign);
