//! Compares generated pages with the committed ones and summarises every difference.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use similar::TextDiff;

use super::Page;

/// Lines of unified diff shown per file; enough to see what changed without flooding CI logs.
const MAX_DIFF_LINES: usize = 60;

/// One file whose committed content is not what the schema generates.
#[derive(Debug, PartialEq)]
pub enum Drift {
    Missing(PathBuf),
    Differs {
        path: PathBuf,
        diff: String,
    },
    /// A page under `docs/resources/` or `docs/data-sources/` that nothing in the schema generates.
    Stale(PathBuf),
}

/// Every drift between `pages` and the files under `root`; empty when the docs are current.
pub fn drift_report(root: &Path, pages: &[Page]) -> Result<Vec<Drift>> {
    let mut drifts = Vec::new();
    for page in pages {
        let path = root.join(&page.path);
        match fs::read_to_string(&path) {
            Ok(committed) if committed == page.content => {}
            Ok(committed) => drifts.push(Drift::Differs {
                path: page.path.clone(),
                diff: unified_diff(&page.path, &committed, &page.content),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                drifts.push(Drift::Missing(page.path.clone()))
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    for generated_dir in ["docs/resources", "docs/data-sources"] {
        let dir = root.join(generated_dir);
        if !dir.is_dir() {
            continue;
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
            .collect();
        entries.sort();
        for rel in entries {
            if !pages.iter().any(|p| p.path == rel) {
                drifts.push(Drift::Stale(rel));
            }
        }
    }
    Ok(drifts)
}

/// The text CI prints for a failed check.
pub fn summary(drifts: &[Drift]) -> String {
    let mut out = format!(
        "docs drift: {} file(s) differ from the provider schema\n",
        drifts.len()
    );
    for drift in drifts {
        match drift {
            Drift::Missing(p) => {
                let _ = writeln!(out, "  missing: {}", p.display());
            }
            Drift::Stale(p) => {
                let _ = writeln!(
                    out,
                    "  stale (no such resource in the schema): {}",
                    p.display()
                );
            }
            Drift::Differs { path, diff } => {
                let _ = writeln!(out, "  differs: {}", path.display());
                out.push_str(diff);
            }
        }
    }
    out.push_str("run `cargo xtask docs` and commit the result\n");
    out
}

fn unified_diff(path: &Path, committed: &str, generated: &str) -> String {
    let name = path.display().to_string();
    let text = TextDiff::from_lines(committed, generated)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{name} (committed)"),
            &format!("{name} (generated)"),
        )
        .to_string();
    let total = text.lines().count();
    let mut shown: String = text
        .lines()
        .take(MAX_DIFF_LINES)
        .map(|l| format!("    {l}\n"))
        .collect();
    if total > MAX_DIFF_LINES {
        let _ = writeln!(
            shown,
            "    ... {} more diff line(s)",
            total - MAX_DIFF_LINES
        );
    }
    shown
}
