//! Repository tasks run as `cargo xtask <task>`: registry docs, release-config check, the demo's mesh map, the
//! unused-dependency check.

mod docs;
mod goreleaser;
mod mesh_map;
mod unused_deps;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "csmrun repository tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Generate docs/index.md and docs/resources/*.md from the provider's schema (tfplugindocs layout).
    Docs {
        /// Do not write; fail with a diff summary when the committed docs differ from the generated ones.
        #[arg(long)]
        check: bool,
        /// Read `terraform providers schema -json` output from this file instead of running Terraform.
        #[arg(long, value_name = "FILE")]
        schema_json: Option<PathBuf>,
        /// Terraform binary (default: $TF_ACC_TERRAFORM_PATH, then .tools/bin/terraform, then PATH).
        #[arg(long, value_name = "PATH")]
        terraform: Option<PathBuf>,
        /// Use the provider already in target/debug instead of running cargo build first.
        #[arg(long)]
        no_build: bool,
    },
    /// Validate .goreleaser.yml against goreleaser's JSON schema and the Terraform registry's rules.
    GoreleaserCheck {
        #[arg(long, value_name = "FILE", default_value = ".goreleaser.yml")]
        config: PathBuf,
        /// goreleaser's JSON schema (default: the copy kept in the repository).
        #[arg(long, value_name = "FILE", default_value = goreleaser::DEFAULT_SCHEMA)]
        schema: PathBuf,
    },
    /// Print the mesh map (hostnames, weights, invokers, run.app URLs) from `terraform show -json`.
    MeshMap {
        /// File with the `terraform show -json` output; `-` reads stdin.
        #[arg(value_name = "FILE", default_value = "-")]
        show_json: PathBuf,
    },
    /// Fail when a workspace crate declares a dependency none of its source files names.
    UnusedDeps,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = repo_root();
    match cli.task {
        Task::Docs {
            check,
            schema_json,
            terraform,
            no_build,
        } => {
            let source = match schema_json {
                Some(file) => docs::SchemaSource::File(file),
                None => docs::SchemaSource::Terraform {
                    terraform,
                    build: !no_build,
                    provider_dir: None,
                },
            };
            let pages = docs::generate(&root, &source.load(&root)?)?;
            if check {
                let drifts = docs::drift_report(&root, &pages)?;
                if !drifts.is_empty() {
                    anyhow::bail!("{}", docs::summary(&drifts));
                }
                println!("docs: {} page(s) match the provider schema", pages.len());
            } else {
                docs::write(&root, &pages)?;
                for page in &pages {
                    println!("wrote {}", page.path.display());
                }
            }
        }
        Task::GoreleaserCheck { config, schema } => {
            goreleaser::check(&root.join(&config), &root.join(schema))?;
            println!(
                "{}: valid goreleaser v2 config for a Terraform registry release",
                config.display()
            );
        }
        Task::MeshMap { show_json } => {
            let text = if show_json == Path::new("-") {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading stdin")?;
                text
            } else {
                std::fs::read_to_string(&show_json)
                    .with_context(|| format!("reading {}", show_json.display()))?
            };
            print!("{}", mesh_map::render(&text)?);
        }
        Task::UnusedDeps => unused_deps::run(&root)?,
    }
    Ok(())
}

/// The workspace root: xtask lives in `<root>/xtask`, so paths work from any current directory.
fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}
