//! Mesh-aware diagnosis of a failed Cloud Run deploy: which causes were checked, which is likely, what to do.
//!
//! With a mesh, the platform-injected Envoy sidecar `cloud-run-mesh-proxy` that never gets its configuration fails
//! its startup probe (port 15020, "Envoy not ready, phase=...PRE_INITIALIZING"), and the API reports only the
//! generic code-9 "container failed to start and listen on the port". The known causes (PRODUCT §1, §3): the runtime
//! account's `roles/trafficdirector.client` not yet effective, a subnet without Private Google Access under
//! ALL_TRAFFIC egress, a mesh younger than about a minute.

use std::time::Duration;

/// What the API said about the failure.
#[derive(Debug, Clone, Default)]
pub struct Failure {
    /// The operation's or terminal condition's message.
    pub message: String,
    /// `google.rpc.Code` of the failed operation, when there was one (9 = FAILED_PRECONDITION).
    pub code: Option<i32>,
    /// Messages of the latest created revision's conditions.
    pub revision_messages: Vec<String>,
    /// The revision's `logUri`.
    pub log_uri: Option<String>,
    pub revision: Option<String>,
}

/// How the trafficdirector.client grant stood at deploy time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The binding existed before this run.
    Existing,
    /// This run added it `age` before the deploy.
    New { age: Duration },
    /// Not checked (e.g. an update that did not touch IAM).
    Unchecked,
}

/// What the pre-flight checks found, as of the failed deploy.
#[derive(Debug, Clone)]
pub struct Checks {
    pub has_mesh: bool,
    /// Age of the mesh at deploy time; `None` when unknown.
    pub mesh_age: Option<Duration>,
    pub mesh_settle_time: Duration,
    /// The subnet's `privateIpGoogleAccess`; `None` when not read.
    pub subnet_pga: Option<bool>,
    pub subnet: String,
    pub egress_all_traffic: bool,
    pub grant: Grant,
    pub service_account: String,
    /// How many times the service was already redeployed since it was (re)created.
    pub redeploys: u32,
}

/// The likely cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The new trafficdirector.client grant has not propagated yet.
    IamPropagation,
    /// The subnet has no Private Google Access, so the sidecar cannot reach trafficdirector.googleapis.com.
    PrivateGoogleAccess,
    /// The mesh was created too recently.
    MeshTooYoung,
    /// The sidecar failed but none of the known causes was found.
    SidecarUnknown,
    /// Not a mesh failure: the application container itself failed (or the service has no mesh).
    NotMesh,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Deploy a new revision after a backoff (the cause goes away with time).
    Redeploy,
    /// Delete and recreate the service from clean: it stayed broken after a redeploy.
    Recreate,
    /// Fail now: waiting will not help; the user has to fix something.
    Fail,
}

/// The diagnosis of one failure.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub cause: Cause,
    pub remedy: Remedy,
    /// One line per cause that was checked, with what was found.
    pub checked: Vec<String>,
    pub fix: String,
    pub failure: Failure,
}

/// Propagation is "typically 2 minutes, possibly 7 or more"; younger grants are suspects.
const PROPAGATION_SUSPECT: Duration = Duration::from_secs(10 * 60);

/// True when the text carries the sidecar's signature or the generic start-up failure.
fn mesh_signature(f: &Failure) -> (bool, bool) {
    let texts = std::iter::once(&f.message).chain(f.revision_messages.iter());
    let mut sidecar = false;
    let mut generic = false;
    for t in texts {
        sidecar |= [
            "cloud-run-mesh-proxy",
            "15020",
            "PRE_INITIALIZING",
            "Envoy not ready",
        ]
        .iter()
        .any(|s| t.contains(s));
        generic |= t.contains("failed to start and listen on the port");
    }
    generic |= f.code == Some(9) && f.message.contains("not ready");
    (sidecar, generic)
}

