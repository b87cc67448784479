//! BACKGROUND_QUEUE=sqs against a real SQS-compatible server on loopback (moto, through
//! scripts/s3-test-server.sh, which serves SQS beside S3): instances sharing one queue render
//! each path once, a message held by a killed instance is rendered by another, and a message
//! that keeps failing ends in the dead-letter queue by the queue's redrive policy.

mod common;
#[path = "common/s3.rs"]
mod s3_harness;

use common::{corpus, Server};
use s3_harness::{block_on, S3Server};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

const KEY: &str = "fleet-0123456789abcdef";
const SECURITY_KEY: &str = "fleet-security-key";
/// What pictor's AWS chain reads from the environment (moto without auth takes any keys).
const AWS_KEY_ID: &str = "pictor-test";
const AWS_SECRET: &str = "pictor-test-secret";

struct Queues {
    client: aws_sdk_sqs::Client,
    jobs: String,
    dead_letters: String,
}

/// A job queue whose messages move to a dead-letter queue after `max_receives` receives.
fn queues(endpoint: &str, name: &str, max_receives: u32) -> Queues {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            AWS_KEY_ID, AWS_SECRET, None, None, "test",
        ))
        .build();
    let client = aws_sdk_sqs::Client::from_conf(config);
    block_on(async {
        let dead_letters = client
            .create_queue()
            .queue_name(format!("{name}-dead"))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let arn = client
            .get_queue_attributes()
            .queue_url(&dead_letters)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let redrive =
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max_receives}"}}"#);
        let jobs = client
            .create_queue()
            .queue_name(name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                redrive,
            )
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        Queues {
            client: client.clone(),
            jobs,
            dead_letters,
        }
    })
}

impl Queues {
    /// Messages in `queue`, visible or taken by a worker.
    fn messages(&self, queue: &str) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as Name;
        block_on(async {
            let answer = self
                .client
                .get_queue_attributes()
                .queue_url(queue)
                .attribute_names(Name::ApproximateNumberOfMessages)
                .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .unwrap();
            let attributes = answer.attributes().unwrap();
            [
                Name::ApproximateNumberOfMessages,
                Name::ApproximateNumberOfMessagesNotVisible,
            ]
            .iter()
            .map(|name| attributes[name].parse::<u64>().unwrap())
            .sum()
        })
    }

    fn send_raw(&self, body: &str) {
        block_on(async {
            self.client
                .send_message()
                .queue_url(&self.jobs)
                .message_body(body)
                .send()
                .await
                .unwrap();
        });
    }

    /// Bodies in the dead-letter queue (received, so hidden for a while afterwards).
    fn dead_letter_bodies(&self) -> Vec<String> {
        block_on(async {
            let answer = self
                .client
                .receive_message()
                .queue_url(&self.dead_letters)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            answer
                .messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_string))
                .collect()
        })
    }
}

/// An instance consuming `queue_url`, storing results under `results`.
fn instance(moto: &S3Server, queue_url: &str, results: &Path, extra: &[(&str, &str)]) -> Server {
    let root = corpus().join("thumbor");
    let root = root.to_str().unwrap().to_string();
    let apps = format!("site:{KEY}:*");
    let results = results.to_str().unwrap().to_string();
    let mut env: Vec<(&str, &str)> = vec![
        ("FILE_LOADER_ROOT_PATH", &root),
        ("SECURITY_KEY", SECURITY_KEY),
        ("ALLOW_UNSAFE_URL", "False"),
        ("SIGNING_API_KEYS", &apps),
        ("METRICS_BIND", "127.0.0.1:0"),
        ("RESULT_STORAGE", "file"),
        ("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH", &results),
        ("BACKGROUND_QUEUE", "sqs"),
        ("BACKGROUND_QUEUE_URL", queue_url),
        ("AWS_SQS_ENDPOINT_URL", &moto.endpoint.url),
        ("AWS_ACCESS_KEY_ID", AWS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    ];
    env.extend_from_slice(extra);
    Server::start(&env)
}

fn post_paths(server: &Server, paths: &[String]) -> common::Response {
    let body = serde_json::json!({ "paths": paths }).to_string();
    server.send(
        "POST",
        "/preheat",
        &[("Authorization", &format!("Bearer {KEY}"))],
        body.as_bytes(),
    )
}

fn stored(results: &Path, path: &str) -> bool {
    let signed = format!(
        "/{}/{path}",
        pictor::url::signature::sign(SECURITY_KEY.as_bytes(), path)
    );
    pictor::cache::result_storage::file_path(results, &signed, false).is_file()
}

/// Polls `done` every 100 ms, at most 600 times; panics with `what` if it never holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not after 600 polls");
}

