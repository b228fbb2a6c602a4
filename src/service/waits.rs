//! The waits an apply makes on purpose (PRODUCT §3: a new `roles/trafficdirector.client` grant's propagation, a
//! young mesh's settle time), returned as warnings: without them Terraform shows only "Still creating..." for a
//! minute or more, and each wait can be avoided by preparing the project before the apply.
//!
//! The steps record a wait only once it has run to its end ([`Wait`] in the apply's [`Log`]); a wait cut short
//! ends the apply with an error that says so instead.

use std::sync::Mutex;
use std::time::Duration;

use tfplug::{Diagnostic, Diagnostics};

use super::diagnose::human;
use super::explain::Explanation;
use super::spec::TRAFFIC_DIRECTOR_CLIENT;

/// Why the grant the apply waited for was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewGrant {
    /// This resource added the binding.
    Added,
    /// Another resource of this provider process added it shortly before (`ago` earlier).
    Sibling { ago: Duration },
    /// An earlier create of this service added it and was killed before deploying (its NEG says so).
    Resumed,
}

/// The waits one apply made, in the order they ended: appended by the steps that wait (the mesh settle step, the
/// IAM step), read once the apply has ended, for its warnings.
#[derive(Debug, Default)]
pub struct Log(Mutex<Vec<Wait>>);

impl Log {
    /// Records a wait that ran to its end.
    pub fn push(&self, wait: Wait) {
        if let Ok(mut g) = self.0.lock() {
            g.push(wait);
        }
    }

    /// The warnings for every wait recorded.
    pub fn warnings(&self) -> Diagnostics {
        self.0.lock().map(|g| warnings(&g)).unwrap_or_default()
    }
}

/// A wait that ran to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// Before deploying, for the account's new trafficdirector.client grant to propagate.
    Grant {
        project: String,
        service_account: String,
        new: NewGrant,
        waited: Duration,
        /// The provider's `iam_propagation_wait`.
        setting: Duration,
    },
    /// Before deploying, for the mesh to reach `mesh_settle_time` of age.
    Mesh {
        mesh: String,
        /// The mesh's age when the wait began.
        age: Duration,
        waited: Duration,
        /// The provider's `mesh_settle_time`.
        setting: Duration,
    },
}

impl Wait {
    /// "Waited 90 s for ...".
    pub fn summary(&self) -> String {
        match self {
            Wait::Grant {
                service_account,
                waited,
                ..
            } => format!(
                "Waited {} for the new {TRAFFIC_DIRECTOR_CLIENT} grant of {service_account} to propagate",
                rounded(*waited)
            ),
            Wait::Mesh { mesh, waited, .. } => {
                format!("Waited {} for the young mesh {mesh} to settle", rounded(*waited))
            }
        }
    }

    /// Why csmrun waited, and how to have it not wait next time.
    pub fn detail(&self) -> String {
        match self {
            Wait::Grant {
                project,
                service_account,
                new,
                setting,
                ..
            } => {
                let member = format!("serviceAccount:{service_account}");
                let which = match new {
                    NewGrant::Added => format!(
                        "this apply granted {TRAFFIC_DIRECTOR_CLIENT} on project {project} to {member}"
                    ),
                    NewGrant::Sibling { ago } => format!(
                        "another csmrun_service of this apply granted {TRAFFIC_DIRECTOR_CLIENT} on project \
                         {project} to {member} {} before this one needed it",
                        human(*ago)
                    ),
                    NewGrant::Resumed => format!(
                        "an earlier create of this service granted {TRAFFIC_DIRECTOR_CLIENT} on project {project} \
                         to {member} and was interrupted before deploying (its serverless NEG records the grant); \
                         csmrun cannot tell how long ago, so it waited the whole time again"
                    ),
                };
                Explanation::new("", "")
                    .why(format!(
                        "{which}. A new grant takes Google typically about 2 minutes, sometimes 7 or more, to \
                         take effect, and until then the service's mesh sidecar is refused its configuration and \
                         fails to start; so csmrun deploys the Cloud Run service only once the provider's \
                         `iam_propagation_wait` ({}) has passed since the grant",
                        human(*setting)
                    ))
                    .next_time(format!(
                        "grant the role to the account before this apply, once: `gcloud projects \
                         add-iam-policy-binding {project} --member={member} --role={TRAFFIC_DIRECTOR_CLIENT}`, or a \
                         `google_project_iam_member` (role {TRAFFIC_DIRECTOR_CLIENT}, member {member}) in a \
                         configuration applied earlier; csmrun then finds the binding, does not wait, and never \
                         removes it. A grant made in the same apply is as new as csmrun's own"
                    ))
                    .detail()
            }
            Wait::Mesh {
                mesh,
                age,
                setting,
                ..
            } => Explanation::new("", "")
                .why(format!(
                    "the mesh {mesh} was {} old when this apply checked it. Google documents no settle time, but \
                     the sidecars of a service joining a mesh created about a minute before have failed to get \
                     their configuration, so csmrun deploys only into a mesh at least the provider's \
                     `mesh_settle_time` ({}) old, and waited until it was",
                    human(*age),
                    human(*setting)
                ))
                .next_time(format!(
                    "create the mesh earlier (in an earlier apply, or at least {} before the services that join \
                     it); csmrun then does not wait",
                    human(*setting)
                ))
                .detail(),
        }
    }

