//! The bounds intake keeps to (`[limits]`): which messages are fetched
//! whole, and how many bytes one fetch command may bring in.

/// The bounds intake keeps to (from `[limits]`).
#[derive(Debug, Clone, Copy)]
pub struct FetchBounds {
    /// Larger messages are not fetched whole: their headers make a stub.
    pub max_message_bytes: u64,
    /// The most of an oversized message's header section fetched.
    pub max_header_bytes: u64,
    /// What one `UID FETCH` of whole messages may bring in, by size.
    pub max_fetch_batch_bytes: u64,
}

impl FetchBounds {
    pub fn new(limits: &crate::config::Limits) -> Self {
        FetchBounds {
            max_message_bytes: limits.max_message_bytes,
            max_header_bytes: limits.max_header_bytes,
            max_fetch_batch_bytes: limits.max_fetch_batch_bytes,
        }
    }
}

/// `1,5,9` for a UID FETCH.
pub(super) fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits `(uid, size)` (in order) into fetch batches of at most `count`
/// messages and `bytes` bytes; a message larger than `bytes` alone is a
/// batch of its own.
pub(super) fn batches(sized: &[(u32, u64)], bytes: u64, count: usize) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    let mut sum: u64 = 0;
    for &(uid, size) in sized {
        if !current.is_empty() && (current.len() >= count || sum.saturating_add(size) > bytes) {
            out.push(std::mem::take(&mut current));
            sum = 0;
        }
        current.push(uid);
        sum = sum.saturating_add(size);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_keep_the_byte_budget_and_take_at_least_one() {
        let sized = [(1, 10), (2, 10), (3, 100), (4, 5), (5, 5), (6, 5), (7, 30)];
        assert_eq!(
            batches(&sized, 25, 2),
            vec![vec![1, 2], vec![3], vec![4, 5], vec![6], vec![7]]
        );
        assert_eq!(batches(&sized, 1000, 25), vec![vec![1, 2, 3, 4, 5, 6, 7]]);
        assert!(batches(&[], 10, 2).is_empty());
    }
}
