//! Who may ask for what: signature checks with key rotation, the CDN origin-verify header,
//! sign-on-behalf for unsigned paths from the CDN, and the ALLOWED_SIZES allow-list.

use crate::config::Config;
use crate::error::PictorError;
use crate::url::{self, signature, Dimension, ImageRequest, SignaturePart};
use subtle::ConstantTimeEq;

/// Whether the request carries the origin-verify header with the right secret. Always true
/// when origin verification is not configured.
pub fn origin_verified(config: &Config, headers: &http::HeaderMap) -> bool {
    match &config.access.origin_verify {
        None => true,
        Some((name, secret)) => headers
            .get(name)
            .is_some_and(|value| bool::from(value.as_bytes().ct_eq(secret.as_bytes()))),
    }
}

/// Parses `path` and decides whether it may be served: a valid signature under any current
/// or previous key, `unsafe` when allowed — or, with SIGN_ON_BEHALF, any path coming from the
/// verified origin (the CDN), read as if it were `/unsafe/<path>`.
pub fn authorized_request(
    config: &Config,
    path: &str,
    from_verified_origin: bool,
) -> Result<ImageRequest, PictorError> {
    let request = url::parse_path(path)?;
    let keys = config.access.verification_keys();
    let verdict = signature::authorize(&request, &keys, config.access.allow_unsafe_url);
    let request = match verdict {
        Ok(()) => request,
        Err(_) if config.access.sign_on_behalf && from_verified_origin => {
            if request.signature == SignaturePart::Unsafe {
                request
            } else {
                url::parse_path(&format!("/unsafe/{}", path.trim_start_matches('/')))?
            }
        }
        Err(e) => return Err(e),
    };
    // The signature covers the path as sent; the presets then say what it asks for.
    let request = config.presets.expand(request)?;
    check_allowed_size(config, &request)?;
    Ok(request)
}

/// ALLOWED_SIZES: the request's fit-in mode and size must be listed (flips do not matter).
fn check_allowed_size(config: &Config, request: &ImageRequest) -> Result<(), PictorError> {
    let Some(allowed) = &config.access.allowed_sizes else {
        return Ok(());
    };
    let listed = allowed.iter().any(|size| {
        size.fit_in == request.fit_in
            && size.width == request.width
            && size.height == request.height
    });
    if listed {
        Ok(())
    } else {
        Err(PictorError::BadRequest(format!(
            "size {}x{} is not in ALLOWED_SIZES",
            dimension_text(request.width),
            dimension_text(request.height)
        )))
    }
}

fn dimension_text(d: Dimension) -> String {
    match d {
        Dimension::Px(px) => px.to_string(),
        Dimension::Orig => "orig".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSource;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_source(&ConfigSource::from_pairs(pairs.iter().copied())).unwrap()
    }

    #[test]
    fn previous_keys_still_verify_and_the_new_key_signs() {
        let c = config(&[
            ("SECURITY_KEY", "new-key"),
            ("SECURITY_KEYS_PREVIOUS", "old-key"),
            ("ALLOW_UNSAFE_URL", "False"),
        ]);
        let old = format!(
            "/{}/100x100/a.jpg",
            signature::sign(b"old-key", "100x100/a.jpg")
        );
        let new = format!(
            "/{}/100x100/a.jpg",
            signature::sign(b"new-key", "100x100/a.jpg")
        );
        let other = format!(
            "/{}/100x100/a.jpg",
            signature::sign(b"other", "100x100/a.jpg")
        );
        assert!(authorized_request(&c, &old, false).is_ok());
        assert!(authorized_request(&c, &new, false).is_ok());
        assert!(matches!(
            authorized_request(&c, &other, false),
            Err(PictorError::BadSignature)
        ));
    }

    #[test]
    fn sign_on_behalf_only_for_the_verified_origin() {
        let c = config(&[
            ("ALLOW_UNSAFE_URL", "False"),
            ("ORIGIN_VERIFY_HEADER", "X-Origin-Verify"),
            ("ORIGIN_VERIFY_SECRET", "s3cret"),
            ("SIGN_ON_BEHALF", "True"),
        ]);
        let r = authorized_request(&c, "/300x200/photos/cat.jpg", true).unwrap();
        assert_eq!(r.width, Dimension::Px(300));
        assert_eq!(r.image, "photos/cat.jpg");
        assert!(authorized_request(&c, "/unsafe/300x200/photos/cat.jpg", true).is_ok());
        assert!(authorized_request(&c, "/300x200/photos/cat.jpg", false).is_err());
        assert!(authorized_request(&c, "/unsafe/300x200/photos/cat.jpg", false).is_err());

        let mut headers = http::HeaderMap::new();
        assert!(!origin_verified(&c, &headers));
        headers.insert("x-origin-verify", "wrong".parse().unwrap());
        assert!(!origin_verified(&c, &headers));
        headers.insert("x-origin-verify", "s3cret".parse().unwrap());
        assert!(origin_verified(&c, &headers));
        assert!(origin_verified(&config(&[]), &http::HeaderMap::new()));
    }

    #[test]
    fn allowed_sizes_gate_even_unsafe_urls() {
        let c = config(&[("ALLOWED_SIZES", "300x200,fit-in/1200x1200")]);
        for ok in [
            "/unsafe/300x200/a.jpg",
            "/unsafe/-300x-200/a.jpg",
            "/unsafe/300x200/smart/a.jpg",
            "/unsafe/fit-in/1200x1200/a.jpg",
        ] {
            assert!(authorized_request(&c, ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "/unsafe/301x200/a.jpg",
            "/unsafe/a.jpg",
            "/unsafe/1200x1200/a.jpg",
            "/unsafe/full-fit-in/1200x1200/a.jpg",
        ] {
            assert!(
                matches!(
                    authorized_request(&c, refused, false),
                    Err(PictorError::BadRequest(_))
                ),
                "{refused}"
            );
        }
    }
}
