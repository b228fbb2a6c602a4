//! Mesh-aware diagnosis of a failed Cloud Run deploy: which causes were checked, which is likely, what to do.
//!
//! With a mesh, the platform-injected Envoy sidecar `cloud-run-mesh-proxy` that never gets its configuration fails
//! its startup probe (port 15020, "Envoy not ready, phase=...PRE_INITIALIZING"), and the API reports only the
//! generic code-9 "container failed to start and listen on the port". The known causes (PRODUCT §1, §3): the runtime
//! account's `roles/trafficdirector.client` not yet effective, a subnet without Private Google Access under
//! ALL_TRAFFIC egress, a mesh younger than about a minute.

use std::time::Duration;

use super::explain::Explanation;

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
    pub project: String,
    pub region: String,
    /// The Cloud Run service, by name.
    pub service: String,
    /// The service's mesh, by name.
    pub mesh: String,
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
    /// One entry per cause that was checked, with what was found.
    pub checked: Vec<String>,
    /// The cause in mesh terms.
    pub why: String,
    /// What to do now.
    pub fix: String,
    /// How to avoid it next time; empty when there is nothing to add.
    pub next_time: String,
    pub failure: Failure,
    /// The Cloud Run service, by name.
    pub service: String,
    /// A sidecar failure no known cause explains for sure (an unknown one, or a mesh already past
    /// `mesh_settle_time`): waiting is not known to help, so it gets one recreate, not the redeploy loop.
    pub unexplained: bool,
}

/// Propagation is "typically 2 minutes, possibly 7 or more"; younger grants are suspects.
const PROPAGATION_SUSPECT: Duration = Duration::from_secs(10 * 60);

/// A mesh younger than this is a suspect even past `mesh_settle_time`: Google documents no settle time, users saw
/// sidecars fail on meshes "created less than about a minute ago" and succeed minutes later (PRODUCT §1), so a
/// `mesh_settle_time` shorter than what a new mesh really needed must not turn into "no known cause".
const MESH_SUSPECT: Duration = Duration::from_secs(10 * 60);

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
            why: String::new(),
            fix: "check the revision's logs; the container itself failed.".into(),
            next_time: String::new(),
            failure,
            service: c.service.clone(),
            unexplained: false,
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
    let within_settle = c.mesh_age.is_some_and(|a| a < c.mesh_settle_time);
    let young_mesh = c
        .mesh_age
        .is_some_and(|a| a < c.mesh_settle_time.max(MESH_SUSPECT));
    checked.push(match c.mesh_age {
        Some(a) => format!(
            "mesh {} is {} old (`mesh_settle_time` {})",
            c.mesh,
            human(a),
            human(c.mesh_settle_time)
        ),
        None => format!("mesh {}: age unknown", c.mesh),
    });
    let young_grant = matches!(c.grant, Grant::New { age } if age < PROPAGATION_SUSPECT);
    checked.push(match c.grant {
        Grant::Existing => format!("roles/trafficdirector.client for {}: granted before this run", c.service_account),
        Grant::New { age } => format!(
            "roles/trafficdirector.client for {}: granted by this run {} ago (IAM takes ~2, up to 7+ minutes to \
             propagate)",
            c.service_account,
            human(age)
        ),
        Grant::Unchecked => format!("roles/trafficdirector.client for {}: not checked", c.service_account),
    });
    let (cause, why, fix, next_time) = if pga_off {
        (
            Cause::PrivateGoogleAccess,
            format!(
                "the subnet {} has no Private Google Access, so with all egress through the VPC the sidecar \
                 cannot reach trafficdirector.googleapis.com for its configuration",
                c.subnet
            ),
            format!(
                "enable Private Google Access: `gcloud compute networks subnets update {} --region {} --project {} \
                 --enable-private-ip-google-access`, then apply again.",
                c.subnet, c.region, c.project
            ),
            "keep Private Google Access on for every subnet a mesh service egresses through.".to_string(),
        )
    } else if young_grant {
        (
            Cause::IamPropagation,
            format!(
                "the grant of roles/trafficdirector.client to {} is not effective yet, so the sidecar is refused \
                 its configuration",
                c.service_account
            ),
            format!(
                "apply again (or raise `timeouts.create`): csmrun keeps redeploying until the grant works. To see \
                 the binding: `gcloud projects get-iam-policy {} --flatten=bindings \
                 --filter=bindings.role=roles/trafficdirector.client --format='value(bindings.members)'`.",
                c.project
            ),
            "raise the provider's `iam_propagation_wait`, or grant the role to the account beforehand (csmrun then \
             finds it and does not wait)."
                .to_string(),
        )
    } else if young_mesh {
        (
            Cause::MeshTooYoung,
            format!(
                "the mesh {} is {} old; a new mesh can take minutes before it serves sidecar configuration",
                c.mesh,
                c.mesh_age.map(human).unwrap_or_default()
            ),
            if within_settle {
                "apply again in a few minutes; csmrun redeploys meanwhile.".to_string()
            } else {
                "apply again in a few minutes; if it still fails, check the `cloud-run-mesh-proxy` container in the \
                 revision's logs."
                    .to_string()
            },
            format!(
                "raise the provider's `mesh_settle_time` (now {}), or create the mesh earlier.",
                human(c.mesh_settle_time)
            ),
        )
    } else {
        (
            Cause::SidecarUnknown,
            "none of the known causes was found".to_string(),
            format!(
                "check the `cloud-run-mesh-proxy` container in the revision's logs, that the mesh {} exists, and \
                 that {} is allowed to use Traffic Director (roles/trafficdirector.client).",
                c.mesh, c.service_account
            ),
            "see the troubleshooting table in the README.".to_string(),
        )
    };
    // A mesh past `mesh_settle_time` is only a suspect: it gets the retries of an unknown cause, not the wait.
    let unexplained =
        cause == Cause::SidecarUnknown || (cause == Cause::MeshTooYoung && !within_settle);
    let remedy = match cause {
        _ if unexplained && c.redeploys == 0 => Remedy::Recreate,
        _ if unexplained => Remedy::Fail,
        Cause::IamPropagation | Cause::MeshTooYoung if c.redeploys == 0 => Remedy::Redeploy,
        Cause::IamPropagation | Cause::MeshTooYoung => Remedy::Recreate,
        // A service that failed once can stay broken (PRODUCT §1); one recreate from clean is worth it.
        _ => Remedy::Fail,
    };
    Diagnosis {
        cause,
        remedy,
        checked,
        why,
        fix,
        next_time,
        failure,
        service: c.service.clone(),
        unexplained,
    }
}

