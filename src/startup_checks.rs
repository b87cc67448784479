//! Start-up checks for Thumbor's permissive defaults. pictor keeps them (the default key
//! `MY_SECURE_KEY`, unsafe URLs on, the file loader rooted at the home folder) so it stays a
//! drop-in replacement, but each one lets strangers use the server in ways a public deployment
//! does not want. `pictor serve` warns about every one it finds; with `--production` or
//! `PRODUCTION=True` it refuses to start instead.

use crate::config::Config;
use crate::source::settings::LoaderKind;
use std::fmt;
use std::path::{Path, PathBuf};

/// Thumbor's default signing key: public knowledge, so it signs nothing.
pub const THUMBOR_DEFAULT_KEY: &str = "MY_SECURE_KEY";

/// One setting left at a value that is unsafe on a public server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsafeSetting {
    /// SECURITY_KEY (or one of SECURITY_KEYS_PREVIOUS) is `MY_SECURE_KEY`: anyone can sign.
    DefaultSecurityKey {
        /// The key that holds it: `SECURITY_KEY` or `SECURITY_KEYS_PREVIOUS`.
        key: &'static str,
    },
    /// ALLOW_UNSAFE_URL is on: `/unsafe/` paths need no signature at all.
    UnsafeUrlsAllowed,
    /// The file loader serves the home folder (this path).
    FileLoaderRootIsHome(PathBuf),
    /// The file loader serves the whole file system.
    FileLoaderRootIsFilesystemRoot,
}

impl UnsafeSetting {
    /// What is wrong, naming the config key (used in both the warning and the refusal).
    pub fn problem(&self) -> String {
        match self {
            UnsafeSetting::DefaultSecurityKey { key } => {
                format!("{key} holds Thumbor's default key {THUMBOR_DEFAULT_KEY}")
            }
            UnsafeSetting::UnsafeUrlsAllowed => "ALLOW_UNSAFE_URL is True".to_string(),
            UnsafeSetting::FileLoaderRootIsHome(home) => {
                format!(
                    "FILE_LOADER_ROOT_PATH is the home folder {}",
                    home.display()
                )
            }
            UnsafeSetting::FileLoaderRootIsFilesystemRoot => "FILE_LOADER_ROOT_PATH is /".into(),
        }
    }

    /// Why it matters and what to set instead.
    pub fn advice(&self) -> &'static str {
        match self {
            UnsafeSetting::DefaultSecurityKey { .. } => {
                "anyone can sign URLs; set SECURITY_KEY to a long random secret"
            }
            UnsafeSetting::UnsafeUrlsAllowed => {
                "anyone can request any size of any image without a signature; set ALLOW_UNSAFE_URL=False"
            }
            UnsafeSetting::FileLoaderRootIsHome(_) | UnsafeSetting::FileLoaderRootIsFilesystemRoot => {
                "every image file under it can be served; point it at the images folder"
            }
        }
    }
}

/// The warning line: problem, consequence and fix.
impl fmt::Display for UnsafeSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.problem(), self.advice())
    }
}

/// Every unsafe setting of `config`, in a fixed order (key, unsafe URLs, file loader root).
/// `home` is the user's home folder ($HOME), which the file loader must not serve.
pub fn unsafe_settings(config: &Config, home: Option<&Path>) -> Vec<UnsafeSetting> {
    let mut found = Vec::new();
    if config.access.security_key == THUMBOR_DEFAULT_KEY {
        found.push(UnsafeSetting::DefaultSecurityKey {
            key: "SECURITY_KEY",
        });
    } else if config
        .access
        .security_keys_previous
        .iter()
        .any(|key| key == THUMBOR_DEFAULT_KEY)
    {
        // Still accepted when verifying, so it signs URLs just as well.
        found.push(UnsafeSetting::DefaultSecurityKey {
            key: "SECURITY_KEYS_PREVIOUS",
        });
    }
    if config.access.allow_unsafe_url {
        found.push(UnsafeSetting::UnsafeUrlsAllowed);
    }
    if uses_file_loader(&config.source.loader) {
        let root = &config.source.file_loader_root_path;
        if same_folder(root, Path::new("/")) {
            found.push(UnsafeSetting::FileLoaderRootIsFilesystemRoot);
        } else if let Some(home) = home.filter(|home| same_folder(root, home)) {
            found.push(UnsafeSetting::FileLoaderRootIsHome(home.to_path_buf()));
        }
    }
    found
}

