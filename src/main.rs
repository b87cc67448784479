//! The `pictor` command line: `serve` (the HTTP server), `sign` (print a signed Thumbor path)
//! and `render` (run one URL through the pipeline without a server).

use clap::{Parser, Subcommand};
use pictor::config::{Config, ConfigSource};
use pictor::server::{self, App};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "pictor", version, about = "A fast, drop-in replacement for Thumbor")]
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
    },
    /// Print the signed path for PATH (e.g. `300x200/smart/cat.jpg`), as libthumbor does.
    Sign {
        /// The signing key (default: SECURITY_KEY from the environment).
        #[arg(long, env = "SECURITY_KEY", hide_env_values = true)]
        key: String,
        /// The path to sign, without signature (a leading `/` is ignored).
        path: String,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Sign { key, path } => {
            let path = path.trim_start_matches('/');
            println!("/{}/{}", pictor::url::signature::sign(key.as_bytes(), path), path);
            ExitCode::SUCCESS
        }
        Command::Serve { bind, config } => match load_config(config) {
            Ok(config) => run(serve(config, bind)),
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
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn load_config(file: Option<PathBuf>) -> Result<Config, ExitCode> {
    ConfigSource::from_env_and_file(file.as_deref())
        .and_then(|source| Config::from_source(&source))
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
}

fn run(work: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, bind: SocketAddr) -> Result<(), String> {
    let app = App::new(config).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port when binding to port 0.
    println!("pictor listening on http://{addr}");
    tracing::info!(%addr, root = %app.config.file_loader_root_path.display(), "serving");
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
    let rendered = server::imaging::process_image(&app, &path, accept.as_deref())
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
