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
//! [`ops::failpoint`]s and counts what was lost or doubled. Opening a
//! message, the one step that runs on attacker-chosen bytes, is bounded
//! (session-key tries, time) and counted durably, so a message that
//! crashes, hangs or panics it is filed as an unreadable stub after two
//! tries ([`pipeline::opening`]), and a slow one never holds back the
//! others ([`daemon::work`]).
//!
//! ## A tour of the folders
//!
//! The pipeline's stages, in the order a message meets them:
//!
//! | stage | folder | what it does |
//! |---|---|---|
//! | intake | [`intake`] | `Source`: IMAP (IDLE, poll) or Maildir; raw bytes + position |
//! | state | [`store`], [`record`] | the durable records and their state machine |
//! | open | [`normalize`], [`openpgp`] | decrypt and normalise (pure, repeatable) |
//! | classify | [`classify`] | new, follow-up, duplicate, related, automatic; our lists, the team |
//! | file | [`tracker`], [`compose`], [`render`] | issue and comment texts; GitHub or a directory |
//! | acknowledge | [`mailer`] | the reporter's mail; SMTP or an outbox directory |
//! | follow | [`lifecycle`] | decision, close, dates, links mirrored from the issue; status block; yearly figures |
//! | orchestrate | [`pipeline`], [`daemon`] | one record through the states; the loop around it |
//!
//! GitHub Security Advisories are a second intake: `pipeline::advisories`
//! lists each `[[advisories.source]]` (`tracker::github::advisories`) and
//! files, mirrors and links private vulnerability reports in the tracker;
//! `/ghsa draft` (`pipeline::conversation`) creates advisories.
//!
//! Around them: [`config`] (TOML -> [`config::Settings`], every problem at
//! once), [`ops`] (`check`, `status`, metrics and `/healthz`, logging,
//! failpoints) and [`support`] (side-effect outcomes, secrets, TLS, synced
//! files).
//!
//! Where new things go: a new **source** is a module in `intake/` and a
//! variant of `intake::Source`; a new **tracker** a module in `tracker/`
//! (beside `github/` and `directory.rs`) and a variant of
//! `tracker::Tracker`; a new **mailer** a module in `mailer/` and a variant
//! of `mailer::Mailer`; each is chosen by its `kind` in `config/` and built
//! in `daemon.rs`. A new step of a record's life goes in `pipeline/`, and
//! what it writes to the tracker is composed in `compose/`.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::string_slice, clippy::unwrap_used)
)]

pub mod classify;
pub mod compose;
pub mod config;
pub mod daemon;
pub mod intake;
pub mod lifecycle;
pub mod mailer;
pub mod normalize;
pub mod openpgp;
pub mod ops;
pub mod pipeline;
pub mod record;
pub mod render;
pub mod store;
pub mod support;
pub mod tracker;
