//! Kills the provider process (SIGKILL) at a chosen API call of a Terraform run.
//!
//! Two moments per call: [`Moment::InFlight`] holds the call with an injected latency and kills the
//! provider while it waits (the write may or may not land: the emulator finishes the held call after the
//! latency, as a cloud API finishes a request whose client died); [`Moment::Applied`] kills it as soon as the
//! request log shows the call succeeded (the part exists, the provider never recorded it).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::methods::{api_of, method_id};
use crate::process::{descendants_named, kill9};
use crate::stack::{Stack, GUARD};
use crate::terraform::Output;

/// The provider binary's name (the kernel keeps its first 15 characters).
pub const PROVIDER_BINARY: &str = "terraform-provider-csmrun";

/// How long an in-flight call is held: long enough to kill the provider, short enough to wait out before
/// the next run so the held write cannot land in the middle of it.
const HOLD: Duration = Duration::from_secs(2);

/// When, relative to the call, the provider dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// While the call is held by the API (before its effect).
    InFlight,
    /// Right after the call succeeded (after its effect, before the provider records it).
    Applied,
}

impl Moment {
    pub fn name(self) -> &'static str {
        match self {
            Moment::InFlight => "in-flight",
            Moment::Applied => "applied",
        }
    }
}

/// What happened to the run.
#[derive(Debug)]
pub enum Crash {
    /// The provider was killed; Terraform's output.
    Killed(Output),
    /// The run finished without making the call (e.g. an earlier crash already did that step).
    NotReached(Output),
}

/// Runs `terraform ARGS` and SIGKILLs every provider process it started at `moment` of the first call to
/// discovery method `method`.
pub fn crash_at(stack: &Stack, args: &[&str], method: &str, moment: Moment) -> Result<Crash> {
    stack.emu.clear_faults()?;
    stack.emu.clear_requests()?;
    if moment == Moment::InFlight {
        stack.emu.add_faults(&json!({
            "api": api_of(method), "method": method, "times": 1,
            "latency": format!("{}s", HOLD.as_secs())
        }))?;
    }
    let running = stack.spawn(args);
    let start = Instant::now();
    let reached = loop {
        let hit = match moment {
            Moment::InFlight => rules_left(&stack.emu.faults()?) == 0,
            Moment::Applied => stack
                .emu
                .requests()?
                .iter()
                .any(|e| succeeded(e) && method_id(e).as_deref() == Some(method)),
        };
        if hit {
            break true;
        }
        if !alive(running.pid()) {
            break false;
        }
        if start.elapsed() > GUARD {
            bail!(
                "terraform {} neither called {method} nor exited",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !reached {
        stack.emu.clear_faults()?;
        return Ok(Crash::NotReached(running.wait(GUARD)?));
    }
    let pids = descendants_named(running.pid(), PROVIDER_BINARY);
    if pids.is_empty() {
        // The call was the run's last and the provider has already exited.
        stack.emu.clear_faults()?;
        return Ok(Crash::NotReached(running.wait(GUARD)?));
    }
    for pid in pids {
        // The provider may have exited on its own between the listing and the kill.
        let _ = kill9(pid);
    }
    let out = running
        .wait(GUARD)
        .context("terraform after the provider was killed")?;
    stack.emu.clear_faults()?;
    if moment == Moment::InFlight {
        std::thread::sleep(HOLD + Duration::from_millis(500));
    }
    Ok(Crash::Killed(out))
}

fn rules_left(faults: &Value) -> usize {
    faults
        .as_array()
        .or_else(|| faults["rules"].as_array())
        .map_or(0, Vec::len)
}

fn succeeded(e: &Value) -> bool {
    e["status"]
        .as_u64()
        .is_some_and(|s| (200..300).contains(&s))
}

/// True while `pid` runs (not exited, not a zombie waiting to be reaped); read from /proc so the child can
/// stay owned by [`crate::terraform::Running`].
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z") | Some("X") | None)
}
