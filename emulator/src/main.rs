//! The `csmrun-emulator` binary: serves the emulated APIs until interrupted, or checks request logs.

use clap::{Parser, Subcommand};
use csmrun_emulator::{Config, Emulator, SeedSource};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An offline fake of the Google Cloud APIs csmrun uses.
#[derive(Parser, Debug)]
#[command(
    name = "csmrun-emulator",
    version,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed file (JSON); without it the meshapps demo project is served.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Multiplies every modelled duration (operations, IAM propagation, mesh settle time); 0 = instant.
    #[arg(long)]
    time_scale: Option<f64>,
    /// Append the request log (JSON lines) to this file.
    #[arg(long)]
    request_log: Option<PathBuf>,
    /// Address of the mesh proxy, the HTTP proxy that routes calls as a caller's mesh sidecar would
    /// (HTTP_PROXY=http://CALLER@HOST:PORT); port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    mesh_proxy_listen: SocketAddr,
    /// Seed of the mesh's random choices (weighted destinations, fault and failure percentages).
    #[arg(long)]
    mesh_seed: Option<u64>,
    /// Serve a Cloud Run service's calls from a real local process: NAME=http://127.0.0.1:PORT (repeatable).
    #[arg(long, value_name = "NAME=URL")]
    workload: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check request logs (JSON lines, as written by --request-log) against Google's discovery documents:
    /// method and path, query parameters, request bodies and the bodies of successful answers. Exits 1 and
    /// lists every problem when any call does not conform (or no call was logged).
    Conformance {
        /// Request log files.
        #[arg(required = true, value_name = "LOG.jsonl")]
        logs: Vec<PathBuf>,
    },
}

fn conformance(logs: &[PathBuf]) -> ! {
    match csmrun_emulator::conformance::check_files(logs) {
        Ok(report) => {
            print!("{}", report.render());
            let _ = std::io::stdout().flush();
            std::process::exit(if report.conforms() { 0 } else { 1 });
        }
        Err(e) => {
            eprintln!("csmrun-emulator conformance: {e}");
            std::process::exit(1);
        }
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Some(Command::Conformance { logs }) = &args.command {
        conformance(logs);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let config = Config {
        listen: args.listen,
        seed: args.seed.map(SeedSource::File).unwrap_or(SeedSource::Demo),
        time_scale: args.time_scale,
        request_log: args.request_log,
        frozen_at: None,
        mesh_proxy_listen: args.mesh_proxy_listen,
        mesh_seed: args.mesh_seed,
    };
    let running = match Emulator::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("csmrun-emulator: {e}");
            std::process::exit(1);
        }
    };
    for spec in &args.workload {
        let result = match spec.split_once('=') {
            Some((name, url)) => running.set_workload_upstream(name, url),
            None => Err(format!(
                "--workload {spec}: give NAME=http://127.0.0.1:PORT"
            )),
        };
        if let Err(e) = result {
            eprintln!("csmrun-emulator: --workload: {e}");
            std::process::exit(2);
        }
    }
    // The first line is parsed by scripts and tests; the mesh proxy's address comes second. A reader that
    // closes stdout after the first line must not stop the emulator (`println!` panics on a closed pipe).
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "csmrun-emulator listening on {}", running.base_url());
    let _ = writeln!(
        out,
        "csmrun-emulator mesh proxy on {}",
        running.mesh_proxy_url()
    );
    let _ = out.flush();
    drop(out);
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("csmrun-emulator: waiting for interrupt: {e}");
    }
    running.shutdown().await;
}
