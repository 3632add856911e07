//! The store's identity rules and its start-up check, on a real sled database.

use chrono::Utc;

use super::*;
use crate::record::{Ack, Filing, Kind, State};

fn imap(uidvalidity: u32, uid: u32) -> SourceRef {
    SourceRef::Imap {
        mailbox: "INBOX".into(),
        uidvalidity,
        uid,
    }
}

fn admit(store: &SledStore, source: SourceRef, raw: &[u8]) -> Admission {
    let now = Utc::now();
    store
        .admit(
            "T",
            Intake {
                source,
                raw,
                facts: Facts {
                    message_id: Some("m@x".into()),
                    raw_sha256: crate::normalize::sha256_hex(raw),
                    raw_size: raw.len() as u64,
                    ..Facts::default()
                },
                received_at: now,
                respond_by: now,
                disclose_by: now,
            },
        )
        .unwrap()
}

#[test]
fn copies_get_records_and_renumbered_messages_follow() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let Admission::New(first) = admit(&store, imap(1, 10), b"bytes") else {
        panic!("first admission")
    };
    assert_eq!(
        admit(&store, imap(1, 10), b"bytes"),
        Admission::Known(first.tracking_id.clone())
    );
    // An IMAP COPY: same numbering, new UID -> its own record.
    let Admission::New(copy) = admit(&store, imap(1, 11), b"bytes") else {
        panic!("copy must get its own record")
    };
    assert_ne!(copy.tracking_id, first.tracking_id);
    assert_eq!(
        store.by_raw_hash(&first.facts.raw_sha256).unwrap(),
        Some(first.tracking_id.clone())
    );
    assert_eq!(
        store.by_message_id("m@x").unwrap(),
        Some(first.tracking_id.clone())
    );
    // UIDVALIDITY changed: the unfinished record follows its message.
    assert_eq!(
        admit(&store, imap(2, 1), b"bytes"),
        Admission::Moved(first.tracking_id.clone())
    );
    assert_eq!(
        store.get(&first.tracking_id).unwrap().unwrap().source,
        imap(2, 1)
    );
    // Once archived, the same bytes again are a new record (a duplicate later).
    store
        .archive(&store.get(&first.tracking_id).unwrap().unwrap())
        .unwrap();
    assert!(matches!(
        admit(&store, imap(2, 2), b"bytes"),
        Admission::New(_)
    ));
    assert!(store.check(false).unwrap().problems.is_empty());
}

#[test]
fn check_reports_and_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let Admission::New(rec) = admit(&store, imap(1, 1), b"one") else {
        panic!()
    };
    let clean = store.check(false).unwrap();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!((clean.records, clean.unfinished), (1, 1));

    // A stale stored state, a dangling index entry, orphaned raw bytes, a
    // sequence counter behind the IDs issued, and an unknown ack outcome.
    let mut r = (*rec).clone();
    r.kind = Some(Kind::New);
    r.filing = Some(Filing {
        issue: 1,
        comment_id: None,
        url: String::new(),
    });
    r.ack = Ack::Sending {
        message_id: "<T.ack@x>".into(),
        since: Utc::now(),
    };
    r.state = State::Received;
    store.put(&r).unwrap();
    store.by_message_id.insert("gone@x", "T-2026-9999").unwrap();
    store.raw.insert("T-2026-8888", "orphan").unwrap();
    let year = rec.tracking_id.split('-').nth(1).unwrap().to_string();
    store
        .meta
        .insert(format!("seq/{year}").as_bytes(), &0u64.to_be_bytes())
        .unwrap();

    let found = store.check(false).unwrap();
    assert_eq!(found.problems.len(), 4, "{:?}", found.problems);
    assert_eq!(found.repaired, 0);
    assert_eq!(found.unknown_acks, vec![rec.tracking_id.clone()]);
    let fixed = store.check(true).unwrap();
    assert_eq!(fixed.repaired, 4);
    assert!(store.check(false).unwrap().problems.is_empty());
    assert_eq!(
        store.get(&rec.tracking_id).unwrap().unwrap().state,
        State::Filed
    );
    // The counter was raised: the next ID is not reused.
    let Admission::New(next) = admit(&store, imap(1, 2), b"two") else {
        panic!()
    };
    assert_ne!(next.tracking_id, rec.tracking_id);
}

#[test]
fn synced_writes_find_sleds_log_and_the_cache_follows_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert!(
        store.log_file.is_some(),
        "sled's log file moved: put_synced would only flush to the OS"
    );
    let Admission::New(rec) = admit(&store, imap(1, 1), b"one") else {
        panic!("not new")
    };
    let mut rec = *rec;
    rec.file_attempts.started = true;
    store.put_synced(&rec).unwrap();
    rec.state = State::Classified;
    store.put(&rec).unwrap();
    store.archive(&rec).unwrap();
    let cached = store.get(&rec.tracking_id).unwrap().unwrap();
    assert_eq!(cached.state, State::Archived, "read through the cache");
    assert!(store.raw(&rec.tracking_id).unwrap().is_none());
    drop(store);
    // A fresh process sees what the cache of the old one saw.
    let store = reopen(dir.path());
    let back = store.get(&rec.tracking_id).unwrap().unwrap();
    assert_eq!(back.state, State::Archived);
    assert!(back.file_attempts.started);
    let mut seen = 0;
    store
        .scan(&mut |r| {
            seen += 1;
            assert_eq!(r.tracking_id, rec.tracking_id);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, 1);
}

/// Opens the store again in this process. sled's flusher thread holds the
/// database (and its file lock) for a moment after the last handle is
/// dropped, so the lock is waited for, at most 10 s.
fn reopen(dir: &std::path::Path) -> SledStore {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match SledStore::open(dir) {
            Ok(store) => return store,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("reopening the store: {e}"),
        }
    }
}
