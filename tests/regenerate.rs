//! Black-box tests of `pictor regenerate`: presets of every original rendered into result
//! storage, over a folder (FILE_LOADER_ROOT_PATH into a file result storage) and over S3
//! (STORAGE and result storage in moto's buckets): what is current is skipped, `--force` renders
//! again, a changed preset renders again, a run stopped by `--limit` or Ctrl-C is finished by
//! `--resume` without redoing what it did, and a broken original is a failure with its reason.

mod common;
use common::{corpus, Run, Server};
#[path = "common/s3.rs"]
mod s3_harness;
use s3_harness::{block_on, s3, sdk, seed, unique_bucket};

use std::path::Path;
use std::process::Command;

const PRESETS: &str = r#"{"thumb": "fit-in/100x100", "square": "50x50"}"#;

fn jpeg() -> Vec<u8> {
    std::fs::read(corpus().join("thumbor/images/image.jpg")).unwrap()
}

/// The summary line of a run.
fn summary(run: &Run) -> &str {
    run.stdout
        .lines()
        .find(|l| l.starts_with("regenerate:"))
        .unwrap_or_else(|| panic!("no summary in {:?} / {:?}", run.stdout, run.stderr))
}

fn regenerate(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all = vec!["regenerate"];
    all.extend_from_slice(args);
    common::run_pictor(&all, env)
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Originals a.jpg and photos/b.jpg in a folder, results in another.
struct Folders {
    originals: tempfile::TempDir,
    results: tempfile::TempDir,
}

impl Folders {
    fn new() -> Folders {
        let originals = tempfile::tempdir().unwrap();
        std::fs::create_dir(originals.path().join("photos")).unwrap();
        std::fs::write(originals.path().join("a.jpg"), jpeg()).unwrap();
        std::fs::write(originals.path().join("photos/b.jpg"), jpeg()).unwrap();
        Folders {
            originals,
            results: tempfile::tempdir().unwrap(),
        }
    }

    fn env<'a>(&'a self, presets: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            (
                "FILE_LOADER_ROOT_PATH",
                self.originals.path().to_str().unwrap(),
            ),
            ("RESULT_STORAGE", "file"),
            (
                "RESULT_STORAGE_FILE_STORAGE_ROOT_PATH",
                self.results.path().to_str().unwrap(),
            ),
            ("PRESETS", presets),
        ]
    }

    fn results(&self) -> usize {
        files_under(self.results.path()).len()
    }
}

