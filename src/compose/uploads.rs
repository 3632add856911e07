//! Which attachments of a report are kept — stored beside the issue and, if
//! small text, shown inline — and which are only listed (name, size,
//! SHA-256). A report keeps at most `[limits] max_attachments` of them, of
//! at most `[limits] max_upload_bytes` together, each within the tracker's
//! per-file limit, in the order they came; the plan depends only on the
//! opened message, so a repeated filing attempt keeps the same ones.

use crate::normalize::Attachment;

/// Why an attachment is listed but not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    /// Nothing to keep: empty, or ciphertext we could not decrypt (never filed).
    NoContent,
    /// Over the tracker's per-file limit.
    TooLarge,
    /// The report already keeps `max_attachments` attachments.
    OverCount,
    /// Keeping it would pass the report's `max_upload_bytes`.
    OverBudget,
}

impl NotKept {
    /// Shown in the attachment list.
    pub fn reason(self) -> &'static str {
        match self {
            NotKept::NoContent => "not stored (no content to keep)",
            NotKept::TooLarge => "not stored (over `attachment_max_bytes`)",
            NotKept::OverCount => "not stored (over `max_attachments`)",
            NotKept::OverBudget => "not stored (over `max_upload_bytes` for this report)",
        }
    }
}

/// The bounds a plan keeps to.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub per_file: u64,
    pub count: u32,
    pub total: u64,
}

/// Index-aligned with `list`: `None` for an attachment that is kept, else
/// why it is not. An attachment that does not fit the remaining budget is
/// skipped and later, smaller ones may still be kept.
pub fn plan(list: &[Attachment], limits: UploadLimits) -> Vec<Option<NotKept>> {
    let mut kept: u32 = 0;
    let mut bytes: u64 = 0;
    list.iter()
        .map(|a| {
            if a.data.is_empty() {
                Some(NotKept::NoContent)
            } else if a.size > limits.per_file {
                Some(NotKept::TooLarge)
            } else if kept >= limits.count {
                Some(NotKept::OverCount)
            } else if bytes.saturating_add(a.size) > limits.total {
                Some(NotKept::OverBudget)
            } else {
                kept += 1;
                bytes = bytes.saturating_add(a.size);
                None
            }
        })
        .collect()
}

/// A note for the issue when the limits left attachments unstored.
pub fn note(plan: &[Option<NotKept>], limits: UploadLimits) -> Option<String> {
    let count = |k: NotKept| plan.iter().filter(|p| **p == Some(k)).count();
    let (over_count, over_budget) = (count(NotKept::OverCount), count(NotKept::OverBudget));
    if over_count + over_budget == 0 {
        return None;
    }
    Some(format!(
        "{} attachments were listed but not stored: {over_count} over the limit of {} per report, {over_budget} over the {} bytes stored per report",
        over_count + over_budget,
        limits.count,
        limits.total
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn att(size: usize) -> Attachment {
        Attachment::new("a".into(), "text/plain".into(), vec![b'x'; size], false)
    }

    #[test]
    fn keeps_in_order_within_count_and_budget() {
        let limits = UploadLimits {
            per_file: 100,
            count: 3,
            total: 220,
        };
        let sizes = [100, 200, 101, 0, 100, 50, 1, 1];
        let list: Vec<Attachment> = sizes.iter().map(|&n| att(n)).collect();
        let p = plan(&list, limits);
        assert_eq!(
            p,
            vec![
                None,
                Some(NotKept::TooLarge),
                Some(NotKept::TooLarge),
                Some(NotKept::NoContent),
                None,
                Some(NotKept::OverBudget),
                None,
                Some(NotKept::OverCount),
            ]
        );
        let kept: u64 = list
            .iter()
            .zip(&p)
            .filter(|(_, p)| p.is_none())
            .map(|(a, _)| a.size)
            .sum();
        assert!(kept <= limits.total);
        let n = note(&p, limits).expect("note");
        assert!(
            n.starts_with("2 attachments were listed but not stored: 1 over"),
            "{n}"
        );
    }

    #[test]
    fn three_thousand_keep_the_count() {
        let limits = UploadLimits {
            per_file: 10 << 20,
            count: 20,
            total: 25 << 20,
        };
        let list: Vec<Attachment> = (0..3000).map(|_| att(12)).collect();
        let p = plan(&list, limits);
        assert_eq!(p.iter().filter(|p| p.is_none()).count(), 20);
        assert_eq!(
            p.iter().filter(|p| **p == Some(NotKept::OverCount)).count(),
            2980
        );
        assert!(p.iter().take(20).all(Option::is_none));
    }
}
