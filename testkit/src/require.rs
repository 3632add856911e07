//! Deciding whether a test that needs a real server runs, skips, or fails.
//!
//! Locally a missing prerequisite (say Dovecot is not installed) skips the test
//! loudly. With `CI=true` it is a failure: CI must never go green by skipping.

use std::path::Path;

/// Returns whether the test should go on.
///
/// `available` says whether the prerequisite `what` is present. If it is, this
/// returns `true`. If not and the environment has `CI=true`, this panics with a
/// message naming the install script; otherwise it prints a loud `SKIP` line to
/// stderr and returns `false`, so the caller can `return` early.
///
/// ```no_run
/// use secintake_testkit::require::{have_binary, require};
/// if !require("dovecot", have_binary("/usr/sbin/dovecot")) {
///     return;
/// }
/// ```
pub fn require(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    if is_ci() {
        panic!("CI=true and {what} is not installed: run scripts/install-deps.sh");
    }
    eprintln!(
        "\n*** SKIP: {what} is not installed; this test did NOT run \
         (run scripts/install-deps.sh) ***\n"
    );
    false
}

/// Whether `path` is an existing file with an execute bit set.
pub fn have_binary(path: impl AsRef<Path>) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path.as_ref())
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether Dovecot (IMAP and LMTP) is installed.
pub fn have_dovecot() -> bool {
    have_binary(crate::dovecot::DOVECOT_BIN)
        && have_binary("/usr/lib/dovecot/imap")
        && have_binary("/usr/lib/dovecot/lmtp")
}

/// Whether Postfix is installed.
pub fn have_postfix() -> bool {
    have_binary(crate::postfix::POSTFIX_BIN) && have_binary(crate::postfix::MASTER_BIN)
}

/// Whether the environment says this is a CI run (`CI=true` or `CI=1`).
pub fn is_ci() -> bool {
    matches!(
        std::env::var("CI")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("true") | Ok("1")
    )
}
