//! `cargo xtask docs`: registry pages from the provider's own schema, written or checked for drift.

mod drift;
mod guides;
mod render;
mod schema;
mod terraform;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[cfg(test)]
use drift::Drift;
pub use drift::{drift_report, summary};
pub use render::Examples;
pub use schema::ProvidersSchema;
pub use terraform::SchemaSource;

/// The provider's type name: resources and data sources are `csmrun_*`, pages go to `docs/resources/<rest>.md`
/// and `docs/data-sources/<rest>.md`.
pub const PROVIDER: &str = "csmrun";

/// One generated file, relative to the repository root.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub path: PathBuf,
    pub content: String,
}

/// Generates every page from schema JSON, reading examples under `root/examples`.
pub fn generate(root: &Path, schema_json: &str) -> Result<Vec<Page>> {
    let schema = ProvidersSchema::parse(schema_json)?;
    let provider = schema.provider(PROVIDER)?;
    let examples_dir = root.join("examples");
    let mut pages = Vec::new();

    if let Some(provider_schema) = &provider.provider {
        let examples = Examples {
            usage: read_optional(&examples_dir.join("provider/provider.tf"))?,
            import: None,
        };
        pages.push(Page {
            path: PathBuf::from("docs/index.md"),
            content: render::provider_page(PROVIDER, provider_schema, &examples),
        });
    }
    for (type_name, resource) in &provider.resource_schemas {
        let dir = examples_dir.join("resources").join(type_name);
        let examples = Examples {
            usage: read_optional(&dir.join("resource.tf"))?,
            import: read_optional(&dir.join("import.sh"))?,
        };
        let short = render::resource_short_name(PROVIDER, type_name);
        pages.push(Page {
            path: PathBuf::from(format!("docs/resources/{short}.md")),
            content: render::resource_page(PROVIDER, type_name, resource, &examples),
        });
    }
    for (type_name, data_source) in &provider.data_source_schemas {
        let dir = examples_dir.join("data-sources").join(type_name);
        let examples = Examples {
            usage: read_optional(&dir.join("data-source.tf"))?,
            import: None,
        };
        let short = render::resource_short_name(PROVIDER, type_name);
        pages.push(Page {
            path: PathBuf::from(format!("docs/data-sources/{short}.md")),
            content: render::data_source_page(PROVIDER, type_name, data_source, &examples),
        });
    }
    pages.extend(guides::pages(root)?);
    Ok(pages)
}

