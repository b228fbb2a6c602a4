//! Following `nextPageToken` through list calls.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::Error;
use crate::transport::{Request, Transport};

/// Upper bound on pages, so a server that keeps returning tokens cannot loop us forever.
pub(crate) const MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Sends `req` and every following page; `field` is the list's JSON name (`services`, `items`, `rrsets`).
pub(crate) async fn collect<T: DeserializeOwned>(
    t: &Transport,
    req: Request,
    field: &str,
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut r = req.clone();
        if let Some(tok) = &token {
            r = r.query("pageToken", tok.clone());
        }
        let mut v: serde_json::Value = t.send(r).await?;
        // Rename the API's list field to `items` so one Page type serves every API.
        if let Some(obj) = v.as_object_mut() {
            if let Some(list) = obj.remove(field) {
                obj.insert("items".into(), list);
            } else {
                obj.remove("items");
            }
        }
        let page: Page<T> = serde_json::from_value(v).map_err(|e| {
            // A list answers 200 (a failure status is an error before this); worded as a body that decodes as JSON
            // but not as the method's answer is everywhere else.
            Error::body(format!(
                "answered 200 with JSON of the wrong shape (could not decode a page of {field}: {e})"
            ))
            .with_context(
                req.api,
                req.call,
                &req.resource,
            )
        })?;
        out.extend(page.items);
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) => token = Some(next),
            None => return Ok(out),
        }
    }
    Err(
        Error::body(format!("more than {MAX_PAGES} pages of {field}")).with_context(
            req.api,
            req.call,
            &req.resource,
        ),
    )
}
