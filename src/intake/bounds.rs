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

/// The messages one intake pass takes, in order, from `(uid, size)`:
/// whole messages until their sizes would pass `max_fetch_batch_bytes`
/// (at least one message), and the oversized ones among them (only their
/// headers are fetched). True when messages were left for the next pass.
pub(super) fn take_within(sized: &[(u32, u64)], bounds: &FetchBounds) -> (Vec<(u32, u64)>, bool) {
    let mut taken = Vec::new();
    let mut used: u64 = 0;
    for &(uid, size) in sized {
        if size <= bounds.max_message_bytes {
            if !taken.is_empty() && used.saturating_add(size) > bounds.max_fetch_batch_bytes {
                return (taken, true);
            }
            used = used.saturating_add(size);
        }
        taken.push((uid, size));
    }
    (taken, false)
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
    use super::{batches, take_within, FetchBounds};

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

    #[test]
    fn a_pass_takes_whole_messages_within_the_budget() {
        let bounds = FetchBounds {
            max_message_bytes: 100,
            max_header_bytes: 10,
            max_fetch_batch_bytes: 150,
        };
        // 500 is oversized: taken (headers only), not counted.
        let sized = [(1, 90), (2, 500), (3, 60), (4, 10), (5, 5)];
        assert_eq!(
            take_within(&sized, &bounds),
            (vec![(1, 90), (2, 500), (3, 60)], true)
        );
        assert_eq!(
            take_within(&sized[3..], &bounds),
            (sized[3..].to_vec(), false)
        );
        // A message at the limit alone is a pass of its own.
        let big = [(7, 100), (8, 100)];
        assert_eq!(
            take_within(
                &big,
                &FetchBounds {
                    max_fetch_batch_bytes: 50,
                    ..bounds
                }
            ),
            (vec![(7, 100)], true)
        );
    }
}