/// Diagnoses a failed deploy.
pub fn diagnose(failure: Failure, c: &Checks) -> Diagnosis {
    let (sidecar, generic) = mesh_signature(&failure);
    let mut checked = Vec::new();
    if !c.has_mesh || !(sidecar || generic) {
        return Diagnosis {
            cause: Cause::NotMesh,
            remedy: Remedy::Fail,
            checked,
            fix: "Check the revision's logs; the container itself failed.".into(),
            failure,
        };
    }
    let pga_off = c.egress_all_traffic && c.subnet_pga == Some(false);
    checked.push(match c.subnet_pga {
        Some(true) => format!("subnet {}: Private Google Access is on", c.subnet),
        Some(false) => format!(
            "subnet {}: Private Google Access is OFF (egress ALL_TRAFFIC)",
            c.subnet
        ),
        None => format!("subnet {}: Private Google Access not checked", c.subnet),
    });
    let young_mesh = c.mesh_age.is_some_and(|a| a < c.mesh_settle_time);
    checked.push(match c.mesh_age {
        Some(a) => format!(
            "mesh age at deploy: {}s (settle time {}s)",
            a.as_secs(),
            c.mesh_settle_time.as_secs()
        ),
        None => "mesh age: unknown".into(),
    });
    let young_grant = matches!(c.grant, Grant::New { age } if age < PROPAGATION_SUSPECT);
    checked.push(match c.grant {
        Grant::Existing => format!("roles/trafficdirector.client for {}: granted before this run", c.service_account),
        Grant::New { age } => format!(
            "roles/trafficdirector.client for {}: granted by this run {}s before the deploy (IAM takes ~2, up to 7+ \
             minutes to propagate)",
            c.service_account,
            age.as_secs()
        ),
        Grant::Unchecked => format!("roles/trafficdirector.client for {}: not checked", c.service_account),
    });
    let (cause, fix) = if pga_off {
        (
            Cause::PrivateGoogleAccess,
            format!(
                "Enable Private Google Access on the subnet: `gcloud compute networks subnets update {} \
                 --enable-private-ip-google-access` (or `private_ip_google_access = true`), then apply again.",
                c.subnet
            ),
        )
    } else if young_grant {
        (
            Cause::IamPropagation,
            "Wait for the IAM grant to propagate: csmrun redeploys with backoff; raise the provider's \
             `iam_propagation_wait` to avoid the failed first attempt."
                .into(),
        )
    } else if young_mesh {
        (
            Cause::MeshTooYoung,
            "Wait for the new mesh to settle (provider setting `mesh_settle_time`).".into(),
        )
    } else {
        (
            Cause::SidecarUnknown,
            "None of the known causes was found. Check the `cloud-run-mesh-proxy` container in the revision's logs, \
             that the mesh exists, and that the service account is allowed to use Traffic Director."
                .into(),
        )
    };
    let remedy = match cause {
        Cause::IamPropagation | Cause::MeshTooYoung if c.redeploys == 0 => Remedy::Redeploy,
        Cause::IamPropagation | Cause::MeshTooYoung => Remedy::Recreate,
        // A service that failed once can stay broken (PRODUCT §1); one recreate from clean is worth it.
        Cause::SidecarUnknown if c.redeploys == 0 => Remedy::Recreate,
        _ => Remedy::Fail,
    };
    Diagnosis {
        cause,
        remedy,
        checked,
        fix,
        failure,
    }
}

