//! # secintake
//!
//! An encrypted mail-intake daemon for a security team. It watches the
//! security inbox, decrypts OpenPGP reports, recognises duplicates and
//! follow-ups, files each report in a private tracker and acknowledges the
//! reporter.
//!
//! ```text
//! intake (IMAP/Maildir) ─► store.admit ─► normalize::open ─► classify
//!                           (received)       (pure, repeatable)  (classified)
//!        ┌──────────────────────────────────────────────┘
//!        ├─► tracker: issue or comment   (filed)
//!        ├─► mailer: acknowledgement     (acknowledged)
//!        └─► source.archive: IMAP MOVE   (archived, raw bytes dropped)
//! ```
//!
//! Every message becomes a [`record::Record`] keyed by a tracking ID assigned
//! at intake. Each state is written durably ([`store`]) before the next side
//! effect starts, side effects are idempotent (the tracker is searched for
//! the record's marker before filing; our mail carries a deterministic
//! Message-ID), and the raw message stays in the store until the message is
//! archived, so a crash at any point resumes without loss or duplicates.
//! Records hold no plaintext: the text is decrypted again whenever needed.
//! Acknowledgements have a durable send intent, resolved after a crash by a
//! copy of the message sent in the same SMTP transaction (`pipeline::ack`);
//! the chaos test (`tests/chaos.rs`) kills the daemon at random and at
//! [`failpoint`]s and counts what was lost or doubled. Opening a message,
//! the one step that runs on attacker-chosen bytes, is bounded (session-key
//! tries, time) and counted durably, so a message that crashes, hangs or
//! panics it is filed as an unreadable stub after two tries
//! ([`pipeline::opening`]), and a slow one never holds back the others
//! ([`daemon::work`]).
//!
//! Modules: [`config`] (TOML → [`config::Settings`], every problem at once),
//! [`secret`], [`intake`], [`openpgp`], [`normalize`], [`classify`],
//! [`similarity`] (related reports), [`pipeline`] (one record through the
//! states), [`reporter_address`] (which address an acknowledgement goes
//! to), [`ratecap`], [`message_id`] (our keyed Message-IDs), [`daemon`]
//! (the loop),
//! [`tracker`], [`mailer`], [`render`] + [`compose`] (templates, sanitiser),
//! [`status`], [`check`].

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::string_slice, clippy::unwrap_used)
)]

pub mod check;
pub mod classify;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod effect;
pub mod failpoint;
pub mod intake;
pub mod logging;
pub mod mailer;
pub mod message_id;
pub mod metrics;
pub mod normalize;
pub mod openpgp;
pub mod pipeline;
pub mod ratecap;
pub mod record;
pub mod reminders;
pub mod render;
pub mod reporter_address;
pub mod reporter_key;
pub mod secret;
pub mod shutdown;
pub mod similarity;
pub mod status;
pub mod store;
pub mod tracker;
