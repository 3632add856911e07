//! Attachments stored in the tracking repository with the contents API
//! (`PUT /repos/{owner}/{repo}/contents/{path}`): the issue API has no
//! uploads, and the repository is as private as the issues.

use ::http::{Method, StatusCode};
use serde_json::json;

use super::http::str_field;
use super::{GithubTracker, NOT_FOUND};
use crate::effect::Effect;
use crate::tracker::StoredFile;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4), as the contents API wants.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                let idx = ((n >> shift) & 63) as usize;
                out.push(char::from(B64.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl GithubTracker {
    /// Stores `data` at `path` (under `reports/<ID>/`) unless the same bytes
    /// are already there, e.g. from an attempt that crashed before filing.
    pub async fn store_file(
        &self,
        path: &str,
        data: &[u8],
        message: &str,
    ) -> Effect<Option<StoredFile>> {
        if data.len() as u64 > self.attachment_max_bytes {
            return Ok(None);
        }
        let url_path = format!("{}/contents/{path}", self.repo_path());
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
        let mut sha = None;
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
        let body = match sha {
            Some(sha) => json!({"message": message, "content": base64(data), "sha": sha}),
            None => json!({"message": message, "content": base64(data)}),
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

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