#[test]
fn two_instances_sharing_a_queue_render_each_path_once() {
    let moto = S3Server::start(0, false);
    let queues = queues(&moto.endpoint.url, "shared", 5);
    let results = tempfile::tempdir().unwrap();
    let a = instance(&moto, &queues.jobs, results.path(), &[]);
    let b = instance(&moto, &queues.jobs, results.path(), &[]);
    let images = ["image.jpg", "20x20.jpg", "1x1.png", "256_color_palette.png"];
    let paths: Vec<String> = images
        .iter()
        .flat_map(|image| {
            ["40x30", "fit-in/25x25"]
                .iter()
                .map(move |size| format!("{size}/images/{image}"))
        })
        .collect();
    let r = post_paths(&a, &paths);
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let rendered = || a.background_count("rendered") + b.background_count("rendered");
    wait_until("every path rendered and the queue empty", || {
        rendered() == paths.len() as u64 && queues.messages(&queues.jobs) == 0
    });
    // Nothing left to take: the count is final. Each path once, by one instance or the other.
    assert_eq!(rendered(), paths.len() as u64);
    for path in &paths {
        assert!(stored(results.path(), path), "{path} not stored");
    }
    // The submitting instance counts what it did itself, and says so.
    let status = a
        .request(
            "GET",
            r.header("location").unwrap(),
            &[("Authorization", &format!("Bearer {KEY}"))],
        )
        .json();
    assert_eq!(status["done"], a.background_count("rendered"), "{status}");
    assert!(status["note"].as_str().unwrap().contains("sqs"));

    // The same paths again, through the other instance: lookups only.
    assert_eq!(post_paths(&b, &paths).status, 202);
    let already = || a.background_count("already_stored") + b.background_count("already_stored");
    wait_until("every path found stored", || {
        already() == paths.len() as u64 && queues.messages(&queues.jobs) == 0
    });
    assert_eq!(rendered(), paths.len() as u64);
}

/// An HTTP origin whose first connection is accepted and never answered (the instance loading
/// through it holds its message); later connections get `image`.
fn stalling_origin(image: Vec<u8>) -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (first_seen, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (index, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            if index == 0 {
                held.push(stream);
                let _ = first_seen.send(());
                continue;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                image.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&image);
        }
    });
    (port, seen)
}

#[test]
fn a_message_held_by_a_killed_instance_is_rendered_by_another() {
    let moto = S3Server::start(0, false);
    let queues = queues(&moto.endpoint.url, "redelivery", 5);
    let results = tempfile::tempdir().unwrap();
    let image = std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap();
    let (port, first_load) = stalling_origin(image);
    let http_origin = [
        ("LOADER", "http"),
        ("HTTP_LOADER_ALLOW_PRIVATE_NETWORKS", "true"),
        ("HTTP_LOADER_REQUEST_TIMEOUT", "300"),
        // A message stays hidden 2 s after a receive (more than a render's 1 s).
        ("REQUEST_TIMEOUT_SECONDS", "1"),
        ("BACKGROUND_VISIBILITY_TIMEOUT_SECONDS", "2"),
    ];
    let mut first = instance(&moto, &queues.jobs, results.path(), &http_origin);
    let path = format!("30x20/127.0.0.1:{port}/image.jpg");
    assert_eq!(post_paths(&first, std::slice::from_ref(&path)).status, 202);
    // The first instance took the message and is loading its original: kill it there.
    first_load
        .recv_timeout(Duration::from_secs(60))
        .expect("the first instance never loaded the original");
    let _ = std::process::Command::new("kill")
        .args(["-9", &first.pid().to_string()])
        .status();
    let _ = first.terminate_within(Duration::from_secs(10));
    assert!(!stored(results.path(), &path));
    let second = instance(&moto, &queues.jobs, results.path(), &http_origin);
    wait_until("the message delivered again and rendered", || {
        second.background_count("rendered") == 1 && queues.messages(&queues.jobs) == 0
    });
    assert!(stored(results.path(), &path));
}

