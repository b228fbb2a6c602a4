//! Migration from the google provider by `moved` (protocol 6.5 MoveResourceState, Terraform >= 1.8).
//!
//! A user who built the mesh service from google provider resources writes one
//! `moved { from = google_cloud_run_v2_service.x  to = csmrun_service.x }` and `removed { lifecycle { destroy =
//! false } }` blocks for the other parts. Terraform then hands this resource the google provider's stored state of
//! the Cloud Run service. Only its identity is read from it (`project`, `location`, `name`); the parts are found by
//! import's discovery, so the state and private state are exactly what `terraform import` of the same service and
//! its refresh would give, and the plan that follows changes nothing in the cloud when the configuration matches the
//! parts.
//!
//! Terraform calls MoveResourceState before it configures the provider (like UpgradeResourceState), so the move
//! cannot discover anything: it returns the service's identity with the import id in private state (`moved_from`),
//! and the refresh Terraform runs next, configured, imports and reads the service ([`read_moved`]). A `plan
//! -refresh=false` would plan from that bare identity, so it fails instead ([`unrefreshed`]).
//!
//! Accepted sources: `google_cloud_run_v2_service` of `hashicorp/google` or `hashicorp/google-beta`, at schema
//! version 0. The google provider's resource has never declared a `SchemaVersion` or state upgraders (its
//! generated `resource_cloud_run_v2_service.go` and magic-modules `mmv1/products/cloudrunv2/Service.yaml` set none),
//! so every state it wrote is version 0. Anything else is refused with the fix: an `import` block.

use serde_json::Value as Json;
use tfplug::resource::{ApplyResult, MoveRequest, MoveResult, ReadRequest, Resource};
use tfplug::{Context, Diagnostic, Val};

use super::model::ServiceModel;
use super::resource::{Private, ServiceResource};
use crate::config::ProviderData;

/// The one google provider resource type a `csmrun_service` can be moved from.
pub const SOURCE_TYPE: &str = "google_cloud_run_v2_service";

/// The providers that serve [`SOURCE_TYPE`]; Terraform sends the full address.
pub const SOURCE_PROVIDERS: [&str; 2] = [
    "registry.terraform.io/hashicorp/google",
    "registry.terraform.io/hashicorp/google-beta",
];

/// The schema versions the google provider has written for [`SOURCE_TYPE`] (see the module doc).
pub const SOURCE_SCHEMA_VERSIONS: [i64; 1] = [0];

const SUMMARY: &str = "Cannot move this resource into csmrun_service";

/// The fix every refusal names.
fn fix(to: &str) -> String {
    format!(
        "Remove the `moved` block and import the service instead: `import {{ to = {to}  id = \
         \"projects/PROJECT/locations/REGION/services/NAME\" }}` (Terraform >= 1.5) or `terraform import`."
    )
}

