//! TEST-ONLY stand-in for the google provider (`hashicorp/google`), built with tfplug, so the migration test
//! (`tests/migrate_from_google.rs`) has state that Terraform records as the google provider's. It never calls a
//! cloud: `import` fills the state from the import ID (parsed by the resource's ID format), create and update
//! store what was planned, read returns the state unchanged, delete forgets. Never use it for anything else.
//!
//! Resource types and attributes follow the google-beta provider's schemas (hashicorp/terraform-provider-google-beta,
//! generated from magic-modules `mmv1/products/*`), for the attributes that matter to the mesh service's layout;
//! nested objects are SDKv2 list blocks, as there:
//! - google_cloud_run_v2_service: name, location, project, id, uid, uri, ingress, block template { service_account,
//!   block containers { image } } (id `projects/{{project}}/locations/{{location}}/services/{{name}}`, schema
//!   version 0);
//! - google_compute_region_network_endpoint_group: name, region, project, network_endpoint_type, self_link, id,
//!   block cloud_run { service };
//! - google_compute_backend_service: name, project, load_balancing_scheme, protocol, self_link, id, block
//!   backend { group };
//! - google_network_services_http_route: name, project, hostnames, meshes, id, block rules { block
//!   action { block destinations { service_name, weight } } };
//! - google_dns_managed_zone: name, project, dns_name, visibility, id;
//! - google_dns_record_set: name, managed_zone, type, ttl, rrdatas, project, id;
//! - google_project_iam_member: project, role, member, etag, id (import ID `PROJECT ROLE MEMBER`);
//! - google_cloud_run_v2_service_iam_member: name, location, project, role, member, etag, id (import ID
//!   `projects/P/locations/L/services/NAME ROLE MEMBER`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use async_trait::async_trait;
use tfplug::data_source::AnyDataSource;
use tfplug::provider::{ConfigureRequest, Configured, Provider};
use tfplug::resource::{
    AnyResource, ApplyResult, CreateRequest, DeleteRequest, ImportResult, ReadRequest, Resource,
    UpdateRequest,
};
use tfplug::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
use tfplug::{Context, Diagnostic, Type, Value};

/// One stand-in resource type: its schema, the ID it stores and the import IDs it accepts (`{{attr}}` fills an
/// attribute; each placeholder runs to the next literal text).
struct Standin {
    type_name: &'static str,
    block: Block,
    id_format: &'static str,
    import_formats: &'static [&'static str],
}

fn s(name: &str) -> Attribute {
    Attribute::required(name, Type::String).requires_replace()
}

fn opt(name: &str, ty: Type) -> Attribute {
    Attribute::optional_computed(name, ty).use_state_for_unknown()
}

fn out(name: &str) -> Attribute {
    Attribute::computed(name, Type::String).use_state_for_unknown()
}