/// The one-line reason `serve --production` gives when it refuses to start; `None` when every
/// setting is safe.
pub fn production_refusal(found: &[UnsafeSetting]) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let reasons: Vec<String> = found
        .iter()
        .map(|setting| format!("{} ({})", setting.problem(), setting.advice()))
        .collect();
    Some(format!(
        "refusing to start in production mode (--production or PRODUCTION=True): {}",
        reasons.join("; ")
    ))
}

fn uses_file_loader(loader: &LoaderKind) -> bool {
    match loader {
        LoaderKind::File => true,
        LoaderKind::Http | LoaderKind::S3 => false,
        LoaderKind::Chain(kinds) => kinds.iter().any(uses_file_loader),
    }
}

/// Whether two paths name the same folder: through symlinks and `..` when both exist, else by
/// their components (so `/root/`, `/root/.` and `/root` agree).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.components().eq(b.components()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe_config(root: &Path) -> Config {
        let mut config = Config::default();
        config.access.security_key = "a long random secret".into();
        config.access.allow_unsafe_url = false;
        config.source.file_loader_root_path = root.to_path_buf();
        config
    }

    fn temp_folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pictor-startup-checks-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(dir.join("home/images")).unwrap();
        dir
    }

    #[test]
    fn a_safe_config_has_no_finding() {
        let dir = temp_folder("safe");
        let home = dir.join("home");
        let config = safe_config(&home.join("images"));
        assert_eq!(unsafe_settings(&config, Some(&home)), vec![]);
        assert_eq!(production_refusal(&[]), None);
    }

    #[test]
    fn thumbor_defaults_give_all_three_findings() {
        let dir = temp_folder("defaults");
        let home = dir.join("home");
        let mut config = Config::default();
        config.source.file_loader_root_path = home.clone();
        let found = unsafe_settings(&config, Some(&home));
        assert_eq!(
            found,
            vec![
                UnsafeSetting::DefaultSecurityKey {
                    key: "SECURITY_KEY"
                },
                UnsafeSetting::UnsafeUrlsAllowed,
                UnsafeSetting::FileLoaderRootIsHome(home.clone()),
            ]
        );
        let refusal = production_refusal(&found).unwrap();
        assert!(!refusal.contains('\n'), "{refusal}");
        for key in ["SECURITY_KEY", "ALLOW_UNSAFE_URL", "FILE_LOADER_ROOT_PATH"] {
            assert!(refusal.contains(key), "{refusal}");
        }
    }

    #[test]
    fn the_home_folder_is_recognised_in_other_spellings() {
        let dir = temp_folder("spellings");
        let home = dir.join("home");
        for root in [
            home.join(""),
            home.join("."),
            home.join("images/.."),
            home.clone(),
        ] {
            let found = unsafe_settings(&safe_config(&root), Some(&home));
            assert_eq!(
                found,
                vec![UnsafeSetting::FileLoaderRootIsHome(home.clone())],
                "{}",
                root.display()
            );
        }
        // A home folder that does not exist is still compared by name.
        let missing = dir.join("missing-home");
        assert_eq!(
            unsafe_settings(&safe_config(&missing.join("")), Some(&missing)).len(),
            1
        );
    }

    #[test]
    fn the_filesystem_root_is_a_finding_even_without_a_home() {
        for root in ["/", "//", "/.", "/tmp/.."] {
            let found = unsafe_settings(&safe_config(Path::new(root)), None);
            assert_eq!(
                found,
                vec![UnsafeSetting::FileLoaderRootIsFilesystemRoot],
                "{root}"
            );
        }
    }

    #[test]
    fn the_root_only_matters_when_a_file_loader_is_used() {
        let mut config = safe_config(Path::new("/"));
        config.source.loader = LoaderKind::Http;
        assert_eq!(unsafe_settings(&config, None), vec![]);
        let mut chain = safe_config(Path::new("/"));
        chain.source.loader = LoaderKind::Chain(vec![LoaderKind::Http, LoaderKind::File]);
        assert_eq!(unsafe_settings(&chain, None).len(), 1);
    }

    #[test]
    fn the_default_key_among_previous_keys_is_a_finding() {
        let mut config = safe_config(Path::new("/srv/images"));
        config.access.security_keys_previous = vec!["old".into(), THUMBOR_DEFAULT_KEY.into()];
        assert_eq!(
            unsafe_settings(&config, None),
            vec![UnsafeSetting::DefaultSecurityKey {
                key: "SECURITY_KEYS_PREVIOUS"
            }]
        );
    }
}
