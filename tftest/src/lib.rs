//! A generic runner for the real `terraform` binary: find it, make a scratch working
//! directory, write configuration, point Terraform at a provider (dev_overrides or
//! reattach), run commands with a controlled environment, and read `terraform show -json`.
//!
//! It knows nothing about any particular provider, so tfplug's lifecycle tests and the
//! provider's acceptance tests share it.
//!
//! ```no_run
//! use tftest::Terraform;
//! let tf = Terraform::find().unwrap();
//! let mut wd = tf.workdir().unwrap();
//! wd.dev_override("example/thing", std::path::Path::new("target/debug")).unwrap();
//! wd.write("main.tf", "resource \"thing_x\" \"a\" {}").unwrap();
//! wd.run(&["apply", "-auto-approve"]).unwrap().assert_success("apply");
//! let state = wd.show_json().unwrap();
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Errors of the harness itself (not Terraform failures, which are in [`Output`]).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(
        "terraform binary not found at {0}: set TF_ACC_TERRAFORM_PATH or run scripts/install-terraform"
    )]
    TerraformMissing(PathBuf),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`terraform {args}` printed invalid JSON: {source}")]
    Json {
        args: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`terraform {args}` failed:\n{output}")]
    Failed { args: String, output: String },
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("{} is Terraform {found}, older than the {min} this test needs (TF_ACC_TERRAFORM_MODERN_PATH)", path.display())]
    TooOld {
        path: PathBuf,
        found: Version,
        min: Version,
    },
}

/// A Terraform release number (`1.11.4`; a pre-release suffix is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// `1.11.4`, `v1.11.4` or `1.12.0-beta1`.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches('v');
        let release = text.split(['-', '+']).next()?;
        let mut parts = release.split('.').map(|p| p.parse::<u32>().ok());
        let v = Version::new(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(v)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The workspace root (the parent of this `tftest` crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A Terraform CLI binary.
#[derive(Debug, Clone)]
pub struct Terraform {
    binary: PathBuf,
}

impl Terraform {
    /// `TF_ACC_TERRAFORM_PATH`, else `<workspace>/.tools/bin/terraform`. Missing is an error
    /// (acceptance tests fail rather than skip).
    pub fn find() -> Result<Terraform, HarnessError> {
        let binary = std::env::var_os("TF_ACC_TERRAFORM_PATH")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".tools/bin/terraform"));
        if binary.is_file() {
            Ok(Terraform { binary })
        } else {
            Err(HarnessError::TerraformMissing(binary))
        }
    }

    /// The Terraform at `binary` (e.g. a newer release than the pinned one, for features such as
    /// `import` blocks); missing is an error.
    pub fn at(binary: impl Into<PathBuf>) -> Result<Terraform, HarnessError> {
        let binary = binary.into();
        if binary.is_file() {
            Ok(Terraform { binary })
        } else {
            Err(HarnessError::TerraformMissing(binary))
        }
    }

    /// The binary's path.
    pub fn path(&self) -> &Path {
        &self.binary
    }

    /// The release this binary is (`terraform version -json`, which every 1.x prints).
    pub fn version(&self) -> Result<Version, HarnessError> {
        let out = Command::new(&self.binary)
            .args(["version", "-json"])
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(io(format!(
                "running {} version -json",
                self.binary.display()
            )))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|source| HarnessError::Json {
                args: "version -json".into(),
                source,
            })?;
        let text = doc["terraform_version"].as_str().unwrap_or_default();
        Version::parse(text).ok_or_else(|| HarnessError::Failed {
            args: "version -json".into(),
            output: format!("no release number in {doc}"),
        })
    }

    /// A Terraform of release `min` or newer, for tests of protocol features the pinned release
    /// lacks: `TF_ACC_TERRAFORM_MODERN_PATH` when set (it must be new enough: an explicit choice is
    /// never skipped), else the first `terraform` on `PATH` that is. `None` when there is none;
    /// the caller decides whether that skips (see `csmrun_acctest::stack::modern_terraform`).
    pub fn at_least(min: Version) -> Result<Option<Terraform>, HarnessError> {
        if let Some(path) =
            std::env::var_os("TF_ACC_TERRAFORM_MODERN_PATH").filter(|v| !v.is_empty())
        {
            let tf = Terraform::at(PathBuf::from(path))?;
            let found = tf.version()?;
            if found < min {
                return Err(HarnessError::TooOld {
                    path: tf.binary.clone(),
                    found,
                    min,
                });
            }
            return Ok(Some(tf));
        }
        let Some(paths) = std::env::var_os("PATH") else {
            return Ok(None);
        };
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("terraform");
            if !candidate.is_file() {
                continue;
            }
            let tf = Terraform { binary: candidate };
            // A binary that cannot say its version is not one we can rely on; look further.
            if tf.version().is_ok_and(|v| v >= min) {
                return Ok(Some(tf));
            }
        }
        Ok(None)
    }

    /// A fresh scratch working directory (removed on drop).
    pub fn workdir(&self) -> Result<WorkDir, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix("tf-acc-")
            .tempdir()
            .map_err(io("creating a work dir"))?;
        let cli_config = dir.path().join(".terraformrc");
        // An empty CLI config shields tests from the user's ~/.terraformrc.
        std::fs::write(&cli_config, "").map_err(io("writing the CLI config"))?;
        let mut env = BTreeMap::new();
        env.insert(
            "TF_CLI_CONFIG_FILE".to_string(),
            cli_config.display().to_string(),
        );
        env.insert("TF_IN_AUTOMATION".to_string(), "1".to_string());
        env.insert("TF_INPUT".to_string(), "0".to_string());
        env.insert("CHECKPOINT_DISABLE".to_string(), "1".to_string());
        Ok(WorkDir {
            tf: self.clone(),
            dir,
            env,
        })
    }
}

