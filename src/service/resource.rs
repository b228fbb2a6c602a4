//! The `csmrun_service` resource: tfplug hooks wired to validation, plan, the create graph, refresh, update,
//! delete and import.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplug::resource::{
    decode_value, ApplyResult, Config, CreateRequest, DeleteRequest, ImportResult, MoveRequest,
    MoveResult, Plan, ReadRequest, Resource, UpdateRequest,
};
use tfplug::schema::Schema;
use tfplug::{AttributePath, Context, Diagnostic, Diagnostics, Type};
use tokio_util::sync::CancellationToken;

use super::leftover::{self, Leftover};
use super::model::ServiceModel;
use super::parts::dns;
use super::parts::iam;
use super::parts::{cloud_run, BackendServicePart, Neg, Part as _, Route};
use super::plan::{self, PlanDefaults};
use super::runner::GraphEnd;
use super::spec::Spec;
use super::steps::{create_graph_with, Ctx, Edges, StepError};
use super::update::{self, Contexts, UpdateEnd};
use super::{identity, import, migrate, outcome, schema, state, validate, waits};
use crate::config::ProviderData;

/// `csmrun_service`.
pub struct ServiceResource;

/// Private state: what this resource owns among the shared parts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Private {
    /// Project roles csmrun granted (or inherited) for the runtime account; released on delete by the last user.
    #[serde(default)]
    pub iam_owned: Vec<String>,
    /// Owned parts no attribute names any more (a failed undo, an old part of a rename not yet deleted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
    /// The parts a failed create could not roll back (journal names), saved with the tainted state. While set, a
    /// refresh keeps the resource even with its Cloud Run service gone (the rollback may have removed it), so the
    /// destroy or the replacing create removes the rest instead of Terraform forgetting it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<String>,
    /// The Cloud Run service's `uid` when csmrun created or imported it: a destroy or an update deletes or changes
    /// the service of the state's name only if it is still that one (`identity`). None in states of earlier
    /// versions, and after a create that did not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_uid: Option<String>,
    /// The import id of a service moved from the google provider and not discovered yet (`migrate`): Terraform moves
    /// state on an unconfigured provider, so the first refresh imports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
}

fn ty() -> Type {
    schema::schema().ty()
}

fn defaults_of(ctx: &Context<ProviderData>) -> PlanDefaults {
    match ctx.provider_data() {
        Some(d) => PlanDefaults {
            project: d.project.clone(),
            region: d.region.clone(),
            default_labels: d.default_labels.clone(),
        },
        None => PlanDefaults::default(),
    }
}

fn spec_of(m: &ServiceModel, data: &ProviderData) -> Result<Spec, Diagnostics> {
    Spec::from_model(m, &data.default_labels)
}

/// The provider data and the spec of a resource in state (read, update, delete); a state whose names csmrun would
/// refuse in a configuration is refused before any request (see `validate::check_state`).
fn data_and_spec(
    ctx: &Context<ProviderData>,
    m: &ServiceModel,
    private: &Private,
) -> Result<(Arc<ProviderData>, Spec), Diagnostics> {
    checked_state(m, private)?;
    let data = ctx.configured().map(Arc::clone)?;
    let spec = spec_of(m, &data)?;
    Ok((data, spec))
}

/// Errors for every name of `m` and of its private state that could not have come from a valid configuration.
fn checked_state(m: &ServiceModel, private: &Private) -> Result<(), Diagnostics> {
    let mut problems = validate::check_state(m);
    problems.extend(validate::check_part_names(
        private.leftovers.iter().map(|l| l.name.as_str()),
    ));
    if problems.is_empty() {
        return Ok(());
    }
    Err(problems
        .into_iter()
        .map(|p| Diagnostic::error(p.summary, p.detail).at(AttributePath::from(&p.path)))
        .collect())
}

fn ctx_for(
    data: &Arc<ProviderData>,
    spec: Spec,
    cancel: CancellationToken,
    timeout: std::time::Duration,
    existing: bool,
) -> Arc<Ctx> {
    Ctx::new(Arc::clone(data), spec, cancel, timeout, existing)
}

#[async_trait]
impl Resource for ServiceResource {
    type State = ServiceModel;
    type Private = Private;
    type ProviderData = ProviderData;

