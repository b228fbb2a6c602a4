//! Drift check: does the object Google returns still hold everything we asked for?
//!
//! Values are compared by meaning where Google answers another spelling than it was sent: links by path, and
//! durations by value (Google answers proto3 JSON, `"1.5s"` comes back `"1.500s"`).

use serde_json::Value;

/// True when every field set in `want` has the same value in `have` (objects recursively, arrays element-wise
/// with equal length). Fields only in `have` (output-only, server defaults) are ignored.
pub fn contains(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, wv)| match h.get(k) {
            Some(hv) => contains(wv, hv),
            None => is_empty(wv),
        }),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| contains(a, b))
        }
        (Value::String(w), Value::String(h)) => {
            w == h || same_link(w, h) || super::duration::same_google(w, h)
        }
        (Value::Number(w), Value::Number(h)) => w.as_f64() == h.as_f64(),
        (Value::String(w), Value::Number(h)) | (Value::Number(h), Value::String(w)) => {
            w == &h.to_string()
        }
        (w, Value::Null) => is_empty(w),
        (w, h) => w == h,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// Compute links come back as full URLs where we sent relative paths (or the other way round), and HTTPRoutes
/// name backend services either as `projects/P/global/backendServices/B` or `projects/P/locations/global/...`.
fn same_link(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        gcp::compute::link_path(s).map(|p| {
            p.replace(
                "/locations/global/backendServices/",
                "/global/backendServices/",
            )
        })
    };
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// [`contains`] for two serializable values.
pub fn holds<W: serde::Serialize, H: serde::Serialize>(want: &W, have: &H) -> bool {
    match (serde_json::to_value(want), serde_json::to_value(have)) {
        (Ok(w), Ok(h)) => contains(&w, &h),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_output_fields_are_not_drift_but_changed_ones_are() {
        let want = json!({"a": 1, "b": {"c": "x"}, "l": [{"n": 1}]});
        assert!(contains(
            &want,
            &json!({"a": 1, "b": {"c": "x", "d": 2}, "l": [{"n": 1, "o": 3}], "z": true})
        ));
        assert!(!contains(
            &want,
            &json!({"a": 2, "b": {"c": "x"}, "l": [{"n": 1}]})
        ));
        assert!(!contains(&want, &json!({"a": 1, "b": {"c": "x"}, "l": []})));
        assert!(!contains(&want, &json!({"b": {"c": "x"}, "l": [{"n": 1}]})));
    }

    #[test]
    fn backend_service_spellings_are_the_same_link() {
        let want = json!({"serviceName": "projects/p/global/backendServices/b"});
        assert!(contains(
            &want,
            &json!({"serviceName": "projects/p/locations/global/backendServices/b"})
        ));
        assert!(!contains(
            &want,
            &json!({"serviceName": "projects/p/global/backendServices/c"})
        ));
    }

    #[test]
    fn durations_google_respells_are_not_drift_but_other_lengths_are() {
        let want = json!({"rules": [{"action": {
            "timeout": "1.5s",
            "retryPolicy": {"perTryTimeout": "0.25s"},
            "faultInjectionPolicy": {"delay": {"fixedDelay": "30s"}}
        }}]});
        let back = json!({"rules": [{"action": {
            "timeout": "1.500s",
            "retryPolicy": {"perTryTimeout": "0.250s"},
            "faultInjectionPolicy": {"delay": {"fixedDelay": "30s"}}
        }}]});
        assert!(contains(&want, &back));
        let changed = json!({"rules": [{"action": {
            "timeout": "1.501s",
            "retryPolicy": {"perTryTimeout": "0.250s"},
            "faultInjectionPolicy": {"delay": {"fixedDelay": "30s"}}
        }}]});
        assert!(!contains(&want, &changed));
    }

    #[test]
    fn links_compare_by_path() {
        let want = json!({"group": "https://www.googleapis.com/compute/v1/projects/p/regions/r/networkEndpointGroups/n"});
        assert!(contains(
            &want,
            &json!({"group": "http://127.0.0.1:9/compute/v1/projects/p/regions/r/networkEndpointGroups/n"})
        ));
    }
}
