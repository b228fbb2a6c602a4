//! Formats of single values: project, region, image, accounts, IAM members, addresses, CPU and memory.

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use regex::Regex;

use super::names;

/// Cloud Run's memory range.
const MIN_MEMORY: u64 = 128 << 20;
const MAX_MEMORY: u64 = 32 << 30;

static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    let host = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?";
    let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
    let tag = r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?";
    let digest = r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?";
    Regex::new(&format!(
        "^{host}{component}(?:/{component})*{tag}{digest}$"
    ))
    .expect("static regex")
});
static EMAIL_LOCAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$").expect("static regex")
});
static SERVICE_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9][a-z0-9._-]{0,62}@[a-z0-9][a-z0-9.-]*\.gserviceaccount\.com$")
        .expect("static regex")
});
pub(super) static LABEL_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$").expect("static regex"));
pub(super) static LABEL_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$").expect("static regex"));
pub(super) static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$").expect("static regex"));
pub(super) static HEADER_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$").expect("static regex"));

pub(crate) fn check_project(s: &str) -> Result<(), String> {
    static PROJECT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$").expect("static regex")
    });
    if PROJECT.is_match(s) {
        Ok(())
    } else {
        Err(
            "is not a project ID (6 to 30 lowercase letters, digits and hyphens, a letter first)"
                .into(),
        )
    }
}

pub(crate) fn check_region(s: &str) -> Result<(), String> {
    static REGION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-z]+-[a-z]+[0-9]+$").expect("static regex"));
    if REGION.is_match(s) {
        Ok(())
    } else {
        Err("is not a region such as \"asia-northeast1\"".into())
    }
}

pub(super) fn check_image(s: &str) -> Result<(), String> {
    if s.len() > 1024 || !IMAGE.is_match(s) {
        return Err("is not a container image reference such as \
                    \"asia-northeast1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG\" (lowercase repository path, optional \
                    :tag and @sha256:digest)"
            .into());
    }
    Ok(())
}

pub(super) fn check_service_account(s: &str) -> Result<(), String> {
    if let Some(rest) = s.strip_prefix("serviceAccount:") {
        return Err(format!(
            "has a member prefix; write the bare email {rest:?}"
        ));
    }
    if SERVICE_ACCOUNT.is_match(s) {
        Ok(())
    } else {
        Err(
            "is not a service account email such as \"NAME@PROJECT.iam.gserviceaccount.com\""
                .into(),
        )
    }
}

/// IAM members for `roles/run.invoker`. `allUsers`/`allAuthenticatedUsers` are allowed: Cloud Run accepts them
/// (internal ingress still limits who can reach the service), organisation policy may still refuse them.
pub(super) fn check_member(s: &str) -> Result<(), String> {
    if s == "allUsers" || s == "allAuthenticatedUsers" {
        return Ok(());
    }
    if s.starts_with("principal://") || s.starts_with("principalSet://") {
        return Ok(());
    }
    let Some((kind, rest)) = s.split_once(':') else {
        return Err("has no member type; write e.g. \"serviceAccount:caller@PROJECT.iam.gserviceaccount.com\"".into());
    };
    match kind {
        "user" | "group" if EMAIL_LOCAL.is_match(rest) => Ok(()),
        "serviceAccount" if SERVICE_ACCOUNT.is_match(rest) => Ok(()),
        "domain" if names::check_dns_name(rest).is_ok() && rest.contains('.') => Ok(()),
        "user" | "group" | "serviceAccount" | "domain" => {
            Err(format!("has a malformed {kind} after \"{kind}:\""))
        }
        other => {
            let fixed = ["user", "group", "serviceAccount", "domain"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(other));
            match fixed {
                Some(k) => Err(format!("has member type {other:?}; the type is case-sensitive: write \"{k}:\"")),
                None => Err(format!(
                    "has member type {other:?}; use user:, serviceAccount:, group:, domain:, allUsers or \
                     allAuthenticatedUsers"
                )),
            }
        }
    }
}

pub(super) fn check_dns_address(s: &str) -> Result<(), String> {
    match s.parse::<Ipv4Addr>() {
        Ok(ip) if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() => Err(
            "is not a usable unicast IPv4 address; use a private address such as \"10.0.0.1\""
                .into(),
        ),
        Ok(_) => Ok(()),
        Err(_) => Err("is not an IPv4 address such as \"10.0.0.1\"".into()),
    }
}

