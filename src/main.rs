//! The `pictor` command line: `serve` (the HTTP server), `sign` (print a signed Thumbor path),
//! `render` (run one URL through the pipeline without a server), `sweep` (unactivated uploads),
//! `moderate --retry` (uploads whose moderation is pending) and `regenerate` (render presets of
//! every original into result storage, or queue them for the fleet).

// Every unsafe operation sits in its own `unsafe` block with a `// SAFETY:` line saying why it
// holds, also inside `unsafe fn`s (CI runs clippy with these denied).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

use clap::{Parser, Subcommand};
use pictor::config::{Config, ConfigSource};
use pictor::server::{self, App};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

// The allocator is chosen by measurement (BENCHMARKS.md, "Allocator"): glibc with one arena
// per core is the fastest on the large-JPEG task, level on small ones, and holds the least
// memory; mimalloc wins the PNG task only by holding twice the memory, jemalloc is slowest.
// The `mimalloc` and `jemalloc` features swap in those allocators instead.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// glibc's default of 8 arenas per core lets every thread of the blocking pool that ever ran a
/// render keep its own freed decode buffers: 650 MB of RSS under 16 concurrent 6 MP renders
/// instead of 62 MB with one arena per core, at the same speed. `MALLOC_ARENA_MAX` still wins.
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(any(feature = "mimalloc", feature = "jemalloc"))
))]
fn cap_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets an allocator parameter; it runs first thing in main, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(
    target_os = "linux",
    target_env = "gnu",
    not(any(feature = "mimalloc", feature = "jemalloc"))
)))]
fn cap_malloc_arenas() {}