#[test]
fn messages_that_keep_failing_go_to_the_dead_letter_queue() {
    let moto = S3Server::start(0, false);
    let queues = queues(&moto.endpoint.url, "poison", 2);
    let results = tempfile::tempdir().unwrap();
    let server = instance(
        &moto,
        &queues.jobs,
        results.path(),
        &[
            ("REQUEST_TIMEOUT_SECONDS", "1"),
            ("BACKGROUND_VISIBILITY_TIMEOUT_SECONDS", "2"),
        ],
    );
    queues.send_raw("not a pictor message");
    let missing = "30x20/images/no-such-image.jpg".to_string();
    assert_eq!(
        post_paths(&server, std::slice::from_ref(&missing)).status,
        202
    );
    let mut dead = Vec::new();
    wait_until("both messages in the dead-letter queue", || {
        dead.extend(queues.dead_letter_bodies());
        dead.len() >= 2
    });
    assert!(
        dead.iter().any(|body| body == "not a pictor message"),
        "{dead:?}"
    );
    assert!(dead.iter().any(|body| body.contains(&missing)), "{dead:?}");
    assert!(server.background_count("failed") >= 2);
    assert_eq!(server.background_count("rendered"), 0);
}

#[test]
fn regenerate_enqueue_hands_the_presets_to_the_fleet() {
    let moto = S3Server::start(0, false);
    let queues = queues(&moto.endpoint.url, "regenerate", 5);
    let results = tempfile::tempdir().unwrap();
    let originals = tempfile::tempdir().unwrap();
    for image in ["image.jpg", "20x20.jpg"] {
        std::fs::copy(
            corpus().join("thumbor/images").join(image),
            originals.path().join(image),
        )
        .unwrap();
    }
    let originals_root = originals.path().to_str().unwrap();
    let results_root = results.path().to_str().unwrap();
    let presets = r#"{"thumb": "fit-in/40x40", "square": "20x20"}"#;
    let env = [
        ("FILE_LOADER_ROOT_PATH", originals_root),
        ("SECURITY_KEY", SECURITY_KEY),
        ("PRESETS", presets),
        ("RESULT_STORAGE", "file"),
        ("RESULT_STORAGE_FILE_STORAGE_ROOT_PATH", results_root),
        ("BACKGROUND_QUEUE", "sqs"),
        ("BACKGROUND_QUEUE_URL", queues.jobs.as_str()),
        ("AWS_SQS_ENDPOINT_URL", moto.endpoint.url.as_str()),
        ("AWS_ACCESS_KEY_ID", AWS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
    ];
    // Refused: options that only mean something for renders done here, and a queue in process.
    let common::Run { code, stderr, .. } =
        common::run_pictor(&["regenerate", "--enqueue", "--force"], &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    let in_process: Vec<(&str, &str)> = env
        .iter()
        .copied()
        .filter(|(k, _)| !k.starts_with("BACKGROUND_QUEUE"))
        .collect();
    let common::Run { code, stderr, .. } =
        common::run_pictor(&["regenerate", "--enqueue"], &in_process);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("BACKGROUND_QUEUE=sqs"), "{stderr}");
    assert_eq!(queues.messages(&queues.jobs), 0);

    // Two originals, two presets: four paths queued, nothing rendered by the command.
    let common::Run {
        code,
        stdout,
        stderr,
    } = common::run_pictor(&["regenerate", "--enqueue"], &env);
    assert_eq!(code, Some(0), "{stdout} {stderr}");
    assert!(
        stdout.contains("regenerate: 2 originals: 4 paths queued"),
        "{stdout}"
    );
    assert_eq!(queues.messages(&queues.jobs), 4);
    assert!(std::fs::read_dir(results.path()).unwrap().next().is_none());

    // An instance of the fleet takes them and renders each into result storage.
    let worker = instance(
        &moto,
        &queues.jobs,
        results.path(),
        &[
            ("PRESETS", presets),
            ("FILE_LOADER_ROOT_PATH", originals_root),
        ],
    );
    wait_until("the queued presets rendered and the queue empty", || {
        worker.background_count("rendered") == 4 && queues.messages(&queues.jobs) == 0
    });
    assert_eq!(worker.background_count("failed"), 0);
    let signed = |path: &str| {
        format!(
            "/{}/{path}",
            pictor::url::signature::sign(SECURITY_KEY.as_bytes(), path)
        )
    };
    let r = worker.get(&signed("preset:thumb/image.jpg"));
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (30, 40));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(worker.background_count("rendered"), 4);
}
