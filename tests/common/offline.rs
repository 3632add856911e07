//! A daemon configuration that needs no server: Maildir `<dir>/inbox`,
//! directory tracker `<dir>/issues`, outbox `<dir>/outbox`, state in
//! `<dir>/state`, the demo key. For tests that run `secintake` on files.

use std::path::{Path, PathBuf};

/// What differs between tests: lines added to three sections.
#[derive(Default)]
pub struct Offline<'a> {
    pub tracking_prefix: &'a str,
    pub maildir: &'a str,
    pub openpgp: &'a str,
    pub acknowledgement: &'a str,
}

/// Writes `<dir>/secintake.toml` and returns its path.
pub fn write_config(dir: &Path, o: &Offline<'_>) -> PathBuf {
    let config = dir.join("secintake.toml");
    let text = format!(
        r#"
[instance]
tracking_prefix = "{prefix}"
addresses = ["security@example.org"]
state_dir = "{dir}/state"

[source]
kind = "maildir"

[source.maildir]
path = "{dir}/inbox"
{maildir}

[openpgp]
secret_keys = ["{key}"]
{openpgp}

[tracker]
kind = "directory"

[tracker.directory]
path = "{dir}/issues"

[mailer]
kind = "outbox"

[mailer.outbox]
path = "{dir}/outbox"

[acknowledgement]
from = "Security Team <security@example.org>"
templates = "{templates}"
{ack}
"#,
        prefix = o.tracking_prefix,
        dir = dir.display(),
        maildir = o.maildir,
        key = super::team_secret_key().display(),
        openpgp = o.openpgp,
        templates = super::repo_root().join("config/templates").display(),
        ack = o.acknowledgement,
    );
    std::fs::write(&config, text).expect("config");
    config
}

/// Creates the Maildir `<dir>/inbox` (new, cur, tmp).
pub fn maildir(dir: &Path) {
    for sub in ["inbox/new", "inbox/cur", "inbox/tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("maildir");
    }
}