fn standins() -> Vec<Standin> {
    let strings = Type::list(Type::String);
    vec![
        Standin {
            type_name: "google_cloud_run_v2_service",
            block: Block::new()
                .attribute(s("name"))
                .attribute(s("location"))
                .attribute(opt("project", Type::String))
                .attribute(out("id"))
                .attribute(out("uid"))
                .attribute(out("uri"))
                .attribute(opt("ingress", Type::String))
                .block(
                    NestedBlock::list(
                        "template",
                        Block::new()
                            .attribute(opt("service_account", Type::String))
                            .block(NestedBlock::list(
                                "containers",
                                Block::new().attribute(Attribute::required("image", Type::String)),
                            )),
                    )
                    .max_items(1),
                ),
            id_format: "projects/{{project}}/locations/{{location}}/services/{{name}}",
            import_formats: &["projects/{{project}}/locations/{{location}}/services/{{name}}"],
        },
        Standin {
            type_name: "google_compute_region_network_endpoint_group",
            block: Block::new()
                .attribute(s("name"))
                .attribute(s("region"))
                .attribute(opt("project", Type::String))
                .attribute(opt("network_endpoint_type", Type::String))
                .attribute(out("self_link"))
                .attribute(out("id"))
                .block(
                    NestedBlock::list(
                        "cloud_run",
                        Block::new().attribute(opt("service", Type::String)),
                    )
                    .max_items(1),
                ),
            id_format: "projects/{{project}}/regions/{{region}}/networkEndpointGroups/{{name}}",
            import_formats: &[
                "projects/{{project}}/regions/{{region}}/networkEndpointGroups/{{name}}",
            ],
        },
        Standin {
            type_name: "google_compute_backend_service",
            block: Block::new()
                .attribute(s("name"))
                .attribute(opt("project", Type::String))
                .attribute(opt("load_balancing_scheme", Type::String))
                .attribute(opt("protocol", Type::String))
                .attribute(out("self_link"))
                .attribute(out("id"))
                .block(NestedBlock::set(
                    "backend",
                    Block::new().attribute(Attribute::required("group", Type::String)),
                )),
            id_format: "projects/{{project}}/global/backendServices/{{name}}",
            import_formats: &["projects/{{project}}/global/backendServices/{{name}}"],
        },
        Standin {
            type_name: "google_network_services_http_route",
            block: Block::new()
                .attribute(s("name"))
                .attribute(opt("project", Type::String))
                .attribute(Attribute::required("hostnames", strings.clone()))
                .attribute(Attribute::optional("meshes", strings.clone()))
                .attribute(out("id"))
                .block(NestedBlock::list(
                    "rules",
                    Block::new().block(
                        NestedBlock::list(
                            "action",
                            Block::new().block(NestedBlock::list(
                                "destinations",
                                Block::new()
                                    .attribute(opt("service_name", Type::String))
                                    .attribute(opt("weight", Type::Number)),
                            )),
                        )
                        .max_items(1),
                    ),
                )),
            id_format: "projects/{{project}}/locations/global/httpRoutes/{{name}}",
            import_formats: &["projects/{{project}}/locations/global/httpRoutes/{{name}}"],
        },
        Standin {
            type_name: "google_dns_managed_zone",
            block: Block::new()
                .attribute(s("name"))
                .attribute(opt("project", Type::String))
                .attribute(opt("dns_name", Type::String))
                .attribute(opt("visibility", Type::String))
                .attribute(out("id")),
            id_format: "projects/{{project}}/managedZones/{{name}}",
            import_formats: &["projects/{{project}}/managedZones/{{name}}"],
        },
        Standin {
            type_name: "google_dns_record_set",
            block: Block::new()
                .attribute(s("name"))
                .attribute(s("managed_zone"))
                .attribute(s("type"))
                .attribute(opt("ttl", Type::Number))
                .attribute(opt("rrdatas", strings))
                .attribute(opt("project", Type::String))
                .attribute(out("id")),
            id_format:
                "projects/{{project}}/managedZones/{{managed_zone}}/rrsets/{{name}}/{{type}}",
            import_formats: &[
                "projects/{{project}}/managedZones/{{managed_zone}}/rrsets/{{name}}/{{type}}",
            ],
        },
        Standin {
            type_name: "google_project_iam_member",
            block: Block::new()
                .attribute(s("project"))
                .attribute(s("role"))
                .attribute(s("member"))
                .attribute(out("etag"))
                .attribute(out("id")),
            id_format: "{{project}}/{{role}}/{{member}}",
            import_formats: &["{{project}} {{role}} {{member}}"],
        },
        Standin {
            type_name: "google_cloud_run_v2_service_iam_member",
            block: Block::new()
                .attribute(s("name"))
                .attribute(opt("location", Type::String))
                .attribute(opt("project", Type::String))
                .attribute(s("role"))
                .attribute(s("member"))
                .attribute(out("etag"))
                .attribute(out("id")),
            id_format:
                "projects/{{project}}/locations/{{location}}/services/{{name}}/{{role}}/{{member}}",
            import_formats: &[
                "projects/{{project}}/locations/{{location}}/services/{{name}} {{role}} {{member}}",
            ],
        },
    ]
}

/// Pieces of a format: literal text and placeholder names, in order.
fn pieces(format: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut rest = format;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push((false, &rest[..start]));
        }
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push((true, &rest[start + 2..start + len]));
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// The attributes `id` gives under `format`, or `None` when it does not fit.
fn parse(format: &str, id: &str) -> Option<BTreeMap<String, String>> {
    let ps = pieces(format);
    let mut found = BTreeMap::new();
    let mut rest = id;
    for (i, (placeholder, text)) in ps.iter().enumerate() {
        if !placeholder {
            rest = rest.strip_prefix(text)?;
            continue;
        }
        let value = match ps.get(i + 1) {
            Some((false, next)) => {
                let end = rest.find(next)?;
                let v = &rest[..end];
                rest = &rest[end..];
                v
            }
            _ => std::mem::take(&mut rest),
        };
        if value.is_empty() {
            return None;
        }
        found.insert(text.to_string(), value.to_string());
    }
    rest.is_empty().then_some(found)
}

/// `format` filled from the state's string attributes.
fn render(format: &str, state: &BTreeMap<String, Value>) -> String {
    pieces(format)
        .into_iter()
        .map(|(placeholder, text)| {
            if !placeholder {
                return text.to_string();
            }
            match state.get(text) {
                Some(Value::String(v)) => v.clone(),
                _ => String::new(),
            }
        })
        .collect()
}

/// An object of `block`'s shape: attributes from `known` or null, nested blocks empty.
fn object(block: &Block, known: &BTreeMap<String, String>) -> Value {
    let mut attrs = BTreeMap::new();
    for a in &block.attributes {
        let v = match known.get(&a.name) {
            Some(v) => Value::string(v.as_str()),
            None => Value::Null,
        };
        attrs.insert(a.name.clone(), v);
    }
    for b in &block.blocks {
        let empty = match b.nesting {
            Nesting::Set => Value::Set(Vec::new()),
            Nesting::Map => Value::Map(BTreeMap::new()),
            Nesting::Single | Nesting::Group => Value::Null,
            Nesting::List => Value::List(Vec::new()),
        };
        attrs.insert(b.name.clone(), empty);
    }
    Value::Object(attrs)
}