#[derive(Parser)]
#[command(
    name = "pictor",
    version,
    about = "A fast, drop-in replacement for Thumbor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the image server. Configuration comes from Thumbor-named environment variables
    /// (SECURITY_KEY, FILE_LOADER_ROOT_PATH, ...) over an optional Thumbor-style config file.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8888")]
        bind: SocketAddr,
        /// A Thumbor-style config file (`KEY = value` lines); environment variables win.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Refuse to start with Thumbor's unsafe defaults (the key MY_SECURE_KEY, unsafe URLs
        /// on, a file loader serving the home folder or /) instead of warning about them. Same
        /// as PRODUCTION=True.
        #[arg(long)]
        production: bool,
    },
    /// Print the signed path for PATH (e.g. `300x200/smart/cat.jpg`), as libthumbor does, or
    /// build it from options (`--image cat.jpg --width 300 --height 200 --smart`).
    Sign {
        /// The signing key (default: SECURITY_KEY from the environment).
        #[arg(long, env = "SECURITY_KEY", hide_env_values = true)]
        key: String,
        /// The path to sign, without signature (a leading `/` is ignored). With `--preset`:
        /// the image, or options to override the preset's and the image (`300x0/cat.jpg`).
        #[arg(required_unless_present = "image", conflicts_with = "image")]
        path: Option<String>,
        /// Sign `preset:NAME/<PATH or --image>`; NAME must be in PRESETS (read as `serve`
        /// reads its configuration, from the environment and `--config`).
        #[arg(long)]
        preset: Option<String>,
        /// A Thumbor-style config file for `--preset`; environment variables win.
        #[arg(long, requires = "preset")]
        config: Option<PathBuf>,
        #[command(flatten)]
        options: SignOptions,
    },
    /// Run one imaging path (e.g. `/unsafe/300x200/cat.jpg`) through the pipeline and write
    /// the result to a file, using the same configuration as `serve`.
    Render {
        /// The imaging path, as a client would request it.
        path: String,
        /// Where to write the rendered bytes.
        #[arg(long)]
        out: PathBuf,
        /// A Thumbor-style config file; environment variables win.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The Accept header to negotiate with (matters with AUTO_WEBP).
        #[arg(long)]
        accept: Option<String>,
    },
    /// Remove uploads never activated (UPLOAD_ACTIVATION) from the incoming area once they are
    /// older than `--older-than`, and print a summary line.
    Sweep {
        /// Age past which an unactivated upload is removed: seconds, or a number with `s`,
        /// `m`, `h` or `d` (e.g. `24h`).
        #[arg(long, value_parser = parse_age)]
        older_than: std::time::Duration,
        /// A Thumbor-style config file; environment variables win.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Moderation (MODERATION_WEBHOOK_URL): `--retry` sends every upload held as pending (its
    /// classifier failed or timed out with MODERATION_FAIL=closed) to the classifier again,
    /// writes the verdicts it gets, and prints a summary line.
    Moderate {
        /// Re-send the pending uploads (the only action for now; required).
        #[arg(long, required = true)]
        retry: bool,
        /// A Thumbor-style config file; environment variables win.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Render presets (PRESETS) of every original (a bucket, or FILE_LOADER_ROOT_PATH) into
    /// result storage, skipping what is current, and print a summary. Ctrl-C stops after the
    /// renders in flight; `--resume` then goes on.
    Regenerate(RegenerateArgs),
}

/// `pictor regenerate`'s flags.
#[derive(clap::Args)]
struct RegenerateArgs {
    /// Only this preset (repeat for more; default: every preset).
    #[arg(long = "preset")]
    presets: Vec<String>,
    /// Only originals whose names start with this.
    #[arg(long, default_value = "")]
    prefix: String,
    /// Only originals written at or after this (UTC): `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`.
    #[arg(long, value_parser = pictor::jobs::regenerate::originals::parse_since)]
    since: Option<std::time::SystemTime>,
    /// Render even what result storage holds already for the preset's current definition.
    #[arg(long)]
    force: bool,
    /// Renders at once (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Skip what the checkpoint (`--state`) says an interrupted run did.
    #[arg(long)]
    resume: bool,
    /// The checkpoint file (default: `.regenerate-checkpoint` under a file result storage's
    /// root, else `pictor-regenerate.checkpoint` here).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Stop after this many paths, as if interrupted (the checkpoint is kept).
    #[arg(long)]
    limit: Option<usize>,
    /// Put the paths on the fleet's background queue (BACKGROUND_QUEUE=sqs) for its workers
    /// instead of rendering them here.
    #[arg(long)]
    enqueue: bool,
    /// A Thumbor-style config file; environment variables win.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// `90`, `90s`, `30m`, `24h`, `7d` as a duration.
fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("{text:?}: expected a number with s, m, h or d")),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per))
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: expected a number with s, m, h or d"))
}

/// Structured options for `pictor sign`, in libthumbor's terms (same as `POST /sign`).
#[derive(clap::Args)]
struct SignOptions {
    /// The image (a plain name: it is percent-encoded as needed).
    #[arg(long)]
    image: Option<String>,
    /// Width in pixels, or `orig`.
    #[arg(long)]
    width: Option<String>,
    /// Height in pixels, or `orig`.
    #[arg(long)]
    height: Option<String>,
    #[arg(long)]
    fit_in: bool,
    #[arg(long)]
    full_fit_in: bool,
    #[arg(long)]
    adaptive_fit_in: bool,
    #[arg(long)]
    adaptive_full_fit_in: bool,
    #[arg(long)]
    horizontal_flip: bool,
    #[arg(long)]
    vertical_flip: bool,
    /// left, center or right.
    #[arg(long)]
    halign: Option<String>,
    /// top, middle or bottom.
    #[arg(long)]
    valign: Option<String>,
    #[arg(long)]
    smart: bool,
    #[arg(long)]
    meta: bool,
    /// Trim borders: `top-left`, `bottom-right`, optionally `:tolerance`.
    #[arg(long)]
    trim: Option<String>,
    /// Manual crop `LEFT,TOP,RIGHT,BOTTOM`.
    #[arg(long, value_delimiter = ',')]
    crop: Option<Vec<u32>>,
    /// A filter call, e.g. `quality(80)`; repeat for more.
    #[arg(long = "filter")]
    filters: Vec<String>,
}

