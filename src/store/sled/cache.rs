//! The records, decoded once and kept in memory in arrival order. The store
//! writes through it (after the write to sled), so reads that look at every
//! record — classification, the acknowledgement rate caps, every pass —
//! cost a walk over memory instead of decoding the whole tree each time.
//! Records hold no message bytes and no report text, so this is small: about
//! 2 KB per record, most of it the similarity fingerprint.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};

use crate::record::Record;

/// Arrival order: as `Store::all` sorts, by received time, then tracking ID.
type Position = (DateTime<Utc>, String);

#[derive(Default)]
pub(super) struct RecordCache {
    ordered: BTreeMap<Position, Record>,
    received: HashMap<String, DateTime<Utc>>,
}

impl RecordCache {
    pub(super) fn upsert(&mut self, record: Record) {
        let id = record.tracking_id.clone();
        if let Some(before) = self.received.insert(id.clone(), record.received_at) {
            self.ordered.remove(&(before, id.clone()));
        }
        self.ordered.insert((record.received_at, id), record);
    }

    pub(super) fn get(&self, tracking_id: &str) -> Option<&Record> {
        let at = self.received.get(tracking_id)?;
        self.ordered.get(&(*at, tracking_id.to_string()))
    }

    pub(super) fn visit(&self, visit: &mut dyn FnMut(&Record) -> ControlFlow<()>) {
        for record in self.ordered.values() {
            if visit(record).is_break() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Ack, Attempts, Facts, SourceRef, State};
    use chrono::TimeZone;

    fn rec(id: &str, minute: u32) -> Record {
        Record {
            tracking_id: id.into(),
            state: State::Received,
            received_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
            source: SourceRef::Maildir {
                file_name: id.into(),
            },
            facts: Facts::default(),
            kind: None,
            filing: None,
            file_attempts: Attempts::default(),
            ack: Ack::Pending,
            ack_attempts: Attempts::default(),
            archive_attempts: Attempts::default(),
            respond_by: Utc::now(),
            disclose_by: Utc::now(),
            related_note: None,
            watch: Default::default(),
            opening: Default::default(),
            lifecycle: Default::default(),
        }
    }

    #[test]
    fn keeps_arrival_order_and_replaces_in_place() {
        let mut c = RecordCache::default();
        c.upsert(rec("T-2026-0002", 5));
        c.upsert(rec("T-2026-0001", 9));
        c.upsert(rec("T-2026-0003", 1));
        let mut changed = rec("T-2026-0002", 5);
        changed.state = State::Archived;
        c.upsert(changed);
        let mut seen = Vec::new();
        c.visit(&mut |r| {
            seen.push((r.tracking_id.clone(), r.state));
            ControlFlow::Continue(())
        });
        assert_eq!(
            seen,
            vec![
                ("T-2026-0003".to_string(), State::Received),
                ("T-2026-0002".to_string(), State::Archived),
                ("T-2026-0001".to_string(), State::Received),
            ]
        );
        assert_eq!(
            c.get("T-2026-0001")
                .map(|r| r.received_at.format("%M").to_string()),
            Some("09".into())
        );
        assert!(c.get("T-2026-0009").is_none());
        let mut n = 0;
        c.visit(&mut |_| {
            n += 1;
            ControlFlow::Break(())
        });
        assert_eq!(n, 1, "visiting stops when asked");
    }
}
