//! How concurrent writers contend for the shared objects, read from the emulator's request log: the etag and
//! precondition conflicts Google answered (409/412 on the project's `setIamPolicy` and on Cloud DNS
//! `changes.create`), the retries they caused per successful write, and the longest one logical write waited.
//!
//! The log is one stream for every writer; each writer's Terraform runs with its own `TF_APPEND_USER_AGENT`
//! ([`WRITER_AGENT`]), which the provider appends to its user agent and the emulator logs, so the stream splits
//! per writer. Within one writer the provider's coalescer makes the writes of one object sequential, so a
//! writer's attempts at one object, in log order, are its logical writes one after the other: a chain of attempts
//! continues through conflicts (the provider reads again and retries), through 429/5xx (the transport retries)
//! and through a 404 of `changes.create` (a record set or the zone went; the provider reads again), and ends at a
//! 2xx (the write succeeded) or at any other answer (it failed).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::methods::method_id;
use crate::requests::time;

/// What each writer appends to the provider's user agent: `csmrun-campaign/writer-K`.
pub const WRITER_AGENT: &str = "csmrun-campaign/";

/// The discovery methods whose conflicts are counted, and what the tally calls them.
const CONTENDED: &[(&str, Kind)] = &[
    ("cloudresourcemanager.projects.setIamPolicy", Kind::Iam),
    ("dns.changes.create", Kind::Dns),
];

/// Which shared object a write changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The project's IAM policy (etag: 409 ABORTED).
    Iam,
    /// A zone's records (exact-match deletions: 412 conditionNotMet; additions: 409 alreadyExists).
    Dns,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Iam => "IAM setIamPolicy",
            Kind::Dns => "DNS changes.create",
        })
    }
}

/// The longest wait seen: how long, and which write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Longest {
    pub wait: Duration,
    pub what: String,
}

/// Contention figures, summed over the logs [`Contention::add_log`] was given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contention {
    /// 409/412 answers, per object.
    pub conflicts: BTreeMap<Kind, usize>,
    /// Logical writes that succeeded, per object.
    pub writes: BTreeMap<Kind, usize>,
    /// Attempts made after a conflict answer (the retries conflicts caused).
    pub conflict_retries: usize,
    /// Logical writes refused with another answer (a 403, a 400): they failed.
    pub refused: usize,
    /// Logical writes with no 2xx when the log ends: after a conflict the writer read again and found nothing left
    /// to change (another writer's change did it: IAM grants of a shared account), or its run ended first.
    pub abandoned: usize,
    /// Contended writes whose user agent names no writer (0 when every run had its agent).
    pub unattributed: usize,
    /// From the answer to a write's first attempt to the answer that it succeeded (retries after injected
    /// 429/503 included).
    pub longest: Longest,
    /// The same, among writes that met a conflict.
    pub longest_conflicted: Longest,
}

#[derive(Debug)]
struct Chain {
    first: chrono::DateTime<chrono::Utc>,
    attempts: usize,
    conflicts: usize,
    after_conflict: bool,
}

/// The writer named in an entry's user agent (`writer-3`), if any.
pub fn writer_of(entry: &Value) -> Option<&str> {
    let ua = entry["headers"]["user-agent"].as_str()?;
    let at = ua.rfind(WRITER_AGENT)?;
    ua[at + WRITER_AGENT.len()..].split_whitespace().next()
}

impl Contention {
    /// Adds the writes in `log` (one round's request log, in the order the emulator answered); `round` names the
    /// round in the longest wait's description.
    pub fn add_log(&mut self, log: &[Value], round: &str) {
        let mut open: BTreeMap<(String, Kind), Chain> = BTreeMap::new();
        for e in log {
            let Some(id) = method_id(e) else { continue };
            let Some(kind) = CONTENDED.iter().find(|(m, _)| *m == id).map(|(_, k)| *k) else {
                continue;
            };
            let Some(at) = time(e) else { continue };
            let status = e["status"].as_u64().unwrap_or(0);
            let writer = match writer_of(e) {
                Some(w) => w.to_string(),
                None => {
                    self.unattributed += 1;
                    "?".to_string()
                }
            };
            let key = (writer, kind);
            let chain = open.entry(key.clone()).or_insert(Chain {
                first: at,
                attempts: 0,
                conflicts: 0,
                after_conflict: false,
            });
            chain.attempts += 1;
            if chain.after_conflict {
                self.conflict_retries += 1;
            }
            chain.after_conflict = false;
            match status {
                200..=299 => {
                    let chain = open
                        .remove(&key)
                        .unwrap_or_else(|| unreachable!("just opened"));
                    *self.writes.entry(kind).or_default() += 1;
                    let wait = (at - chain.first).to_std().unwrap_or_default();
                    let seen = Longest {
                        wait,
                        what: format!(
                            "{}, {kind}, {} attempts, {} conflicts, {round}",
                            key.0, chain.attempts, chain.conflicts
                        ),
                    };
                    if chain.conflicts > 0 && wait > self.longest_conflicted.wait {
                        self.longest_conflicted = seen.clone();
                    }
                    if wait > self.longest.wait {
                        self.longest = seen;
                    }
                }
                409 | 412 => {
                    *self.conflicts.entry(kind).or_default() += 1;
                    chain.conflicts += 1;
                    chain.after_conflict = true;
                }
                404 if kind == Kind::Dns => {}
                429 | 500..=599 => {}
                _ => {
                    open.remove(&key);
                    self.refused += 1;
                }
            }
        }
        self.abandoned += open.len();
    }

