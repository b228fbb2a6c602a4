//! The provider's configuration modules, compiled from its source at the same place in the module tree
//! (`crate::service::...`), so their `super::` and `crate::service::` paths resolve.

#[path = "../../../src/service/defaults.rs"]
pub mod defaults;
#[path = "../../../src/service/duration.rs"]
pub mod duration;
#[path = "../../../src/service/model.rs"]
pub mod model;
#[path = "../../../src/service/names.rs"]
pub mod names;
#[path = "../../../src/service/path.rs"]
pub mod path;
#[path = "../../../src/service/schema.rs"]
pub mod schema;
#[path = "../../../src/service/val.rs"]
pub mod val;
#[path = "../../../src/service/validate.rs"]
pub mod validate;
