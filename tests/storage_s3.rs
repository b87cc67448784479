//! The S3 store (`pictor::storage::s3`) against a real S3-compatible server (moto, via
//! scripts/s3-test-server.sh, or $PICTOR_S3_ENDPOINT): get, head, put, delete and list through
//! the `Store` interface, the size cap, and what a missing object, a missing bucket and wrong
//! credentials each are. Everything listens on loopback only.

#[path = "common/s3.rs"]
mod s3_harness;
use s3_harness::{block_on, s3, seed, unique_bucket, S3Endpoint};

use bytes::Bytes;
use pictor::error::PictorError;
use pictor::storage::s3::{S3Settings, S3Store};
use pictor::storage::{Attributes, Store};
use std::time::Duration;

fn settings(endpoint: &S3Endpoint, bucket: &str) -> S3Settings {
    S3Settings {
        bucket: bucket.to_string(),
        endpoint_url: Some(endpoint.url.clone()),
        access_key_id: Some(endpoint.access_key.clone()),
        secret_access_key: Some(endpoint.secret_key.clone()),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        ..S3Settings::default()
    }
}

#[test]
fn s3_store_get_head_put_delete_list() {
    let (endpoint, _server) = s3();
    let bucket = unique_bucket("store");
    seed(&endpoint, &bucket, &[]);
    let store = Store::S3(S3Store::new(&settings(&endpoint, &bucket)));
    block_on(async {
        assert_eq!(store.get("a/b.txt", 100).await.unwrap(), None);
        assert_eq!(store.head("a/b.txt").await.unwrap(), None);

        let attributes = Attributes {
            content_type: Some("text/plain".into()),
            cache_control: Some("max-age=60".into()),
            metadata: [("pictor-x".to_string(), "1".to_string())].into(),
        };
        store
            .put("a/b.txt", Bytes::from_static(b"hello"), &attributes)
            .await
            .unwrap();
        let object = store.get("a/b.txt", 100).await.unwrap().unwrap();
        assert_eq!(&object.body[..], b"hello");
        assert_eq!(object.info.size, 5);
        assert_eq!(object.info.attributes, attributes);
        assert!(object.info.modified.is_some());
        let info = store.head("a/b.txt").await.unwrap().unwrap();
        assert_eq!((info.size, &info.attributes), (5, &attributes));

        // The cap is checked against the declared length and while the body streams.
        assert!(store.get("a/b.txt", 5).await.unwrap().is_some());
        assert!(matches!(
            store.get("a/b.txt", 4).await,
            Err(PictorError::TooLarge(_))
        ));

        for key in ["a/c.txt", "b.txt", "/rs/x"] {
            store
                .put(key, Bytes::from_static(b"x"), &Attributes::default())
                .await
                .unwrap();
        }
        assert_eq!(
            store.list("a/", 100).await.unwrap(),
            vec!["a/b.txt", "a/c.txt"]
        );
        assert_eq!(store.list("", 2).await.unwrap(), vec!["/rs/x", "a/b.txt"]);
        assert_eq!(store.list("", 100).await.unwrap().len(), 4);
        assert!(store.list("nothing/", 100).await.unwrap().is_empty());

        store.delete("a/b.txt").await.unwrap();
        assert_eq!(store.get("a/b.txt", 100).await.unwrap(), None);
        store.delete("a/b.txt").await.unwrap();
        assert_eq!(store.list("a/", 100).await.unwrap(), vec!["a/c.txt"]);
    });
}

#[test]
fn s3_store_missing_bucket_is_a_miss_and_wrong_keys_are_not_found() {
    let (endpoint, server) = s3();
    let bucket = unique_bucket("denied");
    seed(&endpoint, &bucket, &[("a.jpg", b"jpeg")]);
    let store = S3Store::new(&settings(&endpoint, &bucket));
    block_on(async {
        assert_eq!(
            &store.get("a.jpg", 100).await.unwrap().unwrap().body[..],
            b"jpeg"
        );
        let elsewhere = store.in_bucket(&unique_bucket("nobucket"));
        assert_eq!(elsewhere.get("a.jpg", 100).await.unwrap(), None);
        assert_eq!(elsewhere.head("a.jpg").await.unwrap(), None);
    });
    // A server started here checks credentials (one given by $PICTOR_S3_ENDPOINT may not).
    if server.is_some() {
        let wrong = S3Store::new(&S3Settings {
            secret_access_key: Some("not-the-secret".into()),
            ..settings(&endpoint, &bucket)
        });
        block_on(async {
            // Access denied is not a miss: Thumbor answers 404, and result storage backs off.
            assert!(matches!(
                wrong.get("a.jpg", 100).await,
                Err(PictorError::NotFound(_))
            ));
            assert!(matches!(
                wrong
                    .put("b.jpg", Bytes::new(), &Attributes::default())
                    .await,
                Err(PictorError::NotFound(_))
            ));
        });
    }
}
