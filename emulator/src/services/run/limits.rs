//! The CPU and memory combinations Cloud Run accepts for a container, as Google documents them.
//!
//! Sources: "Configure CPU limits for services" (https://cloud.google.com/run/docs/configuring/services/cpu): 1, 2,
//! 4, 6 or 8 CPUs, or 0.08 to 1 in steps of 0.001; below 1 CPU memory is at most 512MiB under 0.5 CPU and 1GiB under
//! 1 CPU, concurrency must be 1, billing request-based, execution environment first generation; 4 CPUs need 2GiB,
//! 6 and 8 need 4GiB. "Configure memory limits for services"
//! (https://cloud.google.com/run/docs/configuring/services/memory-limits): more than 4GiB needs 2 CPUs, more than
//! 8GiB 4, more than 16GiB 6, more than 24GiB 8; at most 32GiB; at least 128MiB (512MiB in the second generation).
//! The wording of the refusals follows Cloud Run's ("Invalid value specified for cpu. Total cpu < 1 is not supported
//! with concurrency > 1.", "Invalid value specified for memory. For 1.0 CPU, memory must be between 128Mi and 4Gi
//! inclusive.").

use serde_json::Value;

use super::spec::invalid;
use crate::error::ApiError;

const MI: u64 = 1 << 20;
const GI: u64 = 1 << 30;

/// CPU in thousandths (`"1"` → 1000, `"500m"` → 500, `"0.25"` → 250); None when not such a quantity.
pub(super) fn millicpu(s: &str) -> Option<u64> {
    if let Some(m) = s.strip_suffix('m') {
        return m.parse().ok();
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 3 {
        return None;
    }
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: u64 = format!("{frac:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(frac)
}

/// Memory in bytes (`"512Mi"`, `"2Gi"`, `"1G"`, `"128974848"`); None when not such a quantity.
pub(super) fn bytes(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => MI,
        "Gi" => GI,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// The memory range (bytes, inclusive) Cloud Run allows with `milli` thousandths of a CPU.
fn memory_range(milli: u64, gen2: bool) -> (u64, u64) {
    let floor = if gen2 { 512 * MI } else { 128 * MI };
    match milli {
        m if m < 500 => (floor, 512 * MI),
        m if m < 1000 => (floor, GI),
        1000 => (floor, 4 * GI),
        2000 => (floor, 8 * GI),
        4000 => (2 * GI, 16 * GI),
        6000 => (4 * GI, 24 * GI),
        _ => (4 * GI, 32 * GI),
    }
}

fn quantity(b: u64) -> String {
    if b.is_multiple_of(GI) {
        format!("{}Gi", b / GI)
    } else {
        format!("{}Mi", b / MI)
    }
}

/// Refuses a container whose CPU, memory, concurrency, billing or execution environment Cloud Run would refuse.
pub(super) fn check(template: &Value, i: usize, container: &Value) -> Result<(), ApiError> {
    let resources = &container["resources"];
    let field = |f: &str| format!("spec.template.spec.containers[{i}].resources.limits.{f}");
    let cpu = resources["limits"]["cpu"].as_str();
    let milli = match cpu {
        None => 1000,
        Some(s) => match millicpu(s) {
            Some(m) if (80..=1000).contains(&m) || [2000, 4000, 6000, 8000].contains(&m) => m,
            _ => {
                return Err(invalid(
                    &field("cpu"),
                    &format!(
                        "Invalid value specified for cpu. '{s}' is not supported: use 1, 2, 4, 6 or 8, or a \
                         value between 0.08 and 1 in increments of 0.001."
                    ),
                ))
            }
        },
    };
    let gen2 = template["executionEnvironment"] == "EXECUTION_ENVIRONMENT_GEN2";
    if milli < 1000 {
        let fractional = |why: &str| {
            invalid(
                &field("cpu"),
                &format!(
                    "Invalid value specified for cpu. Total cpu < 1 is not supported with {why}."
                ),
            )
        };
        if template["maxInstanceRequestConcurrency"]
            .as_i64()
            .is_some_and(|c| c > 1)
        {
            return Err(fractional("concurrency > 1"));
        }
        if gen2 {
            return Err(fractional("gen2 execution environment"));
        }
        // run.v2.json, cpuIdle: "if ResourceRequirements is set, the caller must explicitly set this field to true
        // to preserve the default behavior", so absent means CPU always allocated (instance-based billing).
        if resources["cpuIdle"] != true {
            return Err(fractional("cpu always allocated"));
        }
    }
    if let Some(s) = resources["limits"]["memory"].as_str() {
        let (lo, hi) = memory_range(milli, gen2);
        let cpus = format!("{:.1}", milli as f64 / 1000.0);
        match bytes(s) {
            Some(b) if (lo..=hi).contains(&b) => {}
            _ => {
                return Err(invalid(
                    &field("memory"),
                    &format!(
                        "Invalid value specified for memory. For {cpus} CPU, memory must be between {} and {} \
                         inclusive.",
                        quantity(lo),
                        quantity(hi)
                    ),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_cloud_run_writes_them() {
        assert_eq!(millicpu("1"), Some(1000));
        assert_eq!(millicpu("500m"), Some(500));
        assert_eq!(millicpu("0.08"), Some(80));
        assert_eq!(millicpu(".5"), Some(500));
        assert_eq!(millicpu("0.0805"), None);
        assert_eq!(millicpu("one"), None);
        assert_eq!(bytes("512Mi"), Some(512 * MI));
        assert_eq!(bytes("2Gi"), Some(2 * GI));
        assert_eq!(bytes("1GB"), None);
    }
}