/// Writes the pages under `root`, creating directories as needed.
pub fn write(root: &Path, pages: &[Page]) -> Result<()> {
    for page in pages {
        let path = root.join(&page.path);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        fs::write(&path, &page.content).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = include_str!("../../fixtures/providers-schema.json");

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn page<'a>(pages: &'a [Page], path: &str) -> &'a str {
        &pages
            .iter()
            .find(|p| p.path == Path::new(path))
            .unwrap()
            .content
    }

    /// The list items of one section, from its heading to the next heading.
    fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
        text.lines()
            .skip_while(|l| *l != heading)
            .skip(1)
            .take_while(|l| !l.starts_with('#') && !l.starts_with("<a id="))
            .filter(|l| l.starts_with("- "))
            .collect()
    }

    fn names(items: &[&str]) -> Vec<String> {
        items
            .iter()
            .map(|l| l.split('`').nth(1).unwrap().to_string())
            .collect()
    }

    #[test]
    fn generates_the_provider_index_one_page_per_resource_and_the_guides() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let paths: Vec<_> = pages.iter().map(|p| p.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "docs/index.md",
                "docs/resources/service.md",
                "docs/guides/getting-started.md",
                "docs/guides/migrating-from-the-google-provider.md",
                "docs/guides/troubleshooting.md"
            ]
        );
    }

    #[test]
    fn resource_page_has_front_matter_title_and_description() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let service = page(&pages, "docs/resources/service.md");
        assert!(
            service.starts_with("---\n# generated by `cargo xtask docs`"),
            "{service}"
        );
        assert!(service.contains("page_title: \"csmrun_service Resource - csmrun\"\nsubcategory: \"\"\ndescription: |-\n  A Cloud Run service inside Cloud Service Mesh"));
        assert!(
            service.contains("---\n\n# csmrun_service (Resource)\n\nA Cloud Run service inside")
        );
    }

    #[test]
    fn resource_schema_is_split_into_required_optional_and_read_only() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let service = page(&pages, "docs/resources/service.md");
        assert_eq!(
            names(&section(service, "### Required")),
            [
                "domain",
                "image",
                "mesh",
                "name",
                "network",
                "service_account",
                "subnetwork"
            ]
        );
        let optional = names(&section(service, "### Optional"));
        for name in [
            "circuit_breaker",
            "hostname",
            "invokers",
            "neg_name",
            "route",
            "timeouts",
            "deletion_policy",
        ] {
            assert!(
                optional.iter().any(|n| n == name),
                "{name} missing from {optional:?}"
            );
        }
        assert_eq!(
            names(&section(service, "### Read-Only")),
            [
                "backend_service",
                "dns_zone",
                "effective_labels",
                "http_route",
                "id",
                "latest_ready_revision",
                "neg",
                "uri",
                "url"
            ]
        );
        assert!(
            service.contains("- `name` (String) Cloud Run service name"),
            "{service}"
        );
        assert!(
            service.contains("- `invokers` (Set of String) IAM members"),
            "{service}"
        );
        assert!(
            service.contains("- `effective_labels` (Map of String) All labels"),
            "{service}"
        );
    }

    #[test]
    fn blocks_link_to_nested_sections_with_nestedblock_anchors() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let service = page(&pages, "docs/resources/service.md");
        assert!(service.contains(
            "- `route` (Block List, Max: 1) HTTPRoute settings: timeout, retries, fault injection, weighted destinations and rules. (see [below for nested schema](#nestedblock--route))"
        ), "{service}");
        assert!(service.contains(
            "- `timeouts` (Block, Optional) (see [below for nested schema](#nestedblock--timeouts))"
        ));
        assert!(service.contains("<a id=\"nestedblock--route--rule--header\"></a>\n### Nested Schema for `route.rule.header`\n\nRequired:\n\n- `name` (String) Header name.\n\nOptional:\n"));
        assert_eq!(
            names(&section(
                service,
                "### Nested Schema for `route.destination`"
            )),
            ["backend_service", "weight"]
        );
    }

    #[test]
    fn nested_sections_come_after_their_parent_breadth_first() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let service = page(&pages, "docs/resources/service.md");
        let order: Vec<&str> = service
            .lines()
            .filter_map(|l| l.strip_prefix("### Nested Schema for `"))
            .map(|l| l.trim_end_matches('`'))
            .collect();
        assert_eq!(
            order,
            [
                "circuit_breaker",
                "outlier_detection",
                "route",
                "timeouts",
                "route.destination",
                "route.fault_injection",
                "route.retry",
                "route.rule",
                "route.rule.destination",
                "route.rule.header"
            ]
        );
    }

    #[test]
    fn example_usage_and_import_come_from_the_examples_directory() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let service = page(&pages, "docs/resources/service.md");
        let resource_tf =
            fs::read_to_string(repo_root().join("examples/resources/csmrun_service/resource.tf"))
                .unwrap();
        let import_sh =
            fs::read_to_string(repo_root().join("examples/resources/csmrun_service/import.sh"))
                .unwrap();
        assert!(service.contains(&format!(
            "## Example Usage\n\n```terraform\n{resource_tf}```\n"
        )));
        assert!(service.ends_with(&format!(
            "## Import\n\nImport is supported using the following syntax:\n\n```shell\n{import_sh}```\n"
        )));
        let index = page(&pages, "docs/index.md");
        let provider_tf =
            fs::read_to_string(repo_root().join("examples/provider/provider.tf")).unwrap();
        assert!(index.contains(&format!("# csmrun Provider\n\nCloud Run services inside Cloud Service Mesh, each as one csmrun_service resource.\n\n## Example Usage\n\n```terraform\n{provider_tf}```\n")));
    }

    #[test]
    fn provider_settings_are_optional_and_secrets_marked_sensitive() {
        let pages = generate(&repo_root(), SCHEMA).unwrap();
        let index = page(&pages, "docs/index.md");
        assert!(section(index, "### Required").is_empty());
        assert_eq!(section(index, "### Optional").len(), 14);
        assert!(
            index.contains("- `access_token` (String, Sensitive) OAuth 2.0 access token"),
            "{index}"
        );
        assert!(
            index.contains("- `credentials` (String, Sensitive) Path to"),
            "{index}"
        );
    }

    fn temp_repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("examples/resources/csmrun_service")).unwrap();
        fs::write(
            dir.path()
                .join("examples/resources/csmrun_service/import.sh"),
            "terraform import csmrun_service.x x\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn freshly_written_docs_show_no_drift() {
        let repo = temp_repo();
        let pages = generate(repo.path(), SCHEMA).unwrap();
        write(repo.path(), &pages).unwrap();
        assert_eq!(drift_report(repo.path(), &pages).unwrap(), []);
    }

    #[test]
    fn changed_schema_shows_as_a_diff_of_the_page() {
        let repo = temp_repo();
        write(repo.path(), &generate(repo.path(), SCHEMA).unwrap()).unwrap();
        let changed = SCHEMA.replace(
            "Container image reference.",
            "Container image, by tag or digest.",
        );
        let drifts = drift_report(repo.path(), &generate(repo.path(), &changed).unwrap()).unwrap();
        let [Drift::Differs { path, diff }] = drifts.as_slice() else {
            panic!("{drifts:?}")
        };
        assert_eq!(path, Path::new("docs/resources/service.md"));
        assert!(
            diff.contains("-- `image` (String) Container image reference."),
            "{diff}"
        );
        assert!(
            diff.contains("+- `image` (String) Container image, by tag or digest."),
            "{diff}"
        );
        let text = summary(&drifts);
        assert!(
            text.starts_with("docs drift: 1 file(s) differ")
                && text.ends_with("run `cargo xtask docs` and commit the result\n")
        );
    }

    #[test]
    fn missing_and_stale_pages_are_reported() {
        let repo = temp_repo();
        let pages = generate(repo.path(), SCHEMA).unwrap();
        write(repo.path(), &pages).unwrap();
        fs::remove_file(repo.path().join("docs/index.md")).unwrap();
        fs::write(repo.path().join("docs/resources/old.md"), "gone\n").unwrap();
        assert_eq!(
            drift_report(repo.path(), &pages).unwrap(),
            [
                Drift::Missing("docs/index.md".into()),
                Drift::Stale("docs/resources/old.md".into())
            ]
        );
    }
    #[test]
    fn data_sources_get_their_own_page_with_the_example() {
        let mut schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
        let provider = schema["provider_schemas"]
            .as_object_mut()
            .unwrap()
            .values_mut()
            .next()
            .unwrap();
        provider["data_source_schemas"] = serde_json::json!({
            "csmrun_mesh": {"version": 0, "block": {
                "description": "The mesh as its sidecars see it.",
                "description_kind": "markdown",
                "attributes": {
                    "mesh": {"type": "string", "required": true, "description": "The mesh.", "description_kind": "markdown"},
                    "mermaid": {"type": "string", "computed": true, "description": "A chart.", "description_kind": "markdown"}
                }
            }}
        });
        let pages = generate(&repo_root(), &schema.to_string()).unwrap();
        let mesh = page(&pages, "docs/data-sources/mesh.md");
        assert!(
            mesh.contains("page_title: \"csmrun_mesh Data Source - csmrun\""),
            "{mesh}"
        );
        assert!(
            mesh.contains("# csmrun_mesh (Data Source)\n\nThe mesh as its sidecars see it."),
            "{mesh}"
        );
        assert_eq!(names(&section(mesh, "### Required")), ["mesh"]);
        assert_eq!(names(&section(mesh, "### Read-Only")), ["mermaid"]);
        let example = fs::read_to_string(
            repo_root().join("examples/data-sources/csmrun_mesh/data-source.tf"),
        )
        .unwrap();
        assert!(mesh.contains(&format!("## Example Usage\n\n```terraform\n{example}```\n")));
        assert!(!mesh.contains("## Import"), "{mesh}");
    }

    #[test]
    fn a_data_source_page_nothing_generates_is_stale() {
        let repo = temp_repo();
        let pages = generate(repo.path(), SCHEMA).unwrap();
        write(repo.path(), &pages).unwrap();
        fs::create_dir_all(repo.path().join("docs/data-sources")).unwrap();
        fs::write(repo.path().join("docs/data-sources/old.md"), "gone\n").unwrap();
        assert_eq!(
            drift_report(repo.path(), &pages).unwrap(),
            [Drift::Stale("docs/data-sources/old.md".into())]
        );
    }
}
