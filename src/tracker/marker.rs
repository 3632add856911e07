//! The marker lines that start everything secintake writes to a tracker:
//! one place for their format. The sanitiser guarantees reporter text can
//! never begin a body or comment, so a first line in this format is ours.
//!
//! * a report's issue or comment: `<!-- secintake:ID -->`
//! * continuation part `k` of `n`: `<!-- secintake:ID part k/n -->`
//! * a part added after the body was full: `<!-- secintake:ID part k+ -->`
//! * a reminder: `<!-- secintake:ID reminder:KIND -->`
//! * our answer to command comment N: `<!-- secintake:ID command:N -->`
//! * our note that its mail failed (retried): `<!-- secintake:ID command:N failed -->`

/// What every marker line starts with.
pub const PREFIX: &str = "<!-- secintake:";

/// The marker line of the report `tracking_id`.
pub fn report(tracking_id: &str) -> String {
    format!("{PREFIX}{tracking_id} -->")
}

/// The first line of continuation part `k` of `n` (k >= 2).
pub fn part(tracking_id: &str, k: usize, n: usize) -> String {
    format!("{PREFIX}{tracking_id} part {k}/{n} -->")
}

/// The first line of part `k` added once the body was full.
pub fn extra_part(tracking_id: &str, k: usize) -> String {
    format!("{PREFIX}{tracking_id} part {k}+ -->")
}

/// The marker line of reminder `kind` (`response`, `disclosure`).
pub fn reminder(tracking_id: &str, kind: &str) -> String {
    format!("{PREFIX}{tracking_id} reminder:{kind} -->")
}

/// The marker line of our answer to the command in comment `comment_id`.
pub fn command(tracking_id: &str, comment_id: u64) -> String {
    format!("{PREFIX}{tracking_id} command:{comment_id} -->")
}

/// The marker line of our note that the mail of command comment
/// `comment_id` failed and is being retried.
pub fn command_failed(tracking_id: &str, comment_id: u64) -> String {
    format!("{PREFIX}{tracking_id} command:{comment_id} failed -->")
}

/// Whether `line` (a body's or comment's first line) is one of our markers.
pub fn is_ours(line: &str) -> bool {
    line.trim_start().starts_with(PREFIX)
}

/// Whether `body` was created for this tracking ID (its first line is the
/// report's marker).
pub fn starts_report(body: &str, tracking_id: &str) -> bool {
    body.lines().next().map(str::trim) == Some(report(tracking_id).as_str())
}

/// The phrase a tracker's full-text search finds a report's bodies by.
pub fn search_phrase(tracking_id: &str) -> String {
    format!("secintake:{tracking_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_is_recognised_as_ours_and_names_its_report() {
        let id = "JUPSEC-2026-0042";
        for line in [
            report(id),
            part(id, 2, 3),
            extra_part(id, 4),
            reminder(id, "response"),
            command(id, 1234),
            command_failed(id, 1234),
        ] {
            assert!(is_ours(&line), "{line}");
            assert!(line.contains(&search_phrase(id)), "{line}");
            assert!(line.ends_with(" -->") || line.ends_with("-->"));
        }
        assert!(starts_report(&format!("{}\nbody", report(id)), id));
        assert!(!starts_report(&format!("{}\nbody", part(id, 2, 2)), id));
        assert!(!starts_report(
            "text <!-- secintake:JUPSEC-2026-0042 -->",
            id
        ));
        assert!(!is_ours("a comment by a person"));
    }
}
