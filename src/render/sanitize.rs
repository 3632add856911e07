//! Making reporter text harmless in GitHub Markdown.
//!
//! Reporter text (the report itself, inline attachments) goes into a fenced
//! code block whose fence is longer than any run of its character in the
//! text, so nothing inside is interpreted: no @mentions, no issue references
//! or closing keywords, no HTML, no images, no forged marker, and no way to
//! close the fence early (CommonMark: a fence closes only on a line of the
//! same character at least as long). Short metadata (reporter, file names)
//! goes into code spans chosen the same way; in table cells `|` is escaped
//! because GFM splits cells before it parses code spans. The title cannot
//! hold Markdown, so references in it are broken with a word joiner.
//! See the issue-5 note for why a fence rather than sanitised Markdown.

/// GitHub rejects issue and comment bodies over 65,536 characters.
pub const GITHUB_BODY_LIMIT: usize = 65_536;

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

/// Length in characters, the unit of GitHub's body limit.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Control characters other than newline and tab are dropped, CRLF and lone
/// CR become LF, and bidirectional overrides (which can make text display
/// differently from what it is) are removed.
pub fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// The fence for `text` (already cleaned): backticks, or tildes when the
/// text holds longer backtick runs than tilde runs, one longer than the
/// longest run of that character and at least three.
fn fence_for(text: &str) -> String {
    let ticks = longest_run(text, '`');
    let tildes = longest_run(text, '~');
    let (ch, run) = if ticks <= tildes {
        ('`', ticks)
    } else {
        ('~', tildes)
    };
    std::iter::repeat_n(ch, (run + 1).max(3)).collect()
}

fn fence_clean(text: &str) -> String {
    let f = fence_for(text);
    format!("{f}text\n{}\n{f}", text.trim_end_matches('\n'))
}

/// A fenced code block that holds `text` verbatim.
pub fn fence(text: &str) -> String {
    fence_clean(&clean_text(text))
}

/// `text` as fenced blocks of at most `budget` characters each (fences
/// included; the first at most `first`), split at line ends where possible.
/// Budgets below 64 count as 64.
pub fn fence_chunks(text: &str, first: usize, budget: usize) -> Vec<String> {
    let text = clean_text(text);
    let chars: Vec<char> = text.trim_end_matches('\n').chars().collect();
    let mut out = Vec::new();
    let mut rest: &[char] = &chars;
    while !rest.is_empty() {
        let budget = if out.is_empty() { first } else { budget }.max(64);
        // Worst case a fence is as long as the chunk (one long run), so a
        // chunk of a third of the budget always fits; try larger first.
        let mut take = rest.len().min(budget - 16);
        loop {
            let cut = line_cut(rest, take);
            let piece: String = rest.iter().take(cut).collect();
            let fenced = fence_clean(&piece);
            if char_len(&fenced) <= budget || cut <= (budget - 16) / 3 {
                out.push(fenced);
                rest = rest.get(cut..).unwrap_or(&[]);
                break;
            }
            let overflow = char_len(&fenced) - budget;
            take = cut
                .saturating_sub(overflow)
                .max((budget - 16) / 3)
                .min(cut - 1);
        }
    }
    out
}

/// Where to cut `text` to take at most `max` characters: after the last
/// newline in range if there is one in its second half, else at `max`.
fn line_cut(text: &[char], max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let window = text.get(..max).unwrap_or(text);
    match window.iter().rposition(|c| *c == '\n') {
        Some(i) if i + 1 > max / 2 => i + 1,
        _ => max.max(1),
    }
}

/// An inline code span holding `text` on one line (at most `max` characters
/// of it; longer text ends in `…`).
pub fn code_span_max(text: &str, max: usize) -> String {
    let mut one_line: String = clean_text(text)
        .chars()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .take(max.saturating_add(1))
        .collect();
    if char_len(&one_line) > max {
        one_line = one_line.chars().take(max).collect();
        one_line.push('…');
    }
    if one_line.trim().is_empty() {
        return "(none)".into();
    }
    let f = "`".repeat(longest_run(&one_line, '`') + 1);
    format!("{f} {one_line} {f}")
}

/// An inline code span holding `text` on one line.
pub fn code_span(text: &str) -> String {
    code_span_max(text, 1000)
}

/// A code span that is safe inside a GFM table cell.
pub fn table_cell(text: &str) -> String {
    code_span(text).replace('|', "\\|")
}

/// An issue title: one line, bounded, with mentions and references defused
/// by a word joiner after `@` and `#` and inside `GH-`.
pub fn title(tracking_id: &str, subject: Option<&str>) -> String {
    let subject: String = clean_text(subject.unwrap_or(""))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::new();
    let mut prev: [char; 2] = [' ', ' '];
    for c in subject.chars().take(180) {
        if c == '-' && prev[0].eq_ignore_ascii_case(&'g') && prev[1].eq_ignore_ascii_case(&'h') {
            out.push('\u{2060}');
        }
        out.push(c);
        if c == '@' || c == '#' {
            out.push('\u{2060}');
        }
        prev = [prev[1], c];
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
        assert!(f.starts_with("~~~text\n"), "{f}");
        let f = fence("a ```` b\n```\nc ~~~~~~");
        assert!(f.starts_with("`````text\n"), "{f}");
        assert!(f.ends_with("\n`````"));
    }

    #[test]
    fn code_span_is_one_line() {
        assert_eq!(code_span("a`b\nc"), "`` a`b c ``");
        assert_eq!(code_span(""), "(none)");
        assert_eq!(table_cell("a|b"), "` a\\|b `");
        assert_eq!(code_span_max("abcdef", 3), "` abc… `");
    }

    #[test]
    fn title_defuses_mentions() {
        let t = title("X-2026-0001", Some("@team fixes #12\r\nevil GH-3"));
        assert_eq!(
            t,
            "[X-2026-0001] @\u{2060}team fixes #\u{2060}12 evil GH\u{2060}-3"
        );
        assert_eq!(
            title("X-2026-0001", Some("...")),
            "[X-2026-0001] Security report"
        );
    }

    #[test]
    fn chunks_fit_and_keep_every_character() {
        let text = format!("{}\n{}\n", "a".repeat(5000), "`".repeat(3000));
        let chunks = fence_chunks(&text, 700, 1000);
        assert!(char_len(&chunks[0]) <= 700);
        assert!(chunks.iter().all(|c| char_len(c) <= 1000));
        let inner: String = chunks
            .iter()
            .map(|c| {
                let mut lines: Vec<&str> = c.lines().collect();
                lines.remove(0);
                lines.pop();
                lines.join("\n")
            })
            .collect();
        assert_eq!(inner.replace('\n', ""), text.replace('\n', ""));
    }
}
