//! Writing the status block on each report's issue when it changed.

use std::collections::BTreeMap;

use crate::lifecycle::block::{self, Notified};
use crate::pipeline::conversation::intent::{Intent, Mail};
use crate::pipeline::Pipeline;
use crate::record::{Ack, Kind, Record};
use crate::store::{Store, StoreError};

/// What the reporters were sent, by tracking ID, oldest first: the
/// acknowledgement and each command mail.
pub fn notified(
    store: &dyn Store,
    records: &[Record],
) -> Result<BTreeMap<String, Vec<Notified>>, StoreError> {
    let mut map: BTreeMap<String, Vec<Notified>> = BTreeMap::new();
    for r in records {
        if let Ack::Sent { at, .. } = &r.ack {
            map.entry(r.tracking_id.clone())
                .or_default()
                .push(Notified {
                    what: "acknowledgement".into(),
                    at: *at,
                });
        }
    }
    for i in Intent::all(store)? {
        if let (Mail::Sent { at, .. }, Some(tid), Some(c)) = (&i.mail, &i.tracking_id, &i.command) {
            map.entry(tid.clone()).or_default().push(Notified {
                what: format!("/{}", c.label()),
                at: *at,
            });
        }
    }
    for v in map.values_mut() {
        v.sort_by_key(|n| n.at);
    }
    Ok(map)
}

/// Writes the status blocks that changed, at most `[lifecycle]
/// max_block_edits`. A failure is logged and tried again next pass.
pub async fn blocks(p: &Pipeline) -> Result<(), StoreError> {
    let s = &p.settings.lifecycle;
    if !s.status_block {
        return Ok(());
    }
    let records: Vec<Record> = p
        .store
        .all()?
        .into_iter()
        .filter(|r| r.kind.as_ref().is_some_and(Kind::owns_issue))
        .filter(|r| r.filing.as_ref().is_some_and(|f| f.comment_id.is_none()))
        .collect();
    let notified = notified(p.store.as_ref(), &records)?;
    let mut edits = 0;
    for rec in records {
        if edits >= s.max_block_edits {
            tracing::info!("more status blocks to write than one pass writes: the rest next pass");
            break;
        }
        let shown = block::render(
            &rec,
            notified
                .get(&rec.tracking_id)
                .map_or(&[][..], Vec::as_slice),
        );
        let sha = block::sha256(&shown);
        if rec.lifecycle.block_sha256.as_deref() == Some(sha.as_str()) {
            continue;
        }
        let Some(issue) = rec.filing.as_ref().map(|f| f.issue) else {
            continue;
        };
        edits += 1;
        let written = async {
            let body = p.tracker.issue_body(issue).await?;
            let new = block::splice(&body, &shown);
            if new == body {
                return Ok(());
            }
            use crate::render::sanitize::{body_len, GITHUB_BODY_LIMIT};
            if body_len(&new) > GITHUB_BODY_LIMIT {
                // A report that filled its first body: no room for the
                // block. Recorded as written so it is not tried each pass.
                tracing::warn!(tracking_id = %rec.tracking_id, issue, "the status block does not fit in the issue body (GitHub's size limit); not written");
                return Ok(());
            }
            p.tracker.set_issue_body(issue, &new).await
        }
        .await;
        crate::ops::failpoint::hit("effect.status_block.written");
        match written {
            Ok(()) => {
                // Read again: the pass may have changed the record meanwhile.
                let Some(mut current) = p.store.get(&rec.tracking_id)? else {
                    continue;
                };
                if current.lifecycle == rec.lifecycle && current.disclose_by == rec.disclose_by {
                    current.lifecycle.block_sha256 = Some(sha);
                    p.store.put(&current)?;
                }
                tracing::info!(tracking_id = %rec.tracking_id, issue, "status block written");
            }
            Err(e) => {
                tracing::warn!(tracking_id = %rec.tracking_id, issue, error = %e, "writing the status block failed; next pass");
                crate::ops::metrics::global().tracker_error(&e);
            }
        }
    }
    Ok(())
}
