//! Reading a credential setting: JSON in the value itself, or the path of a file holding it. Never blocks (a FIFO
//! or device is refused before a byte is read), never reads more than [`MAX_CREDENTIALS_FILE`], and never quotes
//! the value in an error: a value that is not JSON nor a file may be a key or token put in the wrong place.

use std::io::Read;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::error::Error;

/// The largest credentials file read (a service account key is about 2.3 KiB).
pub const MAX_CREDENTIALS_FILE: u64 = 1 << 20;

/// What a credential setting may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepts {
    /// JSON, or the path of a file holding it (`credentials`, `GOOGLE_CREDENTIALS`).
    JsonOrPath,
    /// Only the path of a file (`GOOGLE_APPLICATION_CREDENTIALS`).
    Path,
}

/// The credentials JSON `value` of `setting` holds (a byte-order mark and leading whitespace are ignored).
pub fn load(value: &str, setting: &str, accepts: Accepts) -> Result<Value, Error> {
    let text = without_bom(value).trim();
    if text.starts_with('{') && accepts == Accepts::JsonOrPath {
        return parse(text, setting);
    }
    let expected = match accepts {
        Accepts::JsonOrPath => {
            "the JSON of a credentials file, or the path of a readable file holding it"
        }
        Accepts::Path => "the path of a readable credentials JSON file",
    };
    if text.starts_with('{') {
        return Err(Error::auth(format!(
            "{setting} holds JSON, but it takes {expected}; put the JSON in a file and name that, or give it to \
             `credentials` / GOOGLE_CREDENTIALS"
        )));
    }
    if let Some(hint) = misplaced_secret_hint(text) {
        return Err(Error::auth(format!(
            "{setting} {hint}; it takes {expected}. The value is not shown, since it may be a secret"
        )));
    }
    let path = Path::new(text);
    let bytes = read_regular_file(path).map_err(|why| {
        // A name the file system knows is a path, not a secret, and naming it helps; anything else is not shown.
        let named = if path.symlink_metadata().is_ok() || looks_like_a_json_path(text) {
            format!("the file {text:?}")
        } else {
            format!(
                "the path it holds ({} characters, not shown in case it is a secret)",
                text.chars().count()
            )
        };
        Error::auth(format!(
            "{setting} takes {expected}; it is not JSON (does not start with `{{`) and {named} cannot be read: \
             {why}"
        ))
    })?;
    let content = String::from_utf8(bytes).map_err(|_| {
        Error::auth(format!(
            "the credentials file named by {setting} is not UTF-8 text; it must hold the JSON of a key file"
        ))
    })?;
    let content = without_bom(&content).trim();
    if !content.starts_with('{') {
        let hint = misplaced_secret_hint(content)
            .map(|h| format!(" (its content {h})"))
            .unwrap_or_default();
        return Err(Error::auth(format!(
            "the credentials file named by {setting} does not hold JSON{hint}; it must hold the JSON of a key file \
             (it starts with `{{`). Its content is not shown"
        )));
    }
    parse(content, &format!("the file named by {setting}"))
}

fn without_bom(s: &str) -> &str {
    s.strip_prefix('\u{feff}').unwrap_or(s)
}

fn parse(text: &str, what: &str) -> Result<Value, Error> {
    // serde's message gives line and column only, never the content.
    serde_json::from_str(text)
        .map_err(|e| Error::auth(format!("{what}: credentials are not valid JSON: {e}")))
}

/// A hint when the value is a known kind of secret given where JSON or a path belongs.
fn misplaced_secret_hint(text: &str) -> Option<&'static str> {
    if text.starts_with("-----BEGIN") {
        return Some("looks like a PEM private key alone; give the whole JSON key file (or its path) instead");
    }
    if is_base64_json(text) {
        return Some("looks like base64-encoded JSON; decode it (e.g. `base64 -d`) and give the JSON itself or the \
                     path of a file holding it");
    }
    if text.starts_with("ya29.") {
        return Some("looks like an OAuth access token; give it to `access_token` (or GOOGLE_OAUTH_ACCESS_TOKEN) instead");
    }
    None
}

fn is_base64_json(text: &str) -> bool {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    // Base64 stored by CI systems is often wrapped at 64 or 76 columns.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 8 {
        return false;
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .filter_map(|e| e.decode(&compact).ok())
        .any(|bytes| {
            let s = String::from_utf8_lossy(&bytes);
            without_bom(&s).trim_start().starts_with('{')
        })
}

fn looks_like_a_json_path(text: &str) -> bool {
    text.len() <= 1024
        && text.to_ascii_lowercase().ends_with(".json")
        && !text.chars().any(char::is_control)
}

/// The bytes of the regular file at `path`, at most [`MAX_CREDENTIALS_FILE`]. Opened non-blocking, so a FIFO with
/// no writer cannot stall the caller, and checked on the open descriptor, so a file swapped meanwhile is too.
fn read_regular_file(path: &Path) -> Result<Vec<u8>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(format!(
            "it is {}, not a regular file",
            kind_of(&meta.file_type())
        ));
    }
    let cap = MAX_CREDENTIALS_FILE;
    let too_big = || {
        format!(
            "it is larger than the {} MiB limit for a credentials file",
            cap >> 20
        )
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(bytes)
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_with_a_byte_order_mark_or_leading_whitespace_is_accepted() {
        for v in [
            "\u{feff}{\"type\":\"x\"}",
            "  \n{\"type\":\"x\"}",
            "\u{feff} {\"type\":\"x\"}",
        ] {
            assert_eq!(
                load(v, "`credentials`", Accepts::JsonOrPath).unwrap()["type"],
                "x"
            );
        }
    }

    #[test]
    fn base64_of_json_is_recognised_without_being_quoted() {
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(r#"{"type":"service_account","private_key":"SECRET-KEY"}"#);
        let e = load(&b64, "GOOGLE_CREDENTIALS", Accepts::JsonOrPath).unwrap_err();
        assert!(e.message().contains("looks like base64"), "{e}");
        assert!(e.message().contains("GOOGLE_CREDENTIALS"), "{e}");
        assert!(!e.to_string().contains(&b64[..16]), "{e}");
    }
}
