//! `cargo xtask unused-deps`: every dependency a workspace crate declares is named in its source.
//!
//! The same check as cargo-machete (a dependency whose crate name appears nowhere in the package's Rust files is
//! unused), done here because the workspace's own `cargo metadata` answer gives everything it needs and CI would
//! otherwise build a tool from crates.io on every cold run. A dependency used only through a macro's expansion or
//! for its features can be listed with its reason in the package's `Cargo.toml`:
//!
//! ```toml
//! [package.metadata.unused-deps]
//! ignored = ["name"]   # why, in a comment
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// One declared dependency nobody names.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unused {
    pub package: String,
    pub dependency: String,
}

pub fn run(root: &Path) -> Result<()> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let unused = find(&meta)?;
    if unused.is_empty() {
        println!("unused-deps: every declared dependency is used");
        return Ok(());
    }
    for u in &unused {
        eprintln!(
            "unused-deps: {} declares `{}` but no source file names it: remove it from {}'s Cargo.toml, \
             or list it under [package.metadata.unused-deps] ignored with the reason",
            u.package, u.dependency, u.package
        );
    }
    bail!("{} unused dependencies", unused.len())
}

/// The unused dependencies of every package in `cargo metadata` output.
pub fn find(meta: &Value) -> Result<Vec<Unused>> {
    // A workspace crate's library may be named apart from its package (`csmrun-gcp` is `gcp`).
    let lib_names: std::collections::BTreeMap<&str, String> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let lib = p["targets"].as_array()?.iter().find(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "lib"))
            })?;
            Some((p["name"].as_str()?, lib["name"].as_str()?.replace('-', "_")))
        })
        .collect();
    let mut unused = Vec::new();
    for pkg in meta["packages"]
        .as_array()
        .context("metadata without packages")?
    {
        let name = pkg["name"].as_str().unwrap_or_default();
        let manifest = PathBuf::from(pkg["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().context("manifest without a directory")?;
        let ignored: BTreeSet<&str> = pkg["metadata"]["unused-deps"]["ignored"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let source = sources(dir, &skip_dirs(meta, dir))?;
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let declared = dep["rename"]
                .as_str()
                .or_else(|| dep["name"].as_str())
                .unwrap_or_default();
            if ignored.contains(declared) {
                continue;
            }
            let ident = match (dep["rename"].as_str(), dep["name"].as_str()) {
                (None, Some(n)) if lib_names.contains_key(n) => lib_names[n].clone(),
                _ => declared.replace('-', "_"),
            };
            if !names(&source, &ident) {
                unused.push(Unused {
                    package: name.to_string(),
                    dependency: declared.to_string(),
                });
            }
        }
    }
    unused.sort();
    unused.dedup();
    Ok(unused)
}

/// The directories of the other packages below `dir` (the root package holds the workspace's members).
fn skip_dirs(meta: &Value, dir: &Path) -> Vec<PathBuf> {
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(
                PathBuf::from(p["manifest_path"].as_str()?)
                    .parent()?
                    .to_path_buf(),
            )
        })
        .filter(|d| d != dir && d.starts_with(dir))
        .collect()
}

/// All Rust source below `dir`, except build output, other packages and out-of-workspace fuzz packages.
fn sources(dir: &Path, skip: &[PathBuf]) -> Result<String> {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            let file_name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                let own_package = path.join("Cargo.toml").exists();
                if !file_name.starts_with('.')
                    && file_name != "target"
                    && !own_package
                    && !skip.contains(&path)
                {
                    stack.push(path);
                }
            } else if file_name.ends_with(".rs") {
                text.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                text.push('\n');
            }
        }
    }
    Ok(text)
}

/// Whether `ident` appears in `text` as a whole path segment (`ident::`, `use ident`, `ident!`, `extern crate`).
fn names(text: &str, ident: &str) -> bool {
    text.match_indices(ident).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ident.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after) && before != Some('.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(dir: &Path, deps: &[&str], metadata: Value) -> Value {
        json!({
            "name": "pkg",
            "manifest_path": dir.join("Cargo.toml"),
            "metadata": metadata,
            "dependencies": deps.iter().map(|d| json!({"name": d, "rename": null})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn a_dependency_no_file_names_is_reported_and_a_used_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("src/lib.rs"),
            "use serde_json::Value;\nfn f() { tokio::spawn(async {}); }\n// my_regex_helper\n",
        )
        .unwrap();
        let meta = json!({"packages": [package(dir.path(), &["serde-json", "tokio", "regex", "anyhow"], Value::Null)]});
        let names: Vec<String> = find(&meta)
            .unwrap()
            .into_iter()
            .map(|u| u.dependency)
            .collect();
        assert_eq!(names, ["anyhow", "regex"]);
    }

    #[test]
    fn an_ignored_dependency_is_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("build.rs"), "fn main() {}\n").unwrap();
        let meta = json!({"packages": [package(
            dir.path(),
            &["prost-types"],
            json!({"unused-deps": {"ignored": ["prost-types"]}}),
        )]});
        assert!(find(&meta).unwrap().is_empty());
    }

    #[test]
    fn a_name_inside_another_word_or_after_a_dot_does_not_count() {
        assert!(!names("let my_rand = 1; x.rand", "rand"));
        assert!(names("use rand::Rng;", "rand"));
        assert!(names("extern crate rand;", "rand"));
    }
}
