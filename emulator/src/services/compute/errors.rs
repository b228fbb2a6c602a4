//! The Compute errors this API raises, with Google's reasons and message wording.

use crate::error::ApiError;

/// 404 `notFound`, worded as Google words it for a resource path.
pub fn not_found(path: &str) -> ApiError {
    ApiError::not_found(format!("The resource '{path}' was not found"))
}

/// 409 `alreadyExists` for an insert whose name is taken.
pub fn already_exists(path: &str) -> ApiError {
    ApiError::already_exists(format!("The resource '{path}' already exists"))
}

/// 400 `invalid` for one field of the request resource.
pub fn invalid(field: &str, value: &str, why: &str) -> ApiError {
    ApiError::invalid_argument(format!(
        "Invalid value for field 'resource.{field}': '{value}'. {why}"
    ))
}

/// 400 `required` for a missing field of the request resource.
pub fn required(field: &str) -> ApiError {
    ApiError::invalid_argument(format!("Required field 'resource.{field}' not specified"))
        .with_reason("required")
}

/// 400 `resourceInUseByAnotherResource`: `kind` is Google's snake_case resource kind
/// (`network_endpoint_group`, `backend_service`).
pub fn in_use(kind: &str, path: &str, user: &str) -> ApiError {
    ApiError::new(
        400,
        "FAILED_PRECONDITION",
        "resourceInUseByAnotherResource",
        format!("The {kind} resource '{path}' is already being used by '{user}'"),
    )
}

/// 412 `conditionNotMet` for a missing or stale `fingerprint`.
pub fn stale_fingerprint() -> ApiError {
    ApiError::condition_not_met("Invalid fingerprint.")
}
