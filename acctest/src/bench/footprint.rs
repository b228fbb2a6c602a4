//! The provider binary's footprint: exec-to-handshake, GetProviderSchema latency, idle RSS, size.
//!
//! Same method as the tfplug section of BENCHMARKS.md: start the binary as Terraform does
//! (magic cookie, plaintext), time until the handshake line, then call GetProviderSchema over h2c.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tfplug::protocol::wire::{plugin as plugin_pb, tfplugin6 as pb};

use super::rss::status_kib;
use super::stats::Summary;

/// go-plugin's handshake cookie for Terraform providers.
const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);

/// The footprint figures.
#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    pub binary_bytes: u64,
    /// Plaintext (no `PLUGIN_CLIENT_CERT`).
    pub exec_to_handshake_ms: Summary,
    /// AutoMTLS, as Terraform starts providers: includes the provider's key and certificate generation.
    pub exec_to_handshake_automtls_ms: Summary,
    pub get_provider_schema_ms: Summary,
    /// VmRSS after the handshake and the GetProviderSchema calls, KiB.
    pub idle_rss_kib: Option<u64>,
    /// VmHWM of the same process, KiB.
    pub idle_peak_kib: Option<u64>,
}

struct Started {
    child: Child,
    line: String,
    elapsed: Duration,
}

/// A self-signed client certificate like the one Terraform passes in `PLUGIN_CLIENT_CERT`.
fn client_cert_pem() -> Result<String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).context("client key")?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .context("client certificate parameters")?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    Ok(params
        .self_signed(&key)
        .context("client certificate")?
        .pem())
}

fn start(binary: &Path, client_cert: Option<&str>) -> Result<Started> {
    let mut cmd = Command::new(binary);
    cmd.env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .env_remove("TF_REATTACH_PROVIDERS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(pem) = client_cert {
        cmd.env("PLUGIN_CLIENT_CERT", pem);
    }
    let begin = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.as_mut().context("provider stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the handshake line")?;
    let elapsed = begin.elapsed();
    Ok(Started {
        child,
        line,
        elapsed,
    })
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Measures `binary`: `starts` cold starts, `schema_calls` GetProviderSchema calls on one process.
pub fn measure(binary: &Path, starts: usize, schema_calls: usize) -> Result<Footprint> {
    let binary_bytes = std::fs::metadata(binary)
        .with_context(|| format!("reading {}", binary.display()))?
        .len();
    let cold = |cert: Option<&str>| -> Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(starts);
        for _ in 0..starts {
            let s = start(binary, cert)?;
            anyhow::ensure!(
                s.line.starts_with("1|6|"),
                "unexpected handshake line {:?}",
                s.line
            );
            times.push(s.elapsed);
            stop(s.child);
        }
        Ok(times)
    };
    let plaintext = cold(None)?;
    let automtls = cold(Some(&client_cert_pem()?))?;
    let s = start(binary, None)?;
    let addr = s
        .line
        .trim_end()
        .split('|')
        .nth(3)
        .context("handshake line without an address")?
        .to_string();
    let pid = s.child.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("footprint runtime")?;
    let schema = runtime.block_on(schema_then_idle(&addr, pid, schema_calls));
    stop(s.child);
    let (latencies, idle_rss_kib, idle_peak_kib) = schema?;
    Ok(Footprint {
        binary_bytes,
        exec_to_handshake_ms: Summary::of_durations(&plaintext),
        exec_to_handshake_automtls_ms: Summary::of_durations(&automtls),
        get_provider_schema_ms: Summary::of_durations(&latencies),
        idle_rss_kib,
        idle_peak_kib,
    })
}

/// GetProviderSchema latencies, then VmRSS and VmHWM once the process has been idle for a moment.
async fn schema_then_idle(
    addr: &str,
    pid: u32,
    calls: usize,
) -> Result<(Vec<Duration>, Option<u64>, Option<u64>)> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .context("provider address")?
        .connect()
        .await
        .context("connecting to the provider")?;
    let mut client = pb::provider_client::ProviderClient::new(channel.clone());
    let mut out = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        let schema = client
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .context("GetProviderSchema")?;
        out.push(t.elapsed());
        anyhow::ensure!(
            schema
                .get_ref()
                .resource_schemas
                .contains_key("csmrun_service"),
            "GetProviderSchema without csmrun_service"
        );
    }
    // Let the process settle (tasks park, buffers are released) before reading its idle RSS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = status_kib(pid, "VmRSS");
    let hwm = status_kib(pid, "VmHWM");
    let _ = plugin_pb::grpc_controller_client::GrpcControllerClient::new(channel)
        .shutdown(plugin_pb::Empty {})
        .await;
    Ok((out, rss, hwm))
}