    pub fn warning(&self) -> Diagnostic {
        Diagnostic::warning(self.summary(), self.detail())
    }
}

/// A wait as [`human`] says it, to the nearest second: a 90 s wait starts a moment after its grant, and
/// "89 s" would read as a different setting.
fn rounded(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return human(d);
    }
    human(Duration::from_secs(
        d.as_secs() + u64::from(d.subsec_millis() >= 500),
    ))
}

/// One warning per wait, in the order the waits ended.
pub fn warnings(waits: &[Wait]) -> Diagnostics {
    waits.iter().map(Wait::warning).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SA: &str = "orders@p.iam.gserviceaccount.com";

    fn grant(new: NewGrant, waited: u64) -> Wait {
        Wait::Grant {
            project: "p".into(),
            service_account: SA.into(),
            new,
            waited: Duration::from_secs(waited),
            setting: Duration::from_secs(90),
        }
    }

    #[test]
    fn a_grant_wait_names_the_account_the_time_and_the_command_that_avoids_it() {
        let w = grant(NewGrant::Added, 90);
        assert_eq!(
            w.summary(),
            format!(
                "Waited 90 s for the new roles/trafficdirector.client grant of {SA} to propagate"
            )
        );
        let detail = w.detail();
        assert!(
            detail.contains(&format!(
                "`gcloud projects add-iam-policy-binding p --member=serviceAccount:{SA} \
                 --role=roles/trafficdirector.client`"
            )),
            "{detail}"
        );
        assert!(detail.contains("`iam_propagation_wait` (90 s)"), "{detail}");
        assert!(detail.contains("google_project_iam_member"), "{detail}");
        assert!(detail.contains("this apply granted"), "{detail}");
    }

    #[test]
    fn a_grant_wait_says_whose_grant_it_was() {
        let sibling = grant(
            NewGrant::Sibling {
                ago: Duration::from_secs(30),
            },
            60,
        );
        assert!(
            sibling.summary().starts_with("Waited 60 s "),
            "{}",
            sibling.summary()
        );
        assert!(
            sibling
                .detail()
                .contains("another csmrun_service of this apply granted")
                && sibling.detail().contains("30 s before"),
            "{}",
            sibling.detail()
        );
        let resumed = grant(NewGrant::Resumed, 90);
        assert!(
            resumed.detail().contains("interrupted before deploying"),
            "{}",
            resumed.detail()
        );
    }

    #[test]
    fn a_mesh_wait_says_how_old_the_mesh_was_and_how_old_it_must_be() {
        let w = Wait::Mesh {
            mesh: "projects/p/locations/global/meshes/m".into(),
            age: Duration::from_secs(20),
            waited: Duration::from_secs(40),
            setting: Duration::from_secs(60),
        };
        assert_eq!(
            w.summary(),
            "Waited 40 s for the young mesh projects/p/locations/global/meshes/m to settle"
        );
        let detail = w.detail();
        assert!(detail.contains("was 20 s old"), "{detail}");
        assert!(detail.contains("`mesh_settle_time` (60 s)"), "{detail}");
        assert!(
            detail.contains("Next time: create the mesh earlier"),
            "{detail}"
        );
    }

    #[test]
    fn a_wait_is_said_to_the_nearest_second() {
        assert_eq!(rounded(Duration::from_millis(89_990)), "90 s");
        assert_eq!(rounded(Duration::from_millis(89_400)), "89 s");
        assert_eq!(rounded(Duration::from_millis(300)), "300 ms");
    }

    /// The backticked texts of the first column of the troubleshooting guide's table of waits.
    fn guide_cells() -> Vec<String> {
        const GUIDE: &str = include_str!("../../templates/guides/troubleshooting.md");
        let section = GUIDE
            .split("\n## Why an apply waited\n")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the guide has a \"Why an apply waited\" section");
        section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| l.split('`').nth(1))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_troubleshooting_guide_has_a_row_for_each_wait_and_no_other() {
        let mesh = Wait::Mesh {
            mesh: "MESH".into(),
            age: Duration::from_secs(20),
            waited: Duration::from_secs(40),
            setting: Duration::from_secs(60),
        };
        let mut grant = grant(NewGrant::Added, 90);
        if let Wait::Grant {
            service_account, ..
        } = &mut grant
        {
            *service_account = "ACCOUNT".into();
        }
        let given: Vec<String> = [(grant, "90 s"), (mesh, "40 s")]
            .iter()
            .map(|(w, time)| w.summary().replacen(time, "TIME", 1))
            .collect();
        assert_eq!(guide_cells(), given);
    }

    #[test]
    fn every_wait_is_one_warning_and_no_wait_none() {
        assert!(warnings(&[]).is_empty());
        let d = warnings(&[grant(NewGrant::Added, 90)]);
        assert_eq!(d.len(), 1);
        assert!(d.iter().all(|d| !d.is_error()));
    }
}
