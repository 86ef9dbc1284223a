//! The text form of resources: parsing `--resources` and `Display`.
//!
//! Input is `name(role):value;...` where the value is a number, `[a-b,c-d]`
//! or `{x,y}` and the role is optional (`*` or absent: the default role), or
//! a JSON array of `Resource` objects when the text starts with `[`.
//!
//! Output is `name(role):value; ...`, Mesos's pre-refinement `operator<<`,
//! which this parser reads back. A resource whose stack is more than one
//! static reservation gets the stack after the role, in the modern
//! `operator<<`'s notation: `disk(a/b)[(DYNAMIC,a,alice),(DYNAMIC,a/b)]:10`.
//! Allocation shows as `(allocated: role)`.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;

use super::json::from_json;
use super::{ReservationInfo, ReservationType, Resource, Resources, ResourcesError, MAX_RESOURCES};
use crate::roles::DEFAULT_ROLE;
use crate::values::{Value, ValueType};

impl Resources {
    /// Parses the agent's `--resources` flag: the text form or a JSON array.
    /// Resources without a role get `default_role` (`*` leaves them
    /// unreserved; another role reserves them statically).
    ///
    /// Refuses, naming the offending piece: bad syntax, an empty name, an
    /// invalid value (negative, NaN, inverted ranges, duplicate set items,
    /// unknown type), an invalid role, a dynamic reservation, and one name
    /// given with two types. Overlapping ranges are merged in the text form,
    /// as Mesos does, and refused in JSON.
    pub fn parse(text: &str, default_role: &str) -> Result<Resources, ResourcesError> {
        let list = if text.trim_start().starts_with('[') {
            from_json(text, default_role)?
        } else {
            from_simple_string(text, default_role)?
        };
        let resources = Resources::try_from(list)?;
        validate_command_line(&resources)?;
        Ok(resources)
    }
}

/// Splits `name(role):value;...` into resources.
fn from_simple_string(text: &str, default_role: &str) -> Result<Vec<Resource>, ResourcesError> {
    let mut list = Vec::new();
    for token in text.split(';').filter(|token| !token.trim().is_empty()) {
        if list.len() == MAX_RESOURCES {
            return Err(ResourcesError::TooManyResources {
                limit: MAX_RESOURCES,
            });
        }
        list.push(parse_token(token, default_role)?);
    }
    Ok(list)
}

/// Parses one `name(role):value`.
fn parse_token(token: &str, default_role: &str) -> Result<Resource, ResourcesError> {
    let syntax = |reason| ResourcesError::Syntax {
        token: token.trim().to_owned(),
        reason,
    };
    let (head, value_text) = token
        .split_once(':')
        .ok_or_else(|| syntax("expected 'name:value'"))?;
    if value_text.contains(':') {
        return Err(syntax("more than one ':'"));
    }
    let (name, role) = match head.split_once('(') {
        None => (head.trim(), default_role),
        Some((name, rest)) => {
            let role = rest
                .trim_end()
                .strip_suffix(')')
                .filter(|role| !role.contains(['(', ')']))
                .ok_or_else(|| syntax("expected 'name(role)'"))?;
            (name.trim(), role.trim())
        }
    };
    let value = Value::parse(value_text).map_err(|source| ResourcesError::InvalidValue {
        name: name.to_owned(),
        source,
    })?;
    let resource = Resource::new(name, value);
    Ok(if role == DEFAULT_ROLE {
        resource
    } else {
        resource.with_reservation(ReservationInfo::new_static(role))
    })
}

/// What Mesos refuses on the command line beyond per-resource validity:
/// dynamic reservations, and one name with two types.
fn validate_command_line(resources: &Resources) -> Result<(), ResourcesError> {
    let mut types: BTreeMap<&str, ValueType> = BTreeMap::new();
    for resource in resources {
        if resource.is_dynamically_reserved() {
            return Err(ResourcesError::DynamicReservation {
                name: resource.name.clone(),
            });
        }
        match types.entry(&resource.name) {
            Entry::Vacant(entry) => {
                entry.insert(resource.value_type());
            }
            Entry::Occupied(entry) if *entry.get() != resource.value_type() => {
                return Err(ResourcesError::IncompatibleTypes {
                    name: resource.name.clone(),
                    first: *entry.get(),
                    second: resource.value_type(),
                });
            }
            Entry::Occupied(_) => {}
        }
    }
    Ok(())
}

impl fmt::Display for ReservationInfo {
    /// Mesos's form: `TYPE,role[,principal][,{labels}]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.r#type.name(), self.role)?;
        if let Some(principal) = &self.principal {
            write!(f, ",{principal}")?;
        }
        if let Some(labels) = &self.labels {
            write!(f, ",{labels}")?;
        }
        Ok(())
    }
}

impl Resource {
    /// Whether `name(role)` alone describes the reservations: none, or one
    /// bare static reservation.
    fn role_describes_reservations(&self) -> bool {
        match self.reservations.as_slice() {
            [] => true,
            [only] => {
                only.r#type == ReservationType::Static
                    && only.principal.is_none()
                    && only.labels.is_none()
            }
            _ => false,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = self.reservation_role().unwrap_or(DEFAULT_ROLE);
        write!(f, "{}({role})", self.name)?;
        if let Some(allocation) = &self.allocation_info {
            write!(f, "(allocated: {})", allocation.role)?;
        }
        if !self.role_describes_reservations() {
            f.write_str("[")?;
            for (index, reservation) in self.reservations.iter().enumerate() {
                if index > 0 {
                    f.write_str(",")?;
                }
                write!(f, "({reservation})")?;
            }
            f.write_str("]")?;
        }
        write!(f, ":{}", self.value)
    }
}

impl fmt::Display for Resources {
    /// The resources joined by `; `, or `{}` when there are none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("{}");
        }
        for (index, resource) in self.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{resource}")?;
        }
        Ok(())
    }
}
