//! How resources are encoded: Mesos's JSON mapping, the binary wire form,
//! and the flat object of the state endpoints.
//!
//! JSON is written in Mesos's "endpoint" format: the post-refinement
//! `reservations` stack plus the legacy `role` (and `reservation` for one
//! dynamic reservation), so readers of either generation understand it. On
//! input the legacy fields are honoured only when `reservations` is absent,
//! and are turned into a stack.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use super::{
    AllocationInfo, ReservationInfo, ReservationType, Resource, Resources, ResourcesError,
    MAX_RESOURCES,
};
use crate::mesos::Labels;
use crate::roles::DEFAULT_ROLE;
use crate::values::{Ranges, Scalar, Set, Value, ValueJson};

/// The scalars the state endpoints always show, as zero when absent.
const ALWAYS_SHOWN_SCALARS: [&str; 4] = ["cpus", "gpus", "mem", "disk"];

/// A `Resource` object as Mesos's JSON mapping writes it.
#[derive(Serialize, Deserialize)]
pub(super) struct ResourceJson {
    name: String,
    #[serde(flatten)]
    value: ValueJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reservation: Option<LegacyReservationJson>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    reservations: Vec<ReservationInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allocation_info: Option<AllocationInfo>,
}

/// The pre-refinement `Resource.reservation`: who reserved, for `role`.
#[derive(Serialize, Deserialize)]
struct LegacyReservationJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<Labels>,
}

impl ResourceJson {
    /// Converts to a `Resource`; a resource with neither `role` nor
    /// `reservations` is reserved to `default_role` (`*`: unreserved).
    pub(super) fn into_resource(self, default_role: &str) -> Result<Resource, ResourcesError> {
        let name = self.name;
        let value = Value::try_from(self.value).map_err(|source| ResourcesError::InvalidValue {
            name: name.clone(),
            source,
        })?;
        let reservations = if self.reservations.is_empty() {
            let role = self.role.as_deref().unwrap_or(default_role);
            legacy_reservations(&name, role, self.reservation)?
        } else {
            self.reservations
        };
        Ok(Resource {
            name,
            value,
            reservations,
            allocation_info: self.allocation_info,
        })
    }
}

/// The stack equivalent to a pre-refinement `role` and `reservation`.
fn legacy_reservations(
    name: &str,
    role: &str,
    reservation: Option<LegacyReservationJson>,
) -> Result<Vec<ReservationInfo>, ResourcesError> {
    match (role, reservation) {
        (DEFAULT_ROLE, None) => Ok(Vec::new()),
        (DEFAULT_ROLE, Some(_)) => Err(ResourcesError::InvalidReservation {
            name: name.to_owned(),
            reason: "role '*' cannot be dynamically reserved".into(),
        }),
        (role, None) => Ok(vec![ReservationInfo::new_static(role)]),
        (role, Some(legacy)) => Ok(vec![ReservationInfo {
            r#type: ReservationType::Dynamic,
            role: role.to_owned(),
            principal: legacy.principal,
            labels: legacy.labels,
        }]),
    }
}

impl From<&Resource> for ResourceJson {
    fn from(resource: &Resource) -> Self {
        let (role, reservation) = match resource.reservations.as_slice() {
            [] => (Some(DEFAULT_ROLE.to_owned()), None),
            [only] => (Some(only.role.clone()), legacy_reservation(only)),
            // A refined stack has no pre-refinement equivalent.
            _ => (None, None),
        };
        ResourceJson {
            name: resource.name.clone(),
            value: ValueJson::from(&resource.value),
            role,
            reservation,
            reservations: resource.reservations.clone(),
            allocation_info: resource.allocation_info.clone(),
        }
    }
}

/// The legacy `reservation` field of a single dynamic reservation.
fn legacy_reservation(reservation: &ReservationInfo) -> Option<LegacyReservationJson> {
    (reservation.r#type == ReservationType::Dynamic).then(|| LegacyReservationJson {
        principal: reservation.principal.clone(),
        labels: reservation.labels.clone(),
    })
}

/// The binary shape of a resource: serde's derived struct encoding.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Resource")]
struct ResourceBinary {
    name: String,
    value: Value,
    reservations: Vec<ReservationInfo>,
    allocation_info: Option<AllocationInfo>,
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            ResourceJson::from(self).serialize(serializer)
        } else {
            ResourceBinary::serialize(self, serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Resource {
    /// Decodes the shape of a resource. Whether it is valid (named,
    /// non-negative, well-reserved) is [`Resource::validate`]'s call, so that
    /// the master can answer a bad one with an error instead of dropping the
    /// whole message.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let json = ResourceJson::deserialize(deserializer)?;
            json.into_resource(DEFAULT_ROLE).map_err(de::Error::custom)
        } else {
            ResourceBinary::deserialize(deserializer)
        }
    }
}

impl Serialize for Resources {
    /// A list of `Resource`, in either encoding.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.resources)
    }
}

impl<'de> Deserialize<'de> for Resources {
    /// A list of `Resource`, refused if any is invalid.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = Vec::<Resource>::deserialize(deserializer)?;
        Resources::try_from(list).map_err(de::Error::custom)
    }
}

/// Reads a JSON array of `Resource` objects, as `--resources` accepts it.
pub(super) fn from_json(text: &str, default_role: &str) -> Result<Vec<Resource>, ResourcesError> {
    let list: Vec<ResourceJson> =
        serde_json::from_str(text).map_err(|error| ResourcesError::Json {
            message: error.to_string(),
        })?;
    if list.len() > MAX_RESOURCES {
        return Err(ResourcesError::TooManyResources {
            limit: MAX_RESOURCES,
        });
    }
    list.into_iter()
        .map(|json| json.into_resource(default_role))
        .collect()
}

impl Resources {
    /// The flat object the state endpoints show: one key per name, scalars
    /// summed as numbers (`cpus`, `gpus`, `mem` and `disk` always present),
    /// ranges as `"[a-b, c-d]"` and sets as `"{a, b}"`, across reservations.
    pub fn to_flat_json(&self) -> serde_json::Value {
        let mut scalars: BTreeMap<&str, Scalar> = ALWAYS_SHOWN_SCALARS
            .iter()
            .map(|name| (*name, Scalar::ZERO))
            .collect();
        let mut ranges: BTreeMap<&str, Ranges> = BTreeMap::new();
        let mut sets: BTreeMap<&str, Set> = BTreeMap::new();
        for resource in &self.resources {
            let name = resource.name.as_str();
            match &resource.value {
                Value::Scalar(scalar) => *scalars.entry(name).or_default() += *scalar,
                Value::Ranges(more) => *ranges.entry(name).or_default() += more,
                Value::Set(more) => *sets.entry(name).or_default() += more,
            }
        }
        let mut object = serde_json::Map::new();
        for (name, scalar) in scalars {
            object.insert(name.to_owned(), scalar.value().into());
        }
        for (name, text) in ranges
            .iter()
            .map(|(name, ranges)| (name, ranges.to_string()))
            .chain(sets.iter().map(|(name, set)| (name, set.to_string())))
        {
            object.insert((*name).to_owned(), text.into());
        }
        serde_json::Value::Object(object)
    }
}
