//! Thumbor URL signatures: HMAC-SHA1 over the path after the signature, URL-safe base64 with
//! padding, compared in constant time.
//!
//! Thumbor compares with plain string equality; we compare in constant time, which accepts exactly the same
//! signatures. Several keys may be given so a key can be rotated without breaking old URLs.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha1::Sha1;
use subtle::{Choice, ConstantTimeEq};

use super::{ImageRequest, SignaturePart};
use crate::error::PictorError;

type HmacSha1 = Hmac<Sha1>;

/// The signature Thumbor expects for `signed_path` (the raw path after `/<signature>/`):
/// HMAC-SHA1 with `key`, URL-safe base64 with `=` padding, always 28 characters.
pub fn sign(key: &[u8], signed_path: &str) -> String {
    URL_SAFE.encode(hmac_sha1(key, signed_path.as_bytes()))
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    // HMAC hashes over-long keys and pads short ones, so every key length is valid and
    // `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha1 as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Whether `hash_as_sent` (the signature segment exactly as in the request path) signs
/// `signed_path` under any of `keys`.
///
/// Thumbor 7.8 sees the hash percent-decoded by Tornado, strips the path prefix only when it
/// is spelled `/<decoded>/` or `/<quote(decoded)>/`, and compares with `unquote(decoded)`:
/// so `%3D` (and even `%253D`) stand for `=`, while other spellings (`%3d`) fail. Every key
/// is tried and compared in constant time, so neither the match position nor which key
/// matched shows in the timing.
pub fn verify(keys: &[&[u8]], hash_as_sent: &str, signed_path: &str) -> bool {
    let Ok(decoded_once) = percent_decode_str(hash_as_sent).decode_utf8() else {
        return false;
    };
    // Comparing the sent hash with its own decodings leaks nothing about the expected one.
    let quoted = super::parse::python_quote(&decoded_once, b"/");
    if ![decoded_once.as_ref(), quoted.as_str()].contains(&hash_as_sent) {
        return false;
    }
    let sent: Vec<u8> = percent_decode_str(&decoded_once).collect();
    let matched = keys.iter().fold(Choice::from(0), |matched, key| {
        let expected = sign(key, signed_path);
        matched | expected.as_bytes().ct_eq(&sent)
    });
    bool::from(matched)
}

/// Thumbor's 400 cases for the signature part of a parsed request (spec §2.1):
/// `unsafe` while unsafe URLs are off, no signature part at all, or a signature that no key
/// produces for the request's signed path.
pub fn authorize(
    request: &ImageRequest,
    keys: &[&[u8]],
    allow_unsafe: bool,
) -> Result<(), PictorError> {
    match &request.signature {
        SignaturePart::Unsafe if allow_unsafe => Ok(()),
        SignaturePart::Unsafe => Err(PictorError::UnsafeDisabled),
        SignaturePart::Missing => Err(PictorError::BadUrl(
            "url has neither a signature nor unsafe".into(),
        )),
        SignaturePart::Hash(hash) if verify(keys, hash, &request.signed_path) => Ok(()),
        SignaturePart::Hash(_) => Err(PictorError::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::parse_path;

    const VECTORS: &[(&str, &str, &str)] = &[
        (
            "my-security-key",
            "300x200/my.server.com/some/path/to/image.jpg",
            "8ammJH8D-7tXy6kU3lTvoXlhu4o=",
        ),
        (
            "my-security-key",
            "10x10:200x200/300x200/my.server.com/some/path/to/image.jpg",
            "B35oBEIwztbc3jm7vsdqLez2C78=",
        ),
        (
            "my-security-key",
            "10x10:200x200/300x200/filters:brightness(20):contrast(10)/my.server.com/some/path/to/image.jpg",
            "as8U2DbUUtTMgvPF26LkjS3MocY=",
        ),
        ("ACME-SEC", "smart/image.jpg", "_wIUeSaeHw8dricKG2MGhqu5thk="),
        (
            "ACME-SEC",
            "smart/alabama1_ap620%C3%A9.jpg",
            "lc6e3kkm_2Ww7NWho8HPOe-sqLU=",
        ),
        (
            "ACME-SEC",
            "filters:fill(blue)/image.jpg",
            "5YRxzS2yxZxj9SZ50SoZ11eIdDI=",
        ),
        ("ACME-SEC", "meta/animated.gif", "oGi9XL4nHJKGEKVHjHEp1Jg1KpM="),
        ("ACME-SEC", "animated.gif", "gTr2Xr9lbzIa2CT_dL_O0GByeR0="),
        (
            "MY-SECURITY-KEY",
            "200x300/myserver.com/myimg.jpg",
            "G_dykuWBGyEil5JnNh9cBke0Ajo=",
        ),
    ];

    #[test]
    fn sign_matches_every_vector() {
        for (key, path, expected) in VECTORS {
            assert_eq!(sign(key.as_bytes(), path), *expected, "{key} {path}");
            assert_eq!(expected.len(), 28);
        }
    }

    #[test]
    fn verify_accepts_every_vector_and_rejects_other_keys() {
        for (key, path, signature) in VECTORS {
            assert!(verify(&[key.as_bytes()], signature, path), "{key} {path}");
            assert!(!verify(&[b"other-key"], signature, path), "{key} {path}");
            // A different message under the right key fails too.
            assert!(!verify(&[key.as_bytes()], signature, &format!("{path}x")));
        }
    }

    #[test]
    fn verify_tries_every_key() {
        let (key, path, signature) = VECTORS[0];
        assert!(verify(&[b"old-key", key.as_bytes()], signature, path));
        assert!(verify(&[key.as_bytes(), b"new-key"], signature, path));
        assert!(!verify(&[], signature, path));
    }

    #[test]
    fn percent_encoded_padding_is_accepted() {
        assert!(verify(
            &[b"ACME-SEC"],
            "_wIUeSaeHw8dricKG2MGhqu5thk%3D",
            "smart/image.jpg"
        ));
    }

    #[test]
    fn hash_spellings_follow_thumbor() {
        let key: &[u8] = b"ACME-SEC";
        let path = "smart/image.jpg";
        // Double-encoded padding: Tornado decodes once, the handler unquotes again.
        assert!(verify(&[key], "_wIUeSaeHw8dricKG2MGhqu5thk%253D", path));
        // Lower-case escape: Thumbor cannot strip the prefix, so the signature fails.
        assert!(!verify(&[key], "_wIUeSaeHw8dricKG2MGhqu5thk%3d", path));
        assert!(!verify(&[key], "_wIUeSaeHw8dricKG2MGhqu5thk%ff", path));
    }

    #[test]
    fn unpadded_signature_is_rejected() {
        assert!(!verify(
            &[b"ACME-SEC"],
            "_wIUeSaeHw8dricKG2MGhqu5thk",
            "smart/image.jpg"
        ));
    }

    #[test]
    fn standard_base64_alphabet_is_rejected() {
        // `_` -> `/` and `-` -> `+` would be the same bytes in standard base64.
        assert!(!verify(
            &[b"ACME-SEC"],
            "gTr2Xr9lbzIa2CT/dL/O0GByeR0=",
            "animated.gif"
        ));
    }

    const ACME: &[&[u8]] = &[b"ACME-SEC"];

    #[test]
    fn authorize_signed_request() {
        let req = parse_path("/_wIUeSaeHw8dricKG2MGhqu5thk=/smart/image.jpg").unwrap();
        assert!(authorize(&req, ACME, false).is_ok());
        let req = parse_path("/_wIUeSaeHw8dricKG2MGhqu5thk%3D/smart/image.jpg").unwrap();
        assert!(authorize(&req, ACME, false).is_ok());
        let req =
            parse_path("/lc6e3kkm_2Ww7NWho8HPOe-sqLU=/smart/alabama1_ap620%C3%A9.jpg").unwrap();
        assert!(authorize(&req, ACME, false).is_ok());
        let req = parse_path("/oGi9XL4nHJKGEKVHjHEp1Jg1KpM=/meta/animated.gif").unwrap();
        assert!(authorize(&req, ACME, false).is_ok());
    }

    #[test]
    fn authorize_rejects_wrong_or_unpadded_signature() {
        let req = parse_path("/_wIUeSaeHw8dricKG2MGhqu5thk=/smart/other.jpg").unwrap();
        assert!(matches!(
            authorize(&req, ACME, true),
            Err(PictorError::BadSignature)
        ));
        let req = parse_path("/_wIUeSaeHw8dricKG2MGhqu5thk/smart/image.jpg").unwrap();
        assert!(matches!(
            authorize(&req, ACME, true),
            Err(PictorError::BadSignature)
        ));
        // Options in the first segment are taken as the hash.
        let req = parse_path("/300x200/img.jpg").unwrap();
        assert!(matches!(
            authorize(&req, ACME, true),
            Err(PictorError::BadSignature)
        ));
    }

    #[test]
    fn authorize_rejects_hash_injection() {
        for path in [
            "/_wIUeSaeHw8dricKG2MGhqu5thk=/sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg",
            "/_wIUeSaeHw8dricKG2MGhqu5thk%3D/sma/_wIUeSaeHw8dricKG2MGhqu5thk%3D/rt/image.jpg",
            "/_wIUeSaeHw8dricKG2MGhqu5thk%3D/sma/_wIUeSaeHw8dricKG2MGhqu5thk=/rt/image.jpg",
        ] {
            let req = parse_path(path).unwrap();
            assert!(
                matches!(authorize(&req, ACME, true), Err(PictorError::BadSignature)),
                "{path}"
            );
        }
    }

    #[test]
    fn authorize_unsafe_follows_config() {
        let req = parse_path("/unsafe/smart/image.jpg").unwrap();
        assert!(authorize(&req, ACME, true).is_ok());
        assert!(matches!(
            authorize(&req, ACME, false),
            Err(PictorError::UnsafeDisabled)
        ));
    }

    #[test]
    fn authorize_rejects_missing_signature() {
        for path in ["/img.jpg", "/unsafe/", "/"] {
            let req = parse_path(path).unwrap();
            assert!(
                matches!(authorize(&req, ACME, true), Err(PictorError::BadUrl(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn no_variable_time_comparison_in_this_module() {
        let source = include_str!("signature.rs");
        let code = source.split("#[cfg(test)]").next().unwrap();
        assert!(code.contains("ct_eq"));
        for operator in ["==", "!=", ".eq(", ".starts_with(", ".cmp("] {
            assert!(!code.contains(operator), "found {operator}");
        }
    }
}