/// A Terraform working directory with its environment.
pub struct WorkDir {
    tf: Terraform,
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

/// Inherited variables that would point Terraform somewhere the test did not choose.
const SCRUBBED_ENV: &[&str] = &[
    "TF_CLI_CONFIG_FILE",
    "TF_REATTACH_PROVIDERS",
    "TF_DATA_DIR",
    "TF_WORKSPACE",
    "TF_CLI_ARGS",
];

impl WorkDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` (relative to the directory), replacing it.
    pub fn write(&self, name: &str, contents: &str) -> Result<(), HarnessError> {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating {}", parent.display())))?;
        }
        std::fs::write(&path, contents).map_err(io(format!("writing {}", path.display())))
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_string(), value.to_string());
    }

    /// Removes a variable set with [`WorkDir::set_env`].
    pub fn remove_env(&mut self, key: &str) {
        self.env.remove(key);
    }

    /// Serves `source` (e.g. `csmrun/csmrun`) from the `terraform-provider-*` binary in
    /// `provider_dir`, via a CLI config with `dev_overrides`. Do not run `terraform init`
    /// with overrides; `plan`/`apply` work without it.
    pub fn dev_override(&mut self, source: &str, provider_dir: &Path) -> Result<(), HarnessError> {
        let dir = provider_dir
            .canonicalize()
            .map_err(io(format!("resolving {}", provider_dir.display())))?;
        let config = format!(
            "provider_installation {{\n  dev_overrides {{\n    {source:?} = {:?}\n  }}\n  direct {{}}\n}}\n",
            dir.display().to_string()
        );
        let path = self.dir.path().join(".terraformrc");
        std::fs::write(&path, config).map_err(io("writing the CLI config"))?;
        Ok(())
    }

    /// Points Terraform at already running providers (`TF_REATTACH_PROVIDERS`).
    pub fn reattach(&mut self, value: &str) {
        self.set_env("TF_REATTACH_PROVIDERS", value);
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.tf.path());
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for key in SCRUBBED_ENV {
            cmd.env_remove(key);
        }
        cmd.envs(&self.env);
        cmd
    }

    /// Runs `terraform ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Result<Output, HarnessError> {
        let out = self
            .command(args)
            .output()
            .map_err(io(format!("running terraform {}", args.join(" "))))?;
        Ok(Output {
            args: args.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs `terraform ARGS` and fails unless it exits 0.
    pub fn run_ok(&self, args: &[&str]) -> Result<Output, HarnessError> {
        let out = self.run(args)?;
        if out.success() {
            Ok(out)
        } else {
            Err(HarnessError::Failed {
                args: out.args.clone(),
                output: out.combined(),
            })
        }
    }

    /// Starts `terraform ARGS` in the background, in its own process group (for interrupt
    /// tests: see [`Running::interrupt`]).
    pub fn spawn(&self, args: &[&str]) -> Result<Running, HarnessError> {
        use std::os::unix::process::CommandExt;
        let mut child = self
            .command(args)
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("starting terraform {}", args.join(" "))))?;
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            child.stdout.take().map(|s| collect(s, stdout.clone())),
            child.stderr.take().map(|s| collect(s, stderr.clone())),
        ];
        Ok(Running {
            args: args.join(" "),
            child,
            stdout,
            stderr,
            readers: readers.into_iter().flatten().collect(),
        })
    }

