//! Resource Manager v1: projects and project IAM policy.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::api::Api;
use crate::error::Error;
use crate::iam::Policy;
use crate::path::seg;
use crate::transport::{Request, Transport};
use crate::wire::to_json;

const API: Api = Api::ResourceManager;

/// A project (v1).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    #[serde(default)]
    pub project_id: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::id"
    )]
    pub project_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_state: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Resource Manager v1 client.
#[derive(Clone, Debug)]
pub struct Client {
    t: Transport,
}

impl Client {
    pub fn new(t: Transport) -> Self {
        Client { t }
    }

    /// `projects.get` (by ID or number).
    pub async fn get_project(&self, project: &str) -> Result<Project, Error> {
        let req = Request::new(
            API,
            Method::GET,
            format!("projects/{}", seg(project)),
            "projects.get",
        );
        self.t.send(req).await
    }

    /// `projects.getIamPolicy`: a POST with `{"options":{"requestedPolicyVersion":3}}` so conditions survive.
    pub async fn get_iam_policy(&self, project: &str) -> Result<Policy, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("projects/{}:getIamPolicy", seg(project)),
            "projects.getIamPolicy",
        )
        .body(json!({ "options": { "requestedPolicyVersion": 3 } }))
        .resource(format!("projects/{}", seg(project)));
        self.t.send(req).await
    }

    /// `projects.setIamPolicy` with the policy's etag; a concurrent change gives [`Error::is_conflict`] and the
    /// caller must re-read and redo the whole read-modify-write.
    pub async fn set_iam_policy(&self, project: &str, policy: &Policy) -> Result<Policy, Error> {
        let req = Request::new(
            API,
            Method::POST,
            format!("projects/{}:setIamPolicy", seg(project)),
            "projects.setIamPolicy",
        )
        .body(json!({ "policy": to_json(&policy.for_write())? }))
        .resource(format!("projects/{}", seg(project)));
        self.t.send(req).await
    }
}