/// What csmrun did about a failing service before it gave up, for the diagnosis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Deploys of a new revision (the first included).
    pub deploys: u32,
    /// Deletes and creates from clean.
    pub recreates: u32,
    /// From the first deploy to now.
    pub elapsed: Duration,
}

impl Attempts {
    /// "deployed 4 times and recreated 3 times over 45 s".
    fn line(&self) -> String {
        let times = |n: u32| {
            if n == 1 {
                "once".to_string()
            } else {
                format!("{n} times")
            }
        };
        let mut s = format!("deployed {}", times(self.deploys));
        if self.recreates > 0 {
            s.push_str(&format!(" and recreated {}", times(self.recreates)));
        }
        s.push_str(&format!(" over {}", human(self.elapsed)));
        s
    }
}

/// A duration as a person reads it in a log: "45 s", "3 min 20 s", "2 h 5 min", "301 days".
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 if d.subsec_millis() > 0 => format!("{} ms", d.subsec_millis()),
        0..=119 => format!("{s} s"),
        120..=7199 if s.is_multiple_of(60) => format!("{} min", s / 60),
        120..=7199 => format!("{} min {} s", s / 60, s % 60),
        7200..=172_799 if (s / 60).is_multiple_of(60) => format!("{} h", s / 3600),
        7200..=172_799 => format!("{} h {} min", s / 3600, (s / 60) % 60),
        _ => format!("{} days", s / 86_400),
    }
}

