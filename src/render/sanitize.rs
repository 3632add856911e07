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

/// GitHub rejects issue and comment bodies over 65,536 characters, counted
/// in UTF-16 code units (an astral character such as an emoji counts 2):
/// measure with [`body_len`].
pub const GITHUB_BODY_LIMIT: usize = 65_536;

/// GitHub rejects issue titles over 256 characters (UTF-16 code units, as
/// for bodies).
pub const GITHUB_TITLE_LIMIT: usize = 256;

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

/// Length in characters.
pub fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Length in UTF-16 code units, the unit of GitHub's body and title limits.
pub fn body_len(text: &str) -> usize {
    text.encode_utf16().count()
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

/// `text` as fenced blocks of at most `budget` UTF-16 units each (fences
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
            // A third of the budget fits even in astral characters (two
            // units each) with the longest fence (one-unit characters).
            if body_len(&fenced) <= budget || cut <= (budget - 16) / 3 {
                out.push(fenced);
                rest = rest.get(cut..).unwrap_or(&[]);
                break;
            }
            let overflow = body_len(&fenced) - budget;
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

/// An issue title: one line, with mentions and references defused by a
/// word joiner after `@` and `#` and inside `GH-`, and at most
/// [`GITHUB_TITLE_LIMIT`] UTF-16 units with every joiner in place. A longer
/// subject is cut at a character boundary, never between a character and
/// its joiner, and ends in `…`.
pub fn title(tracking_id: &str, subject: Option<&str>) -> String {
    let subject: String = clean_text(subject.unwrap_or(""))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // Each character with the joiner inserted beside it, as one piece.
    let mut pieces: Vec<String> = Vec::new();
    let mut prev: [char; 2] = [' ', ' '];
    // Every character is at least one unit: more than the limit cannot fit.
    for c in subject.chars().take(GITHUB_TITLE_LIMIT + 1) {
        let mut piece = String::new();
        if c == '-' && prev[0].eq_ignore_ascii_case(&'g') && prev[1].eq_ignore_ascii_case(&'h') {
            piece.push('\u{2060}');
        }
        piece.push(c);
        if c == '@' || c == '#' {
            piece.push('\u{2060}');
        }
        pieces.push(piece);
        prev = [prev[1], c];
    }
    if pieces.is_empty() || subject == "..." {
        return format!("[{tracking_id}] Security report");
    }
    let head = format!("[{tracking_id}] ");
    let room = GITHUB_TITLE_LIMIT.saturating_sub(body_len(&head));
    let whole: usize = pieces.iter().map(|p| body_len(p)).sum();
    let mut out = head;
    if whole <= room {
        out.extend(pieces);
        return out;
    }
    let room = room.saturating_sub(1); // the ellipsis
    let mut used = 0;
    for p in pieces {
        let n = body_len(&p);
        if used + n > room {
            break;
        }
        used += n;
        out.push_str(&p);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('…');
    out
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

    /// Every `@` and `#` is followed by its joiner, every `GH-` broken.
    fn defused(t: &str) -> bool {
        let chars: Vec<char> = t.chars().collect();
        chars
            .iter()
            .enumerate()
            .all(|(i, c)| !matches!(c, '@' | '#') || chars.get(i + 1) == Some(&'\u{2060}'))
            && !t.to_ascii_lowercase().contains("gh-")
    }

    #[test]
    fn adversarial_titles_stay_within_the_limit() {
        let id = "JUPSEC-2026-0042";
        let subjects = [
            "@".repeat(1000),
            "#".repeat(300),
            "@#".repeat(129),
            "GH-".repeat(200),
            "gh-1 @a #2 ".repeat(40),
            "\u{1F600}".repeat(300),
            "a\u{1F600}".repeat(100),
            "e\u{301}".repeat(300),
            "\u{301}".repeat(1000),
            "x".repeat(255),
            format!("{}@", "x".repeat(237)),
        ];
        for subject in &subjects {
            let t = title(id, Some(subject));
            assert!(
                body_len(&t) <= GITHUB_TITLE_LIMIT,
                "{} units: {t}",
                body_len(&t)
            );
            assert!(t.starts_with("[JUPSEC-2026-0042] "), "{t}");
            assert!(defused(&t), "{t:?}");
            assert!(!t.contains('\u{fffd}'));
        }
        // Exactly at the limit: kept whole, no ellipsis.
        let fits = "x".repeat(GITHUB_TITLE_LIMIT - "[JUPSEC-2026-0042] ".len());
        let t = title(id, Some(&fits));
        assert_eq!(body_len(&t), GITHUB_TITLE_LIMIT);
        assert!(!t.ends_with('…'));
        // One more: cut, with the ellipsis.
        let t = title(id, Some(&format!("{fits}y")));
        assert_eq!(body_len(&t), GITHUB_TITLE_LIMIT);
        assert!(t.ends_with("x…"), "{t}");
        // 1,000 `@` become 118 defused ones: (256 - 19 - 1) / 2.
        let t = title(id, Some(&"@".repeat(1000)));
        assert_eq!(t.matches('@').count(), 118);
        assert!(t.ends_with("@\u{2060}…"));
        // Astral characters count two units each.
        let t = title(id, Some(&"\u{1F600}".repeat(300)));
        assert_eq!(t.matches('\u{1F600}').count(), 118);
    }

    /// The text inside the fences of `chunks`, joined.
    fn unfenced(chunks: &[String]) -> String {
        chunks
            .iter()
            .map(|c| {
                let mut lines: Vec<&str> = c.lines().collect();
                lines.remove(0);
                lines.pop();
                lines.join("\n")
            })
            .collect()
    }

    #[test]
    fn astral_text_chunks_fit_in_utf16_units() {
        let text = format!(
            "{}\n{}\n{}",
            "\u{1F600}".repeat(40_000),
            "a\u{10348}`".repeat(20_000),
            "`".repeat(5000)
        );
        let chunks = fence_chunks(&text, 700, 60_000);
        assert!(body_len(&chunks[0]) <= 700);
        assert!(chunks.iter().all(|c| body_len(c) <= 60_000));
        let inner = unfenced(&chunks);
        assert_eq!(inner.replace('\n', ""), text.replace('\n', ""));
    }

    #[test]
    fn chunks_fit_and_keep_every_character() {
        let text = format!("{}\n{}\n", "a".repeat(5000), "`".repeat(3000));
        let chunks = fence_chunks(&text, 700, 1000);
        assert!(char_len(&chunks[0]) <= 700);
        assert!(chunks.iter().all(|c| char_len(c) <= 1000));
        let inner = unfenced(&chunks);
        assert_eq!(inner.replace('\n', ""), text.replace('\n', ""));
    }
}
