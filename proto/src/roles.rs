//! Role names: their validation and their hierarchy (Mesos `roles.hpp`).
//!
//! A role is a path such as `eng/frontend`; `eng` is its parent. The special
//! role `*` stands for "no role": unreserved resources and frameworks that did
//! not ask for one.

/// The role `*`: unreserved resources, and the default role of an agent's
/// resources and of a framework.
pub const DEFAULT_ROLE: &str = "*";

/// Characters no role may contain: whitespace and DEL. A slash is allowed, as
/// the separator of the hierarchy.
const INVALID_CHARACTERS: &[char] = &['\t', '\n', '\u{0b}', '\u{0c}', '\r', ' ', '\u{7f}'];

/// Why a role name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid role '{role}': {reason}")]
pub struct RoleError {
    /// The role as given.
    pub role: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks a role name as Mesos does: `*`, or a `/`-separated path whose
/// segments are non-empty, are not `.`, `..` or `*`, do not start with `-`
/// and contain no whitespace.
pub fn validate(role: &str) -> Result<(), RoleError> {
    if role == DEFAULT_ROLE {
        return Ok(());
    }
    let refuse = |reason| {
        Err(RoleError {
            role: role.to_owned(),
            reason,
        })
    };
    if role.is_empty() {
        return refuse("it is empty");
    }
    if role.starts_with('/') {
        return refuse("it starts with a slash");
    }
    if role.ends_with('/') {
        return refuse("it ends with a slash");
    }
    for segment in role.split('/') {
        if let Some(reason) = segment_problem(segment) {
            return refuse(reason);
        }
    }
    Ok(())
}

/// What is wrong with one segment of a role path, if anything.
fn segment_problem(segment: &str) -> Option<&'static str> {
    match segment {
        "" => Some("it contains two adjacent slashes"),
        "." => Some("'.' cannot be a path segment"),
        ".." => Some("'..' cannot be a path segment"),
        "*" => Some("'*' cannot be a path segment"),
        _ if segment.starts_with('-') => Some("a path segment starts with '-'"),
        _ if segment.contains(INVALID_CHARACTERS) => Some("it contains whitespace or a backspace"),
        _ => None,
    }
}

/// Whether `descendant` sits strictly below `ancestor` in the role hierarchy:
/// `a/b` and `a/b/c` are strict subroles of `a`; `a` and `ab` are not.
pub fn is_strict_subrole_of(descendant: &str, ancestor: &str) -> bool {
    descendant
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_star_plain_and_hierarchical_roles() {
        for role in ["*", "ops", "eng/frontend", "a.b", "a-b", "x/y/z"] {
            assert_eq!(validate(role), Ok(()), "{role}");
        }
    }

    #[test]
    fn refuses_malformed_roles() {
        for role in [
            "", "/a", "a/", "a//b", ".", "..", "a/../b", "a/*", "-a", "a/-b", "a b", "a\tb",
            "a\u{7f}",
        ] {
            assert!(validate(role).is_err(), "{role:?} should be refused");
        }
    }

    #[test]
    fn error_names_the_role() {
        let error = validate("a//b").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid role 'a//b': it contains two adjacent slashes"
        );
    }

    #[test]
    fn strict_subroles_follow_path_segments() {
        assert!(is_strict_subrole_of("a/b", "a"));
        assert!(is_strict_subrole_of("a/b/c", "a"));
        assert!(!is_strict_subrole_of("a", "a"));
        assert!(!is_strict_subrole_of("ab", "a"));
        assert!(!is_strict_subrole_of("a", "a/b"));
    }
}
