//! Making reporter text harmless in GitHub Markdown.
//!
//! The report text goes into a fenced code block whose fence is longer than
//! any backtick run in the text, so nothing inside is interpreted: no
//! @mentions, no issue references or closing keywords, no HTML, no images,
//! and no way to close the fence early. Short metadata (reporter, names) goes
//! into code spans chosen the same way. See the issue-5 note for why a fence
//! rather than sanitised Markdown.

fn longest_run(text: &str, ch: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Control characters other than newline and tab are dropped; CRLF becomes LF.
pub fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// A fenced code block that holds `text` verbatim.
pub fn fence(text: &str) -> String {
    let text = clean_text(text);
    let n = (longest_run(&text, '`') + 1).max(3);
    let f = "`".repeat(n);
    format!("{f}text\n{}\n{f}", text.trim_end_matches('\n'))
}

/// An inline code span holding `text` on one line.
pub fn code_span(text: &str) -> String {
    let one_line: String = clean_text(text)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect();
    if one_line.trim().is_empty() {
        return "(none)".into();
    }
    let n = longest_run(&one_line, '`') + 1;
    let f = "`".repeat(n);
    format!("{f} {one_line} {f}")
}

/// An issue title: one line, bounded, with mentions and references defused
/// by a word joiner after `@` and `#`.
pub fn title(tracking_id: &str, subject: Option<&str>) -> String {
    let subject: String = clean_text(subject.unwrap_or(""))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::new();
    for c in subject.chars().take(180) {
        out.push(c);
        if c == '@' || c == '#' {
            out.push('\u{2060}');
        }
    }
    if out.is_empty() || out == "..." {
        format!("[{tracking_id}] Security report")
    } else {
        format!("[{tracking_id}] {out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_outgrows_backticks_inside() {
        let f = fence("a ```` b\n```\nc");
        assert!(f.starts_with("`````text\n"));
        assert!(f.ends_with("\n`````"));
    }

    #[test]
    fn code_span_is_one_line() {
        assert_eq!(code_span("a`b\nc"), "`` a`b c ``");
        assert_eq!(code_span(""), "(none)");
    }

    #[test]
    fn title_defuses_mentions() {
        let t = title("X-2026-0001", Some("@team fixes #12\r\nevil"));
        assert!(t.starts_with("[X-2026-0001] @\u{2060}team fixes #\u{2060}12 evil"));
        assert_eq!(
            title("X-2026-0001", Some("...")),
            "[X-2026-0001] Security report"
        );
    }
}