/// Unknowns (computed values the plan left open) become null, except the id, which is filled from the format.
fn settle(v: Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::List(items) => Value::List(items.into_iter().map(settle).collect()),
        Value::Set(items) => Value::Set(items.into_iter().map(settle).collect()),
        Value::Tuple(items) => Value::Tuple(items.into_iter().map(settle).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, settle(v))).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, settle(v))).collect()),
        other => other,
    }
}

impl Standin {
    fn stored(&self, planned: Value) -> Value {
        match settle(planned) {
            Value::Object(mut m) => {
                if matches!(m.get("id"), Some(Value::Null) | None) {
                    let id = render(self.id_format, &m);
                    m.insert("id".into(), Value::string(id));
                }
                Value::Object(m)
            }
            other => other,
        }
    }
}

#[async_trait]
impl Resource for Standin {
    type State = Value;
    type Private = ();
    type ProviderData = ();

    fn type_name(&self) -> String {
        self.type_name.to_string()
    }

    fn schema(&self) -> Schema {
        Schema::new(self.block.clone())
    }

    async fn create(&self, _ctx: &Context<()>, req: CreateRequest<()>) -> ApplyResult<Value, ()> {
        match req.decode_planned::<Value>() {
            Ok(v) => ApplyResult::ok(self.stored(v)),
            Err(d) => ApplyResult::failed(d),
        }
    }

    async fn read(
        &self,
        _ctx: &Context<()>,
        req: ReadRequest<Value, ()>,
    ) -> ApplyResult<Value, ()> {
        ApplyResult::ok(req.state)
    }

    async fn update(
        &self,
        _ctx: &Context<()>,
        req: UpdateRequest<Value, ()>,
    ) -> ApplyResult<Value, ()> {
        match req.decode_planned::<Value>() {
            Ok(v) => ApplyResult::ok(self.stored(v)),
            Err(d) => ApplyResult::partial(req.prior, d),
        }
    }

    async fn delete(
        &self,
        _ctx: &Context<()>,
        _req: DeleteRequest<Value, ()>,
    ) -> ApplyResult<Value, ()> {
        ApplyResult::none()
    }

    async fn import(&self, _ctx: &Context<()>, id: &str) -> ImportResult<Value, ()> {
        for format in self.import_formats {
            if let Some(mut known) = parse(format, id) {
                let mut state = object(&self.block, &known);
                if let Value::Object(m) = &state {
                    known.insert("id".into(), render(self.id_format, m));
                }
                state = object(&self.block, &known);
                return ImportResult::one(state);
            }
        }
        ImportResult::failed(Diagnostic::error(
            "Invalid import id",
            format!(
                "{id:?} does not match the {} import ID {}",
                self.type_name,
                self.import_formats.join(" or ")
            ),
        ))
    }
}

struct StandinProvider;

#[async_trait]
impl Provider for StandinProvider {
    type Data = ();

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .attribute(Attribute::optional("project", Type::String))
                .attribute(Attribute::optional("region", Type::String)),
        )
    }

    async fn configure(&self, _ctx: &Context<()>, _req: ConfigureRequest) -> Configured<()> {
        Configured::ok(())
    }

    fn resources(&self) -> Vec<Box<dyn AnyResource<()>>> {
        standins()
            .into_iter()
            .map(|r| Box::new(r) as Box<dyn AnyResource<()>>)
            .collect()
    }

    fn data_sources(&self) -> Vec<Box<dyn AnyDataSource<()>>> {
        Vec::new()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = tfplug::ServeOpts::new("registry.terraform.io/hashicorp/google");
    match tfplug::serve(opts, StandinProvider).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("google-standin: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_fill_the_attributes_their_format_names() {
        let got = parse(
            "projects/{{project}}/locations/{{location}}/services/{{name}} {{role}} {{member}}",
            "projects/p/locations/r/services/web roles/run.invoker serviceAccount:a@p.iam.gserviceaccount.com",
        );
        let want: BTreeMap<String, String> = [
            ("project", "p"),
            ("location", "r"),
            ("name", "web"),
            ("role", "roles/run.invoker"),
            ("member", "serviceAccount:a@p.iam.gserviceaccount.com"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, Some(want));
        assert_eq!(
            parse(
                "projects/{{project}}/managedZones/{{name}}",
                "projects/p/x/z"
            ),
            None
        );
        assert_eq!(
            parse(
                "projects/{{project}}/managedZones/{{name}}",
                "projects/p/managedZones/"
            ),
            None
        );
    }
}
