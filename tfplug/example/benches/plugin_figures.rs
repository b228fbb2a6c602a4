//! Figures for BENCHMARKS.md, measured on the optimized example provider:
//! exec-to-handshake time (plaintext and AutoMTLS), GetProviderSchema latency, idle RSS and
//! binary size. Run with `cargo bench -p tfplug-example --bench plugin_figures`.
//! Reports only; nothing here asserts a number.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tfplug::protocol::wire::{plugin as plugin_pb, tfplugin6 as pb};

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-tfplugexample");
const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);

fn spawn(client_cert: Option<&str>) -> (Child, String, Duration) {
    let mut cmd = Command::new(BIN);
    cmd.env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env_remove("PLUGIN_CLIENT_CERT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(pem) = client_cert {
        cmd.env("PLUGIN_CLIENT_CERT", pem);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn provider");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line, start.elapsed())
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    format!(
        "median {:.2?}, p90 {:.2?}, min {:.2?} (n={})",
        pct(0.5),
        pct(0.9),
        samples[0],
        samples.len()
    )
}

fn client_pem() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).unwrap().pem()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    const RUNS: usize = 30;
    println!("binary: {BIN}");
    let size = std::fs::metadata(BIN).map(|m| m.len()).unwrap_or(0);
    println!(
        "binary size: {size} bytes ({:.1} MiB)",
        size as f64 / (1024.0 * 1024.0)
    );

    let plain: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let (child, _, t) = spawn(None);
            stop(child);
            t
        })
        .collect();
    println!("exec-to-handshake, plaintext: {}", summary(plain));

    let pem = client_pem();
    let t = Instant::now();
    let identity = tfplug::plugin::tls::generate_server_identity().unwrap();
    let generated = t.elapsed();
    let cert = tfplug::plugin::tls::client_cert_from_pem(&pem).unwrap();
    let _config = tfplug::plugin::tls::server_config(&identity, cert).unwrap();
    println!(
        "in-process AutoMTLS setup: server cert {generated:.2?}, total {:.2?}",
        t.elapsed()
    );
    let tls: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let (child, _, t) = spawn(Some(&pem));
            stop(child);
            t
        })
        .collect();
    println!(
        "exec-to-handshake, AutoMTLS (includes server cert generation): {}",
        summary(tls)
    );

    let (child, line, _) = spawn(None);
    let addr = line.trim_end().split('|').nth(3).unwrap().to_string();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::provider_client::ProviderClient::new(channel.clone());
    let mut latencies = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        client
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .unwrap();
        latencies.push(t.elapsed());
    }
    println!(
        "GetProviderSchema latency over loopback h2c: {}",
        summary(latencies)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    match rss_kib(child.id()) {
        Some(kib) => println!(
            "idle RSS after handshake + 500 GetProviderSchema: {kib} KiB ({:.1} MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("idle RSS: /proc not available"),
    }
    let _ = plugin_pb::grpc_controller_client::GrpcControllerClient::new(channel)
        .shutdown(plugin_pb::Empty {})
        .await;
    stop(child);
}