#[test]
fn a_folder_of_originals_is_rendered_skipped_and_forced() {
    let folders = Folders::new();
    let env = folders.env(PRESETS);
    let first = regenerate(&env, &[]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert!(
        summary(&first).contains("2 originals: 4 rendered, 0 skipped"),
        "{}",
        summary(&first)
    );
    assert_eq!(
        folders.results(),
        4,
        "no checkpoint is left after a full run"
    );
    // Plain progress lines when standard error is not a terminal.
    assert!(first.stderr.contains("regenerate: 4/4"), "{}", first.stderr);

    let second = regenerate(&env, &[]);
    assert!(
        summary(&second).contains("0 rendered, 4 skipped"),
        "{}",
        summary(&second)
    );
    let forced = regenerate(&env, &["--force", "--preset", "thumb"]);
    assert!(
        summary(&forced).contains("2 rendered, 0 skipped"),
        "{}",
        summary(&forced)
    );
    let prefixed = regenerate(&env, &["--force", "--prefix", "photos/"]);
    assert!(
        summary(&prefixed).contains("1 originals: 2 rendered"),
        "{}",
        summary(&prefixed)
    );
    let future = regenerate(&env, &["--since", "2999-01-01"]);
    assert!(
        summary(&future).contains("0 originals"),
        "{}",
        summary(&future)
    );

    // A changed definition is not current: only that preset renders again, under new names.
    let changed = r#"{"thumb": "fit-in/100x100", "square": "60x60"}"#;
    let third = regenerate(&folders.env(changed), &[]);
    assert!(
        summary(&third).contains("2 rendered, 2 skipped"),
        "{}",
        summary(&third)
    );
    assert_eq!(folders.results(), 6);

    // The server finds what regenerate stored: a signed or unsafe preset request is a hit.
    let mut env = folders.env(changed);
    env.push(("METRICS_BIND", "127.0.0.1:0"));
    let server = Server::start(&env);
    let r = server.get("/unsafe/preset:square/photos/b.jpg");
    assert_eq!(r.status, 200);
    assert_eq!(r.image_size(), (60, 60));
    let metrics = Server::attach(server.metrics_addr.unwrap()).get("/metrics");
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    let hits = text
        .lines()
        .find(|l| {
            l.starts_with(r#"pictor_cache_requests_total{tier="result_storage",result="hit"}"#)
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(hits.ends_with(" 1"), "{hits}");
}

#[test]
fn a_run_stopped_early_is_resumed_without_redoing_its_work() {
    let folders = Folders::new();
    let env = folders.env(PRESETS);
    let state = folders.results.path().join(".regenerate-checkpoint");
    let stopped = regenerate(&env, &["--force", "--jobs", "1", "--limit", "3"]);
    assert_eq!(stopped.code, Some(3), "{}", stopped.stderr);
    assert!(
        summary(&stopped).contains("3 rendered"),
        "{}",
        summary(&stopped)
    );
    assert!(summary(&stopped).contains("--resume"));
    assert!(state.exists(), "the checkpoint is kept");
    // --force renders what is current, but --resume leaves out what the stopped run did.
    let resumed = regenerate(&env, &["--force", "--resume"]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    assert!(
        summary(&resumed).contains("1 rendered, 0 skipped (current), 3 resumed"),
        "{}",
        summary(&resumed)
    );
    assert!(!state.exists(), "a finished run leaves no checkpoint");
    // Without --resume a run starts over.
    let again = regenerate(&env, &["--force"]);
    assert!(
        summary(&again).contains("4 rendered"),
        "{}",
        summary(&again)
    );
}

#[test]
fn a_broken_original_is_a_failure_with_its_reason() {
    let folders = Folders::new();
    std::fs::write(
        folders.originals.path().join("broken.jpg"),
        b"\xff\xd8not a jpeg",
    )
    .unwrap();
    let run = regenerate(&folders.env(PRESETS), &[]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        summary(&run).contains("4 rendered, 0 skipped"),
        "{}",
        summary(&run)
    );
    assert!(summary(&run).contains("2 failed"), "{}", summary(&run));
    let failures: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("failed "))
        .collect();
    assert_eq!(failures.len(), 2, "{}", run.stdout);
    assert!(failures
        .iter()
        .any(|l| l.starts_with("failed preset:thumb/broken.jpg: ")));
    assert!(
        failures
            .iter()
            .all(|l| l.contains("decode") || l.contains("not an image")),
        "{failures:?}"
    );
}

#[test]
fn what_cannot_be_regenerated_is_refused_at_start() {
    let folders = Folders::new();
    let mut env = folders.env(PRESETS);
    env.retain(|(k, _)| *k != "PRESETS");
    let run = regenerate(&env, &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("PRESETS"), "{}", run.stderr);
    let run = regenerate(&folders.env(PRESETS), &["--preset", "nope"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("nope"), "{}", run.stderr);
    let mut env = folders.env(PRESETS);
    env.retain(|(k, _)| *k != "RESULT_STORAGE");
    let run = regenerate(&env, &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("RESULT_STORAGE"), "{}", run.stderr);
}

#[test]
fn a_bucket_of_originals_is_rendered_into_a_result_bucket() {
    let (endpoint, _server) = s3();
    let originals = unique_bucket("originals");
    let results = unique_bucket("results");
    let image = jpeg();
    seed(
        &endpoint,
        &originals,
        &[
            ("/st/a.jpg", &image),
            ("/st/photos/b.jpg", &image),
            ("/st/photos/c d.jpg", &image),
        ],
    );
    seed(&endpoint, &results, &[]);
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("checkpoint");
    let state_arg = state_file.to_str().unwrap();
    let env = [
        ("STORAGE", "thumbor_aws.storage"),
        ("AWS_STORAGE_BUCKET_NAME", originals.as_str()),
        ("AWS_STORAGE_S3_ENDPOINT_URL", endpoint.url.as_str()),
        ("AWS_STORAGE_S3_ACCESS_KEY_ID", endpoint.access_key.as_str()),
        (
            "AWS_STORAGE_S3_SECRET_ACCESS_KEY",
            endpoint.secret_key.as_str(),
        ),
        ("RESULT_STORAGE", "thumbor_aws.result_storage"),
        ("AWS_RESULT_STORAGE_BUCKET_NAME", results.as_str()),
        ("AWS_RESULT_STORAGE_S3_ENDPOINT_URL", endpoint.url.as_str()),
        (
            "AWS_RESULT_STORAGE_S3_ACCESS_KEY_ID",
            endpoint.access_key.as_str(),
        ),
        (
            "AWS_RESULT_STORAGE_S3_SECRET_ACCESS_KEY",
            endpoint.secret_key.as_str(),
        ),
        ("PRESETS", PRESETS),
    ];
    let stored = || {
        block_on(async {
            let listed = sdk(&endpoint)
                .list_objects_v2()
                .bucket(&results)
                .send()
                .await
                .unwrap();
            let mut keys: Vec<String> = listed
                .contents()
                .iter()
                .map(|o| o.key().unwrap().to_string())
                .collect();
            keys.sort();
            keys
        })
    };
    let first = regenerate(&env, &["--state", state_arg]);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    assert!(
        summary(&first).contains("3 originals: 6 rendered, 0 skipped"),
        "{}",
        summary(&first)
    );
    let keys = stored();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert!(keys.iter().all(|k| k.contains("preset:")), "{keys:?}");
    assert!(
        keys.iter().any(|k| k.ends_with("/photos/c d.jpg")),
        "{keys:?}"
    );

    let second = regenerate(&env, &["--state", state_arg]);
    assert!(
        summary(&second).contains("0 rendered, 6 skipped"),
        "{}",
        summary(&second)
    );

    let stopped = regenerate(
        &env,
        &[
            "--state", state_arg, "--force", "--jobs", "1", "--limit", "2",
        ],
    );
    assert_eq!(stopped.code, Some(3), "{}", stopped.stderr);
    assert!(state_file.exists());
    let resumed = regenerate(&env, &["--state", state_arg, "--force", "--resume"]);
    assert!(
        summary(&resumed).contains("4 rendered, 0 skipped (current), 2 resumed"),
        "{}",
        summary(&resumed)
    );
    let prefixed = regenerate(&env, &["--state", state_arg, "--prefix", "photos/"]);
    assert!(
        summary(&prefixed).contains("2 originals: 0 rendered, 4 skipped"),
        "{}",
        summary(&prefixed)
    );
}

#[test]
fn ctrl_c_stops_after_the_renders_in_flight_and_resume_finishes() {
    use std::io::{BufRead, BufReader, Read};
    let folders = Folders::new();
    std::fs::create_dir(folders.originals.path().join("many")).unwrap();
    for i in 0..100 {
        std::fs::write(
            folders.originals.path().join(format!("many/{i:03}.jpg")),
            jpeg(),
        )
        .unwrap();
    }
    let total = 102 * 2;
    let env = folders.env(PRESETS);
    let mut child = Command::new(common::binary())
        .args(["regenerate", "--jobs", "1"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(
        first.starts_with(&format!("regenerate: 1/{total} ")),
        "{first}"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    // However far the run got before the signal was handled, it stops cleanly with a summary
    // and a checkpoint of exactly what it rendered.
    assert_eq!(status.code(), Some(130), "{stdout} {rest}");
    let stopped = Run {
        code: status.code(),
        stdout,
        stderr: rest,
    };
    assert!(
        summary(&stopped).contains("stopped early"),
        "{}",
        summary(&stopped)
    );
    let rendered = |summary: &str| -> usize {
        let counts = summary.split(": ").nth(2).unwrap();
        counts.split(' ').next().unwrap().parse().unwrap()
    };
    let done = rendered(summary(&stopped));
    assert!((1..=total).contains(&done), "{}", summary(&stopped));
    let resumed = regenerate(&env, &["--force", "--resume"]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    assert!(
        summary(&resumed).contains(&format!(
            "{} rendered, 0 skipped (current), {done} resumed",
            total - done
        )),
        "{}",
        summary(&resumed)
    );
}