    /// `terraform show -json`: the current state as JSON.
    pub fn show_json(&self) -> Result<serde_json::Value, HarnessError> {
        let out = self.run_ok(&["show", "-json"])?;
        serde_json::from_str(&out.stdout).map_err(|source| HarnessError::Json {
            args: "show -json".into(),
            source,
        })
    }

    /// The `values` of the root-module resource at `address` (e.g. `x_thing.a`) in the
    /// current state, or `None` when it is not in state.
    pub fn resource_values(
        &self,
        address: &str,
    ) -> Result<Option<serde_json::Value>, HarnessError> {
        Ok(find_resource(&self.show_json()?, address))
    }
}

/// The `values` of `address` in a `terraform show -json` document.
pub fn find_resource(show: &serde_json::Value, address: &str) -> Option<serde_json::Value> {
    show["values"]["root_module"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["address"] == address)
        .map(|r| r["values"].clone())
}

fn collect(
    stream: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
            }
            line.clear();
        }
    })
}

/// The result of a finished command.
#[derive(Debug, Clone)]
pub struct Output {
    pub args: String,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout then stderr.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Panics with the whole output unless the command exited 0.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.success(),
            "{what}: `terraform {}` exited {:?}:\n{}",
            self.args,
            self.code,
            self.combined()
        );
        self
    }
}

/// A command running in the background.
pub struct Running {
    args: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Terraform's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Output so far (stdout then stderr).
    pub fn output_so_far(&self) -> String {
        let out = self.stdout.lock().map(|s| s.clone()).unwrap_or_default();
        let err = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!("{out}\n{err}")
    }

