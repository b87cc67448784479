//! Black-box tests of `pictor serve`'s start-up checks: one warning line for each of Thumbor's
//! unsafe defaults still in force (the key MY_SECURE_KEY, unsafe URLs on, a file loader serving
//! the home folder or /), none for a safe configuration, and `--production` / `PRODUCTION=True`
//! refusing to start with one line naming every offending setting.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The tracing target of the start-up warnings; each warning line carries it.
const WARNING_TARGET: &str = "pictor::startup";

/// Settings that trigger no warning, with `home` as $HOME; `overrides` replace or add keys.
fn env_with(home: &Path, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let images = common::corpus().to_str().unwrap().to_string();
    let mut env = vec![
        ("HOME".to_string(), home.to_str().unwrap().to_string()),
        (
            "SECURITY_KEY".to_string(),
            "a long random secret".to_string(),
        ),
        ("ALLOW_UNSAFE_URL".to_string(), "False".to_string()),
        ("FILE_LOADER_ROOT_PATH".to_string(), images),
    ];
    for (key, value) in overrides {
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }
    env
}

/// Without the key: the same settings minus `key` (so its default applies).
fn env_without(home: &Path, key: &str) -> Vec<(String, String)> {
    let mut env = env_with(home, &[]);
    env.retain(|(k, _)| k != key);
    env
}

fn spawn(args: &[&str], env: &[(String, String)]) -> Child {
    let mut cmd = Command::new(common::binary());
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start pictor")
}

/// Starts the server, waits for its listening line, stops it and returns its stderr. The
/// warnings are written before the listening line, so they are all in the pipe by then.
fn start_and_collect_stderr(env: &[(String, String)]) -> String {
    let mut child = spawn(&[], env);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut listening = false;
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("pictor listening on") {
            listening = true;
            break;
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    let stderr = read_pipe(child.stderr.take());
    assert!(listening, "pictor did not start: {stderr}");
    stderr
}

/// Runs a start that must fail; returns its exit status and stderr. Killed (and the test
/// failed) if it is still running after 30 s, i.e. if it started serving.
fn run_refused(args: &[&str], env: &[(String, String)]) -> (ExitStatus, String) {
    let mut child = spawn(args, env);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pictor started although it should have refused");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = read_pipe(child.stdout.take());
    assert!(!stdout.contains("listening"), "{stdout}");
    (status, read_pipe(child.stderr.take()))
}

/// All that is left in a child's output pipe.
fn read_pipe(pipe: Option<impl Read>) -> String {
    let mut text = String::new();
    pipe.expect("piped output")
        .read_to_string(&mut text)
        .expect("read child output");
    text
}

fn warning_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.contains(WARNING_TARGET))
        .collect()
}

/// Asserts exactly one start-up warning, containing every one of `words`.
fn assert_one_warning(stderr: &str, words: &[&str]) {
    let lines = warning_lines(stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("WARN"), "{stderr}");
    for word in words {
        assert!(lines[0].contains(word), "{word:?} missing in {stderr}");
    }
}

#[test]
fn a_safe_configuration_starts_without_warnings() {
    let home = tempfile::tempdir().unwrap();
    let stderr = start_and_collect_stderr(&env_with(home.path(), &[]));
    assert_eq!(warning_lines(&stderr), Vec::<&str>::new(), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[test]
fn thumbor_defaults_give_one_warning_line_each() {
    let home = tempfile::tempdir().unwrap();
    // Only $HOME: every setting at Thumbor's default.
    let env = vec![(
        "HOME".to_string(),
        home.path().to_str().unwrap().to_string(),
    )];
    let stderr = start_and_collect_stderr(&env);
    let lines = warning_lines(&stderr);
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].contains("SECURITY_KEY") && lines[0].contains("MY_SECURE_KEY"));
    assert!(lines[1].contains("ALLOW_UNSAFE_URL"), "{stderr}");
    assert!(lines[2].contains("FILE_LOADER_ROOT_PATH is the home folder"));
}

