//! The start-up consistency check: every record decodes, its stored state
//! matches what has been done, the raw message is there exactly while it is
//! needed, and every index points at a record (and every record is indexed).
//!
//! sled commits each transaction atomically, so after a crash most of this
//! holds by construction; the check is the proof, and the repair for what a
//! bug or an older version could leave behind. Half-finished work itself
//! (an issue filed but not recorded, an acknowledgement whose outcome is
//! unknown) is not an inconsistency: it is listed as unfinished and resumed
//! by the pipeline, which looks before it acts.

use std::collections::{BTreeMap, HashSet};

use super::SledStore;
use crate::record::{Ack, State};
use crate::store::{Consistency, StoreError};

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// The year and sequence number of a tracking ID `PREFIX-YYYY-NNNN`.
fn year_seq(id: &str) -> Option<(i32, u64)> {
    let mut parts = id.rsplitn(3, '-');
    let seq = parts.next()?.parse().ok()?;
    let year = parts.next()?.parse().ok()?;
    Some((year, seq))
}

pub(super) fn check(s: &SledStore, repair: bool) -> Result<Consistency, StoreError> {
    let mut c = Consistency::default();
    let mut ids = HashSet::new();
    let mut max_seq: BTreeMap<i32, u64> = BTreeMap::new();
    let fix = |c: &mut Consistency, problem: String, ok: Result<(), StoreError>| {
        c.problems.push(problem);
        if repair && ok.is_ok() {
            c.repaired += 1;
        }
    };
    for item in s.records.iter() {
        let (k, v) = item?;
        let id = text(&k);
        c.records += 1;
        let mut rec = match SledStore::decode(&id, &v) {
            Ok(r) => r,
            Err(_) => {
                c.problems.push(format!("{id}: record does not decode"));
                ids.insert(id);
                continue;
            }
        };
        ids.insert(id.clone());
        if let Some((year, seq)) = year_seq(&id) {
            let m = max_seq.entry(year).or_default();
            *m = (*m).max(seq);
        }
        let has_raw = s.raw.contains_key(k.as_ref())?;
        if rec.state == State::Archived {
            if has_raw {
                let r = if repair {
                    s.raw.remove(k.as_ref()).map(|_| ()).map_err(Into::into)
                } else {
                    Ok(())
                };
                fix(&mut c, format!("{id}: archived but raw bytes kept"), r);
            }
            continue;
        }
        c.unfinished += 1;
        if matches!(rec.ack, Ack::Sending { .. }) {
            c.unknown_acks.push(id.clone());
        }
        let resumable = has_raw || (rec.filing_done() && rec.kind.is_some());
        if !resumable {
            c.problems.push(format!(
                "{id}: raw message missing before it was filed; the message stays in the mailbox"
            ));
        }
        if rec.state != rec.derived_state() {
            let from = rec.state;
            rec.state = rec.derived_state();
            let r = if repair {
                s.records
                    .insert(k.as_ref(), SledStore::encode(&rec))
                    .map(|_| ())
                    .map_err(Into::into)
            } else {
                Ok(())
            };
            fix(
                &mut c,
                format!(
                    "{id}: stored state {} but {} is done",
                    from.as_str(),
                    rec.state.as_str()
                ),
                r,
            );
        }
        let source_key = rec.source.key();
        if s.by_source.get(source_key.as_bytes())?.is_none() {
            let r = if repair {
                s.by_source
                    .insert(source_key.as_bytes(), k.as_ref())
                    .map(|_| ())
                    .map_err(Into::into)
            } else {
                Ok(())
            };
            fix(&mut c, format!("{id}: source position not indexed"), r);
        }
    }
    for (name, tree) in [
        ("by_source", &s.by_source),
        ("by_hash", &s.by_hash),
        ("by_message_id", &s.by_message_id),
    ] {
        for item in tree.iter() {
            let (k, v) = item?;
            if !ids.contains(&text(&v)) {
                let r = if repair {
                    tree.remove(&k).map(|_| ()).map_err(Into::into)
                } else {
                    Ok(())
                };
                fix(
                    &mut c,
                    format!("{name} entry points to missing {}", text(&v)),
                    r,
                );
            }
        }
    }
    for item in s.raw.iter() {
        let (k, _) = item?;
        if !ids.contains(&text(&k)) {
            let r = if repair {
                s.raw.remove(&k).map(|_| ()).map_err(Into::into)
            } else {
                Ok(())
            };
            fix(
                &mut c,
                format!("raw bytes without a record: {}", text(&k)),
                r,
            );
        }
    }
    for (year, max) in max_seq {
        let key = format!("seq/{year}");
        let have = s
            .meta
            .get(key.as_bytes())?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        if have < max {
            let r = if repair {
                s.meta
                    .insert(key.as_bytes(), &max.to_be_bytes())
                    .map(|_| ())
                    .map_err(Into::into)
            } else {
                Ok(())
            };
            fix(
                &mut c,
                format!("sequence for {year} at {have}, below issued {max}"),
                r,
            );
        }
    }
    if repair && c.repaired > 0 {
        s.flush()?;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tracking_ids() {
        assert_eq!(year_seq("JUPSEC-2026-0042"), Some((2026, 42)));
        assert_eq!(year_seq("MY-PREFIX-2026-12345"), Some((2026, 12345)));
        assert_eq!(year_seq("garbage"), None);
    }
}