    /// Waits until the output contains `needle` (a guard against hanging, not a performance
    /// assertion).
    pub fn wait_for_output(&self, needle: &str, limit: Duration) -> Result<(), HarnessError> {
        let start = Instant::now();
        while !self.output_so_far().contains(needle) {
            if start.elapsed() > limit {
                return Err(HarnessError::Timeout(
                    limit,
                    format!("{needle:?} in:\n{}", self.output_so_far()),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Sends SIGINT to Terraform's process group, as Ctrl-C in a terminal does: Terraform and
    /// the provider processes it started all receive it (providers must ignore it and wait
    /// for StopProvider).
    pub fn interrupt(&self) -> Result<(), HarnessError> {
        let pid = libc::pid_t::try_from(self.child.id())
            .map_err(|e| io("pid")(std::io::Error::other(e)))?;
        // SAFETY: kill(2) on the process group we created, with a valid signal number, has
        // no memory effects.
        if unsafe { libc::kill(-pid, libc::SIGINT) } != 0 {
            return Err(io("sending SIGINT")(std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Waits for exit (killing it after `limit`) and returns the output.
    pub fn wait(mut self, limit: Duration) -> Result<Output, HarnessError> {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().map_err(io("waiting for terraform"))? {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(HarnessError::Timeout(
                    limit,
                    format!(
                        "`terraform {}` to exit:\n{}",
                        self.args,
                        self.output_so_far()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Ok(Output {
            args: self.args.clone(),
            code: status.code(),
            stdout: self.stdout.lock().map(|s| s.clone()).unwrap_or_default(),
            stderr: self.stderr.lock().map(|s| s.clone()).unwrap_or_default(),
        })
    }
}

/// A provider binary running in debug mode (`--debug`), for reattach tests. Killed on drop.
pub struct DebugProvider {
    child: Child,
    reattach: String,
    stderr: Arc<Mutex<String>>,
}

impl DebugProvider {
    /// Starts `binary --debug` with `env` and reads the `TF_REATTACH_PROVIDERS='…'` line it
    /// prints on stdout.
    pub fn start(
        binary: &Path,
        env: &[(&str, &str)],
        limit: Duration,
    ) -> Result<DebugProvider, HarnessError> {
        let mut child = Command::new(binary)
            .arg("--debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("starting {}", binary.display())))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(s) = child.stderr.take() {
            collect(s, stderr.clone());
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io("provider stdout")(std::io::Error::other("not piped")))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(value) = reattach_value(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        match rx.recv_timeout(limit) {
            Ok(reattach) => Ok(DebugProvider {
                child,
                reattach,
                stderr,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                Err(HarnessError::Timeout(
                    limit,
                    format!("the provider's reattach line; stderr:\n{err}"),
                ))
            }
        }
    }

    /// The `TF_REATTACH_PROVIDERS` value.
    pub fn reattach(&self) -> &str {
        &self.reattach
    }

    /// The provider's stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The provider process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for DebugProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON in a `TF_REATTACH_PROVIDERS='{…}'` line.
pub fn reattach_value(line: &str) -> Option<String> {
    let start = line.find("TF_REATTACH_PROVIDERS='")? + "TF_REATTACH_PROVIDERS='".len();
    let rest = &line[start..];
    let end = rest.rfind('\'')?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reattach_value_extracts_the_quoted_json() {
        let line = "\tTF_REATTACH_PROVIDERS='{\"a/b\":{\"Pid\":1}}'";
        assert_eq!(
            reattach_value(line).as_deref(),
            Some("{\"a/b\":{\"Pid\":1}}")
        );
        assert_eq!(reattach_value("nothing here"), None);
    }

    #[test]
    fn versions_parse_and_order_by_release() {
        assert_eq!(Version::parse("1.11.4"), Some(Version::new(1, 11, 4)));
        assert_eq!(Version::parse("v1.0.3"), Some(Version::new(1, 0, 3)));
        assert_eq!(Version::parse("1.12.0-beta1"), Some(Version::new(1, 12, 0)));
        assert_eq!(Version::parse("1.11"), None);
        assert_eq!(Version::parse("1.11.4.1"), None);
        assert_eq!(Version::parse(""), None);
        assert!(Version::new(1, 11, 4) > Version::new(1, 8, 0));
        assert!(Version::new(1, 0, 3) < Version::new(1, 8, 0));
        assert_eq!(Version::new(1, 8, 0).to_string(), "1.8.0");
    }

    #[test]
    fn find_resource_reads_root_module_values() {
        let show = serde_json::json!({"values": {"root_module": {"resources": [
            {"address": "x_a.one", "values": {"id": "1"}},
            {"address": "x_a.two", "values": {"id": "2"}}
        ]}}});
        assert_eq!(
            find_resource(&show, "x_a.two"),
            Some(serde_json::json!({"id": "2"}))
        );
        assert_eq!(find_resource(&show, "x_a.three"), None);
    }
}