/// Checks the source and returns the import id of the Cloud Run service it names.
pub fn import_id_of(req: &MoveRequest) -> Result<String, Diagnostic> {
    let accepted = format!(
        "csmrun_service accepts a `moved` block only from {SOURCE_TYPE} of {} at schema version {}.",
        SOURCE_PROVIDERS.join(" or "),
        SOURCE_SCHEMA_VERSIONS
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let refuse = |what: String| {
        Diagnostic::error(
            SUMMARY,
            format!("{what} {accepted} {}", fix("csmrun_service.NAME")),
        )
    };
    if req.source_type_name != SOURCE_TYPE {
        return Err(refuse(format!(
            "The source is a {} of {}.",
            req.source_type_name, req.source_provider_address
        )));
    }
    if !SOURCE_PROVIDERS.contains(&req.source_provider_address.as_str()) {
        return Err(refuse(format!(
            "The source {SOURCE_TYPE} is of the provider {}.",
            req.source_provider_address
        )));
    }
    if !SOURCE_SCHEMA_VERSIONS.contains(&req.source_schema_version) {
        return Err(refuse(format!(
            "The source {SOURCE_TYPE} was stored at schema version {}, which this csmrun does not know.",
            req.source_schema_version
        )));
    }
    let field = |key: &str| -> Result<String, Diagnostic> {
        match req.source_state.get(key) {
            Some(Json::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(refuse(format!(
                "The state of the source {SOURCE_TYPE} has no `{key}`."
            ))),
        }
    };
    let project = field("project")?;
    let location = field("location")?;
    // The google provider stores the short name, but its `name` also accepts a full resource name (it suppresses the
    // difference), so the last segment is the service either way.
    let name = field("name")?;
    let name = name.rsplit('/').next().unwrap_or(&name).to_string();
    Ok(format!(
        "projects/{project}/locations/{location}/services/{name}"
    ))
}

/// MoveResourceState for `csmrun_service`: the identity from the google provider's state; discovery waits for the
/// refresh (module doc).
pub fn move_state(req: &MoveRequest) -> MoveResult<ServiceModel, Private> {
    let id = match import_id_of(req) {
        Ok(id) => id,
        Err(d) => return MoveResult::failed(d),
    };
    let segment = |i: usize| {
        id.split('/')
            .nth(i)
            .map(|s| Val::Known(s.to_string()))
            .unwrap_or_default()
    };
    let model = ServiceModel {
        id: Val::Known(id.clone()),
        project: segment(1),
        region: segment(3),
        name: segment(5),
        ..ServiceModel::default()
    };
    let private = Private {
        moved_from: Some(id),
        ..Private::default()
    };
    MoveResult::ok(model, private)
}

/// A plan (update or destroy) of a moved service that was never refreshed (`-refresh=false`): its state holds only
/// the identity, so nothing can be planned from it safely.
pub fn unrefreshed(private: &Private) -> Option<Diagnostic> {
    let id = private.moved_from.as_deref()?;
    Some(Diagnostic::error(
        SUMMARY,
        format!(
            "The service {id} was moved from the google provider and not refreshed since, so csmrun has not \
             discovered its parts yet. Plan without -refresh=false (the refresh discovers them, as import does)."
        ),
    ))
}

/// The first refresh after a move: import `id` as `terraform import` does, then read what it found, as Terraform
/// does after an import.
pub async fn read_moved(
    resource: &ServiceResource,
    ctx: &Context<ProviderData>,
    id: &str,
) -> ApplyResult<ServiceModel, Private> {
    tracing::info!(%id, "discovering the parts of a service moved from the google provider");
    let imported = resource.import(ctx, id).await;
    let mut diagnostics = imported.diagnostics;
    let Some(one) = imported
        .imported
        .into_iter()
        .next()
        .filter(|_| !diagnostics.has_errors())
    else {
        if !diagnostics.has_errors() {
            diagnostics.error(
                SUMMARY,
                format!(
                    "No Cloud Run service {id} was found. {}",
                    fix("csmrun_service.NAME")
                ),
            );
        }
        return ApplyResult::failed(diagnostics);
    };
    let imported_private = one.private.clone();
    let mut read = resource
        .read(
            ctx,
            ReadRequest {
                state: one.state,
                private: one.private,
            },
        )
        .await;
    // A read that keeps the private state returns none, and Terraform would keep the moved one (`moved_from`): the
    // import's is the one to keep.
    if read.private.is_none() {
        read = read.with_private(imported_private);
    }
    read.with_diagnostics(diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(provider: &str, type_name: &str, version: i64, state: Json) -> MoveRequest {
        MoveRequest {
            source_provider_address: provider.into(),
            source_type_name: type_name.into(),
            source_schema_version: version,
            source_state: state,
            source_private: Vec::new(),
        }
    }

    fn google_state() -> Json {
        serde_json::json!({
            "id": "projects/p1/locations/asia-northeast1/services/target",
            "name": "target",
            "location": "asia-northeast1",
            "project": "p1",
            "template": [{"containers": [{"image": "gcr.io/p1/app"}]}],
        })
    }

    #[test]
    fn both_google_providers_at_version_0_give_the_services_import_id() {
        for provider in SOURCE_PROVIDERS {
            assert_eq!(
                import_id_of(&req(provider, SOURCE_TYPE, 0, google_state())).map_err(|d| d.detail),
                Ok("projects/p1/locations/asia-northeast1/services/target".to_string())
            );
        }
        let mut full = google_state();
        full["name"] = Json::from("projects/p1/locations/asia-northeast1/services/target");
        assert_eq!(
            import_id_of(&req(SOURCE_PROVIDERS[0], SOURCE_TYPE, 0, full)).map_err(|d| d.detail),
            Ok("projects/p1/locations/asia-northeast1/services/target".to_string())
        );
    }

    #[test]
    fn a_move_keeps_the_identity_and_leaves_discovery_to_the_first_refresh() {
        let moved = move_state(&req(SOURCE_PROVIDERS[1], SOURCE_TYPE, 0, google_state()));
        assert!(moved.diagnostics.is_empty(), "{:?}", moved.diagnostics);
        let Some(one) = moved.moved else {
            panic!("no moved state")
        };
        let id = "projects/p1/locations/asia-northeast1/services/target";
        assert_eq!(one.state.id, Val::Known(id.to_string()));
        assert_eq!(one.state.project, Val::Known("p1".to_string()));
        assert_eq!(one.state.region, Val::Known("asia-northeast1".to_string()));
        assert_eq!(one.state.name, Val::Known("target".to_string()));
        assert_eq!(one.private.moved_from.as_deref(), Some(id));
        assert!(unrefreshed(&one.private).is_some_and(|d| d.detail.contains("-refresh=false")));
        assert!(unrefreshed(&Private::default()).is_none());
        let refused = move_state(&req(
            SOURCE_PROVIDERS[0],
            "google_cloud_run_service",
            0,
            google_state(),
        ));
        assert!(refused.moved.is_none() && refused.diagnostics.has_errors());
    }

    #[test]
    fn other_sources_are_refused_naming_what_is_accepted_and_import() {
        let cases = [
            (
                req(
                    SOURCE_PROVIDERS[0],
                    "google_cloud_run_service",
                    0,
                    google_state(),
                ),
                "is a google_cloud_run_service of registry.terraform.io/hashicorp/google.",
            ),
            (
                req(
                    "registry.terraform.io/example/google",
                    SOURCE_TYPE,
                    0,
                    google_state(),
                ),
                "of the provider registry.terraform.io/example/google.",
            ),
            (
                req(SOURCE_PROVIDERS[1], SOURCE_TYPE, 1, google_state()),
                "stored at schema version 1",
            ),
            (
                req(
                    SOURCE_PROVIDERS[0],
                    SOURCE_TYPE,
                    0,
                    serde_json::json!({"name": "target", "location": "r"}),
                ),
                "has no `project`",
            ),
        ];
        for (r, needle) in cases {
            let d = match import_id_of(&r) {
                Err(d) => d,
                Ok(id) => panic!("{needle}: accepted as {id}"),
            };
            assert_eq!(d.summary, SUMMARY);
            assert!(d.detail.contains(needle), "{needle:?} in {}", d.detail);
            assert!(
                d.detail.contains("only from google_cloud_run_v2_service of registry.terraform.io/hashicorp/google or registry.terraform.io/hashicorp/google-beta at schema version 0"),
                "{}",
                d.detail
            );
            assert!(d.detail.contains("import {"), "{}", d.detail);
        }
    }
}
