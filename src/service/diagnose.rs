//! Mesh-aware diagnosis of a failed Cloud Run deploy (placeholder; filled in below).
