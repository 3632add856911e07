//! GitHub Security Advisories out: `/ghsa draft OWNER/REPO` in a
//! coordinator's comment on a report's issue creates a draft repository
//! advisory (`POST /repos/{owner}/{repo}/security-advisories`) with the
//! credentials of the `[[advisories.source]]` that covers OWNER/REPO:
//!
//! * summary: the report's issue title (without our `[ID] ` prefix);
//! * description: the coordinator's text below the command, then a hidden
//!   reference line (`<!-- secintake:ID command:N -->`, an HTML comment
//!   GitHub does not render) by which the draft is found again;
//! * the reporter credited (type `reporter`) only with recorded consent
//!   that names a GitHub login ([`crate::pipeline::credit`]); otherwise
//!   nobody is, and the answer on the issue says why;
//! * no affected packages (`vulnerabilities: []`): the maintainers fill
//!   them in on GitHub.
//!
//! Once per command comment: the intent's `drafting_since` is written
//! synced before the create request; found set (after a crash or a lost
//! answer), the repository's drafts are searched for the reference line
//! first. The answer on the issue links the draft.

use chrono::Utc;
use serde_json::json;

use super::{Intent, Mail};
use crate::ops::failpoint;
use crate::pipeline::commands::Command;
use crate::pipeline::credit::Consent;
use crate::pipeline::{record_failure, record_success, Pipeline};
use crate::render::sanitize::code_span_max;
use crate::store::StoreError;
use crate::support::effect::{Effect, EffectError};
use crate::tracker::github::advisories::{Advisory, AdvisoryClient};
use crate::tracker::marker;
use crate::tracker::title::summary_of;

/// GitHub's limit on a summary.
const SUMMARY_MAX: usize = 1024;

/// Acts on a `/ghsa draft` intent whose work is pending.
pub async fn act(p: &Pipeline, i: &mut Intent) -> Result<(), StoreError> {
    let store = p.store.as_ref();
    let (Some(tid), Some(Command::GhsaDraft { repo })) = (i.tracking_id.clone(), i.command.clone())
    else {
        return Ok(());
    };
    let Some(client) = p.advisories.iter().find(|c| c.covers(&repo)) else {
        return done(
            p,
            i,
            Mail::Refused {
                reason: format!(
                    "No `[[advisories.source]]` covers {}: its credentials would create the draft.",
                    code_span_max(&repo, 200)
                ),
            },
        );
    };
    let consent = Consent::load(store, &tid)?;
    let reference = marker::command(&tid, i.comment_id);
    let look = i.drafting_since.is_some();
    if !look {
        i.drafting_since = Some(Utc::now());
        i.save(store, true)?;
    }
    let result = create_once(p, client, i, &repo, &reference, consent.as_ref(), look).await;
    failpoint::hit("effect.ghsa.created");
    match result {
        Ok(a) => {
            tracing::info!(comment_id = i.comment_id, ghsa_id = %a.ghsa_id, "draft advisory created");
            record_success(&mut i.mail_attempts);
            let credit = match (&consent, a.credits.first()) {
                (_, Some((login, kind))) => format!(
                    "The reporter is credited as {} ({kind}), with their recorded consent.",
                    code_span_max(login, 100)
                ),
                (Some(_), None) => "The reporter is **not credited**: their recorded consent names no GitHub login. Add the credit on GitHub.".into(),
                (None, None) => "The reporter is **not credited**: no consent to be credited is recorded yet (ask with `/notice credit`).".into(),
            };
            let note = format!(
                "Draft security advisory {} created in {}: {}\n\n{credit} Affected packages, severity and CWEs are to be filled in on GitHub.",
                code_span_max(&a.ghsa_id, 100),
                code_span_max(&repo, 200),
                code_span_max(&a.html_url, 300),
            );
            done(p, i, Mail::Done { note })
        }
        Err(e) if e.is_permanent() => {
            tracing::warn!(comment_id = i.comment_id, error = %e, "creating the draft advisory failed");
            done(
                p,
                i,
                Mail::Refused {
                    reason: format!(
                        "GitHub refused the draft: {}",
                        code_span_max(&e.to_string(), 500)
                    ),
                },
            )
        }
        Err(e) => {
            tracing::warn!(comment_id = i.comment_id, error = %e, "creating the draft advisory failed; retried");
            record_failure(&mut i.mail_attempts, &e, Utc::now());
            i.save(store, false)
        }
    }
}

fn done(p: &Pipeline, i: &mut Intent, outcome: Mail) -> Result<(), StoreError> {
    i.mail = outcome;
    i.text = None;
    i.save(p.store.as_ref(), false)
}

/// The draft of this command: found among the repository's drafts by
/// its reference line when an earlier attempt may have made it, else
/// created.
async fn create_once(
    p: &Pipeline,
    client: &AdvisoryClient,
    i: &Intent,
    repo: &str,
    reference: &str,
    consent: Option<&Consent>,
    look: bool,
) -> Effect<Advisory> {
    if look {
        let drafts = client.drafts(repo).await?;
        if let Some(a) = drafts
            .into_iter()
            .find(|a| a.description.lines().any(|l| l.trim() == reference))
        {
            return Ok(a);
        }
    }
    let issue_title = p.tracker.issue_title(i.issue).await?;
    let summary: String = summary_of(&issue_title).chars().take(SUMMARY_MAX).collect();
    if summary.is_empty() {
        return Err(EffectError::Permanent(
            "the issue has no title to use as the summary".into(),
        ));
    }
    let description = format!(
        "{}\n\n{reference}\n",
        i.text.as_deref().unwrap_or("").trim_end()
    );
    let credits: Vec<serde_json::Value> = consent
        .and_then(|c| c.github_login.as_deref())
        .map(|login| json!({"login": login, "type": "reporter"}))
        .into_iter()
        .collect();
    let body = json!({
        "summary": summary,
        "description": description,
        "vulnerabilities": [],
        "credits": credits,
    });
    client.create_draft(repo, &body).await
}
