//! Gets `terraform providers schema -json` from the real Terraform with a dev_overrides CLI config.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Where the schema JSON comes from.
#[derive(Debug, Clone)]
pub enum SchemaSource {
    /// A file holding `terraform providers schema -json` output (tests, or a schema captured elsewhere).
    File(PathBuf),
    /// Run Terraform against the provider built in `provider_dir` (default: the workspace's `target/debug`).
    Terraform {
        terraform: Option<PathBuf>,
        build: bool,
        provider_dir: Option<PathBuf>,
    },
}

impl SchemaSource {
    pub fn load(&self, root: &Path) -> Result<String> {
        match self {
            SchemaSource::File(path) => fs::read_to_string(path)
                .with_context(|| format!("reading schema JSON {}", path.display())),
            SchemaSource::Terraform {
                terraform,
                build,
                provider_dir: dir,
            } => {
                if *build {
                    build_provider(root)?;
                }
                let terraform = find_terraform(root, terraform.as_deref())?;
                let dir = dir.clone().unwrap_or_else(|| provider_dir(root));
                provider_schema_json(&terraform, &dir)
            }
        }
    }
}

/// The directory holding the debug provider binary (honours `CARGO_TARGET_DIR`).
pub fn provider_dir(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root.join(target)
    };
    target.join("debug")
}

/// Terraform to run: explicit path, then `TF_ACC_TERRAFORM_PATH`, then `.tools/bin/terraform`, then PATH.
pub fn find_terraform(root: &Path, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("TF_ACC_TERRAFORM_PATH").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let pinned = root.join(".tools/bin/terraform");
    if pinned.is_file() {
        return Ok(pinned);
    }
    Ok(PathBuf::from("terraform"))
}

fn build_provider(root: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--package",
            "terraform-provider-csmrun",
            "--bin",
            "terraform-provider-csmrun",
        ])
        .status()
        .context("running cargo build for the provider")?;
    if !status.success() {
        bail!("cargo build of terraform-provider-csmrun failed ({status})");
    }
    Ok(())
}

/// The CLI config that makes Terraform use the provider in `provider_dir` without `terraform init`.
pub fn dev_overrides_config(provider_dir: &Path) -> String {
    // HCL strings take JSON escaping, which also covers Windows backslashes.
    let dir = serde_json::to_string(&provider_dir.display().to_string()).unwrap_or_default();
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"csmrun/csmrun\" = {dir}\n  }}\n  direct {{}}\n}}\n"
    )
}

/// Minimal configuration naming the provider, so `providers schema` has something to load.
pub const MINIMAL_CONFIG: &str =
    "terraform {\n  required_providers {\n    csmrun = {\n      source = \"csmrun/csmrun\"\n    }\n  }\n}\n";

