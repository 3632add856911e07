//! The status block secintake keeps on a report's issue: a small table
//! between its own two marker lines, rewritten when what it shows changes,
//! nothing else in the body touched. Rendering is pure (no clock), so the
//! same facts give the same bytes and an unchanged block is never written
//! again; splicing removes every earlier block, so a crash mid-edit can
//! never leave two.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Decision, Lifecycle, Phase};
use crate::record::{Ack, Record};

pub const BEGIN: &str = "<!-- secintake:status:begin -->";
pub const END: &str = "<!-- secintake:status:end -->";

/// A mail the reporter was sent about the report (acknowledgement,
/// command mail), for the "reporter notified" row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    pub what: String,
    pub at: DateTime<Utc>,
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Keeps table cells to one line of plain text: no pipes, no HTML, no
/// Markdown links or mentions from what a coordinator typed.
fn cell(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '|' | '<' | '>' | '[' | ']' | '`' | '*' | '_' | '\\' => ' ',
            '@' => '＠',
            c => c,
        })
        .take(120)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The block for `rec` (whose lifecycle it shows), the reporter's mail
/// listed in `notified` (oldest first).
pub fn render(rec: &Record, notified: &[Notified]) -> String {
    let l: &Lifecycle = &rec.lifecycle;
    let phase = l.phase();
    let mut state = phase.name().to_string();
    if let Some(Decision::Duplicate { of }) = l.decision.filter(|_| phase == Phase::Duplicate) {
        if of > 0 {
            state = format!("duplicate of #{of}");
        }
    }
    state.push_str(if l.closed.is_some() {
        " (closed)"
    } else {
        " (open)"
    });
    if let Some(c) = l.closed {
        state.push_str(&format!(", closed {}", day(c.at)));
    }
    let respond = match &rec.ack {
        Ack::Sent { at, .. } => format!(
            "{} (acknowledged {})",
            rec.respond_by.format("%Y-%m-%d %H:%M UTC"),
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        _ => format!(
            "{} (not acknowledged yet)",
            rec.respond_by.format("%Y-%m-%d %H:%M UTC")
        ),
    };
    let disclose = match l.disclose_by_set {
        Some(d) => format!("{d} (set by the team)"),
        None => format!("{} (default: received + 90 days)", day(rec.disclose_by)),
    };
    let disclose = if l.deadlines_apply() {
        disclose
    } else {
        format!("{disclose}; no reminders: {}", phase.name())
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.iter().map(|s| cell(s)).collect::<Vec<_>>().join(", ")
        }
    };
    let date = |d: Option<chrono::NaiveDate>| d.map_or("—".to_string(), |d| d.to_string());
    let notified = if notified.is_empty() {
        "—".to_string()
    } else {
        notified
            .iter()
            .map(|n| format!("{} {}", cell(&n.what), day(n.at)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let credit = l.credit.as_deref().map_or("—".to_string(), cell);
    let rows = [
        ("State", state),
        ("Respond by", respond),
        ("Disclose by", disclose),
        ("GHSA", list(&l.ghsa)),
        ("CVE", list(&l.cve)),
        ("Release date", date(l.release_date)),
        ("Announcement date", date(l.announce_date)),
        ("Reporter notified", notified),
        ("Credit", credit),
    ];
    let mut out = format!(
        "{BEGIN}\n**Status of {}** (kept by secintake from commands, labels and the issue's state; edits here are overwritten)\n\n| | |\n|---|---|\n",
        rec.tracking_id
    );
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    out.push_str(END);
    out
}

pub fn sha256(block: &str) -> String {
    hex::encode(Sha256::digest(block.as_bytes()))
}

/// `body` with its status block replaced by `block`. Ours is only the
/// block right after the body's first line when that is our marker line
/// (or at the very top when it is not): a marker line anywhere else, say
/// inside a report's verbatim text, is the reporter's and left alone. A
/// block at that place without its end marker loses just its first line.
pub fn splice(body: &str, block: &str) -> String {
    let (head, rest) = match body.split_once('\n') {
        Some((first, rest)) if first.trim_start().starts_with("<!-- secintake:") => {
            (format!("{}\n", first.trim_end_matches('\r')), rest)
        }
        _ if body.trim_start().starts_with("<!-- secintake:") && !body.contains('\n') => {
            (format!("{}\n", body.trim_end_matches('\r')), "")
        }
        _ => (String::new(), body),
    };
    let rest = rest.trim_start_matches(['\r', '\n']);
    let rest = match rest.strip_prefix(BEGIN) {
        Some(after) => match after.split_once(END) {
            Some((_, tail)) => tail,
            None => after.split_once('\n').map_or("", |(_, tail)| tail),
        },
        None => rest,
    };
    let rest = rest.trim_start_matches(['\r', '\n']);
    format!("{head}{block}\n\n{rest}")
        .trim_end_matches(['\r', '\n'])
        .to_string()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "<!-- secintake:status:begin -->\nA\n<!-- secintake:status:end -->";

    #[test]
    fn a_block_goes_after_our_marker_line_and_is_replaced_in_place() {
        let body = "<!-- secintake:X-1 -->\n## Report\n\ntext\n";
        let once = splice(body, BLOCK);
        assert_eq!(
            once,
            format!("<!-- secintake:X-1 -->\n{BLOCK}\n\n## Report\n\ntext\n")
        );
        let b2 = BLOCK.replace('A', "B");
        let twice = splice(&once, &b2);
        assert_eq!(
            twice,
            format!("<!-- secintake:X-1 -->\n{b2}\n\n## Report\n\ntext\n")
        );
        assert_eq!(splice(&twice, &b2), twice, "idempotent");
    }

    #[test]
    fn only_the_block_under_our_marker_is_ours() {
        // A report quoting our marker lines, even unterminated: untouched.
        let body =
            format!("<!-- secintake:X-1 -->\n{BLOCK}\n\n```text\n{BEGIN}\nreport text\n```\nend\n");
        let out = splice(&body, &BLOCK.replace('A', "B"));
        assert_eq!(out.matches(BEGIN).count(), 2);
        assert!(out.starts_with(&format!(
            "<!-- secintake:X-1 -->\n{}",
            BLOCK.replace('A', "B")
        )));
        assert!(out.contains(&format!("```text\n{BEGIN}\nreport text\n```\nend")));
        let unterminated = format!("<!-- secintake:X-1 -->\n{BEGIN}\nhalf\nrest");
        assert_eq!(
            splice(&unterminated, BLOCK),
            format!("<!-- secintake:X-1 -->\n{BLOCK}\n\nhalf\nrest\n")
        );
        // No marker line: at the top.
        assert_eq!(
            splice("plain body", BLOCK),
            format!("{BLOCK}\n\nplain body\n")
        );
        // GitHub's web editor writes CRLF.
        let crlf = format!("<!-- secintake:X-1 -->\r\n{BLOCK}\r\n\r\n## Report\r\n");
        assert_eq!(
            splice(&crlf, BLOCK),
            format!("<!-- secintake:X-1 -->\n{BLOCK}\n\n## Report\n")
        );
    }

    #[test]
    fn cells_cannot_break_the_table_or_mention() {
        assert_eq!(
            cell("A | B <img> [x](y) @team"),
            "A   B  img   x (y) ＠team"
        );
    }
}
