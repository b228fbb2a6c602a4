//! `cargo xtask goreleaser-check`: `.goreleaser.yml` against goreleaser's JSON schema plus the registry's rules.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The Cargo bin name; goreleaser's rust builder copies `target/<triple>/release/<binary>`, so they must match.
pub const BINARY: &str = "terraform-provider-csmrun";

/// goreleaser's schema as kept in the repository (provenance in its SOURCES.md), relative to the repository root:
/// the default of `cargo xtask goreleaser-check --schema`.
pub const DEFAULT_SCHEMA: &str = "xtask/goreleaser-schema/schema.json";

/// The registry finds a platform's package by this exact file name (facts §5.1).
const REGISTRY_ZIP_NAME: &str = "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}";

/// Validates the config file against the schema file; the error lists every problem found.
pub fn check(config_path: &Path, schema_path: &Path) -> Result<()> {
    let yaml = fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let schema = fs::read_to_string(schema_path)
        .with_context(|| format!("reading {}", schema_path.display()))?;
    let problems = problems(&yaml, &schema)?;
    if !problems.is_empty() {
        bail!(
            "{} does not pass ({} problem(s)):\n  {}",
            config_path.display(),
            problems.len(),
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// Every schema violation and registry-rule violation of one config; empty when it is valid.
pub fn problems(config_yaml: &str, schema_json: &str) -> Result<Vec<String>> {
    let config: Value =
        serde_yaml_ng::from_str(config_yaml).context("parsing the goreleaser YAML")?;
    let schema: Value =
        serde_json::from_str(schema_json).context("parsing the goreleaser JSON schema")?;
    let validator =
        jsonschema::validator_for(&schema).context("compiling the goreleaser JSON schema")?;
    let mut problems: Vec<String> = validator
        .iter_errors(&config)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("schema: at {}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    problems.extend(registry_rules(&config));
    Ok(problems)
}

/// What the Terraform registry needs and the schema cannot say (facts §5.1, §5.2).
fn registry_rules(config: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if config.get("version").and_then(Value::as_u64) != Some(2) {
        out.push("registry: `version: 2` is required (goreleaser v2 config)".to_string());
    }
    let builds = config
        .get("builds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if builds.is_empty() {
        out.push("registry: no `builds`".to_string());
    }
    for (i, build) in builds.iter().enumerate() {
        if build.get("builder").and_then(Value::as_str) != Some("rust") {
            out.push(format!("registry: builds[{i}] must use `builder: rust`"));
        }
        if build.get("binary").and_then(Value::as_str) != Some(BINARY) {
            out.push(format!(
                "registry: builds[{i}].binary must be `{BINARY}` (the Cargo bin name)"
            ));
        }
    }
    if config.get("project_name").and_then(Value::as_str) != Some(BINARY) {
        out.push(format!(
            "registry: project_name must be `{BINARY}` (it names every artifact)"
        ));
    }
    let registry_zip = config
        .get("archives")
        .and_then(Value::as_array)
        .is_some_and(|archives| {
            archives.iter().any(|a| {
                strings(a.get("formats")).iter().any(|f| f == "zip")
                    && a.get("name_template").and_then(Value::as_str) == Some(REGISTRY_ZIP_NAME)
            })
        });
    if !registry_zip {
        out.push(format!("registry: an archive must have `formats: [zip]` and name_template `{REGISTRY_ZIP_NAME}`"));
    }
    let checksum = config.get("checksum");
    let checksum_name = checksum
        .and_then(|c| c.get("name_template"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !checksum_name.ends_with("_SHA256SUMS") {
        out.push("registry: checksum.name_template must end in `_SHA256SUMS`".to_string());
    }
    if !mentions_manifest(checksum.and_then(|c| c.get("extra_files"))) {
        out.push("registry: checksum.extra_files must include the manifest".to_string());
    }
    if !mentions_manifest(config.get("release").and_then(|r| r.get("extra_files"))) {
        out.push("registry: release.extra_files must include the manifest".to_string());
    }
    let signs = config
        .get("signs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let binary_detached = signs.iter().any(|s| {
        let args = strings(s.get("args"));
        s.get("artifacts").and_then(Value::as_str) == Some("checksum")
            && args.iter().any(|a| a == "--detach-sign")
            && !args.iter().any(|a| a == "--armor" || a == "-a")
    });
    if !binary_detached {
        out.push("registry: a `signs` entry must make a binary (not --armor) --detach-sign of the checksum".to_string());
    }
    out
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn mentions_manifest(extra_files: Option<&Value>) -> bool {
    extra_files.and_then(Value::as_array).is_some_and(|files| {
        files.iter().any(|f| {
            let glob = f.get("glob").and_then(Value::as_str).unwrap_or("");
            glob.contains("terraform-registry-manifest.json")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = include_str!("../../.goreleaser.yml");
    const SCHEMA_TEXT: &str = include_str!("../goreleaser-schema/schema.json");

    #[test]
    fn vendored_schema_is_the_pinned_goreleaser_v2_17_1_schema() {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(SCHEMA_TEXT.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "a59a78b57a217c7f840da1c5be968a036b3df6f438cf7e3307e02dd54534cf3b"
        );
    }

    #[test]
    fn the_default_schema_path_is_the_vendored_file_and_the_config_passes_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let on_disk = fs::read_to_string(root.join(DEFAULT_SCHEMA)).unwrap();
        assert_eq!(on_disk, SCHEMA_TEXT);
        check(&root.join(".goreleaser.yml"), &root.join(DEFAULT_SCHEMA)).unwrap();
    }

    #[test]
    fn committed_config_passes_schema_and_registry_rules() {
        assert_eq!(problems(CONFIG, SCHEMA_TEXT).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn bogus_key_in_a_build_is_reported_by_the_schema() {
        let config = CONFIG.replacen(
            "    builder: rust\n",
            "    builder: rust\n    bogus_key: 1\n",
            1,
        );
        let problems = problems(&config, SCHEMA_TEXT).unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("schema: at /builds/0") && p.contains("bogus_key")),
            "{problems:?}"
        );
    }

    #[test]
    fn bogus_top_level_key_is_reported_by_the_schema() {
        let problems = problems(&format!("{CONFIG}\nbogus_section: {{}}\n"), SCHEMA_TEXT).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("bogus_section")),
            "{problems:?}"
        );
    }

    #[test]
    fn go_style_binary_name_is_refused() {
        let config = CONFIG.replace(
            "binary: terraform-provider-csmrun",
            "binary: '{{ .ProjectName }}_v{{ .Version }}'",
        );
        let problems = problems(&config, SCHEMA_TEXT).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("builds[0].binary")),
            "{problems:?}"
        );
    }

    #[test]
    fn armoured_signature_is_refused() {
        let config = CONFIG.replace(
            "      - --detach-sign\n",
            "      - --armor\n      - --detach-sign\n",
        );
        let problems = problems(&config, SCHEMA_TEXT).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("binary (not --armor)")),
            "{problems:?}"
        );
    }

    #[test]
    fn checksums_without_the_manifest_are_refused() {
        let config: Value = serde_yaml_ng::from_str(CONFIG).unwrap();
        let mut config = config;
        config["checksum"]["extra_files"] = Value::Array(vec![]);
        let yaml = serde_yaml_ng::to_string(&config).unwrap();
        let problems = problems(&yaml, SCHEMA_TEXT).unwrap();
        assert_eq!(
            problems,
            ["registry: checksum.extra_files must include the manifest"]
        );
    }

    #[test]
    fn registry_zip_name_must_be_exact() {
        let config = CONFIG.replacen("{{ .Os }}_{{ .Arch }}\"", "{{ .Os }}-{{ .Arch }}\"", 1);
        let problems = problems(&config, SCHEMA_TEXT).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("an archive must have")),
            "{problems:?}"
        );
    }

    #[test]
    fn manifest_declares_protocol_6_only() {
        let manifest: Value =
            serde_json::from_str(include_str!("../../terraform-registry-manifest.json")).unwrap();
        assert_eq!(
            manifest,
            serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
        );
    }
}