impl SignOptions {
    fn to_path(&self) -> Result<String, String> {
        use pictor::url::build::{OrigKeyword, SizeValue, StructuredOptions, TrimValue};
        let size = |text: &Option<String>| -> Result<Option<SizeValue>, String> {
            match text.as_deref() {
                None => Ok(None),
                Some("orig") => Ok(Some(SizeValue::Named(OrigKeyword::Orig))),
                Some(n) => n
                    .parse()
                    .map(|n| Some(SizeValue::Px(n)))
                    .map_err(|_| format!("size {n:?}: expected pixels or orig")),
            }
        };
        let options = StructuredOptions {
            image: self.image.clone().unwrap_or_default(),
            width: size(&self.width)?,
            height: size(&self.height)?,
            fit_in: self.fit_in,
            full_fit_in: self.full_fit_in,
            adaptive_fit_in: self.adaptive_fit_in,
            adaptive_full_fit_in: self.adaptive_full_fit_in,
            horizontal_flip: self.horizontal_flip,
            vertical_flip: self.vertical_flip,
            halign: self.halign.clone(),
            valign: self.valign.clone(),
            smart: self.smart,
            meta: self.meta,
            debug: false,
            trim: self.trim.clone().map(TrimValue::Spec),
            crop: match self.crop.as_deref() {
                None => None,
                Some(&[left, top, right, bottom]) => Some([left, top, right, bottom]),
                Some(_) => return Err("--crop takes LEFT,TOP,RIGHT,BOTTOM".into()),
            },
            filters: self.filters.clone(),
        };
        Ok(pictor::url::build::build_path(&options.to_url_options()?))
    }
}

fn main() -> ExitCode {
    cap_malloc_arenas();
    let cli = Cli::parse();
    // Dropped when main returns, after `serve` has drained: flushes the last spans.
    let _trace_export = init_logging();
    match cli.command {
        Command::Sign {
            key,
            path,
            preset,
            config,
            options,
        } => {
            let path = match (path, preset) {
                (path, Some(preset)) => match preset_path(&preset, path, &options, config) {
                    Ok(path) => path,
                    Err(code) => return code,
                },
                (Some(path), None) => path.trim_start_matches('/').to_string(),
                (None, None) => match options.to_path() {
                    Ok(path) => path,
                    Err(message) => {
                        eprintln!("{message}");
                        return ExitCode::from(2);
                    }
                },
            };
            println!(
                "/{}/{}",
                pictor::url::signature::sign(key.as_bytes(), &path),
                path
            );
            ExitCode::SUCCESS
        }
        Command::Serve {
            bind,
            config,
            production,
        } => match load_config(config) {
            Ok(config) => match check_unsafe_settings(&config, production) {
                Ok(()) => run(serve(config, bind)),
                Err(code) => code,
            },
            Err(code) => code,
        },
        Command::Render {
            path,
            out,
            config,
            accept,
        } => match load_config(config) {
            Ok(config) => run(render(config, path, out, accept)),
            Err(code) => code,
        },
        Command::Sweep { older_than, config } => match load_config(config) {
            Ok(config) => run(sweep(config, older_than)),
            Err(code) => code,
        },
        Command::Moderate { retry: _, config } => match load_config(config) {
            Ok(config) => run(moderate_retry(config)),
            Err(code) => code,
        },
        Command::Regenerate(args) => match load_config(args.config.clone()) {
            Ok(config) => regenerate(config, args),
            Err(code) => code,
        },
    }
}

/// `pictor moderate --retry`: one pass over the sidecars of the storage (and incoming area).
async fn moderate_retry(config: Config) -> Result<(), String> {
    if !config.moderation.enabled() {
        return Err("nothing to retry: MODERATION_WEBHOOK_URL is not set".to_string());
    }
    let app = pictor::server::app::App::new(config).map_err(|e| e.to_string())?;
    if app.loader.storage().is_none() {
        return Err("nothing to retry: there is no storage of originals (STORAGE)".to_string());
    }
    let summary = pictor::upload::moderation::retry_pending(&app)
        .await
        .map_err(|e| format!("moderation retry failed: {e}"))?;
    println!(
        "moderate: {} sidecars examined, {} pending retried: {} approved, {} flagged, {} still \
         pending, {} skipped{}",
        summary.examined,
        summary.retried,
        summary.approved,
        summary.flagged,
        summary.still_pending,
        summary.skipped,
        if summary.truncated {
            "; more remain, run again"
        } else {
            ""
        }
    );
    Ok(())
}