fn provider_schema_json(terraform: &Path, provider_dir: &Path) -> Result<String> {
    let binary = provider_dir.join(format!(
        "terraform-provider-csmrun{}",
        std::env::consts::EXE_SUFFIX
    ));
    if !binary.is_file() {
        bail!("{} does not exist; build the provider first (cargo build -p terraform-provider-csmrun)", binary.display());
    }
    let work = tempfile::tempdir().context("creating a temp dir for terraform")?;
    let cli_config = work.path().join("dev.tfrc");
    fs::write(&cli_config, dev_overrides_config(provider_dir)).context("writing the CLI config")?;
    fs::write(work.path().join("main.tf"), MINIMAL_CONFIG).context("writing main.tf")?;

    let output = Command::new(terraform)
        .current_dir(work.path())
        .args(["providers", "schema", "-json"])
        .env("TF_CLI_CONFIG_FILE", &cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG")
        .output()
        .with_context(|| format!("running {} providers schema -json", terraform.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "terraform providers schema -json failed ({}):\n{}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    extract_json(&stdout).map(str::to_string)
}

/// The JSON document in Terraform's stdout; the dev_overrides warning may be printed around it.
pub fn extract_json(stdout: &str) -> Result<&str> {
    let start = stdout
        .find("{\"format_version\"")
        .with_context(|| format!("no schema JSON in terraform's output:\n{stdout}"))?;
    let rest = &stdout[start..];
    let end = rest.find("\n").unwrap_or(rest.len());
    Ok(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_schema_line_between_override_warnings() {
        let out = "Warning: Provider development overrides are in effect\n{\"format_version\":\"0.2\"}\nmore\n";
        assert_eq!(extract_json(out).unwrap(), "{\"format_version\":\"0.2\"}");
        assert!(extract_json("Error: no config\n").is_err());
    }

    #[test]
    fn dev_overrides_config_names_the_provider_and_keeps_direct_last() {
        let text = dev_overrides_config(Path::new("/repo/target/debug"));
        assert!(
            text.contains("\"csmrun/csmrun\" = \"/repo/target/debug\""),
            "{text}"
        );
        assert!(text.find("dev_overrides").unwrap() < text.find("direct").unwrap());
    }
}

#[cfg(all(test, unix))]
mod fake_terraform_tests {
    use super::*;

    /// A stand-in for terraform that checks how it is called and prints the fixture schema.
    fn fake_terraform(dir: &Path, fixture: &Path) -> PathBuf {
        let script = format!(
            r#"#!/bin/sh
set -e
[ "$1 $2 $3" = "providers schema -json" ] || {{ echo "bad args: $*" >&2; exit 3; }}
grep -q '"csmrun/csmrun" = "{debug}"' "$TF_CLI_CONFIG_FILE" || {{ echo "no dev_overrides" >&2; exit 4; }}
grep -q 'source = "csmrun/csmrun"' main.tf || {{ echo "no main.tf" >&2; exit 5; }}
echo "Warning: development overrides in effect"
cat "{fixture}"
"#,
            debug = dir.join("target/debug").display(),
            fixture = fixture.display()
        );
        let path = dir.join("fake-terraform");
        write_executable(&path, &script);
        path
    }

    /// Writes an executable script from a child shell, not from this process. A script written here and then run
    /// can fail with "Text file busy" (ETXTBSY): another test thread forking in between holds a copy of the
    /// still-open write descriptor until its child execs. The child shell's descriptor is gone when it exits.
    fn write_executable(path: &Path, content: &str) {
        use std::io::Write;
        let mut child = Command::new("sh")
            .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
            .arg(path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        assert!(
            child.wait().unwrap().success(),
            "writing {}",
            path.display()
        );
    }

    #[test]
    fn runs_terraform_with_dev_overrides_and_returns_the_schema_json() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("target/debug")).unwrap();
        fs::write(
            root.path().join("target/debug/terraform-provider-csmrun"),
            "",
        )
        .unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/providers-schema.json");
        let terraform = fake_terraform(root.path(), &fixture);

        let source = SchemaSource::Terraform {
            terraform: Some(terraform),
            build: false,
            provider_dir: Some(root.path().join("target/debug")),
        };
        let json = source.load(root.path()).unwrap();
        assert_eq!(json, fs::read_to_string(&fixture).unwrap().trim_end());
    }

    #[test]
    fn missing_provider_binary_says_to_build_it() {
        let root = tempfile::tempdir().unwrap();
        let source = SchemaSource::Terraform {
            terraform: Some("/bin/false".into()),
            build: false,
            provider_dir: Some(root.path().join("target/debug")),
        };
        let err = source.load(root.path()).unwrap_err().to_string();
        assert!(err.contains("build the provider first"), "{err}");
    }

    #[test]
    fn terraform_failure_is_reported_with_its_output() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("target/debug")).unwrap();
        fs::write(
            root.path().join("target/debug/terraform-provider-csmrun"),
            "",
        )
        .unwrap();
        let script = root.path().join("failing-terraform");
        write_executable(
            &script,
            "#!/bin/sh\necho 'Error: Failed to load plugin schemas' >&2\nexit 1\n",
        );
        let source = SchemaSource::Terraform {
            terraform: Some(script),
            build: false,
            provider_dir: Some(root.path().join("target/debug")),
        };
        let err = source.load(root.path()).unwrap_err().to_string();
        assert!(err.contains("Failed to load plugin schemas"), "{err}");
    }
}