#[test]
fn the_default_key_warns() {
    let home = tempfile::tempdir().unwrap();
    let stderr = start_and_collect_stderr(&env_without(home.path(), "SECURITY_KEY"));
    assert_one_warning(&stderr, &["SECURITY_KEY", "MY_SECURE_KEY"]);
    // Setting Thumbor's key explicitly is the same state.
    let stderr =
        start_and_collect_stderr(&env_with(home.path(), &[("SECURITY_KEY", "MY_SECURE_KEY")]));
    assert_one_warning(&stderr, &["SECURITY_KEY", "MY_SECURE_KEY"]);
}

#[test]
fn unsafe_urls_warn() {
    let home = tempfile::tempdir().unwrap();
    let stderr = start_and_collect_stderr(&env_without(home.path(), "ALLOW_UNSAFE_URL"));
    assert_one_warning(&stderr, &["ALLOW_UNSAFE_URL", "False"]);
}

#[test]
fn a_file_loader_at_the_home_folder_warns() {
    let home = tempfile::tempdir().unwrap();
    let home_text = home.path().to_str().unwrap();
    // The default `~`, and the folder spelled out.
    for env in [
        env_without(home.path(), "FILE_LOADER_ROOT_PATH"),
        env_with(home.path(), &[("FILE_LOADER_ROOT_PATH", home_text)]),
    ] {
        let stderr = start_and_collect_stderr(&env);
        assert_one_warning(
            &stderr,
            &["FILE_LOADER_ROOT_PATH", "home folder", home_text],
        );
    }
    // Without a file loader, the root serves nothing: no warning.
    let env = env_with(
        home.path(),
        &[("FILE_LOADER_ROOT_PATH", home_text), ("LOADER", "http")],
    );
    let stderr = start_and_collect_stderr(&env);
    assert_eq!(warning_lines(&stderr), Vec::<&str>::new(), "{stderr}");
}

#[test]
fn a_file_loader_at_the_filesystem_root_warns() {
    let home = tempfile::tempdir().unwrap();
    let stderr =
        start_and_collect_stderr(&env_with(home.path(), &[("FILE_LOADER_ROOT_PATH", "/")]));
    assert_one_warning(&stderr, &["FILE_LOADER_ROOT_PATH is /"]);
}

#[test]
fn production_flag_refuses_thumbor_defaults_naming_each() {
    let home = tempfile::tempdir().unwrap();
    let env = vec![(
        "HOME".to_string(),
        home.path().to_str().unwrap().to_string(),
    )];
    let (status, stderr) = run_refused(&["--production"], &env);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for word in [
        "refusing to start",
        "SECURITY_KEY",
        "ALLOW_UNSAFE_URL",
        "FILE_LOADER_ROOT_PATH",
    ] {
        assert!(stderr.contains(word), "{word:?} missing in {stderr}");
    }
}

#[test]
fn production_key_refuses_each_unsafe_setting_alone() {
    let home = tempfile::tempdir().unwrap();
    for (env, named, not_named) in [
        (
            env_without(home.path(), "SECURITY_KEY"),
            "SECURITY_KEY",
            "ALLOW_UNSAFE_URL",
        ),
        (
            env_without(home.path(), "ALLOW_UNSAFE_URL"),
            "ALLOW_UNSAFE_URL",
            "SECURITY_KEY",
        ),
        (
            env_with(home.path(), &[("FILE_LOADER_ROOT_PATH", "/")]),
            "FILE_LOADER_ROOT_PATH",
            "ALLOW_UNSAFE_URL",
        ),
    ] {
        let mut env = env;
        env.push(("PRODUCTION".to_string(), "True".to_string()));
        let (status, stderr) = run_refused(&[], &env);
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("refusing to start"), "{stderr}");
        assert!(stderr.contains(named), "{named:?} missing in {stderr}");
        assert!(!stderr.contains(not_named), "{not_named:?} in {stderr}");
    }
}

#[test]
fn production_mode_starts_when_every_setting_is_safe() {
    let home = tempfile::tempdir().unwrap();
    let env = env_with(home.path(), &[("PRODUCTION", "True")]);
    let stderr = start_and_collect_stderr(&env);
    assert!(!stderr.contains("WARN"), "{stderr}");
    // The flag as well (the child is stopped as soon as it listens).
    let mut child = spawn(&["--production"], &env_with(home.path(), &[]));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("pictor listening on"), "{line:?}");
}