impl Diagnosis {
    /// The cause in a few words, for the summary.
    fn cause_words(&self) -> &'static str {
        match self.cause {
            Cause::IamPropagation => "mesh sidecar failed: IAM grant not yet effective",
            Cause::PrivateGoogleAccess => {
                "mesh sidecar failed: subnet without Private Google Access"
            }
            Cause::MeshTooYoung => "mesh sidecar failed: mesh created too recently",
            Cause::SidecarUnknown => "mesh sidecar failed to start",
            Cause::NotMesh => "failed to become ready",
        }
    }

    /// Short summary for a diagnostic: the part and the cause.
    pub fn summary(&self) -> String {
        self.explanation(&Attempts::default(), None).summary()
    }

    /// The failure in the one shape of [`crate::service::explain`], short enough for a CI log: Google's message
    /// once (the revision's conditions only where they add to it), the cause in mesh terms, what was checked,
    /// what csmrun tried, what interrupted the retries (`then`), the fix now and next time, the logs.
    pub fn explanation(&self, attempts: &Attempts, then: Option<String>) -> Explanation {
        let mut google = String::new();
        if let Some(r) = &self.failure.revision {
            google.push_str(&format!("revision {r} did not become ready: "));
        }
        google.push_str(&self.failure.message);
        let mut shown: Vec<&str> = vec![&self.failure.message];
        for m in &self.failure.revision_messages {
            if !shown.iter().any(|t| t.contains(m.as_str())) {
                google.push_str(&format!(" / revision condition: {m}"));
                shown.push(m);
            }
        }
        let mut x = Explanation::new(
            format!("Cloud Run service {}", self.service),
            self.cause_words(),
        )
        .google(google)
        .fix(self.fix.clone());
        if self.cause != Cause::NotMesh {
            x.why = Some(format!(
                "{}. With a mesh, this message usually means the injected Envoy sidecar (cloud-run-mesh-proxy) \
                 failed its startup probe on port 15020, not that your container failed",
                self.why
            ));
            x.likely = true;
            x.checked = self.checked.clone();
        }
        if attempts.deploys > 0 {
            x.tried = Some(attempts.line());
        }
        x.then = then;
        if !self.next_time.is_empty() {
            x.next_time = Some(self.next_time.clone());
        }
        // Google's message may already carry the logs link.
        if let Some(u) = &self.failure.log_uri {
            if !shown.iter().any(|t| t.contains(u.as_str())) {
                x.logs = Some(u.clone());
            }
        }
        x
    }

    /// The rendered detail of [`Diagnosis::explanation`].
    pub fn detail(&self, attempts: &Attempts, then: Option<&str>) -> String {
        self.explanation(attempts, then.map(str::to_string))
            .detail()
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
            project: "p".into(),
            region: "asia-northeast1".into(),
            service: "orders".into(),
            mesh: "meshapps".into(),
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
        let text = d.detail(&Attempts::default(), None);
        assert!(text.contains("--enable-private-ip-google-access"), "{text}");
        assert!(text.contains("cloud-run-mesh-proxy"), "{text}");
        assert!(
            text.contains("Logs: https://console.cloud.google.com"),
            "{text}"
        );
        assert!(
            text.contains("--region asia-northeast1 --project p"),
            "the gcloud fix runs as pasted: {text}"
        );
    }

    #[test]
    fn a_mesh_past_its_settle_time_but_young_is_named_with_the_setting() {
        let mut c = checks();
        c.mesh_age = Some(Duration::from_secs(90));
        let d = diagnose(sidecar_failure(), &c);
        assert_eq!(
            (d.cause, d.remedy),
            (Cause::MeshTooYoung, Remedy::Recreate),
            "one recreate, as for an unknown cause: the settle time is over"
        );
        let text = d.detail(&Attempts::default(), None);
        assert!(text.contains("mesh meshapps is 90 s old"), "{text}");
        assert!(text.contains("`mesh_settle_time` (now 60 s)"), "{text}");
        c.redeploys = 1;
        assert_eq!(diagnose(sidecar_failure(), &c).remedy, Remedy::Fail);
    }

    #[test]
    fn the_seed_failure_says_what_was_tried_in_a_few_lines() {
        let mut c = checks();
        c.grant = Grant::New {
            age: Duration::from_secs(44),
        };
        c.mesh_age = Some(Duration::from_secs(26_062_534));
        let mut f = sidecar_failure();
        // Google's message often carries the logs link and repeats the revision condition.
        f.message = format!(
            "{} {} Logs: https://console.cloud.google.com/logs/viewer?x",
            f.message, f.revision_messages[0]
        );
        let d = diagnose(f, &c);
        let attempts = Attempts {
            deploys: 4,
            recreates: 3,
            elapsed: Duration::from_secs(45),
        };
        let text = d.detail(
            &attempts,
            Some("the resource's timeout ran out while deleting the service to recreate it."),
        );
        assert!(
            text.contains("Tried: deployed 4 times and recreated 3 times over 45 s."),
            "{text}"
        );
        assert!(text.contains("mesh meshapps is 301 days old"), "{text}");
        assert!(text.contains("granted by this run 44 s ago"), "{text}");
        assert_eq!(
            text.matches("15020 path").count(),
            1,
            "the condition once: {text}"
        );
        assert_eq!(
            text.matches("logs/viewer").count(),
            1,
            "the log link once: {text}"
        );
        assert!(
            text.contains("Fix now:") && text.contains("Next time:"),
            "{text}"
        );
        assert!(
            text.contains("Then the resource's timeout ran out"),
            "{text}"
        );
        assert!(
            text.lines().count() <= 10,
            "short enough for a CI log:\n{text}"
        );
        assert_eq!(
            d.summary(),
            "Cloud Run service orders: mesh sidecar failed: IAM grant not yet effective"
        );
    }

    #[test]
    fn durations_read_as_a_person_reads_them() {
        let cases = [
            (Duration::from_millis(250), "250 ms"),
            (Duration::from_secs(45), "45 s"),
            (Duration::from_secs(200), "3 min 20 s"),
            (Duration::from_secs(600), "10 min"),
            (Duration::from_secs(7500), "2 h 5 min"),
            (Duration::from_secs(26_062_534), "301 days"),
            (Duration::MAX, "213503982334601 days"),
        ];
        for (d, want) in cases {
            assert_eq!(human(d), want);
        }
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
        assert!(!d.detail(&Attempts::default(), None).contains("sidecar"));
        let mut c = checks();
        c.has_mesh = false;
        assert_eq!(diagnose(sidecar_failure(), &c).cause, Cause::NotMesh);
    }
}
