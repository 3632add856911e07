//! Whether anyone but secintake has responded on an issue: comments by
//! another user than the issue's author (the daemon created the issue, so
//! its author is us, whether a token user or a GitHub App bot), and
//! `labeled`/`unlabeled`/`assigned` events by another actor. Our own
//! reminder comments are recognised by their marker line.

use ::http::Method;
use serde_json::Value;

use super::http::str_field;
use super::GithubTracker;
use crate::support::effect::Effect;
use crate::tracker::activity::Activity;
use crate::tracker::marker;

/// Pages of 100 read at most per list (comments, events).
const MAX_PAGES: u32 = 20;

fn login(v: &Value, field: &str) -> Option<String> {
    v.get(field)
        .and_then(|u| str_field(u, "login"))
        .map(str::to_string)
}

impl GithubTracker {
    async fn list_all(&self, what: &str, path: &str) -> Effect<Vec<Value>> {
        let mut out = Vec::new();
        self.pages(what, path, MAX_PAGES, |v| {
            out.push(v.clone());
            std::ops::ControlFlow::Continue(())
        })
        .await?;
        Ok(out)
    }

    pub async fn activity(&self, number: u64) -> Effect<Activity> {
        let base = format!("{}/issues/{number}", self.repo_path());
        let issue = self
            .api
            .call("reading an issue", Method::GET, &base, None, &[])
            .await?;
        let us = login(&issue.json, "user");
        let ours = |who: Option<String>| who.is_none() || who == us;
        let mut activity = Activity {
            open: str_field(&issue.json, "state") != Some("closed"),
            ..Activity::default()
        };
        for c in self
            .list_all("listing comments", &format!("{base}/comments"))
            .await?
        {
            let first = str_field(&c, "body")
                .and_then(|b| b.lines().next())
                .unwrap_or("")
                .trim()
                .to_string();
            if ours(login(&c, "user")) {
                if marker::is_ours(&first) {
                    activity.our_markers.push(first);
                }
            } else {
                activity.coordinator = true;
            }
        }
        if !activity.coordinator {
            for e in self
                .list_all("listing issue events", &format!("{base}/events"))
                .await?
            {
                let kind = str_field(&e, "event").unwrap_or("");
                if matches!(kind, "labeled" | "unlabeled" | "assigned") && !ours(login(&e, "actor"))
                {
                    activity.coordinator = true;
                    break;
                }
            }
        }
        Ok(activity)
    }
}
