//! The figures as a text table (stdout) and as JSON under `target/bench/`, each judged against issue 7's targets (and issue 13's refresh bound).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::scenarios::Figures;

/// The issues' targets (goals reported next to the figures, never asserted).
pub mod targets {
    pub const EFFICIENCY: f64 = 0.90;
    pub const REFRESH_GETS_PER_SERVICE: f64 = 7.0;
    pub const IAM_WRITES_FOR_100: usize = 5;
    pub const EXEC_TO_HANDSHAKE_MS: f64 = 5.0;
    pub const IDLE_RSS_MIB: f64 = 20.0;
    /// Issue 13: a refresh of N services costs at most N + 10 API calls (one list per region and
    /// collection, one project policy read, and the one per-service read that cannot be listed).
    pub const REFRESH_CALLS_OVER_SERVICES: usize = 10;
    /// Issue 13: a create costs at most 20 API calls per service and a destroy at most 14, operation polls
    /// included, at 20 and at 100 services (one service alone also pays the shared parts' setup).
    pub const CREATE_CALLS_PER_SERVICE: f64 = 20.0;
    pub const DESTROY_CALLS_PER_SERVICE: f64 = 14.0;
    /// The scales the create and destroy budgets are judged at.
    pub const BUDGET_SCALES: [usize; 2] = [20, 100];