    /// Every 409/412 answer.
    pub fn total_conflicts(&self) -> usize {
        self.conflicts.values().sum()
    }

    /// Every successful logical write.
    pub fn total_writes(&self) -> usize {
        self.writes.values().sum()
    }

    /// Conflict-caused retries per successful write.
    pub fn retries_per_write(&self) -> f64 {
        match self.total_writes() {
            0 => 0.0,
            n => self.conflict_retries as f64 / n as f64,
        }
    }
}

impl fmt::Display for Contention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = |m: &BTreeMap<Kind, usize>| {
            [Kind::Iam, Kind::Dns]
                .map(|k| format!("{k} {}", m.get(&k).copied().unwrap_or(0)))
                .join(", ")
        };
        writeln!(
            f,
            "etag/precondition 409/412 {} ({})",
            self.total_conflicts(),
            per(&self.conflicts)
        )?;
        writeln!(
            f,
            "successful shared writes  {} ({})",
            self.total_writes(),
            per(&self.writes)
        )?;
        writeln!(
            f,
            "conflict retries / write  {:.2} ({} retries)",
            self.retries_per_write(),
            self.conflict_retries
        )?;
        let longest = |l: &Longest| {
            if l.what.is_empty() {
                "none".to_string()
            } else {
                format!("{:.1?} ({})", l.wait, l.what)
            }
        };
        writeln!(f, "longest wait of a write   {}", longest(&self.longest))?;
        writeln!(
            f,
            "  of one with conflicts   {}",
            longest(&self.longest_conflicted)
        )?;
        writeln!(
            f,
            "shared writes not retried {} (nothing left to change after the conflict, or the run ended); {} refused; \
             {} entries without a writer",
            self.abandoned, self.refused, self.unattributed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IAM: &str = "/cloudresourcemanager/v1/projects/p:setIamPolicy";
    const DNS: &str = "/dns/v1/projects/p/managedZones/z/changes";

    fn entry(writer: &str, path: &str, status: u16, ms: u64) -> Value {
        let t = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z").unwrap()
            + chrono::Duration::milliseconds(ms as i64);
        json!({
            "time": t.to_rfc3339(), "method": "POST", "path": path, "status": status,
            "headers": {"user-agent": format!("terraform-provider-csmrun/0.1.0 {WRITER_AGENT}{writer}")},
        })
    }

    #[test]
    fn interleaved_writers_are_split_by_user_agent_and_a_write_waits_from_its_first_attempt() {
        let log = vec![
            entry("writer-0", IAM, 409, 0),
            entry("writer-1", IAM, 200, 100),
            entry("writer-0", IAM, 503, 900),
            entry("writer-0", IAM, 409, 1_500),
            entry("writer-1", DNS, 412, 1_600),
            entry("writer-0", IAM, 200, 4_000),
            entry("writer-1", DNS, 200, 4_100),
            entry("writer-2", IAM, 503, 5_000),
            entry("writer-2", IAM, 200, 10_000),
            json!({"time": "2025-01-01T00:00:05Z", "method": "GET", "path": "/run/v2/projects/p/locations/r/services/s", "status": 200}),
        ];
        let mut c = Contention::default();
        c.add_log(&log, "round 3");
        assert_eq!(c.conflicts.get(&Kind::Iam), Some(&2));
        assert_eq!(c.conflicts.get(&Kind::Dns), Some(&1));
        assert_eq!(c.writes.get(&Kind::Iam), Some(&3));
        assert_eq!(c.writes.get(&Kind::Dns), Some(&1));
        // writer-0: 409 -> (retry) 503 -> 409 -> (retry) 200; writer-1's DNS: 412 -> (retry) 200; writer-2 only
        // met an injected 503, which the transport retried.
        assert_eq!(c.conflict_retries, 3);
        assert_eq!(c.longest.wait, Duration::from_secs(5));
        assert!(
            c.longest.what.starts_with("writer-2, IAM"),
            "{}",
            c.longest.what
        );
        let conflicted = &c.longest_conflicted;
        assert_eq!(conflicted.wait, Duration::from_secs(4));
        assert!(
            conflicted.what.starts_with("writer-0, IAM"),
            "{}",
            conflicted.what
        );
        assert!(conflicted.what.contains("4 attempts, 2 conflicts, round 3"));
        assert_eq!((c.abandoned, c.refused, c.unattributed), (0, 0, 0));
        assert!((c.retries_per_write() - 0.75).abs() < 1e-9);
    }

    #[test]
    fn a_write_refused_otherwise_or_not_retried_is_no_success_and_a_log_without_agents_is_counted()
    {
        let mut no_agent = entry("x", IAM, 409, 0);
        no_agent["headers"] = json!({});
        let log = vec![
            entry("writer-0", IAM, 403, 0),
            entry("writer-1", IAM, 409, 10),
            no_agent,
        ];
        let mut c = Contention::default();
        c.add_log(&log, "round 0");
        assert_eq!(c.total_writes(), 0);
        assert_eq!((c.refused, c.abandoned), (1, 2));
        assert_eq!(c.unattributed, 1);
        assert_eq!(c.total_conflicts(), 2);
        assert_eq!(c.conflict_retries, 0);
    }
}
