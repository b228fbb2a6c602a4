//! Random but valid configurations for the soak: one to three services drawn from a small pool, sharing
//! accounts and domains so shared parts are adopted and released, with optional routes that split traffic to
//! each other.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use crate::hcl::{image, quote, ServiceHcl};
use crate::seed::sa;

/// Service names the soak draws from (labels are the same).
pub const NAMES: &[&str] = &["svc-a", "svc-b", "svc-c", "svc-d"];
/// Accounts: `shared` has a pre-existing `roles/trafficdirector.client` binding in the soak seed.
pub const ACCOUNTS: &[&str] = &["app-a", "app-b", "shared"];
/// (domain, its wildcard address): one address per domain, as a team would configure it.
pub const DOMAINS: &[(&str, &str)] = &[
    ("meshapps.internal", "10.0.0.1"),
    ("blue.internal", "10.0.0.2"),
];
/// One domain and one account per service name, for soaks that leave sharing out.
const OWN_DOMAINS: &[(&str, &str)] = &[
    ("meshapps.internal", "10.0.0.1"),
    ("blue.internal", "10.0.0.2"),
    ("green.internal", "10.0.0.3"),
    ("red.internal", "10.0.0.4"),
];
const OWN_ACCOUNTS: &[&str] = &["app-a", "app-b", "app-c", "shared"];

/// The `csmrun_service` blocks of one random configuration, and the names it declares. With `share`, services
/// draw accounts and domains from small pools (so they share project grants and DNS zones); without it each
/// name has its own account and domain.
pub fn random_services(rng: &mut StdRng, share: bool) -> (String, Vec<String>) {
    let count = rng.random_range(1..=3);
    let mut names: Vec<&str> = NAMES.to_vec();
    names.sort_by_key(|_| rng.random::<u32>());
    names.truncate(count);
    names.sort();
    let mut text = String::new();
    for (i, name) in names.iter().enumerate() {
        let earlier = &names[..i];
        text.push_str(&random_service(rng, name, earlier, share).render());
        text.push('\n');
    }
    (text, names.iter().map(|n| n.to_string()).collect())
}

fn random_service(rng: &mut StdRng, name: &str, earlier: &[&str], share: bool) -> ServiceHcl {
    let tag = ["1.0.0", "1.1.0", "2.0.0"]
        .choose(rng)
        .copied()
        .unwrap_or("1.0.0");
    let index = NAMES.iter().position(|n| *n == name).unwrap_or(0);
    let (account, (domain, address)) = if share {
        (
            ACCOUNTS.choose(rng).copied().unwrap_or("app-a"),
            DOMAINS.choose(rng).copied().unwrap_or(DOMAINS[0]),
        )
    } else {
        (
            OWN_ACCOUNTS[index % OWN_ACCOUNTS.len()],
            OWN_DOMAINS[index % OWN_DOMAINS.len()],
        )
    };
    let mut s = ServiceHcl::new(name, name)
        .string("image", &image(name, tag))
        .string("service_account", &sa(account))
        .string("domain", domain)
        .string("dns_address", address)
        .attr(
            "trace",
            if rng.random_bool(0.3) {
                "true"
            } else {
                "false"
            },
        )
        .attr("max_instances", &rng.random_range(2..=10).to_string())
        // Bounded, so a run that outlives them by minutes is a hang, not a long retry.
        .block("timeouts {\n  create = \"2m\"\n  update = \"2m\"\n  delete = \"2m\"\n}");
    if rng.random_bool(0.5) {
        let level = ["info", "debug", "warn"]
            .choose(rng)
            .copied()
            .unwrap_or("info");
        s = s.attr("env", &format!("{{ LOG_LEVEL = {} }}", quote(level)));
    }
    let invokers: Vec<String> = ["caller", "other"]
        .iter()
        .filter(|_| rng.random_bool(0.4))
        .map(|a| quote(&format!("serviceAccount:{}", sa(a))))
        .collect();
    if !invokers.is_empty() {
        s = s.attr("invokers", &format!("[{}]", invokers.join(", ")));
    }
    match rng.random_range(0..3) {
        0 => s,
        1 => s.block(&format!(
            "route {{\n  timeout = \"{}s\"\n  retry {{\n    attempts = {}\n    conditions = [\"5xx\"]\n  }}\n}}",
            rng.random_range(1..=30),
            rng.random_range(1..=5)
        )),
        _ => match earlier.choose(rng) {
            Some(other) => {
                let own = rng.random_range(1..=99);
                s.block(&format!(
                    "route {{\n  weight = {own}\n  destination {{\n    backend_service = csmrun_service.{other}.backend_service\n    weight = {}\n  }}\n}}",
                    100 - own
                ))
            }
            None => s,
        },
    }
}
