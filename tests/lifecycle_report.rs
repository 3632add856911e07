//! `secintake report` over a year of history built through the real
//! pipeline (issue 15): 200 reports delivered to Dovecot over 2025 in 25
//! batches, filed in the GitHub fake and acknowledged through Postfix,
//! then answered, accepted, rejected, marked duplicate, linked, credited
//! and closed by a coordinator — each step a `run --once` whose clock is
//! set to the scenario's time (`SECINTAKE_CLOCK`, failpoints builds only).
//! The report's figures are checked against the test's own computation
//! from the scenario it played, not from the store.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::conversation::{tracking_id, COORDINATOR, WAIT};
use common::daemon::Daemon;
use common::*;
use serde_json::Value;

const BATCH: usize = 8;
const BATCH_EVERY_DAYS: i64 = 14;

fn reports() -> usize {
    std::env::var("REPORT_FIXTURE_REPORTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// Distinct, unrelated texts (so none is a resubmission of another).
fn text(i: usize) -> String {
    let syllables = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "pu", "gra", "shi",
    ];
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut words = vec![format!("FIXTURE-{i:04}")];
    for _ in 0..30 {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let n = 2 + (x % 3) as usize;
        words.push(
            (0..n)
                .map(|k| syllables[((x >> (8 * k)) % 12) as usize])
                .collect(),
        );
    }
    words.join(" ")
}

/// What the scenario does to report `i`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Fixed { after_days: i64 },
    AcceptedOpen,
    Rejected,
    Duplicate,
    Triage,
}

fn fate(i: usize) -> Fate {
    match i % 10 {
        0..=2 => Fate::Fixed {
            after_days: 10 + (i % 3) as i64,
        },
        3 => Fate::AcceptedOpen,
        4 | 5 => Fate::Rejected,
        6 => Fate::Duplicate,
        _ => Fate::Triage,
    }
}

fn arrival(i: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 6, 10, 0, 0).unwrap()
        + Duration::days(BATCH_EVERY_DAYS * (i / BATCH) as i64)
}

