//! Things on disk: `<root>/<id>.json`.

use std::path::PathBuf;

use tfplug::Diagnostic;

use crate::thing::Thing;

/// The provider's configured data: where things live.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: PathBuf) -> Self {
        Store { root }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.root.join(format!("{id}.json"))
    }

    /// The thing with `id`, or `None` when it does not exist.
    pub fn load(&self, id: &str) -> Result<Option<Thing>, Diagnostic> {
        match std::fs::read(self.path(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Diagnostic::error("Corrupt thing", format!("{}: {e}", self.path(id).display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Diagnostic::error(
                "Cannot read thing",
                format!("{}: {e}", self.path(id).display()),
            )),
        }
    }

    pub fn save(&self, id: &str, thing: &Thing) -> Result<(), Diagnostic> {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.root)?;
            let bytes = serde_json::to_vec_pretty(thing).map_err(std::io::Error::other)?;
            std::fs::write(self.path(id), bytes)
        };
        write().map_err(|e| {
            Diagnostic::error(
                "Cannot write thing",
                format!("{}: {e}", self.path(id).display()),
            )
        })
    }

    pub fn remove(&self, id: &str) -> Result<(), Diagnostic> {
        match std::fs::remove_file(self.path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Diagnostic::error(
                "Cannot delete thing",
                format!("{}: {e}", self.path(id).display()),
            )),
        }
    }
}
