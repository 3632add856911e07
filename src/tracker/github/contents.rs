//! Attachments stored in the tracking repository with the contents API
//! (`PUT /repos/{owner}/{repo}/contents/{path}`): the issue API has no
//! uploads, and the repository is as private as the issues.

use ::http::{Method, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use super::http::str_field;
use super::{GithubTracker, NOT_FOUND};
use crate::support::effect::Effect;
use crate::tracker::StoredFile;

impl GithubTracker {
    /// Stores `data` at `path` (under `reports/<ID>/`) unless the same bytes
    /// are already there, e.g. from an attempt that crashed before filing.
    /// Without `look` (the record's first attempt, so nothing of ours can be
    /// at the path yet) the file is written without looking first.
    pub async fn store_file(
        &self,
        path: &str,
        data: &[u8],
        message: &str,
        look: bool,
    ) -> Effect<Option<StoredFile>> {
        if data.len() as u64 > self.attachment_max_bytes {
            return Ok(None);
        }
        let url_path = format!("{}/contents/{path}", self.repo_path());
        let mut sha = None;
        if look {
            let existing = self
                .api
                .call(
                    "looking up a stored attachment",
                    Method::GET,
                    &url_path,
                    None,
                    NOT_FOUND,
                )
                .await?;
            if existing.status == StatusCode::OK {
                // Only secintake writes under reports/<ID>/, and a report's
                // attachments are the same on every attempt: same size, same file.
                if existing
                    .json
                    .get("size")
                    .and_then(serde_json::Value::as_u64)
                    == Some(data.len() as u64)
                {
                    return Ok(Some(stored(path, &existing.json)));
                }
                sha = str_field(&existing.json, "sha").map(str::to_string);
            }
        }
        let content = STANDARD.encode(data);
        let body = match sha {
            Some(sha) => json!({"message": message, "content": content, "sha": sha}),
            None => json!({"message": message, "content": content}),
        };
        let put = self
            .api
            .call(
                "storing an attachment",
                Method::PUT,
                &url_path,
                Some(&body),
                &[],
            )
            .await?;
        let content = put.json.get("content").cloned().unwrap_or_default();
        Ok(Some(stored(path, &content)))
    }
}

fn stored(path: &str, content: &serde_json::Value) -> StoredFile {
    StoredFile {
        path: path.to_string(),
        url: str_field(content, "html_url").map(str::to_string),
    }
}
