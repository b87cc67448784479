//! Thumbor URL signatures: HMAC-SHA1 over the path after the signature, URL-safe base64 with
//! padding, compared in constant time.
