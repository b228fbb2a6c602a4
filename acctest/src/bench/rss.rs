//! Peak resident memory of processes: VmHWM/VmRSS from /proc, sampled from a thread while terraform runs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::process::descendants_named;

/// How often the sampler looks; the provider lives for the whole apply, so its high-water mark is
/// caught by the last sample before it exits.
const PERIOD: Duration = Duration::from_millis(50);

/// A `/proc/PID/status` field in KiB (`VmHWM`, `VmRSS`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the VmHWM of every descendant of a root process with a given name until stopped.
pub struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<BTreeMap<u32, u64>>>,
}

impl PeakSampler {
    /// Starts sampling descendants of `root` whose command name starts with `name`.
    pub fn start(root: u32, name: &str) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = name.to_string();
        let thread = std::thread::spawn(move || {
            let mut peaks: BTreeMap<u32, u64> = BTreeMap::new();
            loop {
                for pid in descendants_named(root, &name) {
                    if let Some(kib) = status_kib(pid, "VmHWM") {
                        let slot = peaks.entry(pid).or_default();
                        *slot = (*slot).max(kib);
                    }
                }
                if flag.load(Ordering::Relaxed) {
                    return peaks;
                }
                std::thread::sleep(PERIOD);
            }
        });
        PeakSampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and returns the highest VmHWM seen (KiB), `None` if no such process was seen.
    pub fn stop(mut self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let peaks = self.thread.take()?.join().ok()?;
        peaks.values().copied().max()
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