/// CPU as Cloud Run takes it: `"1"`, `"0.5"`, `"500m"`; 1, 2, 4, 6 or 8, or 0.08 to 1 in steps of 0.001
/// (https://cloud.google.com/run/docs/configuring/services/cpu).
pub fn parse_cpu(s: &str) -> Result<f64, String> {
    match millicpu(s) {
        Some(m) if (80..=1000).contains(&m) || [2000, 4000, 6000, 8000].contains(&m) => {
            Ok(m as f64 / 1000.0)
        }
        Some(_) => Err(
            "is not a CPU limit Cloud Run takes: use 1, 2, 4, 6 or 8, or a value from 0.08 to 1 in steps of \
             0.001 (such as \"0.5\" or \"500m\")"
                .into(),
        ),
        None => Err("is not a CPU amount such as \"1\", \"2\" or \"500m\"".into()),
    }
}

/// CPU in thousandths: `"2"` → 2000, `"0.25"` → 250, `"500m"` → 500; None for anything else (more than three
/// decimals included).
pub fn millicpu(s: &str) -> Option<u64> {
    if let Some(m) = s.strip_suffix('m') {
        return m
            .parse()
            .ok()
            .filter(|_| m.bytes().all(|b| b.is_ascii_digit()));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || frac.len() > 3 || !digits(whole) || !digits(frac) {
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

/// The memory range in bytes (inclusive) Cloud Run allows with `milli` thousandths of a CPU: below 0.5 CPU at
/// most 512Mi, below 1 at most 1Gi; 1 CPU up to 4Gi, 2 up to 8Gi, 4 from 2Gi to 16Gi, 6 from 4Gi to 24Gi, 8 from
/// 4Gi to 32Gi (https://cloud.google.com/run/docs/configuring/services/cpu and
/// https://cloud.google.com/run/docs/configuring/services/memory-limits).
pub fn memory_range(milli: u64) -> (u64, u64) {
    const MI: u64 = 1 << 20;
    const GI: u64 = 1 << 30;
    match milli {
        m if m < 500 => (MIN_MEMORY, 512 * MI),
        m if m < 1000 => (MIN_MEMORY, GI),
        1000 => (MIN_MEMORY, 4 * GI),
        2000 => (MIN_MEMORY, 8 * GI),
        4000 => (2 * GI, 16 * GI),
        6000 => (4 * GI, 24 * GI),
        _ => (4 * GI, MAX_MEMORY),
    }
}

/// `536870912` → `"512Mi"`, `2147483648` → `"2Gi"`.
pub fn memory_text(b: u64) -> String {
    if b.is_multiple_of(1 << 30) {
        format!("{}Gi", b >> 30)
    } else {
        format!("{}Mi", b >> 20)
    }
}

/// Memory as Cloud Run takes it: `<int><unit>` with `Ki`, `Mi`, `Gi`, `k`, `M`, `G`; between 128Mi and 32Gi.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: Option<u64> = match unit {
        "Ki" => Some(1 << 10),
        "Mi" => Some(1 << 20),
        "Gi" => Some(1 << 30),
        "k" => Some(1_000),
        "M" => Some(1_000_000),
        "G" => Some(1_000_000_000),
        _ => None,
    };
    let bytes = match (num.parse::<u64>().ok(), mult) {
        (Some(n), Some(m)) => n.checked_mul(m),
        _ => None,
    };
    match bytes {
        Some(b) if (MIN_MEMORY..=MAX_MEMORY).contains(&b) => Ok(b),
        Some(_) => Err("is out of range: Cloud Run takes 128Mi to 32Gi".into()),
        None => Err("is not a memory amount such as \"512Mi\" or \"2Gi\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_formats() {
        assert_eq!(parse_cpu("1"), Ok(1.0));
        assert_eq!(parse_cpu("500m"), Ok(0.5));
        assert!(parse_cpu("16").is_err());
        assert!(parse_cpu("3").is_err());
        assert!(parse_cpu("0.0805").is_err());
        assert!(parse_cpu("0.05").is_err());
        assert_eq!(parse_cpu("0.08"), Ok(0.08));
        assert_eq!(parse_cpu("6"), Ok(6.0));
        assert_eq!(parse_cpu("2000m"), Ok(2.0));
        assert!(parse_cpu("one").is_err());
        assert_eq!(parse_memory("512Mi"), Ok(512 << 20));
        assert!(parse_memory("64Mi").is_err());
        assert!(parse_memory("1GB").is_err());
    }

    #[test]
    fn members_accept_documented_forms() {
        for ok in [
            "user:a@example.com",
            "serviceAccount:x-1@p-123.iam.gserviceaccount.com",
            "group:g@example.com",
            "domain:example.com",
            "allUsers",
            "allAuthenticatedUsers",
        ] {
            assert_eq!(check_member(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx",
            "gcr.io/p/app:1.0",
            "asia-northeast1-docker.pkg.dev/p/apps/target:1.2.0",
            "localhost:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image(ok), Ok(()), "{ok}");
        }
    }
}
