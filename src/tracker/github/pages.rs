//! Reading a GitHub listing page by page: 100 items a page, following
//! `Link: rel="next"`, up to a page limit.

use std::ops::ControlFlow;

use ::http::Method;
use serde_json::Value;

use super::GithubTracker;
use crate::support::effect::Effect;

/// How a paged reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Every page was read.
    Complete,
    /// The caller stopped it.
    Stopped,
    /// The page limit was reached with more pages waiting.
    Truncated,
}

impl GithubTracker {
    /// Hands every item of the listing at `path` (with or without a query;
    /// `per_page=100&page=N` is added) to `each`, at most `max_pages` pages.
    pub(super) async fn pages(
        &self,
        what: &str,
        path: &str,
        max_pages: u32,
        mut each: impl FnMut(&Value) -> ControlFlow<()>,
    ) -> Effect<Read> {
        let sep = if path.contains('?') { '&' } else { '?' };
        for page in 1..=max_pages {
            let page_path = format!("{path}{sep}per_page=100&page={page}");
            let answer = self
                .api
                .call(what, Method::GET, &page_path, None, &[])
                .await?;
            for v in answer.json.as_array().into_iter().flatten() {
                if each(v).is_break() {
                    return Ok(Read::Stopped);
                }
            }
            if !answer.has_next() {
                return Ok(Read::Complete);
            }
        }
        Ok(Read::Truncated)
    }
}