/// `pictor regenerate`: exit 0 when everything is done, 1 when some paths failed, 2 when it
/// cannot start, 130 when stopped by a signal (3 by `--limit`).
fn regenerate(config: Config, args: RegenerateArgs) -> ExitCode {
    use pictor::jobs::regenerate::{self, Options};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| match config.cache.result_storage.kind {
            pictor::cache::settings::ResultStorageKind::File => config
                .cache
                .result_storage
                .file_root
                .join(".regenerate-checkpoint"),
            _ => PathBuf::from("pictor-regenerate.checkpoint"),
        });
    let options = Options {
        presets: args.presets,
        prefix: args.prefix,
        since: args.since,
        force: args.force,
        jobs: args.jobs.unwrap_or(cores).max(1),
        resume: args.resume,
        state,
        limit: args.limit,
        enqueue: args.enqueue,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let outcome = runtime.block_on(async {
        let app = App::new(config).map_err(|e| e.to_string())?;
        let stop = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("regenerate: stopping after the renders in flight");
                stop.store(true, Ordering::Relaxed);
            }
        });
        regenerate::run(app, &options, interrupted.clone()).await
    });
    match outcome {
        Ok(summary) => {
            for line in summary.lines() {
                println!("{line}");
            }
            if interrupted.load(Ordering::Relaxed) {
                ExitCode::from(130)
            } else if !summary.failed.is_empty() {
                ExitCode::from(1)
            } else if summary.stopped {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("regenerate: {message}");
            ExitCode::from(2)
        }
    }
}

/// `pictor sign --preset NAME`: `preset:NAME/<path>` (or the `--image` name, encoded), once
/// NAME is known to be a configured preset and the whole path to expand.
fn preset_path(
    name: &str,
    path: Option<String>,
    options: &SignOptions,
    config: Option<PathBuf>,
) -> Result<String, ExitCode> {
    let config = load_config(config)?;
    let refuse = |message: String| {
        eprintln!("{message}");
        ExitCode::from(2)
    };
    if config.presets.is_empty() {
        return Err(refuse("--preset: PRESETS is not set".into()));
    }
    let rest = match (path, &options.image) {
        (Some(path), _) => path.trim_start_matches('/').to_string(),
        (None, Some(image)) => pictor::url::parse::python_quote(
            image.trim_start_matches('/'),
            pictor::url::build::PATH_TEXT_SAFE,
        ),
        (None, None) => return Err(refuse("--preset needs an image".into())),
    };
    let path = format!("preset:{name}/{rest}");
    pictor::url::parse_path(&format!("/unsafe/{path}"))
        .and_then(|request| config.presets.expand(request))
        .map_err(|e| refuse(format!("--preset {name}: {e}")))?;
    Ok(path)
}

/// `pictor sweep`: one pass over the incoming area.
async fn sweep(config: Config, older_than: std::time::Duration) -> Result<(), String> {
    use pictor::source::stored::StoredOriginals;
    let storage = StoredOriginals::new(&config.source.storage).map_err(|e| e.to_string())?;
    let incoming = storage.as_ref().and_then(|s| s.incoming()).ok_or_else(|| {
        "nothing to sweep: UPLOAD_ACTIVATION is off (uploads have no incoming area)".to_string()
    })?;
    let cut_off = std::time::SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(std::time::UNIX_EPOCH);
    let summary = incoming
        .sweep(cut_off)
        .await
        .map_err(|e| format!("sweep failed: {e}"))?;
    println!(
        "sweep: {} examined, {} removed (older than {}s), {} kept{}",
        summary.examined,
        summary.removed,
        older_than.as_secs(),
        summary.examined - summary.removed,
        if summary.truncated {
            "; more remain, run again"
        } else {
            ""
        }
    );
    Ok(())
}

