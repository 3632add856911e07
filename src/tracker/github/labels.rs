//! Repository labels: created with a colour and description when missing
//! (GitHub would create them bare, or drop them for tokens without push
//! rights), then put on issues.

use std::collections::HashSet;

use ::http::{Method, StatusCode};
use serde_json::json;

use super::http::str_field;
use super::GithubTracker;
use crate::support::effect::Effect;

fn style(label: &str) -> (&'static str, &'static str) {
    match label {
        "encrypted" => ("5319e7", "Report arrived OpenPGP-encrypted (secintake)"),
        "undecryptable" => ("b60205", "Could not be decrypted or read (secintake)"),
        "follow-up" => ("fbca04", "The reporter wrote again (secintake)"),
        _ => ("ededed", "Added by secintake"),
    }
}

impl GithubTracker {
    async fn existing_labels(&self) -> Effect<HashSet<String>> {
        let mut names = HashSet::new();
        for page in 1..=20u32 {
            let path = format!("{}/labels?per_page=100&page={page}", self.repo_path());
            let list = self
                .api
                .call("listing labels", Method::GET, &path, None, &[])
                .await?;
            for l in list.json.as_array().into_iter().flatten() {
                if let Some(n) = str_field(l, "name") {
                    names.insert(n.to_lowercase());
                }
            }
            if !list.has_next() {
                break;
            }
        }
        Ok(names)
    }

    /// Creates the labels the repository lacks (names compare
    /// case-insensitively, like GitHub's).
    pub(super) async fn ensure_labels(&self, labels: &[String]) -> Effect<()> {
        let known = self
            .known_labels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut known = match known {
            Some(k) => k,
            None => self.existing_labels().await?,
        };
        for label in labels {
            if known.contains(&label.to_lowercase()) {
                continue;
            }
            let (color, description) = style(label);
            let body = json!({"name": label, "color": color, "description": description});
            // 422 `already_exists`: someone created it meanwhile — fine.
            self.api
                .call(
                    "creating a label",
                    Method::POST,
                    &format!("{}/labels", self.repo_path()),
                    Some(&body),
                    &[StatusCode::UNPROCESSABLE_ENTITY],
                )
                .await?;
            known.insert(label.to_lowercase());
        }
        *self.known_labels.lock().unwrap_or_else(|e| e.into_inner()) = Some(known);
        Ok(())
    }

    /// Adds labels to an existing issue (idempotent).
    pub async fn add_labels(&self, number: u64, labels: &[String]) -> Effect<()> {
        self.ensure_labels(labels).await?;
        self.api
            .call(
                "labelling an issue",
                Method::POST,
                &format!("{}/issues/{number}/labels", self.repo_path()),
                Some(&json!({ "labels": labels })),
                &[],
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn automatic_labels_have_their_own_colours() {
        assert_ne!(super::style("encrypted").0, super::style("other").0);
    }
}