    /// The most calls a refresh of `services` services may cost.
    pub fn refresh_calls_bound(services: usize) -> usize {
        services + REFRESH_CALLS_OVER_SERVICES
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

/// The human-readable table.
pub fn table(f: &Figures) -> String {
    let mut s = String::new();
    let o = &f.options;
    let _ = writeln!(
        s,
        "csmrun bench: time scale {} (Cloud Run create 20 s -> {:.2} s), {}",
        o.time_scale,
        20.0 * o.time_scale,
        f.terraform
    );
    let _ = writeln!(
        s,
        "\n1. Orchestration efficiency of one csmrun_service create (median of {})",
        o.repeats
    );
    let _ = writeln!(
        s,
        "{:<10} {:>9} {:>9} {:>7} {:>9} {:>9} {:>8} {:>7}  critical path",
        "new grant", "bound s", "work s", "eff.", "apply s", "anchor s", "speedup", "target"
    );
    for e in &f.efficiency {
        let _ = writeln!(
            s,
            "{:<10} {:>9.3} {:>9.3} {:>7.3} {:>9.3} {:>9.3} {:>7.2}x {:>7}  {}",
            if e.new_grant { "yes" } else { "no" },
            e.bound_seconds,
            e.provider_work_seconds.median,
            e.efficiency,
            e.apply_wall_seconds.median,
            e.anchor_seconds.median,
            e.speedup_over_anchor,
            verdict(e.efficiency >= targets::EFFICIENCY),
            e.critical_path.path.join(" -> ")
        );
    }
    let _ = writeln!(
        s,
        "\n2. Scale (shared mesh, domain, account; terraform default parallelism 10)"
    );
    let _ = writeln!(
        s,
        "{:>8} {:>8} {:>9} {:>10} {:>9} {:>8} {:>9} {:>9} {:>10} {:>10} {:>8} {:>10}",
        "services",
        "in state",
        "apply s",
        "calls/svc",
        "plan s",
        "refresh",
        "ref/svc",
        "GETs/svc",
        "reads/svc",
        "plan exit",
        "IAM RMW",
        "peak RSS"
    );
    for c in &f.scale {
        let _ = writeln!(
            s,
            "{:>8} {:>8} {:>9.2} {:>10.2} {:>9.2} {:>8} {:>9.2} {:>9.2} {:>10.2} {:>10} {:>8} {:>10}",
            c.services,
            c.services_in_state,
            c.apply_wall_seconds,
            c.create_calls_per_service,
            c.refresh_wall_seconds,
            c.refresh_calls.total,
            c.refresh_calls_per_service,
            c.refresh_gets_per_service,
            c.refresh_reads_per_service,
            c.refresh_plan_exit
                .map(|x| x.to_string())
                .unwrap_or_else(|| "killed".into()),
            c.project_iam_writes,
            mib(c.provider_peak_rss_kib)
        );
    }
    let max_gets = f
        .scale
        .iter()
        .map(|c| c.refresh_gets_per_service)
        .fold(0.0, f64::max);
    let _ = writeln!(
        s,
        "   refresh GETs/service <= {}: {} (reads/svc also counts read-only POSTs: getIamPolicy)",
        targets::REFRESH_GETS_PER_SERVICE,
        verdict(max_gets <= targets::REFRESH_GETS_PER_SERVICE)
    );
    if !f.scale.is_empty() {
        let each: Vec<String> = f
            .scale
            .iter()
            .map(|c| {
                format!(
                    "{} at {} (bound {})",
                    c.refresh_calls.total,
                    c.services,
                    targets::refresh_calls_bound(c.services)
                )
            })
            .collect();
        let ok = f
            .scale
            .iter()
            .all(|c| c.refresh_calls.total <= targets::refresh_calls_bound(c.services));
        let _ = writeln!(
            s,
            "   refresh calls <= services + {}: {} ({})",
            targets::REFRESH_CALLS_OVER_SERVICES,
            verdict(ok),
            each.join(", ")
        );
    }
    if !f.scale.is_empty() {
        let _ = writeln!(
            s,
            "   create and destroy calls/service (destroy with -refresh=false; budget {} / {} at {}):",
            targets::CREATE_CALLS_PER_SERVICE,
            targets::DESTROY_CALLS_PER_SERVICE,
            targets::BUDGET_SCALES
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        );
        for c in &f.scale {
            let judged = targets::BUDGET_SCALES.contains(&c.services);
            let ok = c.create_calls_per_service <= targets::CREATE_CALLS_PER_SERVICE
                && c.destroy_calls_per_service <= targets::DESTROY_CALLS_PER_SERVICE
                && c.destroy_ok;
            let _ = writeln!(
                s,
                "     {:>4} services: create {} calls ({:.2}/svc, {} operation polls), destroy {} calls ({:.2}/svc, \
                 {} operation polls, exit {}), {:.2} s: {}",
                c.services,
                c.apply_calls.total,
                c.create_calls_per_service,
                c.apply_calls.operation_polls,
                c.destroy_calls.total,
                c.destroy_calls_per_service,
                c.destroy_calls.operation_polls,
                if c.destroy_ok { "0" } else { "failed" },
                c.destroy_wall_seconds,
                if judged { verdict(ok) } else { "not judged (shared setup)" }
            );
        }
    }
    if let Some(c) = f.scale.iter().find(|c| c.services == 100) {
        let _ = writeln!(
            s,
            "   IAM RMWs for 100 services <= {}: {} ({})",
            targets::IAM_WRITES_FOR_100,
            verdict(c.project_iam_writes <= targets::IAM_WRITES_FOR_100),
            c.project_iam_writes
        );
    }
    let at = |n: usize| f.scale.iter().find(|c| c.services == n);
    // The smallest scale of ten or more services: below that the shared parts' one-time calls dominate.
    let small = f
        .scale
        .iter()
        .filter(|c| c.services >= 10 && c.services < 100)
        .min_by_key(|c| c.services);
    if let (Some(a), Some(b)) = (small, at(100)) {
        // Operation polls depend on timing (how long each operation ran under load), not on the
        // number of services, so the verdict is on the other calls.
        let steady = |c: &super::scenarios::Scale| {
            (c.apply_calls.total - c.apply_calls.operation_polls) as f64 / c.services.max(1) as f64
        };
        let _ = writeln!(
            s,
            "   calls/service {} -> 100: create {:.2} -> {:.2} (without operation polls {:.2} -> {:.2}), \
             refresh {:.2} -> {:.2}: {}",
            a.services,
            a.create_calls_per_service,
            b.create_calls_per_service,
            steady(a),
            steady(b),
            a.refresh_calls_per_service,
            b.refresh_calls_per_service,
            verdict(
                steady(b) <= steady(a)
                    && b.refresh_calls_per_service <= a.refresh_calls_per_service
            )
        );
    }
    if let Some(fp) = &f.footprint {
        let _ = writeln!(s, "\n3. Provider footprint (release binary)");
        let _ = writeln!(
            s,
            "   exec-to-handshake, plaintext: median {:.2} ms, p90 {:.2} ms, min {:.2} ms (n={}): {}",
            fp.exec_to_handshake_ms.median,
            fp.exec_to_handshake_ms.p90,
            fp.exec_to_handshake_ms.min,
            fp.exec_to_handshake_ms.n,
            verdict(fp.exec_to_handshake_ms.median <= targets::EXEC_TO_HANDSHAKE_MS)
        );
        let _ = writeln!(
            s,
            "   exec-to-handshake, AutoMTLS (as terraform runs it): median {:.2} ms, p90 {:.2} ms (n={})",
            fp.exec_to_handshake_automtls_ms.median,
            fp.exec_to_handshake_automtls_ms.p90,
            fp.exec_to_handshake_automtls_ms.n
        );
        let _ = writeln!(
            s,
            "   GetProviderSchema: median {:.3} ms, p90 {:.3} ms (n={})",
            fp.get_provider_schema_ms.median,
            fp.get_provider_schema_ms.p90,
            fp.get_provider_schema_ms.n
        );
        let idle_ok = fp
            .idle_rss_kib
            .is_some_and(|k| k as f64 / 1024.0 <= targets::IDLE_RSS_MIB);
        let _ = writeln!(
            s,
            "   idle RSS {} (high-water {}): {}; peak RSS under load: {}",
            mib(fp.idle_rss_kib),
            mib(fp.idle_peak_kib),
            verdict(idle_ok),
            mib(f.scale.iter().filter_map(|c| c.provider_peak_rss_kib).max())
        );
        let _ = writeln!(
            s,
            "   binary size {} bytes ({:.1} MiB)",
            fp.binary_bytes,
            fp.binary_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    if let Some(x) = &f.faults {
        let _ = writeln!(
            s,
            "\n4. Under faults: {} services, {:.0}% of calls 429/503",
            x.services,
            x.rate * 100.0
        );
        let _ = writeln!(
            s,
            "   apply exit {:?}, created {}/{} (success {:.1}%), injected {}, calls {} vs {} clean (+{}), wall {:.2} s vs {:.2} s ({:.2}x)",
            x.apply_exit,
            x.services_created,
            x.services,
            x.success_rate * 100.0,
            x.injected,
            x.calls.total,
            x.clean_calls,
            x.extra_calls,
            x.wall_seconds,
            x.clean_wall_seconds,
            x.wall_ratio
        );
        for e in x.errors.iter().take(5) {
            let _ = writeln!(s, "   {e}");
        }
    }
    s
}

/// Writes `bench-<unix seconds>.json`, `latest.json` and `latest.txt` under `dir`; returns the JSON path.
pub fn save(f: &Figures, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(f).context("serializing the figures")?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("bench-{stamp}.json"));
    for p in [&path, &dir.join("latest.json")] {
        std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
    }
    let txt = dir.join("latest.txt");
    std::fs::write(&txt, table(f)).with_context(|| format!("writing {}", txt.display()))?;
    Ok(path)
}
