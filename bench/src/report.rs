//! Figures: medians of runs, and the one JSON line each scenario ends with.

use serde_json::Value;

/// The median of some samples (the mean of the middle two for an even count).
pub(crate) fn median(samples: &[f64]) -> f64 {
    percentile(samples, 0.5)
}

/// The `q`-quantile of some samples, by linear interpolation; 0 for none.
pub(crate) fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

/// Prints the scenario's closing JSON line.
pub(crate) fn finish(scenario: &str, mut figures: Value) {
    if let Value::Object(map) = &mut figures {
        map.insert("scenario".into(), Value::from(scenario));
    }
    println!("{figures}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 1.0), 5.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