    fn type_name(&self) -> String {
        "csmrun_service".into()
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    async fn validate(&self, _ctx: &Context<ProviderData>, config: &Config) -> Diagnostics {
        let m: ServiceModel = match config.decode() {
            Ok(m) => m,
            Err(d) => return d,
        };
        validate::validate(&m)
            .into_iter()
            .map(|p| Diagnostic::error(p.summary, p.detail).at(AttributePath::from(&p.path)))
            .collect()
    }

    async fn plan(&self, ctx: &Context<ProviderData>, p: &mut Plan<Private>) {
        if let Some(d) = migrate::unrefreshed(&p.private) {
            return p.diagnostics.push(d);
        }
        if p.planned.is_null() {
            return;
        }
        let config: ServiceModel = match p.decode_config() {
            Ok(c) => c,
            Err(d) => return p.diagnostics.extend(d),
        };
        let prior: Option<ServiceModel> = match &p.prior {
            Some(v) if !v.is_null() => match decode_value(v, &ty()) {
                Ok(m) => Some(m),
                Err(d) => return p.diagnostics.extend(d),
            },
            _ => None,
        };
        // A plan built on a corrupted state would carry its names into the apply.
        if let Some(prior) = &prior {
            if let Err(d) = checked_state(prior, &Private::default()) {
                return p.diagnostics.extend(d);
            }
        }
        let planned = plan::plan(&config, prior.as_ref(), &defaults_of(ctx));
        for (name, v) in [("project", &planned.project), ("region", &planned.region)] {
            if v.is_null() {
                p.diagnostics.attribute_error(
                    AttributePath::root().attr(name),
                    format!("No {name}"),
                    format!("Set `{name}` on the resource or the provider (or its environment variable)."),
                );
            }
        }
        if let Some(prior) = &prior {
            let replaced = plan::replaced(prior, &planned);
            for name in &replaced {
                p.require_replace(AttributePath::root().attr(name));
            }
            // A replacement deletes the service first, which PREVENT refuses at apply: refuse the plan instead
            // (on every Terraform version: this is the ordinary plan). Values still unknown may not change.
            let known_change = replaced.iter().any(|name| match *name {
                "name" => planned.name.is_known(),
                "project" => planned.project.is_known(),
                _ => planned.region.is_known(),
            });
            if known_change && prior.deletion_policy.known().map(String::as_str) == Some("PREVENT")
            {
                p.diagnostics.push(replacement_prevented(prior, &replaced));
            }
        }
        match tfplug::value::to_value(&planned, &ty()) {
            Ok(v) => p.planned = v,
            Err(e) => p.diagnostics.error(
                "Could not encode the plan",
                format!("{e}. This is a bug in the provider."),
            ),
        }
    }

    /// A destroy plan (Terraform >= 1.3): PREVENT fails it here, before anything is applied.
    async fn plan_destroy(
        &self,
        _ctx: &Context<ProviderData>,
        req: DeleteRequest<ServiceModel, Private>,
    ) -> Diagnostics {
        // A moved service not refreshed since holds no part names: nothing can be planned from it.
        if let Some(d) = migrate::unrefreshed(&req.private) {
            return d.into();
        }
        match req.state.deletion_policy.known().map(String::as_str) {
            Some("PREVENT") => deletion_prevented(&req.state).into(),
            _ => Diagnostics::new(),
        }
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        req: CreateRequest<Private>,
    ) -> ApplyResult<ServiceModel, Private> {
        let data = match ctx.configured() {
            Ok(d) => Arc::clone(d),
            Err(d) => return ApplyResult::failed(d),
        };
        // Writes of this process empty the refreshes' read snapshot for their duration (`service::snapshot`).
        let _writing = data.reads.writing();
        let planned: ServiceModel = match req.decode_planned() {
            Ok(m) => m,
            Err(d) => return ApplyResult::failed(d),
        };
        let spec = match spec_of(&planned, &data) {
            Ok(s) => s,
            Err(d) => return ApplyResult::failed(d),
        };
        let cancel = ctx.cancellation_token().child_token();
        let c = ctx_for(
            &data,
            spec.clone(),
            cancel.clone(),
            spec.timeouts.create,
            false,
        );
        let cleanup = ctx_for(
            &data,
            spec.clone(),
            CancellationToken::new(),
            spec.timeouts.delete,
            false,
        );
        let edges = Arc::new(Edges::default());
        let graph = create_graph_with(&c, &cleanup, &edges);
        let outcome = graph.run(&cancel).await;
        let facts = c.facts();
        let private = Private {
            iam_owned: facts.iam_owned,
            ..Default::default()
        };
        // Told however the create ended: the user sat through them either way.
        let waited = waits::warnings(&facts.waits);
        let result = match outcome {
            GraphEnd::Done(_) => {
                // The Ready service as the Service step last saw it (nothing after it changes the service).
                let svc = match edges.service.get() {
                    Some(d) => Some(d.service),
                    None => cloud_run::get(&cleanup).await.ok().flatten(),
                };
                let private = Private {
                    service_uid: svc.as_ref().and_then(|s| s.uid.clone()),
                    ..private
                };
                ApplyResult::ok(state::after_apply(&planned, svc.as_ref())).with_private(private)
            }
            GraphEnd::RolledBack {
                failed,
                error,
                undone,
            } => ApplyResult::failed(outcome::create_rolled_back(failed, &error, &undone)),
            GraphEnd::Incomplete {
                failed,
                error,
                undo_errors,
                remaining,
            } => {
                let left: Vec<&str> = remaining.iter().map(|e| e.name).collect();
                let diags = outcome::create_incomplete(failed, &error, &undo_errors, &left);
                let private = Private {
                    unfinished: left.iter().map(|n| n.to_string()).collect(),
                    ..private
                };
                ApplyResult::partial(state::after_apply(&planned, None), diags)
                    .with_private(private)
            }
        };
        result.with_diagnostics(waited)
    }

    async fn read(
        &self,
        ctx: &Context<ProviderData>,
        req: ReadRequest<ServiceModel, Private>,
    ) -> ApplyResult<ServiceModel, Private> {
        if let Some(id) = &req.private.moved_from {
            return migrate::read_moved(self, ctx, id).await;
        }
        let prior = req.state;
        let (data, spec) = match data_and_spec(ctx, &prior, &req.private) {
            Ok(x) => x,
            Err(d) => return ApplyResult::partial(prior, d),
        };
        let c = ctx_for(
            &data,
            spec.clone(),
            ctx.cancellation_token().child_token(),
            spec.timeouts.update,
            true,
        );
        match state::observe(&c, state::Via::Snapshot).await {
            Ok(None) if req.private.unfinished.is_empty() => ApplyResult::none(),
            Ok(None) => ApplyResult::ok(state::unfinished(&prior)),
            Ok(Some(o)) => {
                let mut diags = Diagnostics::new();
                if !o.missing_roles.is_empty() {
                    diags.warning(
                        "Project roles missing",
                        format!(
                            "{} no longer has {} on project {}; the mesh sidecar needs them. The next apply \
                             grants them again and redeploys the service.",
                            spec.service_account,
                            o.missing_roles.join(", "),
                            spec.project
                        ),
                    );
                }
                ApplyResult::ok(state::refresh(&prior, &spec, &o, &data.default_labels))
                    .with_diagnostics(diags)
            }
            Err(e) => ApplyResult::partial(prior, outcome::step_diag(&e)),
        }
    }

    async fn update(
        &self,
        ctx: &Context<ProviderData>,
        req: UpdateRequest<ServiceModel, Private>,
    ) -> ApplyResult<ServiceModel, Private> {
        // Every early failure keeps the prior state: an update that returns none would drop the resource.
        let decoded = req.decode_planned::<ServiceModel>();
        let prior = req.prior;
        let (data, old) = match data_and_spec(ctx, &prior, &req.private) {
            Ok(x) => x,
            Err(d) => return ApplyResult::partial(prior, d),
        };
        // See `create`: the read snapshot is empty while this process writes.
        let _writing = data.reads.writing();
        let planned = match decoded {
            Ok(m) => m,
            Err(d) => return ApplyResult::partial(prior, d),
        };
        if let Err(d) = checked_state(&planned, &Private::default()) {
            return ApplyResult::partial(prior, d);
        }
        let new = match spec_of(&planned, &data) {
            Ok(s) => s,
            Err(d) => return ApplyResult::partial(prior, d),
        };
        if only_settings_change(&prior, &planned) {
            return ApplyResult::ok(state::after_apply(&planned, None));
        }
        let cancel = ctx.cancellation_token().child_token();
        let timeout = new.timeouts.update;
        let undo_timeout = new.timeouts.delete;
        let cx = Contexts {
            new: ctx_for(&data, new.clone(), cancel.clone(), timeout, true),
            old: ctx_for(&data, old.clone(), cancel, timeout, true),
            undo_new: ctx_for(&data, new, CancellationToken::new(), undo_timeout, true),
            undo_old: ctx_for(&data, old, CancellationToken::new(), undo_timeout, true),
        };
        let prior_private = req.private;
        if let Err(e) = identity::check_update(&cx, &prior_private).await {
            return ApplyResult::partial(prior, outcome::update_refused(&e));
        }
        claim(&data, &cx.old.spec, &prior_private);
        if cx.old.spec.service_account == cx.new.spec.service_account {
            let owned = prior_private.iam_owned.clone();
            cx.new.note(|f| f.iam_owned = owned);
        }
        // A rollback that deploys the old spec again writes the old account's grants into its annotation.
        let owned = prior_private.iam_owned.clone();
        cx.undo_old.note(|f| f.iam_owned = owned);
        let end = update::run(&cx, &prior_private.leftovers, &prior_private.iam_owned).await;
        let waited = waits::warnings(&cx.new.facts().waits);
        let result = match end {
            UpdateEnd::Done {
                cleanup_error,
                leftovers,
            } => {
                let svc = cloud_run::get(&cx.new).await.ok().flatten();
                // Every part was ensured: nothing of an unfinished create is left. The service is the one checked
                // before the update, or the one it recreated.
                let private = Private {
                    iam_owned: cx.new.facts().iam_owned,
                    leftovers,
                    unfinished: Vec::new(),
                    service_uid: svc
                        .as_ref()
                        .and_then(|s| s.uid.clone())
                        .or(prior_private.service_uid),
                    moved_from: None,
                };
                let done = state::after_apply(&planned, svc.as_ref());
                match cleanup_error {
                    None => ApplyResult::ok(done).with_private(private),
                    Some(e) => ApplyResult::partial(done, outcome::update_cleanup_failed(&e))
                        .with_private(private),
                }
            }
            UpdateEnd::RolledBack { error } => {
                let (now, uid) = refreshed(&cx.undo_old, &prior, &data).await;
                // A role granted again after the deploy (another writer had removed it) stays: the service,
                // back on its prior settings, still runs as the account. It is this resource's from now on.
                let mut private = prior_private;
                private.service_uid = uid.or(private.service_uid);
                if cx.old.spec.service_account == cx.new.spec.service_account {
                    private.iam_owned.extend(cx.new.facts().iam_regranted);
                    private.iam_owned.sort();
                    private.iam_owned.dedup();
                }
                ApplyResult::partial(now, outcome::update_rolled_back(&error)).with_private(private)
            }
            UpdateEnd::Incomplete {
                error,
                undo_errors,
                leftovers,
                roles_kept,
            } => {
                let names: Vec<&str> = leftovers.iter().map(|l| l.name.as_str()).collect();
                let diags = outcome::update_incomplete(&error, &undo_errors, &names);
                let mut iam_owned = prior_private.iam_owned;
                if cx.old.spec.service_account == cx.new.spec.service_account {
                    iam_owned.extend(roles_kept);
                    iam_owned.extend(cx.new.facts().iam_regranted);
                    iam_owned.sort();
                    iam_owned.dedup();
                }
                let (now, uid) = refreshed(&cx.undo_old, &prior, &data).await;
                ApplyResult::partial(now, diags).with_private(Private {
                    iam_owned,
                    leftovers,
                    unfinished: prior_private.unfinished,
                    service_uid: uid.or(prior_private.service_uid),
                    moved_from: None,
                })
            }
        };
        result.with_diagnostics(waited)
    }

    async fn delete(
        &self,
        ctx: &Context<ProviderData>,
        req: DeleteRequest<ServiceModel, Private>,
    ) -> ApplyResult<ServiceModel, Private> {
        let prior = req.state;
        // Terraform < 1.3 plans destroys without asking (no plan_destroy): refused here too.
        if let Some(d) = migrate::unrefreshed(&req.private) {
            let refused: Diagnostics = d.into();
            return ApplyResult::partial(prior, refused);
        }
        match prior.deletion_policy.known().map(String::as_str) {
            // Terraform < 1.3 plans destroys without asking (no plan_destroy), so the refusal stays here too.
            Some("PREVENT") => {
                let refused = deletion_prevented(&prior);
                return ApplyResult::partial(prior, refused);
            }
            Some("ABANDON") => {
                let mut diags = Diagnostics::new();
                diags.warning(
                    "Resource abandoned",
                    "`deletion_policy = \"ABANDON\"`: the service and its parts were left in place and removed from \
                     state only.",
                );
                return ApplyResult::none().with_diagnostics(diags);
            }
            _ => {}
        }
        let (data, spec) = match data_and_spec(ctx, &prior, &req.private) {
            Ok(x) => x,
            Err(d) => return ApplyResult::partial(prior, d),
        };
        // See `create`: the read snapshot is empty while this process writes.
        let _writing = data.reads.writing();
        let c = ctx_for(
            &data,
            spec.clone(),
            ctx.cancellation_token().child_token(),
            spec.timeouts.delete,
            true,
        );
        claim(&data, &spec, &req.private);
        match delete_parts(&c, &req.private).await {
            Ok(()) => ApplyResult::none(),
            Err(DeleteFailed::NotThisServices(e)) => {
                ApplyResult::partial(prior, outcome::delete_refused(&e))
            }
            Err(DeleteFailed::PartWay(e)) => {
                ApplyResult::partial(prior, outcome::delete_failed(&e))
            }
        }
    }

    async fn import(
        &self,
        ctx: &Context<ProviderData>,
        id: &str,
    ) -> ImportResult<ServiceModel, Private> {
        let data = match ctx.configured() {
            Ok(d) => Arc::clone(d),
            Err(d) => return ImportResult::failed(d),
        };
        // The refresh that follows an import must read what import found, not a snapshot from before it.
        let _writing = data.reads.writing();
        let (project, region, name) =
            match import::parse_id(id, data.project.as_deref(), data.region.as_deref()) {
                Ok(x) => x,
                Err(e) => return ImportResult::failed(Diagnostic::error("Invalid import id", e)),
            };
        let clients = data.clients.with_cancel(ctx.cancellation_token().clone());
        match import::discover(&clients, &project, &region, &name).await {
            Ok(found) => {
                let m = found.model;
                let planned = plan::plan(&m, Some(&m), &PlanDefaults::default());
                let mut result = ImportResult::one(state::after_apply(&planned, None));
                if let Some(w) = found.warning {
                    result.diagnostics.push(w);
                }
                if let Some(first) = result.imported.first_mut() {
                    first.private = Private {
                        iam_owned: found.iam_owned,
                        service_uid: found.service_uid,
                        ..Default::default()
                    };
                }
                result
            }
            Err(e) => ImportResult::failed(outcome::step_diag(&e)),
        }
    }

    /// A `moved` block from the google provider's `google_cloud_run_v2_service`: `migrate` (discovery at the refresh).
    async fn move_state(
        &self,
        _ctx: &Context<ProviderData>,
        req: MoveRequest,
    ) -> MoveResult<ServiceModel, Private> {
        migrate::move_state(&req)
    }
}

/// The refusal of `deletion_policy = "PREVENT"`, at plan time (`plan_destroy`) or at apply (`delete`, Terraform
/// < 1.3). Terraform prints no resource address with a destroy's diagnostics when the resource left the
/// configuration: the text names the service.
fn deletion_prevented(prior: &ServiceModel) -> Diagnostic {
    let name = prior.name.known().cloned().unwrap_or_default();
    let id = prior.id.known().cloned().unwrap_or_else(|| name.clone());
    Diagnostic::error(
        format!("Deletion of Cloud Run service {name} prevented"),
        format!(
            "The csmrun_service {id} has `deletion_policy = \"PREVENT\"`. To delete it, set \
             `deletion_policy = \"DELETE\"` and apply, then destroy; to stop managing it without \
             deleting anything, set \"ABANDON\" (or run `terraform state rm`)."
        ),
    )
}

/// The plan-time refusal of a replacement (`name`, `project` or `region` changed) under `deletion_policy =
/// "PREVENT"`.
fn replacement_prevented(prior: &ServiceModel, replaced: &[&str]) -> Diagnostic {
    let name = prior.name.known().cloned().unwrap_or_default();
    let id = prior.id.known().cloned().unwrap_or_else(|| name.clone());
    let attrs = replaced
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Diagnostic::error(
        format!("Replacement of Cloud Run service {name} prevented"),
        format!(
            "Changing {attrs} replaces the csmrun_service {id}, which deletes it first, and it has \
             `deletion_policy = \"PREVENT\"`. To replace it, set `deletion_policy = \"DELETE\"` and apply without \
             the change, then make the change; or keep {attrs} as they are."
        ),
    )
    .at(AttributePath::root().attr(replaced.first().copied().unwrap_or("name")))
}

/// Tells this process's IAM coalescer which grants the resource owns, before its update or destroy changes the
/// service that shows them, so a sibling joining the account meanwhile shares them (see `iam::release`).
fn claim(data: &ProviderData, spec: &Spec, private: &Private) {
    data.iam
        .claim(&spec.project, &private.iam_owned, &spec.sa_member());
}

/// True when only Terraform-side settings (`deletion_policy`, `timeouts`) change: nothing to do in the cloud.
fn only_settings_change(prior: &ServiceModel, planned: &ServiceModel) -> bool {
    let mut a = prior.clone();
    a.deletion_policy = planned.deletion_policy.clone();
    a.timeouts = planned.timeouts.clone();
    &a == planned
}

/// The prior state refreshed from the cloud after a failed update, so it says what exists; the prior state
/// itself when the cloud cannot be read. Also the service's `uid`: the update checked the service was this one
/// before it started, and a recreate during it gave the service a new one.
async fn refreshed(
    c: &Ctx,
    prior: &ServiceModel,
    data: &ProviderData,
) -> (ServiceModel, Option<String>) {
    match state::observe(c, state::Via::Gets).await {
        Ok(Some(o)) => (
            state::refresh(prior, &c.spec, &o, &data.default_labels),
            o.service.uid.clone(),
        ),
        _ => (prior.clone(), None),
    }
}

/// How a destroy failed.
#[derive(Debug)]
pub(crate) enum DeleteFailed {
    /// A part the state names is not this service's (`identity`): nothing was deleted.
    NotThisServices(StepError),
    /// A delete failed after others had been done.
    PartWay(StepError),
}

/// Delete: every part the state names checked to be this service's first (`identity::check`: reads only, so a
/// state naming someone else's object deletes nothing), then owned parts in reverse order, then the shared ones by
/// the rules of PRODUCT §2; a part the check found gone is not deleted again. DNS and the grants are released
/// before the Cloud Run service is deleted: refresh drops the resource once the service is gone, so a destroy cut
/// short (crash, kill) after that point would leave them with nobody to release them. What a first grant release
/// keeps because another service of the account is listed is released again after the delete.
pub(crate) async fn delete_parts(c: &Ctx, private: &Private) -> Result<(), DeleteFailed> {
    let s = &c.spec;
    let present = identity::check(c, private.service_uid.as_deref(), &private.leftovers)
        .await
        .map_err(DeleteFailed::NotThisServices)?;
    let part_way = DeleteFailed::PartWay;
    if present.route {
        Route::delete(c, &s.route_name).await.map_err(part_way)?;
    }
    if present.backend_service {
        BackendServicePart::delete(c, &s.backend_service_name)
            .await
            .map_err(part_way)?;
    }
    if present.neg {
        Neg::delete(c, &s.neg_name).await.map_err(part_way)?;
    }
    let (_, failed) = leftover::delete_all(c, present.leftovers).await;
    if let Some(e) = failed {
        return Err(part_way(e));
    }
    dns::leave(c).await.map_err(part_way)?;
    // Grants are released twice (see `iam::release`): before the service delete, while its annotation still
    // tells a service joining the account that csmrun made the grant, and after it, for what was kept because
    // another service of the account was listed (two services leaving at once each see the other first).
    let kept = iam::release_before_delete(c, &private.iam_owned)
        .await
        .map_err(part_way)?;
    if present.service {
        cloud_run::delete(c).await.map_err(part_way)?;
    }
    iam::release_after_delete(c, &kept)
        .await
        .map_err(part_way)?;
    Ok(())
}