/// A step of the scenario: at `at`, do this, then run the daemon once.
enum Act {
    Deliver(usize),
    Comment(usize, String),
    Close(usize, &'static str),
}

fn scenario(n: usize) -> BTreeMap<DateTime<Utc>, Vec<Act>> {
    let mut steps: BTreeMap<DateTime<Utc>, Vec<Act>> = BTreeMap::new();
    for i in 0..n {
        let t = arrival(i);
        steps.entry(t).or_default().push(Act::Deliver(i));
        let day1 = steps.entry(t + Duration::days(1)).or_default();
        if i % 3 == 0 {
            day1.push(Act::Comment(
                i,
                format!("/reply\nThanks, looking at FIXTURE-{i:04}."),
            ));
        }
        match fate(i) {
            Fate::Fixed { after_days } => {
                day1.push(Act::Comment(i, "/accept".into()));
                let fixed = t + Duration::days(after_days);
                let announce = (fixed + Duration::days(1)).date_naive();
                let at = steps.entry(fixed).or_default();
                at.push(Act::Comment(i, format!("/announce-date {announce}")));
                if i % 10 == 0 {
                    at.push(Act::Comment(i, format!("/cve CVE-2025-{:05}", 10_000 + i)));
                    at.push(Act::Comment(i, format!("/credit \"Reporter {i}\"")));
                }
                if i % 10 == 1 {
                    at.push(Act::Comment(i, format!("/ghsa {}", ghsa(i))));
                }
                at.push(Act::Close(i, "completed"));
            }
            Fate::AcceptedOpen => day1.push(Act::Comment(i, "/accept".into())),
            Fate::Rejected => {
                let at = steps.entry(t + Duration::days(2)).or_default();
                at.push(Act::Comment(i, "/reject".into()));
                at.push(Act::Close(i, "not_planned"));
            }
            Fate::Duplicate => steps
                .entry(t + Duration::days(2))
                .or_default()
                .push(Act::Comment(i, "/duplicate #1".into())),
            Fate::Triage => {}
        }
    }
    steps
}

/// A distinct advisory ID per report (GitHub's alphabet; the last group
/// spells `i` in it).
fn ghsa(i: usize) -> String {
    let alphabet = b"23456789cfghjmpqrvwx";
    let group = |k: usize| -> String {
        (0..4)
            .map(|d| alphabet[(i * 7 + k * 13 + d * 3) % alphabet.len()] as char)
            .collect()
    };
    let last: String = format!("{i:04}")
        .bytes()
        .map(|d| alphabet[(d - b'0') as usize] as char)
        .collect();
    format!("GHSA-{}-{}-{last}", group(1), group(2))
}

/// Nearest-rank quantile, written again here so the check is independent.
fn quantile(mut v: Vec<i64>, q: f64) -> Option<i64> {
    v.sort();
    if v.is_empty() {
        return None;
    }
    let k = ((q * v.len() as f64).ceil() as usize).max(1);
    Some(v[k - 1])
}

fn run_at(env: &Env, at: DateTime<Utc>, log: &str) {
    let clock = at.to_rfc3339();
    let mut d = Daemon::start_env(
        &env.config,
        env.path(log),
        &["--once"],
        &[("SECINTAKE_CLOCK", &clock)],
    );
    let status = d.wait(WAIT).expect("run --once finishes");
    assert!(status.success(), "{}", d.log_text());
    let _ = std::fs::remove_file(env.path(log));
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature (SECINTAKE_CLOCK): scripts/test.sh, or cargo test --features failpoints"
)]
fn a_year_of_reports_gives_the_figures_the_scenario_implies() {
    let n = reports();
    let Some(env) = Env::start(Options {
        idle: false,
        extra: "per_address_max = 1000\nglobal_max = 1000\n\n[conversation]\nenabled = true\n\n[reminders]\nenabled = false\n".into(),
    }) else {
        return;
    };
    env.github.set_association(REPO, COORDINATOR, "MEMBER");
    let steps = scenario(n);
    let mut issue_of: BTreeMap<usize, u64> = BTreeMap::new();
    let started = std::time::Instant::now();
    for (k, (at, acts)) in steps.iter().enumerate() {
        for act in acts {
            match act {
                Act::Deliver(i) => env.deliver(&mail::plain(
                    REPORTER,
                    &format!("Report {i}"),
                    &format!("<fixture-{i}@example.test>"),
                    &text(*i),
                )),
                Act::Comment(i, body) => {
                    env.github.comment_as(REPO, issue_of[i], COORDINATOR, body);
                }
                Act::Close(i, reason) => {
                    env.github.close_as(REPO, issue_of[i], COORDINATOR, reason)
                }
            }
        }
        run_at(&env, *at, &format!("step{k}.log"));
        for act in acts {
            if let Act::Deliver(i) = act {
                let token = format!("FIXTURE-{i:04}");
                let issue = env
                    .github
                    .issues(REPO)
                    .into_iter()
                    .find(|is| is.body.contains(&token))
                    .unwrap_or_else(|| panic!("report {i} not filed at step {k}"));
                issue_of.insert(*i, issue.number);
            }
        }
    }
    println!(
        "report fixture: {n} reports, {} steps, built in {:.0}s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(issue_of.len(), n);
    let tids: Vec<String> = env
        .github
        .issues(REPO)
        .iter()
        .map(|i| tracking_id(&i.title))
        .collect();
    assert_eq!(tids.len(), n, "one issue per report");

    let cli = |format: &str| {
        let (code, out) = common::daemon::run_cli(&[
            "report",
            "--config",
            env.config.to_str().unwrap(),
            "--since",
            "2025-01-01",
            "--until",
            "2026-01-01",
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{out}");
        out
    };
    let md = cli("md");
    println!("{md}");
    let json: Value = serde_json::from_str(&cli("json")).expect("JSON figures");
    let csv = cli("csv");

    // The scenario's own figures.
    let count = |f: &dyn Fn(usize) -> bool| (0..n).filter(|i| f(*i)).count() as u64;
    let fixed = count(&|i| matches!(fate(i), Fate::Fixed { .. }));
    let accepted_open = count(&|i| fate(i) == Fate::AcceptedOpen);
    let rejected = count(&|i| fate(i) == Fate::Rejected);
    let duplicate = count(&|i| fate(i) == Fate::Duplicate);
    let triage = count(&|i| fate(i) == Fate::Triage);
    let until = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let past_disclosure = count(&|i| {
        matches!(fate(i), Fate::AcceptedOpen | Fate::Triage)
            && until > arrival(i) + Duration::days(90)
    });
    let fix_secs: Vec<i64> = (0..n)
        .filter_map(|i| match fate(i) {
            Fate::Fixed { after_days } => Some(after_days * 86_400),
            _ => None,
        })
        .collect();
    let disclosure_secs: Vec<i64> = (0..n)
        .filter_map(|i| match fate(i) {
            Fate::Fixed { after_days } => {
                let day: NaiveDate = (arrival(i) + Duration::days(after_days + 1)).date_naive();
                Some((day.and_hms_opt(0, 0, 0).unwrap().and_utc() - arrival(i)).num_seconds())
            }
            _ => None,
        })
        .collect();

    let num = |path: &[&str]| {
        let mut v = &json;
        for p in path {
            v = &v[*p];
        }
        v.as_i64()
            .unwrap_or_else(|| panic!("{path:?} missing in {json}"))
    };
    assert_eq!(num(&["received"]) as usize, n);
    assert_eq!(num(&["by_channel", "mail"]) as usize, n);
    assert_eq!(num(&["by_phase", "fixed"]) as u64, fixed);
    assert_eq!(num(&["by_phase", "accepted"]) as u64, accepted_open);
    assert_eq!(num(&["by_phase", "not accepted"]) as u64, rejected);
    assert_eq!(num(&["by_phase", "duplicate"]) as u64, duplicate);
    assert_eq!(num(&["by_phase", "triage"]) as u64, triage);
    assert_eq!(num(&["accepted"]) as u64, fixed + accepted_open);
    assert_eq!(num(&["to_acknowledge", "count"]) as usize, n);
    assert!(
        num(&["to_acknowledge", "p90_secs"]) < 600,
        "acknowledged in the same run"
    );
    assert_eq!(
        num(&["to_first_human_reply", "count"]) as u64,
        count(&|i| i % 3 == 0)
    );
    // Each run's clock starts at the step's time and runs at real speed, so
    // recorded times are a little after the scenario's: allow minutes.
    let close = |got: i64, want: i64| (got - want).abs() < 600;
    assert!(close(num(&["to_first_human_reply", "median_secs"]), 86_400));
    assert_eq!(num(&["to_fix", "count"]) as u64, fixed);
    assert!(close(
        num(&["to_fix", "median_secs"]),
        quantile(fix_secs.clone(), 0.5).unwrap()
    ));
    assert!(close(
        num(&["to_fix", "p90_secs"]),
        quantile(fix_secs, 0.9).unwrap()
    ));
    assert_eq!(num(&["to_disclosure", "count"]) as u64, fixed);
    assert!(close(
        num(&["to_disclosure", "median_secs"]),
        quantile(disclosure_secs.clone(), 0.5).unwrap()
    ));
    assert!(close(
        num(&["to_disclosure", "p90_secs"]),
        quantile(disclosure_secs, 0.9).unwrap()
    ));
    assert_eq!(num(&["past_response_promise"]), 0);
    assert_eq!(num(&["past_disclosure_promise"]) as u64, past_disclosure);
    assert_eq!(num(&["cves_linked"]) as u64, count(&|i| i % 10 == 0));
    assert_eq!(num(&["ghsas_linked"]) as u64, count(&|i| i % 10 == 1));
    assert_eq!(num(&["reporters_credited"]) as u64, count(&|i| i % 10 == 0));

    // The three formats agree.
    assert!(md.contains(&format!("Reports received: **{n}**")), "{md}");
    assert!(md.contains(&format!("| fixed | {fixed} |")), "{md}");
    assert!(csv.contains(&format!("\nreceived,{n}\n")), "{csv}");
    assert!(
        csv.contains(&format!("\npast_disclosure_promise,{past_disclosure}\n")),
        "{csv}"
    );

    // A period holding only the first half of the year.
    let (code, out) = common::daemon::run_cli(&[
        "report",
        "--config",
        env.config.to_str().unwrap(),
        "--since",
        "2025-01-01",
        "--until",
        "2025-07-01",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let half: Value = serde_json::from_str(&out).unwrap();
    let mid = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
    assert_eq!(
        half["received"].as_u64().unwrap(),
        count(&|i| arrival(i) < mid)
    );
}
