//! Parsers for flag values other than durations: booleans as stout reads them, the
//! ZooKeeper URL of `--zk`, comma-separated lists, and the resource quantity sets of
//! `--min_allocatable_resources`.

use std::collections::BTreeMap;

/// Why a value does not parse. Only the reason: clap, or the caller, says which flag
/// and which value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct ValueError(pub(super) String);

/// Reads a boolean as stout does: `true` or `false` in any case, or `1` or `0`.
pub(super) fn parse_bool(text: &str) -> Result<bool, ValueError> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ValueError(
            "expecting a boolean (e.g. true or false)".into(),
        )),
    }
}

/// Reads `--zk`: a `zk://[user:password@]host:port[,host:port...]/path` URL, or
/// `file:///path` naming a file that holds one (read now, as stout reads `file://`
/// values). Returns the URL itself.
pub(super) fn parse_zk(text: &str) -> Result<String, ValueError> {
    let url = match text.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| ValueError(format!("could not read '{path}': {error}")))?
            .trim()
            .to_owned(),
        None => text.trim().to_owned(),
    };
    // Parsed as the contender and the registry will parse it, so a bad URL fails now.
    mesos_detector::zookeeper::ZooKeeperUrl::parse(&url)
        .map_err(|reason| ValueError(format!("'{url}': {reason}")))?;
    Ok(url)
}

/// Splits a comma-separated list, dropping empty items (stout `strings::tokenize`).
pub(super) fn tokenize(text: &str) -> impl Iterator<Item = &str> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Reads `--min_allocatable_resources`: `|`-separated sets of `name:quantity` pairs
/// joined by `;` (`cpus:0.01|mem:32`, `cpus:1;mem:512|gpus:1`). Quantities are scalar
/// and not negative; zero quantities are dropped, as Mesos's `ResourceQuantities` does.
pub(super) fn parse_resource_quantity_sets(
    text: &str,
) -> Result<Vec<BTreeMap<String, f64>>, ValueError> {
    text.split('|')
        .filter(|set| !set.trim().is_empty())
        .map(|set| parse_quantities(set).map_err(ValueError))
        .collect()
}

/// One `;`-separated set of `name:quantity` pairs.
fn parse_quantities(set: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut quantities = BTreeMap::new();
    for pair in set.split(';').filter(|pair| !pair.trim().is_empty()) {
        let (name, quantity) = pair
            .split_once(':')
            .filter(|(name, quantity)| !name.trim().is_empty() && !quantity.contains(':'))
            .ok_or_else(|| format!("'{pair}' is not of the form 'name:quantity'"))?;
        let quantity: f64 = quantity
            .trim()
            .parse()
            .ok()
            .filter(|q: &f64| q.is_finite())
            .ok_or_else(|| format!("the quantity of '{pair}' is not a scalar"))?;
        if quantity < 0.0 {
            return Err(format!("the quantity of '{pair}' is negative"));
        }
        if quantity > 0.0 {
            *quantities.entry(name.trim().to_owned()).or_insert(0.0) += quantity;
        }
    }
    Ok(quantities)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_read_as_stout_reads_them() {
        for (text, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("false", false),
        ] {
            assert_eq!(parse_bool(text).unwrap(), expected);
        }
        assert!(parse_bool("yes").is_err());
    }

    #[test]
    fn zk_urls_are_checked() {
        for good in [
            "zk://host:2181/mesos",
            "zk://a:1,b:2,c:3/mesos",
            "zk://user:secret@a:1,b:2/mesos",
        ] {
            assert_eq!(parse_zk(good).unwrap(), good);
        }
        for bad in [
            "host:2181/mesos",
            "zk:///mesos",
            "zk://a:1,,b:2/mesos",
            "zk://user@a:1/mesos",
            // The group needs a path of its own, as in Mesos.
            "zk://host:2181",
        ] {
            let error = parse_zk(bad).unwrap_err().to_string();
            assert!(error.contains(bad), "the error names the URL: {error}");
        }
    }

    #[test]
    fn a_zk_url_is_read_from_a_file() {
        let path = std::env::temp_dir().join(format!("mesos-zk-{}", std::process::id()));
        std::fs::write(&path, "zk://host:2181/mesos\n").unwrap();
        let url = parse_zk(&format!("file://{}", path.display()));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(url.unwrap(), "zk://host:2181/mesos");
        let missing = parse_zk("file:///nonexistent/zk").unwrap_err().to_string();
        assert!(missing.contains("/nonexistent/zk"), "{missing}");
    }

    #[test]
    fn lists_drop_empty_items() {
        assert_eq!(tokenize(" a, ,b,").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn quantity_sets_parse() {
        let sets = parse_resource_quantity_sets("cpus:0.01|mem:32;disk:0|cpus:1;mem:512").unwrap();
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0]["cpus"], 0.01);
        assert_eq!(sets[1].len(), 1, "zero quantities are dropped");
        assert_eq!(sets[2]["mem"], 512.0);
        for bad in ["cpus", "cpus:x", "cpus:-1", ":1", "cpus:1:2"] {
            assert!(parse_resource_quantity_sets(bad).is_err(), "{bad}");
        }
    }
}