impl Diagnosis {
    /// Short summary for a diagnostic.
    pub fn summary(&self) -> &'static str {
        match self.cause {
            Cause::IamPropagation => "Mesh sidecar failed: IAM grant not yet effective",
            Cause::PrivateGoogleAccess => {
                "Mesh sidecar failed: subnet without Private Google Access"
            }
            Cause::MeshTooYoung => "Mesh sidecar failed: mesh created too recently",
            Cause::SidecarUnknown => "Mesh sidecar failed to start",
            Cause::NotMesh => "Cloud Run service failed to become ready",
        }
    }

    /// The full text for a person: what failed, Google's message, what was checked, the fix, the logs.
    pub fn detail(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.failure.revision {
            s.push_str(&format!("Revision {r} did not become ready.\n"));
        }
        s.push_str(&format!("Google Cloud said: {}\n", self.failure.message));
        for m in &self.failure.revision_messages {
            if m != &self.failure.message {
                s.push_str(&format!("Revision condition: {m}\n"));
            }
        }
        if self.cause != Cause::NotMesh {
            s.push_str(
                "With a mesh this message usually means the injected Envoy sidecar (cloud-run-mesh-proxy) never got \
                 its configuration and failed its startup probe on port 15020, not that your container failed.\n",
            );
            s.push_str("Checked:\n");
            for c in &self.checked {
                s.push_str(&format!("  - {c}\n"));
            }
        }
        s.push_str(&format!("Fix: {}\n", self.fix));
        if let Some(u) = &self.failure.log_uri {
            s.push_str(&format!("Logs: {u}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sidecar_failure() -> Failure {
        Failure {
            message: "Revision 'target-00001-abc' is not ready and cannot serve traffic. The user-provided container \
                      failed to start and listen on the port defined provided by the PORT=8080 environment variable"
                .into(),
            code: Some(9),
            revision_messages: vec![
                "Default STARTUP HTTP probe failed 200 times consecutively for container \"cloud-run-mesh-proxy\" on \
                 port 15020 path \"/healthz\". Envoy not ready, phase=ENVOY_PHASE_SERVER_STATE_PRE_INITIALIZING"
                    .into(),
            ],
            log_uri: Some("https://console.cloud.google.com/logs/viewer?x".into()),
            revision: Some("target-00001-abc".into()),
        }
    }

    fn checks() -> Checks {
        Checks {
            has_mesh: true,
            mesh_age: Some(Duration::from_secs(3600)),
            mesh_settle_time: Duration::from_secs(60),
            subnet_pga: Some(true),
            subnet: "mesh-subnet".into(),
            egress_all_traffic: true,
            grant: Grant::Existing,
            service_account: "sa@p.iam.gserviceaccount.com".into(),
            redeploys: 0,
        }
    }

    #[test]
    fn a_new_grant_is_the_likely_cause_and_is_redeployed_then_recreated() {
        let mut c = checks();
        c.grant = Grant::New {
            age: Duration::from_secs(90),
        };
        let d = diagnose(sidecar_failure(), &c);
        assert_eq!(
            (d.cause, d.remedy),
            (Cause::IamPropagation, Remedy::Redeploy)
        );
        c.redeploys = 1;
        assert_eq!(diagnose(sidecar_failure(), &c).remedy, Remedy::Recreate);
    }

    #[test]
    fn a_subnet_without_private_google_access_fails_with_the_fix() {
        let mut c = checks();
        c.subnet_pga = Some(false);
        c.grant = Grant::New {
            age: Duration::from_secs(90),
        };
        let d = diagnose(sidecar_failure(), &c);
        assert_eq!(
            (d.cause, d.remedy),
            (Cause::PrivateGoogleAccess, Remedy::Fail)
        );
        let text = d.detail();
        assert!(text.contains("--enable-private-ip-google-access"), "{text}");
        assert!(text.contains("cloud-run-mesh-proxy"), "{text}");
        assert!(
            text.contains("Logs: https://console.cloud.google.com"),
            "{text}"
        );
    }

    #[test]
    fn a_young_mesh_is_named_when_iam_and_subnet_are_fine() {
        let mut c = checks();
        c.mesh_age = Some(Duration::from_secs(10));
        assert_eq!(diagnose(sidecar_failure(), &c).cause, Cause::MeshTooYoung);
    }

    #[test]
    fn the_generic_message_alone_is_treated_as_mesh_when_the_service_has_a_mesh() {
        let mut f = sidecar_failure();
        f.revision_messages.clear();
        let d = diagnose(f, &checks());
        assert_eq!(
            (d.cause, d.remedy),
            (Cause::SidecarUnknown, Remedy::Recreate)
        );
        assert_eq!(
            d.checked.len(),
            3,
            "every known cause is reported as checked"
        );
    }

    #[test]
    fn an_application_failure_is_not_blamed_on_the_mesh() {
        let f = Failure {
            message: "Image 'gcr.io/p/x' not found.".into(),
            code: Some(3),
            ..Default::default()
        };
        let d = diagnose(f, &checks());
        assert_eq!((d.cause, d.remedy), (Cause::NotMesh, Remedy::Fail));
        assert!(!d.detail().contains("sidecar"));
        let mut c = checks();
        c.has_mesh = false;
        assert_eq!(diagnose(sidecar_failure(), &c).cause, Cause::NotMesh);
    }
}
