//! The `csmrun-emulator` binary: serves the emulated APIs until interrupted.

use clap::Parser;
use csmrun_emulator::{Config, Emulator, SeedSource};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An offline fake of the Google Cloud APIs csmrun uses.
#[derive(Parser, Debug)]
#[command(name = "csmrun-emulator", version)]
struct Args {
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
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let config = Config {
        listen: args.listen,
        seed: args.seed.map(SeedSource::File).unwrap_or(SeedSource::Demo),
        time_scale: args.time_scale,
        request_log: args.request_log,
        frozen_at: None,
    };
    let running = match Emulator::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("csmrun-emulator: {e}");
            std::process::exit(1);
        }
    };
    println!("csmrun-emulator listening on {}", running.base_url());
    let _ = std::io::stdout().flush();
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("csmrun-emulator: waiting for interrupt: {e}");
    }
    running.shutdown().await;
}
