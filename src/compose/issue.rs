//! Issue bodies and comments for the tracker.
//!
//! The body is the marker line, then `issue.md.j2` (or `comment.md.j2`)
//! rendered from a [`ReportView`] whose every reporter-supplied value is
//! already sanitised. When the result is over GitHub's limit, the report
//! text and inline attachments become fenced blocks that continue in
//! comments ([`parts`]).

use super::parts::{self, BLOCK_BUDGET, BUDGET};
use super::uploads::{self, NotKept, UploadLimits};
use super::{
    attachment_views, describe_encryption, describe_signature, when, AttachmentView, Composer,
    ReportView,
};
use crate::config::{LabelRule, TrackerSettings};
use crate::normalize::{Attachment, Encryption, Opened};
use crate::record::{Kind, Record};
use crate::render::sanitize::{
    body_len, code_span, code_span_max, fence, fence_chunks, table_cell, title,
};
use crate::render::TemplateError;
use crate::tracker::{marker, CommentDraft, IssueDraft, StoredFile};

/// Text attachments of these types (or `text/*`) may be shown inline.
const INLINE_TYPES: [&str; 6] = [
    "application/json",
    "application/xml",
    "application/x-sh",
    "application/x-python",
    "application/javascript",
    "application/x-yaml",
];

impl Composer<'_> {
    fn inline_max(&self) -> u64 {
        match &self.settings.tracker {
            TrackerSettings::Github(g) => g.inline_max_bytes,
            TrackerSettings::Directory(_) => 8 << 10,
        }
    }

    /// Attachments larger than this are listed with their hash but not stored.
    pub fn attachment_max(&self) -> u64 {
        match &self.settings.tracker {
            TrackerSettings::Github(g) => g.attachment_max_bytes,
            TrackerSettings::Directory(_) => 10 << 20,
        }
    }

    /// The bounds on the attachments a report keeps.
    pub fn upload_limits(&self) -> UploadLimits {
        let l = &self.settings.limits;
        UploadLimits {
            per_file: self.attachment_max(),
            count: l.max_attachments,
            total: l.max_upload_bytes,
        }
    }

    /// Which of the report's attachments are kept ([`uploads::plan`]).
    pub fn upload_plan(&self, opened: &Opened) -> Vec<Option<NotKept>> {
        uploads::plan(&opened.attachments, self.upload_limits())
    }

    fn label_rules(&self) -> Vec<LabelRule> {
        match &self.settings.tracker {
            TrackerSettings::Github(g) => g.label_rules.clone(),
            TrackerSettings::Directory(_) => LabelRule::defaults(),
        }
    }

    fn view(&self, record: &Record, opened: &Opened, stored: &[Option<StoredFile>]) -> ReportView {
        let unreadable_reason = match &record.kind {
            Some(Kind::Unreadable { reason }) => Some(code_span(reason)),
            _ => opened.unreadable_reason().map(|r| code_span(&r)),
        };
        let recipients = match &opened.encryption {
            Encryption::Failed { recipients, .. } | Encryption::Decrypted { recipients, .. } => {
                recipients
                    .iter()
                    .take(20)
                    .map(|r| code_span_max(r, 100))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            Encryption::None => String::new(),
        };
        let inline_max = self.inline_max();
        let plan = self.upload_plan(opened);
        // Only kept attachments are shown inline: the limits bound the body too.
        let inline_attachments = opened
            .attachments
            .iter()
            .enumerate()
            .filter(|(i, _)| plan.get(*i).is_some_and(Option::is_none))
            .filter_map(|(i, a)| inline_block(i + 1, a, inline_max))
            .collect();
        let mut notes: Vec<String> = opened
            .notes
            .iter()
            .take(20)
            .map(|n| code_span_max(n, 300))
            .collect();
        let reporter = match &record.facts.forwarded_by {
            Some(by) => {
                notes.push(format!(
                    "Forwarded by the team ({}); the reporter is the forwarded message's sender.",
                    code_span_max(by, 200)
                ));
                record.facts.reply_address.as_deref()
            }
            None => opened.headers.from.as_deref(),
        };
        if let Some(n) = uploads::note(&plan, self.upload_limits()) {
            notes.push(n);
        }
        ReportView {
            tracking_id: record.tracking_id.clone(),
            kind: match record.kind {
                Some(Kind::Unreadable { .. }) => "unreadable",
                Some(Kind::FollowUp { .. }) => "follow-up",
                _ => "new",
            },
            received: when(record.received_at),
            respond_by: when(record.respond_by),
            disclose_by: when(record.disclose_by),
            reporter: table_cell(reporter.unwrap_or("(unknown)")),
            from_team: matches!(record.kind, Some(Kind::TeamComment { .. })),
            encryption: describe_encryption(&opened.encryption),
            signature: describe_signature(&opened.signature),
            unreadable_reason,
            recipients,
            raw_size: opened.raw_size,
            raw_sha256: opened.raw_sha256.clone(),
            attachments: attachment_views(&opened.attachments, stored, &plan),
            more_attachments: 0,
            notes,
            text: if opened.text.trim().is_empty() {
                String::new()
            } else {
                fence(&opened.text)
            },
            inline_attachments,
            continued: false,
        }
    }

    /// Renders `template`; when too long, moves text, inline attachments and
    /// (for huge lists) attachment lines into continuation comments.
    fn bodies(
        &self,
        template: &str,
        mut view: ReportView,
        opened: &Opened,
    ) -> Result<(String, Vec<String>), TemplateError> {
        let marker = marker(&view.tracking_id);
        let whole = self.templates.render(template, &view)?;
        if body_len(&whole) <= BUDGET {
            return Ok((format!("{marker}\n{whole}"), Vec::new()));
        }
        let inline = std::mem::take(&mut view.inline_attachments);
        view.text = String::new();
        view.continued = true;
        let mut head = self.templates.render(template, &view)?;
        let mut overflow: Vec<AttachmentView> = Vec::new();
        while body_len(&head) > BUDGET && !view.attachments.is_empty() {
            let keep = view.attachments.len() / 2;
            let mut moved = view.attachments.split_off(keep);
            moved.append(&mut overflow);
            overflow = moved;
            view.more_attachments = overflow.len();
            head = self.templates.render(template, &view)?;
        }
        // The text starts in the issue, in the room the head leaves.
        let room = if overflow.is_empty() {
            BUDGET.saturating_sub(body_len(&head) + 4)
        } else {
            0
        };
        let first = if room >= 1000 { room } else { BLOCK_BUDGET };
        let mut blocks = Vec::new();
        if !opened.text.trim().is_empty() {
            blocks.extend(fence_chunks(&opened.text, first, BLOCK_BUDGET));
        }
        blocks.extend(inline);
        let lines: Vec<String> = overflow.iter().map(attachment_line).collect();
        let mut list_blocks = Vec::new();
        for chunk in lines.chunks(100) {
            list_blocks.push(chunk.join("\n"));
        }
        list_blocks.append(&mut blocks);
        let (first, rest) = parts::pack(head, list_blocks);
        Ok(parts::label(&view.tracking_id, &marker, first, rest))
    }

    /// Labels from the configured keyword rules that match subject or text.
    pub fn subproject_labels(&self, opened: &Opened) -> Vec<String> {
        let haystack = format!(
            "{}\n{}",
            opened.subject.as_deref().unwrap_or(""),
            opened.text
        );
        self.labels_for_text(&haystack)
    }

    /// Labels from the configured keyword rules that match `text`.
    pub fn labels_for_text(&self, text: &str) -> Vec<String> {
        crate::config::matching_labels(&self.label_rules(), &text.to_lowercase())
    }

    pub fn issue(&self, record: &Record, opened: &Opened) -> Result<IssueDraft, TemplateError> {
        self.issue_with(record, opened, &[])
    }

    /// The issue, with links to the attachments kept in `stored`.
    pub fn issue_with(
        &self,
        record: &Record,
        opened: &Opened,
        stored: &[Option<StoredFile>],
    ) -> Result<IssueDraft, TemplateError> {
        let view = self.view(record, opened, stored);
        let (body, continuation) = self.bodies("issue.md.j2", view, opened)?;
        let mut labels = Vec::new();
        if opened.is_encrypted() {
            labels.push("encrypted".to_string());
        }
        if matches!(record.kind, Some(Kind::Unreadable { .. })) || opened.malformed.is_some() {
            labels.push("undecryptable".to_string());
        }
        for l in self.subproject_labels(opened) {
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        Ok(IssueDraft {
            tracking_id: record.tracking_id.clone(),
            title: title(&record.tracking_id, opened.subject.as_deref()),
            body,
            labels,
            continuation,
        })
    }

    pub fn comment(
        &self,
        record: &Record,
        opened: &Opened,
        issue: u64,
    ) -> Result<CommentDraft, TemplateError> {
        self.comment_with(record, opened, issue, &[])
    }

    /// A follow-up comment; the issue gets the `follow-up` label. A team
    /// member's comment ([`Kind::TeamComment`]) is marked "from the team"
    /// and adds no label.
    pub fn comment_with(
        &self,
        record: &Record,
        opened: &Opened,
        issue: u64,
        stored: &[Option<StoredFile>],
    ) -> Result<CommentDraft, TemplateError> {
        let view = self.view(record, opened, stored);
        // A reporter's follow-up asks for attention; the team's own words
        // do not.
        let labels = if view.from_team {
            Vec::new()
        } else {
            vec!["follow-up".to_string()]
        };
        let (body, continuation) = self.bodies("comment.md.j2", view, opened)?;
        Ok(CommentDraft {
            tracking_id: record.tracking_id.clone(),
            issue,
            body,
            labels,
            continuation,
        })
    }
}

/// A small text attachment as a collapsed block. The summary is ours (HTML
/// context): the reporter's file name is not in it.
fn inline_block(index: usize, a: &Attachment, max: u64) -> Option<String> {
    let textual = a.content_type.to_ascii_lowercase().starts_with("text/")
        || INLINE_TYPES
            .iter()
            .any(|t| a.content_type.eq_ignore_ascii_case(t));
    if !textual || a.size > max || a.data.contains(&0) {
        return None;
    }
    let text = std::str::from_utf8(&a.data).ok()?;
    Some(format!(
        "<details><summary>Attachment {index} ({} bytes of text)</summary>\n\n{}\n\n</details>",
        a.size,
        fence(text)
    ))
}

fn attachment_line(a: &AttachmentView) -> String {
    format!(
        "- {}. {} — {} bytes, {}, SHA-256 `{}`{}{}",
        a.index,
        a.name,
        a.size,
        a.content_type,
        a.sha256,
        if a.decrypted { " (decrypted)" } else { "" },
        if a.link.is_empty() {
            format!(" — {}", a.not_stored)
        } else {
            format!(" — {}", a.link)
        }
    )
}