/// Logs go to stderr filtered by RUST_LOG; stage timings for /metrics see every span; with the
/// `otel` feature and an OTLP endpoint, spans are also exported (src/telemetry.rs). Runs before
/// the tokio runtime exists, as the exporter's HTTP client requires.
fn init_logging() -> pictor::telemetry::TraceExport {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (export_layer, trace_export) = pictor::telemetry::trace_export_layer();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .with(pictor::metrics::StageTimingLayer)
        .with(export_layer)
        .init();
    trace_export.log_startup();
    trace_export
}

fn load_config(file: Option<PathBuf>) -> Result<Config, ExitCode> {
    ConfigSource::from_env_and_file(file.as_deref())
        .and_then(|source| Config::from_source(&source))
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
}

/// Warns about each of Thumbor's unsafe defaults still in force (one line each, before the
/// server listens), or, in production mode, refuses to start with one line naming them all.
fn check_unsafe_settings(config: &Config, production_flag: bool) -> Result<(), ExitCode> {
    use pictor::startup_checks::{production_refusal, unsafe_settings};
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let found = unsafe_settings(config, home.as_deref());
    if production_flag || config.server.production {
        if let Some(reason) = production_refusal(&found) {
            eprintln!("{reason}");
            return Err(ExitCode::from(2));
        }
    }
    for setting in &found {
        tracing::warn!(target: "pictor::startup", "{setting}");
    }
    for detector in &config.imaging.detectors {
        if !detector.is_available() {
            tracing::warn!(
                target: "pictor::startup",
                "DETECTORS: {} is not available (its compiled-in model does not read); \
                 `smart` passes over it to the next detector",
                detector.module_name()
            );
        }
    }
    Ok(())
}

fn run(work: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(work);
    // `serve` has already given in-flight requests SHUTDOWN_TIMEOUT_SECONDS. Dropping the
    // runtime would then wait for every render still running on the blocking pool (a render
    // cannot be interrupted mid-stage), without limit; instead the connections left are
    // dropped and the renders abandoned with the process.
    runtime.shutdown_timeout(RUNTIME_STOP_WAIT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// How long the runtime's remaining tasks get to stop once `serve` has returned.
const RUNTIME_STOP_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

async fn serve(config: Config, bind: SocketAddr) -> Result<(), String> {
    let app = App::new(config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if let Some(metrics_bind) = app.config.server.metrics_bind {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_bind)
            .await
            .map_err(|e| format!("cannot listen on METRICS_BIND {metrics_bind}: {e}"))?;
        let metrics_addr = metrics_listener.local_addr().map_err(|e| e.to_string())?;
        println!("pictor metrics on http://{metrics_addr}/metrics");
        tokio::spawn(server::serve_metrics(app.clone(), metrics_listener));
    }
    pictor::jobs::Background::start_workers(&app);
    // Tests and scripts read this line to find the port when binding to port 0.
    println!("pictor listening on http://{addr}");
    tracing::info!(%addr, root = %app.config.source.file_loader_root_path.display(), "serving");
    server::serve(app, listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn render(
    config: Config,
    path: String,
    out: PathBuf,
    accept: Option<String>,
) -> Result<(), String> {
    let app = App::new(config).map_err(|e| e.to_string())?;
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let rendered = server::imaging::process_image(&app, &path, accept.as_deref(), true)
        .await
        .map_err(|e| format!("{} ({})", e, e.status()))?;
    std::fs::write(&out, &rendered.body)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "{} bytes of {} written to {}",
        rendered.body.len(),
        rendered.content_type,
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_age;
    use std::time::Duration;

    #[test]
    fn sweep_ages() {
        assert_eq!(parse_age("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_age("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "h", "24x", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
