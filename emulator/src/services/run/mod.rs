//! Handlers for this API (being written).

use crate::services::Registry;

/// Registers this API's handlers.
pub fn register(_registry: &mut Registry) {}
