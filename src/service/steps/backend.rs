//! The global INTERNAL_SELF_MANAGED backend service whose one backend is the NEG.

use super::insert::Insert;
use super::{found, gone, is_marked, not_ours, project, Ctx, Part, Record, StepError};
use crate::service::bodies;
use crate::service::explain::Explanation;

/// Ensures the backend service exists as the spec says (repairing drift with a full update, swapping in a renamed
/// NEG).
pub async fn ensure(c: &Ctx) -> Result<Record, StepError> {
    let s = &c.spec;
    let compute = c.clients.compute();
    let want = bodies::backend_service(s);
    let read = |e: gcp::Error| {
        StepError::api(
            &format!("read backend service {}", s.backend_service_name),
            &e,
        )
    };
    let mut created = false;
    for _attempt in 0..5 {
        let have = match compute
            .get_backend_service(&s.project, &s.backend_service_name)
            .await
        {
            Ok(b) => b,
            Err(e) if e.is_not_found() => {
                c.note(|f| f.creating.push(Part::BackendService));
                let insert = Insert::backend_service(c, &want)?;
                let done = match insert.send(c).await {
                    Ok(op) => insert.wait(c, op).await,
                    Err(e) => Err(e),
                };
                match done {
                    Ok(_) => return Ok(Record::BackendService { created: true }),
                    Err(e) if e.is_already_exists() => continue,
                    Err(e) => {
                        return Err(StepError::api(
                            &format!("create backend service {}", s.backend_service_name),
                            &e,
                        ))
                    }
                }
            }
            Err(e) => return Err(read(e)),
        };
        if !c.existing && !is_marked(have.description.as_deref(), s) {
            return Err(not_ours(
                "backend service",
                &s.backend_service_name,
                "backend_service_name",
                s,
            ));
        }
        created = !c.existing;
        if in_place(c, &want, &have).await {
            return Ok(Record::BackendService { created });
        }
        // A full update, not a merge patch: only it removes a setting the configuration no longer has.
        let update = bodies::backend_service_update(&want, &have);
        match compute
            .update_backend_service(&s.project, &s.backend_service_name, &update)
            .await
        {
            Ok(_) => return Ok(Record::BackendService { created }),
            // Someone changed it between our read and write: read again.
            Err(e) if e.is_conflict() => continue,
            Err(e) => {
                return Err(StepError::api(
                    &format!("update backend service {}", s.backend_service_name),
                    &e,
                ))
            }
        }
    }
    let _ = created;
    Err(StepError::refused(
        Explanation::new(
            format!("backend service {}", s.backend_service_name),
            "keeps changing",
        )
        .why("another writer changed it between every read and update of csmrun's (412 on the fingerprint)")
        .fix("apply again once the other writer has stopped"),
    ))
}

/// Deletes a backend service; one that is already gone is fine.
pub async fn delete(c: &Ctx, name: &str) -> Result<(), StepError> {
    let r = c
        .clients
        .compute()
        .delete_backend_service(&c.spec.project, name)
        .await;
    gone(r, &format!("backend service {name}"))
}

/// Whether the backend service exists as the spec says.
pub async fn is_in_place(c: &Ctx) -> Result<bool, StepError> {
    let s = &c.spec;
    let r = c
        .clients
        .compute()
        .get_backend_service(&s.project, &s.backend_service_name)
        .await;
    match found(r, &format!("backend service {}", s.backend_service_name))? {
        Some(b) => Ok(in_place(c, &without_marker(bodies::backend_service(s)), &b).await),
        None => Ok(false),
    }
}

/// `have` holds everything `want` asks for, and the settings csmrun owns whole hold nothing more.
async fn in_place(
    c: &Ctx,
    want: &gcp::compute::BackendService,
    have: &gcp::compute::BackendService,
) -> bool {
    bodies::same_owned_settings(want, have) && project::holds_in(c, want, have).await
}

/// Missing ownership markers on imported parts are not drift (PRODUCT §4).
fn without_marker(mut b: gcp::compute::BackendService) -> gcp::compute::BackendService {
    b.description = None;
    b
}
