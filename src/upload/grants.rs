//! `POST /uploads/grants`: what a browser (an HTML form, Dropzone) needs to upload straight to
//! the S3 storage, without the bytes passing through pictor: an AWS SigV4 POST policy and its
//! form fields (the shape boto3's `generate_presigned_post` returns, also as `data`, the name
//! Renuo's upload client reads), and a presigned `PUT` for clients that prefer one. Each grant
//! confines the upload to a fresh folder of the app (`<app prefix><uuid>/`), to image content
//! types, to 1..=UPLOAD_MAX_SIZE bytes and to UPLOAD_GRANT_SECONDS; S3 checks every condition.
//! A grant is made locally from the credentials of the storage's client (the standard AWS
//! chain; a session token goes into the form and the policy): no S3 call.

use crate::error::PictorError;
use crate::server::app::App;
use crate::server::{request_body, response};
use crate::storage::s3::S3Settings;
use base64::Engine;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The optional body: a file name and content type make the grant carry a presigned PUT.
#[derive(Deserialize, Default)]
struct GrantRequest {
    filename: Option<String>,
    content_type: Option<String>,
}

/// What one POST policy allows.
#[derive(Debug, Clone)]
pub struct PostPolicy<'a> {
    pub bucket: &'a str,
    /// Every key must start with this.
    pub key_prefix: &'a str,
    pub max_bytes: u64,
    pub cache_control: Option<&'a str>,
    pub now: SystemTime,
    pub expires_in: Duration,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

impl PostPolicy<'_> {
    /// The form fields of the policy (all but the file and its `Content-Type`), signed.
    pub fn fields(&self) -> serde_json::Map<String, Value> {
        let date = ymd(self.now);
        let credential = format!(
            "{}/{date}/{}/s3/aws4_request",
            self.access_key_id, self.region
        );
        let amz_date = format!("{date}T{}Z", hms(self.now));
        let mut conditions = vec![
            json!({ "bucket": self.bucket }),
            json!(["starts-with", "$key", self.key_prefix]),
            json!(["content-length-range", 1, self.max_bytes]),
            json!(["starts-with", "$Content-Type", "image/"]),
            json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
            json!({ "x-amz-credential": credential }),
            json!({ "x-amz-date": amz_date }),
        ];
        if let Some(token) = self.session_token {
            conditions.push(json!({ "x-amz-security-token": token }));
        }
        if let Some(cache_control) = self.cache_control {
            conditions.push(json!({ "Cache-Control": cache_control }));
        }
        let policy = json!({
            "expiration": iso8601(self.now + self.expires_in),
            "conditions": conditions,
        });
        let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature = sign_policy(self.secret_access_key, self.now, self.region, &policy);
        let mut fields = serde_json::Map::new();
        fields.insert(
            "key".into(),
            json!(format!("{}${{filename}}", self.key_prefix)),
        );
        fields.insert("x-amz-algorithm".into(), json!("AWS4-HMAC-SHA256"));
        fields.insert("x-amz-credential".into(), json!(credential));
        fields.insert("x-amz-date".into(), json!(amz_date));
        if let Some(token) = self.session_token {
            fields.insert("x-amz-security-token".into(), json!(token));
        }
        if let Some(cache_control) = self.cache_control {
            fields.insert("Cache-Control".into(), json!(cache_control));
        }
        fields.insert("policy".into(), json!(policy));
        fields.insert("x-amz-signature".into(), json!(signature));
        fields
    }
}

/// The SigV4 signature of a base64 POST policy: HMAC-SHA256 under the day's signing key.
pub fn sign_policy(secret: &str, now: SystemTime, region: &str, policy_base64: &str) -> String {
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, now, region, "s3");
    aws_sigv4::sign::v4::calculate_signature(key, policy_base64.as_bytes())
}

/// The form's action: the bucket on the configured endpoint (path style), or on AWS.
fn bucket_url(settings: &S3Settings) -> String {
    match &settings.endpoint_url {
        Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), settings.bucket),
        None => format!(
            "https://{}.s3.{}.amazonaws.com",
            settings.bucket, settings.region
        ),
    }
}

