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

/// `body` with every status block removed and `block` put in their place
/// (or, when there was none, after the body's first line if that is our
/// marker line, else at the top). An unterminated block runs to the end.
pub fn splice(body: &str, block: &str) -> String {
    let mut kept = String::with_capacity(body.len() + block.len());
    let mut at: Option<usize> = None;
    let mut rest = body;
    while let Some((before, after)) = rest.split_once(BEGIN) {
        kept.push_str(before);
        at.get_or_insert(kept.len());
        rest = after.split_once(END).map_or("", |(_, tail)| tail);
    }
    kept.push_str(rest);
    let first_line = kept.lines().next().unwrap_or("");
    let at = at.unwrap_or_else(|| {
        if first_line.trim_start().starts_with("<!-- secintake:") {
            (first_line.len() + 1).min(kept.len())
        } else {
            0
        }
    });
    let head = kept.get(..at).unwrap_or("");
    let tail = kept.get(at..).unwrap_or("").trim_start_matches('\n');
    let sep_before = if head.is_empty() || head.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{head}{sep_before}{block}\n\n{tail}")
        .trim_end_matches('\n')
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
    fn two_blocks_become_one_and_the_rest_is_untouched() {
        let body = format!("intro\n{BLOCK}\nmiddle\n{BLOCK}\nend\n");
        let out = splice(&body, BLOCK);
        assert_eq!(out.matches(BEGIN).count(), 1);
        assert!(out.starts_with("intro\n"));
        assert!(out.contains("middle") && out.contains("end"));
        let unterminated = format!("top\n{BEGIN}\nhalf written");
        let out = splice(&unterminated, BLOCK);
        assert_eq!(out, format!("top\n{BLOCK}\n"));
    }

    #[test]
    fn cells_cannot_break_the_table_or_mention() {
        assert_eq!(
            cell("A | B <img> [x](y) @team"),
            "A   B  img   x (y) ＠team"
        );
    }
}
