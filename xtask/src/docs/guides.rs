//! `docs/guides/<name>.md` from `templates/guides/<name>.md`: the registry shows guides beside the resource pages.
//!
//! A template is Markdown whose first line is `# Title` and whose first paragraph describes the guide (it becomes
//! the front matter's description). A line `{{tffile "examples/…/main.tf"}}` is replaced by that file in a
//! `terraform` code block, so the worked examples of a guide are real files that `.ci/examples-validate` checks
//! with Terraform; the guide cannot show a configuration that does not validate.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::Page;

/// Every guide under `root/templates/guides`, rendered; none when the directory does not exist.
pub fn pages(root: &Path) -> Result<Vec<Page>> {
    let dir = root.join("templates/guides");
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    names.sort();
    let mut pages = Vec::new();
    for path in names {
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let file = path.file_name().map(PathBuf::from).unwrap_or_default();
        pages.push(Page {
            path: PathBuf::from("docs/guides").join(file),
            content: render(root, &path, &text)?,
        });
    }
    Ok(pages)
}

fn render(root: &Path, path: &Path, text: &str) -> Result<String> {
    let mut lines = text.lines();
    let Some(title) = lines.next().and_then(|l| l.strip_prefix("# ")) else {
        bail!("{}: a guide starts with `# Title`", path.display());
    };
    let description: Vec<&str> = text
        .lines()
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect();
    if description.is_empty() {
        bail!(
            "{}: the first paragraph describes the guide",
            path.display()
        );
    }
    let mut out = String::from("---\n");
    out.push_str(&format!("# {}\n", super::render::GENERATED_BY));
    out.push_str(&format!("page_title: \"{}\"\n", title.replace('"', "'")));
    out.push_str("subcategory: \"Guides\"\n");
    out.push_str("description: |-\n");
    for line in &description {
        out.push_str(&format!("  {}\n", line.trim()));
    }
    out.push_str("---\n\n");
    for line in text.lines() {
        match line
            .trim()
            .strip_prefix("{{tffile \"")
            .and_then(|r| r.strip_suffix("\"}}"))
        {
            Some(file) => {
                let example = fs::read_to_string(root.join(file))
                    .with_context(|| format!("{}: including {file}", path.display()))?;
                out.push_str("```terraform\n");
                out.push_str(example.trim_end());
                out.push_str("\n```\n");
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(format!("{}\n", out.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guide_gets_front_matter_and_its_examples_inlined() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("templates/guides")).unwrap();
        fs::create_dir_all(root.path().join("examples/g")).unwrap();
        fs::write(
            root.path().join("examples/g/main.tf"),
            "resource \"x\" \"y\" {}\n",
        )
        .unwrap();
        fs::write(
            root.path().join("templates/guides/moving.md"),
            "# Moving\n\nHow to move.\nIn two steps.\n\n## Step\n\n{{tffile \"examples/g/main.tf\"}}\n",
        )
        .unwrap();
        let pages = pages(root.path()).unwrap();
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].path, PathBuf::from("docs/guides/moving.md"));
        let text = &pages[0].content;
        assert!(text.starts_with("---\n"), "{text}");
        assert!(
            text.contains("page_title: \"Moving\"\nsubcategory: \"Guides\"\n"),
            "{text}"
        );
        assert!(
            text.contains("description: |-\n  How to move.\n  In two steps.\n---"),
            "{text}"
        );
        assert!(
            text.contains("```terraform\nresource \"x\" \"y\" {}\n```\n"),
            "{text}"
        );
    }

    #[test]
    fn a_missing_example_is_an_error_naming_the_guide_and_the_file() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("templates/guides")).unwrap();
        fs::write(
            root.path().join("templates/guides/a.md"),
            "# A\n\nAbout.\n\n{{tffile \"examples/none.tf\"}}\n",
        )
        .unwrap();
        let e = format!("{:#}", pages(root.path()).unwrap_err());
        assert!(e.contains("a.md") && e.contains("examples/none.tf"), "{e}");
    }
}
