//! The Mermaid flowchart of a mesh: hostnames (rounded) route to Cloud Run services (boxes) along solid edges
//! labelled with the rule's matches and the weight; dotted edges are `roles/run.invoker` (who may call whom).
//! GitHub draws a ```` ```mermaid ```` fence, so a CI job can post it with the plan.
//!
//! Node ids are derived from names (`svc_target_green`) so the text stays readable in a diff; labels are
//! quoted, with `"` written as Mermaid's `#quot;`, so no name or header value can break the chart.

use std::collections::BTreeMap;

use super::model::{Destination, Rule, Topology};

/// A Mermaid identifier: letters, digits and `_`, unique among `used`.
fn ident(prefix: &str, name: &str, used: &mut BTreeMap<String, usize>) -> String {
    let base: String = format!("{prefix}_{name}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let n = used.entry(base.clone()).or_insert(0);
    *n = n.saturating_add(1);
    if *n == 1 {
        base
    } else {
        format!("{base}_{n}")
    }
}

/// A quoted label.
fn label(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("\"{}\"", clean.replace('"', "#quot;"))
}

/// The label of the edge to `d` in `rule` (the `index`th, from 1) of a route with `rules` rules.
fn edge_label(rule: &Rule, index: usize, rules: usize, d: &Destination) -> String {
    let mut parts = Vec::new();
    if !rule.matches.is_empty() {
        parts.push(rule.matches.join(" or "));
    } else if rules > 1 {
        parts.push(format!("rule {index}: any request"));
    }
    if rule.destinations.len() > 1 {
        match d.weight {
            Some(w) => parts.push(format!("weight {w}")),
            None => parts.push("equal share".to_string()),
        }
    }
    parts.join(", ")
}

/// The flowchart text.
pub fn render(t: &Topology) -> String {
    let mut used = BTreeMap::new();
    let mut out = vec![
        "flowchart LR".to_string(),
        format!(
            "  %% mesh {}: hostnames route to Cloud Run services; dotted: may call (roles/run.invoker)",
            t.mesh.replace('\n', " ")
        ),
    ];
    // Services by (name, region); a name in two regions gets the region in its label.
    let mut services: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut regions_of: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &t.services {
        let n = regions_of.entry(s.name.as_str()).or_insert(0);
        *n = n.saturating_add(1);
    }
    for s in &t.services {
        let id = ident("svc", &s.name, &mut used);
        let shown = if regions_of.get(s.name.as_str()).copied().unwrap_or(0) > 1 {
            format!("{} ({})", s.name, s.region)
        } else {
            s.name.clone()
        };
        out.push(format!("  {id}[{}]", label(&shown)));
        services.insert((s.name.clone(), s.region.clone()), id);
    }
    // Backend services with no Cloud Run service found behind them.
    let mut orphans: BTreeMap<String, String> = BTreeMap::new();
    for h in &t.hostnames {
        let id = ident("host", &h.hostname, &mut used);
        out.push(format!("  {id}([{}])", label(&h.hostname)));
        for (i, rule) in h.rules.iter().enumerate() {
            for d in &rule.destinations {
                let key = (
                    d.service.clone().unwrap_or_default(),
                    d.region.clone().unwrap_or_default(),
                );
                let target = match services.get(&key) {
                    Some(s) => s.clone(),
                    None => match orphans.get(&d.backend_service) {
                        Some(o) => o.clone(),
                        None => {
                            let o = ident("backend", &d.backend_service, &mut used);
                            out.push(format!(
                                "  {o}[{}]",
                                label(&format!(
                                    "backend service {} (no Cloud Run service found)",
                                    d.backend_service
                                ))
                            ));
                            orphans.insert(d.backend_service.clone(), o.clone());
                            o
                        }
                    },
                };
                let text = edge_label(rule, i.saturating_add(1), h.rules.len(), d);
                if text.is_empty() {
                    out.push(format!("  {id} --> {target}"));
                } else {
                    out.push(format!("  {id} -->|{}| {target}", label(&text)));
                }
            }
        }
    }
    let by_name: BTreeMap<&str, Vec<&String>> =
        services
            .iter()
            .fold(BTreeMap::new(), |mut m, ((n, _), id)| {
                m.entry(n.as_str()).or_insert_with(Vec::new).push(id);
                m
            });
    for c in &t.calls {
        for from in by_name.get(c.caller.as_str()).into_iter().flatten() {
            for to in by_name.get(c.service.as_str()).into_iter().flatten() {
                out.push(format!("  {from} -.-> {to}"));
            }
        }
    }
    out.push(String::new());
    out.join("\n")
}