pub async fn handle(
    app: &App,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, PictorError> {
    let (signing_app, storage) = super::post_for_app(app, &req, "grants")?;
    // With UPLOAD_ACTIVATION browsers upload into the incoming area, too.
    let storage = storage.upload_area();
    let Some((store, settings)) = storage.s3() else {
        return Err(PictorError::BadRequest(
            "upload grants need the S3 storage (STORAGE=s3)".into(),
        ));
    };
    let body = request_body::read_capped(req.into_body(), &app.config.connections).await?;
    let wanted: GrantRequest = if body.iter().all(u8::is_ascii_whitespace) {
        GrantRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            PictorError::BadRequest(
                r#"expected nothing or {"filename": "...", "content_type": "image/..."}"#.into(),
            )
        })?
    };
    let file_prefix = format!("{}{}/", signing_app.image_prefix, super::random_id()?);
    let key_prefix = storage.key(&file_prefix);
    // `key` keeps the trailing slash a folder name loses in the storage's key mapping.
    let key_prefix = if key_prefix.ends_with('/') {
        key_prefix
    } else {
        format!("{key_prefix}/")
    };
    let credentials = store.credentials().await?;
    let expires_in = Duration::from_secs(app.config.upload.grant_seconds);
    let max_bytes = app
        .config
        .upload
        .byte_limit(app.config.source.max_source_bytes);
    let policy = PostPolicy {
        bucket: &settings.bucket,
        key_prefix: &key_prefix,
        max_bytes,
        cache_control: storage.cache_control(),
        now: SystemTime::now(),
        expires_in,
        region: &settings.region,
        access_key_id: credentials.access_key_id(),
        secret_access_key: credentials.secret_access_key(),
        session_token: credentials.session_token(),
    };
    let fields = Value::Object(policy.fields());
    let mut answer = json!({
        "url": bucket_url(settings),
        "fields": fields,
        "data": fields,
        "file_prefix": file_prefix,
        "file_url_path": file_prefix,
        "max_bytes": max_bytes,
        "expires_in": expires_in.as_secs(),
    });
    if let Some(filename) = wanted.filename {
        if filename.is_empty()
            || filename.contains(['/', '\\'])
            || filename.chars().any(char::is_control)
        {
            return Err(PictorError::BadRequest(
                "filename must be a plain file name".into(),
            ));
        }
        let content_type = wanted.content_type.unwrap_or_default();
        if !content_type.starts_with("image/") {
            return Err(PictorError::BadRequest(
                "a presigned PUT needs content_type image/...".into(),
            ));
        }
        let (url, headers) = store
            .presigned_put(
                &format!("{key_prefix}{filename}"),
                &content_type,
                storage.cache_control(),
                expires_in,
            )
            .await?;
        let headers: serde_json::Map<String, Value> =
            headers.into_iter().map(|(k, v)| (k, json!(v))).collect();
        answer["put"] = json!({ "url": url, "method": "PUT", "headers": headers });
        answer["image"] = json!(format!("{file_prefix}{filename}"));
    }
    Ok(response::json(StatusCode::CREATED, &answer))
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `YYYYMMDD` (UTC).
fn ymd(time: SystemTime) -> String {
    let (y, m, d) = civil(seconds(time).div_euclid(86_400));
    format!("{y:04}{m:02}{d:02}")
}

/// `HHMMSS` (UTC).
fn hms(time: SystemTime) -> String {
    let s = seconds(time).rem_euclid(86_400);
    format!("{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `YYYY-MM-DDTHH:MM:SS.000Z` (UTC), the policy's `expiration`.
pub(crate) fn iso8601(time: SystemTime) -> String {
    let (y, m, d) = civil(seconds(time).div_euclid(86_400));
    let s = seconds(time).rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example ("Browser-Based Upload using HTTP POST (Using AWS Signature
    /// Version 4)", S3 API reference): its base64 policy, example secret and date give its
    /// signature.
    #[test]
    fn aws_published_post_policy_example() {
        const POLICY: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        let date = UNIX_EPOCH + Duration::from_secs(1_451_347_200); // 2015-12-29T00:00:00Z
        assert_eq!(ymd(date), "20151229");
        assert_eq!(
            sign_policy(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                date,
                "us-east-1",
                POLICY
            ),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_451_476_800); // 2015-12-30T12:00:00Z
        assert_eq!(iso8601(t), "2015-12-30T12:00:00.000Z");
        assert_eq!(hms(t + Duration::from_secs(3723)), "130203");
        assert_eq!(
            ymd(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229"
        );
    }

    #[test]
    fn a_policy_confines_key_size_type_and_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_451_347_200);
        let policy = PostPolicy {
            bucket: "originals",
            key_prefix: "/st/blog/0123/",
            max_bytes: 1000,
            cache_control: Some("max-age=60"),
            now,
            expires_in: Duration::from_secs(600),
            region: "eu-west-1",
            access_key_id: "AKID",
            secret_access_key: "secret",
            session_token: Some("token"),
        };
        let fields = policy.fields();
        assert_eq!(fields["key"], "/st/blog/0123/${filename}");
        assert_eq!(
            fields["x-amz-credential"],
            "AKID/20151229/eu-west-1/s3/aws4_request"
        );
        assert_eq!(fields["x-amz-date"], "20151229T000000Z");
        assert_eq!(fields["x-amz-security-token"], "token");
        let encoded = fields["policy"].as_str().unwrap();
        assert_eq!(
            fields["x-amz-signature"],
            sign_policy("secret", now, "eu-west-1", encoded)
        );
        let decoded: Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(decoded["expiration"], "2015-12-29T00:10:00.000Z");
        let conditions = decoded["conditions"].as_array().unwrap();
        for expected in [
            json!({"bucket": "originals"}),
            json!(["starts-with", "$key", "/st/blog/0123/"]),
            json!(["content-length-range", 1, 1000]),
            json!(["starts-with", "$Content-Type", "image/"]),
            json!({"x-amz-security-token": "token"}),
            json!({"Cache-Control": "max-age=60"}),
        ] {
            assert!(conditions.contains(&expected), "{expected}");
        }
    }
}
