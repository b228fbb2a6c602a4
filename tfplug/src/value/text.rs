//! String normalisation shared by the codecs: Terraform keeps every string in Unicode NFC.

use unicode_normalization::{is_nfc, UnicodeNormalization};

/// `s` in NFC; cheap when it already is, which is nearly always.
pub(crate) fn nfc(s: &str) -> String {
    if is_nfc(s) {
        s.to_string()
    } else {
        s.nfc().collect()
    }
}
