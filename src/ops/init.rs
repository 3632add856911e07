//! `secintake init [--dir DIR]`: a starter configuration an operator
//! completes instead of writing one. It writes `DIR/secintake.toml` (the
//! site values marked `SITE`), the templates into `DIR/templates`, and an
//! empty `DIR/credentials` (mode 0700) where the secrets go, which
//! `secintake check` run by hand finds (see `config::Resolver`). It never
//! overwrites: an existing configuration is left as it is.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const STARTER: &str = include_str!("../../config/secintake.starter.toml");

/// `(name, text)` of each template in `config/templates/`, compiled in.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../config/templates/", $name)))),*]
    };
}

/// The templates the daemon ships, written beside the configuration (a
/// unit test checks that none in `config/templates/` is missing here).
const TEMPLATES: &[(&str, &str)] = templates![
    "ack.txt.j2",
    "comment.md.j2",
    "issue.md.j2",
    "notice-credit.txt.j2",
    "notice-cve.txt.j2",
    "notice-needs-info.txt.j2",
    "notice-not-accepted.txt.j2",
    "notice-released.txt.j2",
    "receipt.txt.j2",
    "reminder.md.j2",
    "reply.txt.j2",
    "unreadable.txt.j2",
];

/// The secret files the starter configuration names, in `credentials/`.
pub const CREDENTIALS: &[&str] = &[
    "imap-password",
    "team.key.asc",
    "key-passphrase",
    "github-token",
    "smtp-password",
];

/// What `init` made.
#[derive(Debug)]
pub struct Made {
    pub config: PathBuf,
    pub credentials: PathBuf,
    pub templates: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} exists; it is left as it is (move it away to start again)")]
    Exists(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InitError + '_ {
    move |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), InitError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io(path))?;
    // The mode exactly, whatever the umask (an operator's `umask 077`
    // would otherwise hide the file from the service's dynamic user).
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io(path))?;
    f.write_all(text.as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Writes the starter configuration, templates and credentials directory
/// into `dir` (created if missing).
pub fn run(dir: &Path) -> Result<Made, InitError> {
    let config = dir.join("secintake.toml");
    if config.exists() {
        return Err(InitError::Exists(config));
    }
    let made_dir = !dir.exists();
    fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    let config = dir.join("secintake.toml");
    let templates = dir.join("templates");
    let credentials = dir.join("credentials");
    let made_templates = !templates.exists();
    fs::create_dir_all(&templates).map_err(io(&templates))?;
    // Directories we made are 0755 whatever the umask: the service's
    // dynamic user reads the configuration and templates through them.
    for (made, path) in [(made_dir, &dir), (made_templates, &templates)] {
        if made {
            fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io(path))?;
        }
    }
    for (name, text) in TEMPLATES {
        let path = templates.join(name);
        if !path.exists() {
            write_new(&path, text, 0o644)?;
        }
    }
    fs::create_dir_all(&credentials).map_err(io(&credentials))?;
    fs::set_permissions(&credentials, fs::Permissions::from_mode(0o700))
        .map_err(io(&credentials))?;
    // Relative paths other than secrets resolve against the working
    // directory (`/` under systemd): the templates are named absolutely.
    let text = STARTER.replace(
        "templates = \"templates\"",
        &format!("templates = \"{}\"", templates.display()),
    );
    // World-readable: the service runs as a dynamic user that no group
    // of ours can name, and the file holds no secrets (those are in
    // credentials/, 0700). 0640 root:root made the service fail to start
    // with "Permission denied" (found by tests/systemd.rs).
    write_new(&config, &text, 0o644)?;
    Ok(Made {
        config,
        credentials,
        templates,
    })
}

/// What to do next, for the terminal.
pub fn next_steps(made: &Made) -> String {
    let mut out = format!(
        "wrote {}\nwrote {}/ ({} templates)\nmade  {}/ (mode 0700, empty)\n\nNext:\n",
        made.config.display(),
        made.templates.display(),
        TEMPLATES.len(),
        made.credentials.display()
    );
    out.push_str(&format!(
        "  1. replace every value marked SITE in {}\n",
        made.config.display()
    ));
    out.push_str(&format!(
        "  2. put these secret files into {} (mode 0600 each): {}\n",
        made.credentials.display(),
        CREDENTIALS.join(", ")
    ));
    out.push_str(&format!(
        "  3. secintake --config {} check --offline, then without --offline\n",
        made.config.display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_template_is_written() {
        let shipped: Vec<String> =
            fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config/templates"))
                .expect("templates")
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        for name in &shipped {
            assert!(
                TEMPLATES.iter().any(|(n, _)| n == name),
                "{name} is not in ops::init::TEMPLATES"
            );
        }
        assert_eq!(shipped.len(), TEMPLATES.len());
    }

    #[test]
    fn writes_once_with_private_credentials() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("etc");
        let made = run(&dir).expect("init");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&made.credentials), 0o700);
        assert_eq!(mode(&made.config), 0o644);
        assert!(matches!(run(&dir), Err(InitError::Exists(_))));
        let text = fs::read_to_string(&made.config).expect("config");
        assert!(text.contains(&format!("templates = \"{}\"", made.templates.display())));
        assert!(next_steps(&made).contains("team.key.asc"));
    }
}
