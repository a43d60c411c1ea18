//! Opaque global ids (Relay `Node.id`): `base64url("<Type>:<row id>")`.
//!
//! Opaque on purpose: clients must not build ids by hand, and the encoding
//! can change without breaking anyone who treats them as strings.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// Encodes the id of a row of type `kind`.
pub fn encode(kind: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// Decodes any global id into its type name and row id.
pub fn decode(global: &str) -> Option<(String, i64)> {
    if global.len() > 128 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(global).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, id) = text.split_once(':')?;
    let id: i64 = id.parse().ok()?;
    (id > 0 && !kind.is_empty()).then(|| (kind.to_owned(), id))
}

/// Decodes a global id that must be of type `kind`.
pub fn decode_as(kind: &str, global: &str) -> Option<i64> {
    match decode(global) {
        Some((k, id)) if k == kind => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_type() {
        let id = encode("Program", 42);
        assert_eq!(decode(&id), Some(("Program".to_owned(), 42)));
        assert_eq!(decode_as("Program", &id), Some(42));
        assert_eq!(decode_as("Package", &id), None);
    }

    #[test]
    fn garbage_is_not_an_id() {
        for bad in ["", "!!!", "UHJvZ3JhbQ", &encode("Program", 0), &encode("", 3)] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Program:-1")), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("Program:abc")), None);
    }
}
