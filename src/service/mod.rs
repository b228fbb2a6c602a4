//! `csmrun_service`: the whole mesh service (Cloud Run, NEG, backend service, route, DNS, IAM) as one resource.
//!
//! Flow: `resource` (tfplug hooks) → `validate` (plan-time, no network) → `plan` (defaults, derived ids) →
//! `spec` (the resolved desired parts) → `runner` + `steps` (create graph, journal, rollback), `update` (the
//! journaled update sequence) or the delete sequence in `resource`, failures worded by `outcome` → `state`
//! (refresh with drift markers) / `import` (discovery). `leftover`: owned parts named only in private state.
//!
//! Choices where PRODUCT.md is silent:
//! - `hostname` must lie under `domain`: the wildcard record this resource manages is what makes it resolvable.
//! - `invokers` accepts `allUsers` and `allAuthenticatedUsers` (Cloud Run does; organisation policy may not).
//! - The container port cannot be one the mesh sidecar uses (15000-15090 family, e.g. 15001, 15020).
//! - A part deleted or changed out of band is shown as its read-only id (`neg`, `backend_service`, `http_route`,
//!   `dns_zone`) becoming `""`; the plan sets it back, which is the in-place update that repairs it.
//! - Project roles csmrun granted are recorded in private state and on the service as the annotation
//!   `csmrun.dev/iam-roles`, so the last service using an account releases them, also after import or a crash.
//! - Refresh drops a resource whose Cloud Run service is gone, except a create whose rollback failed (tainted,
//!   private `unfinished`): its Cloud Run service may be gone while other parts remain, and dropping it would orphan
//!   them; it stays until the destroy or the replacing create removes them.
//!
//! Ownership of a project role binding (who may remove it): csmrun removes the account's membership in a role only if
//! csmrun added it, as one of these records says, and no other Cloud Run service with a `serviceMesh` runs as the
//! account. Cloud Run v2 cannot list across regions (`locations/-` is refused), so the account's services are looked
//! for in this service's region and in every region holding a serverless NEG (see `steps::iam::list_services`): every
//! csmrun service has its NEG from before its grant until its destroy, but a mesh service made outside csmrun in a
//! region without any serverless NEG is not seen. The records: the resource's private state; the `csmrun.dev/iam-roles` annotation of a service running as
//! the account; and `iam-grants=<roles>` in the description of the service's NEG. A service that finds the binding
//! already there owns it too when this provider process added it (another service's edit, coalesced into the same
//! policy write or made a moment earlier, whose service cannot carry the annotation yet): every service that shares a
//! binding csmrun added records it, so whichever is destroyed last removes it. A create reads the project policy, sends
//! the insert of the NEG naming the roles the account lacks, and grants them once Google has accepted that insert (its
//! operation returned): the NEG then exists whatever happens to this process, while its operation is awaited beside the
//! propagation wait, so the grant costs the critical path one request, not the NEG's operation time (in the create
//! graph IAM runs after the accepted NEG insert). A provider killed during the propagation wait, before the service
//! exists, thus leaves a NEG that says csmrun made the grant; the next create adopts the NEG (it carries the ownership
//! marker), takes the roles it names as its own, waits the full `iam_propagation_wait` again, and records them in
//! private state and the annotation; a rollback of that create releases them with the NEG. A binding already present
//! when the NEG was created is not named there and is never removed. An update that grants (new `service_account`,
//! `trace` turned on) and is killed before the service is patched leaves a role csmrun does not know it made: it stays
//! (never removing what csmrun cannot show it added).
//!
//! Other writers (another resource of the apply, another Terraform run) race a release, and the policy cannot be
//! changed on a condition about other resources, so each side checks again after its own change: a release lists the
//! account's services again after removing a role and grants it back if a service appeared; a deployed (or failing)
//! service reads the policy again and grants what went missing since its IAM step, owning it from then on. Destroy
//! and a create's rollback release before the service delete (its annotation still shows a joiner that csmrun made
//! the grant, and a destroy killed after the delete leaves nothing behind) and again after it for what was kept (two
//! last users leaving at once: after both deletes one of them sees nobody). A rollback releases every role the create
//! owns, inherited ones included; a release keeps what another service needs.
//! A service that joins an account while another run's create is in its propagation wait (grant made, no service
//! and so no annotation yet) learns that the grant is csmrun's from that create's NEG, whose description names the
//! roles and the account (`iam-grants=… iam-account=…`); only NEGs of its own region are read. What remains open
//! (RELIABILITY.md): the grant-in-flight case above across regions (the grant then stays after the last user goes;
//! never a loss).
//!
//! Users of the shared DNS zone: the zone holds a TXT registry listing, one quoted string per rrdata, the ownership
//! marker of every service using the domain: the head `_csmrun-users.<domain>.` and, past Cloud DNS's 100 rrdatas
//! per record set, shards `_csmrun-users-<k>.<domain>.` that the head names (`steps::dns` has the protocol and the
//! argument that shards keep the guarantees). It is changed only with Cloud DNS `changes.create`, whose deletions
//! must match each record set exactly, so each change is a compare-and-swap; each change is awaited until Google
//! reports it `done` before the registry is read again or the zone deleted.
//! A create (its record step) and an update register the service after the zone exists and before the record is
//! ensured and the route made; a leaver (destroy, update to another domain, rollback of a create or of such an
//! update) unregisters, and only when nobody registered remains, no other HTTPRoute serves a hostname under the
//! domain (services made before the registry, or imported and not updated since, which their first update
//! registers) and the zone carries csmrun's label does it delete the registry and the wildcard record in one change,
//! then the zone (a `containerNotEmpty` answer means someone registered meanwhile: the zone stays). Within one
//! provider process the registrations of a zone are coalesced into one change per batch (`steps::dns::ZoneLocks`).
//! A registration whose create is killed stays: the zone is kept until that service is destroyed, and the resumed
//! create finds itself listed. Registry membership is not drift (refresh does not read it).

pub mod bodies;
pub mod defaults;
pub mod diagnose;
pub mod duration;
pub mod explain;
pub mod import;
pub mod leftover;
pub mod model;
pub mod names;
pub mod outcome;
pub mod parts;
pub mod path;
pub mod plan;
pub mod resource;
pub mod runner;
pub mod schema;
pub mod spec;
pub mod state;
pub mod steps;
pub mod subset;
pub mod update;
pub mod val;
pub mod validate;

#[cfg(test)]
#[path = "dns_registry_tests.rs"]
mod dns_registry_tests;
#[cfg(test)]
#[path = "graph_tests.rs"]
mod graph_tests;
#[cfg(test)]
#[path = "iam_tests.rs"]
mod iam_tests;
#[cfg(test)]
#[path = "refresh_tests.rs"]
mod refresh_tests;
#[cfg(test)]
#[path = "rollback_tests.rs"]
mod rollback_tests;
#[cfg(test)]
#[path = "shared_grant_tests.rs"]
mod shared_grant_tests;
#[cfg(test)]
mod testenv;
#[cfg(test)]
#[path = "troubleshooting_tests.rs"]
mod troubleshooting_tests;
#[cfg(test)]
#[path = "update_tests.rs"]
mod update_tests;
#[cfg(test)]
mod validate_table;
