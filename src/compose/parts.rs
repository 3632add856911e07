//! Fitting a rendered report into GitHub's 65,536-character bodies: the
//! head (marker, metadata, lists) stays in the issue, and blocks that do not
//! fit (fenced chunks of the text, inline attachments, overflow lists)
//! continue in comments, in order, each starting with its part marker.

use crate::render::sanitize::{body_len, GITHUB_BODY_LIMIT};
use crate::tracker::part_marker;

/// Room kept free in every body for the part header and footer.
const RESERVE: usize = 600;

/// The largest body we compose.
pub(crate) const BUDGET: usize = GITHUB_BODY_LIMIT - RESERVE;

/// A block of report text may be this long (it must also fit in a part
/// after the part header).
pub(crate) const BLOCK_BUDGET: usize = BUDGET - 200;

/// Packs `blocks` after `head` (which must fit in [`BUDGET`]) into bodies of
/// at most [`BUDGET`] characters; returns the first body and the rest.
pub(crate) fn pack(head: String, blocks: Vec<String>) -> (String, Vec<String>) {
    let mut bodies: Vec<String> = vec![head];
    for block in blocks {
        let fits = bodies
            .last()
            .is_some_and(|b| body_len(b) + 2 + body_len(&block) <= BUDGET);
        match bodies.last_mut() {
            Some(last) if fits => {
                if !last.ends_with("\n\n") {
                    last.push_str(if last.ends_with('\n') { "\n" } else { "\n\n" });
                }
                last.push_str(&block);
            }
            _ => bodies.push(block),
        }
    }
    let mut it = bodies.into_iter();
    let first = it.next().unwrap_or_default();
    (first, it.collect())
}

/// Adds markers, headers and footers: the first body starts with `marker`;
/// part k of n starts with its part marker and a heading.
pub(crate) fn label(
    tracking_id: &str,
    marker: &str,
    first: String,
    rest: Vec<String>,
) -> (String, Vec<String>) {
    let n = rest.len() + 1;
    let footer = |k: usize| {
        if k < n {
            format!(
                "\n\n*Continued in the next comment (part {} of {n}).*",
                k + 1
            )
        } else {
            String::new()
        }
    };
    let body = format!("{marker}\n{}{}", first.trim_end(), footer(1));
    let parts = rest
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let k = i + 2;
            format!(
                "{}\n**{tracking_id}**, continued (part {k} of {n})\n\n{}{}",
                part_marker(tracking_id, k, n),
                b.trim_end(),
                footer(k)
            )
        })
        .collect();
    (body, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_in_order_within_budget() {
        let blocks: Vec<String> = (0..5).map(|i| i.to_string().repeat(30_000)).collect();
        let (first, rest) = pack("head".into(), blocks);
        let (first, rest) = label("X-1", "<!-- secintake:X-1 -->", first, rest);
        assert!(body_len(&first) <= GITHUB_BODY_LIMIT);
        assert!(rest.iter().all(|b| body_len(b) <= GITHUB_BODY_LIMIT));
        let all = std::iter::once(first.clone())
            .chain(rest.clone())
            .collect::<String>();
        let order: Vec<usize> = (0..5)
            .map(|i| all.find(&i.to_string().repeat(30_000)).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(rest.len(), 2);
        assert!(rest[1].starts_with("<!-- secintake:X-1 part 3/3 -->\n"));
        assert!(first.ends_with("(part 2 of 3).*"));
    }

    #[test]
    fn astral_blocks_count_two_units() {
        // 20,000 emoji are 20,000 characters but 40,000 UTF-16 units: two
        // such blocks do not share a body.
        let blocks: Vec<String> = (0..3).map(|_| "\u{1F600}".repeat(20_000)).collect();
        let (first, rest) = pack("head".into(), blocks);
        let (first, rest) = label("X-1", "<!-- secintake:X-1 -->", first, rest);
        assert_eq!(rest.len(), 2);
        assert!(body_len(&first) <= GITHUB_BODY_LIMIT);
        assert!(rest.iter().all(|b| body_len(b) <= GITHUB_BODY_LIMIT));
    }
}
