//! The daemon as systemd runs it, on real servers: SIGTERM in the middle of
//! a backlog exits 0 within the stop bound and the next start finishes the
//! backlog with no report lost or handled twice; a step hung in GitHub is
//! abandoned at the bound; the notification protocol (READY after the first
//! pass, WATCHDOG, RELOADING, STOPPING); SIGHUP reloads templates and keeps
//! working through a broken edit.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::daemon::Daemon;
use common::service::{snapshot, NotifySocket};
use common::*;
use secintake_testkit::github_fake::Fault;

const WAIT: Duration = Duration::from_secs(90);
/// The unit's TimeoutStopSec: systemd SIGKILLs after this.
const STOP_BOUND: Duration = Duration::from_secs(30);

fn tracking_id(title: &str) -> String {
    title
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn backlog(env: &Env, n: usize) {
    let topics = [
        "kernel gateway websocket origin check",
        "notebook server xsrf cookie scope",
        "terminal endpoint command injection",
        "contents api path traversal",
        "nbconvert template sandbox escape",
        "jupyterhub oauth state fixation",
        "widget comm message deserialisation",
        "lab extension manager url spoofing",
    ];
    for (i, topic) in topics.iter().take(n).enumerate() {
        env.deliver(&mail::plain(
            REPORTER,
            &format!("Report {i}: {topic}"),
            &format!("<backlog-{i}@example.test>"),
            &format!("Details of {topic}, case number {i}."),
        ));
    }
}

fn phase(env: &Env) -> Option<String> {
    snapshot(&env.state_dir())?
        .get("daemon")?
        .get("phase")?
        .as_str()
        .map(str::to_string)
}

/// Every issue once, every acknowledgement once, nothing left in the inbox.
fn assert_each_once(env: &Env, n: usize, log: &str) {
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", n, WAIT);
    let issues = env.github.issues(REPO);
    let ids: BTreeSet<String> = issues.iter().map(|i| tracking_id(&i.title)).collect();
    assert_eq!(issues.len(), n, "issues filed twice or lost:\n{log}");
    assert_eq!(ids.len(), n, "two issues for one report:\n{log}");
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", n, WAIT);
    std::thread::sleep(Duration::from_secs(2)); // let a stray second ack arrive
    let acks = env.acks().len().max(acks.len());
    assert_eq!(acks, n, "acknowledgements sent twice or lost:\n{log}");
    assert_eq!(env.mailbox(SECURITY, SECURITY_PW, "INBOX").len(), 0);
}

#[test]
fn sigterm_mid_backlog_exits_zero_and_the_next_start_resumes() {
    // Six reports from one reporter: above the default per-address cap of 5.
    let Some(env) = Env::start(Options {
        extra: "per_address_max = 100\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    const N: usize = 6;
    backlog(&env, N);
    // Slow GitHub down so the backlog takes a while.
    env.github.fail_until(
        Instant::now() + WAIT,
        Fault::Delay(Duration::from_millis(700)),
    );
    let mut first = Daemon::start(&env.config, env.path("run1.log"), &[]);
    env.wait_issues(1, WAIT);
    let status = first
        .terminate(STOP_BOUND)
        .unwrap_or_else(|| panic!("no exit within {STOP_BOUND:?}:\n{}", first.log_text()));
    assert!(status.success(), "{status:?}\n{}", first.log_text());
    let log1 = first.log_text();
    assert!(log1.contains("shutdown requested"), "{log1}");
    let done_at_stop = env.mailbox(SECURITY, SECURITY_PW, "Processed").len();
    assert!(
        done_at_stop < N,
        "the backlog was finished before SIGTERM; nothing was interrupted"
    );
    assert_eq!(phase(&env).as_deref(), Some("stopped"));

    env.github.clear_faults();
    let mut second = Daemon::start(&env.config, env.path("run2.log"), &[]);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", N, WAIT);
    assert!(second.terminate(STOP_BOUND).is_some_and(|s| s.success()));
    assert_each_once(
        &env,
        N,
        &format!("{log1}\n--- second run ---\n{}", second.log_text()),
    );
}

#[test]
fn a_step_hung_in_github_is_abandoned_at_the_bound_and_redone_once() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    backlog(&env, 1);
    // Every GitHub request hangs far longer than systemd would wait.
    env.github.fail_until(
        Instant::now() + Duration::from_secs(600),
        Fault::Delay(Duration::from_secs(300)),
    );
    let mut first = Daemon::start(&env.config, env.path("run1.log"), &[]);
    wait_until(WAIT, || first.log_text().contains("received").then_some(()))
        .unwrap_or_else(|| panic!("nothing received:\n{}", first.log_text()));
    std::thread::sleep(Duration::from_secs(2)); // into the hung GitHub call
    let status = first
        .terminate(STOP_BOUND)
        .unwrap_or_else(|| panic!("no exit within {STOP_BOUND:?}:\n{}", first.log_text()));
    assert!(status.success(), "{status:?}");
    let log1 = first.log_text();
    assert!(
        log1.contains("step abandoned at the shutdown deadline"),
        "{log1}"
    );

    env.github.clear_faults();
    let mut second = Daemon::start(&env.config, env.path("run2.log"), &[]);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 1, WAIT);
    assert!(second.terminate(STOP_BOUND).is_some_and(|s| s.success()));
    assert_each_once(
        &env,
        1,
        &format!("{log1}\n--- second run ---\n{}", second.log_text()),
    );
}

#[test]
fn notify_protocol_ready_after_first_pass_watchdog_reload_stopping() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let notify = NotifySocket::bind(env.dir.path());
    let socket = notify.path.to_string_lossy().into_owned();
    let mut daemon = Daemon::start_env(
        &env.config,
        env.path("daemon.log"),
        &[],
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "400000")],
    );
    wait_until(WAIT, || (notify.count("READY=1") > 0).then_some(()))
        .unwrap_or_else(|| panic!("no READY=1: {:?}\n{}", notify.all(), daemon.log_text()));
    // READY comes after the first pass, which publishes the snapshot first.
    assert!(env.state_dir().join("status.json").exists());
    let ready = notify
        .all()
        .into_iter()
        .find(|m| m.lines().any(|l| l == "READY=1"))
        .unwrap();
    assert!(
        ready.contains("STATUS=0 open report(s)"),
        "READY carries no status: {ready:?}"
    );
    wait_until(WAIT, || (notify.count("WATCHDOG=1") >= 3).then_some(()))
        .unwrap_or_else(|| panic!("no watchdog pings: {:?}", notify.all()));

    daemon.signal("HUP");
    wait_until(WAIT, || {
        (notify.count("RELOADING=1") == 1 && notify.count("READY=1") == 2).then_some(())
    })
    .unwrap_or_else(|| panic!("no reload cycle: {:?}\n{}", notify.all(), daemon.log_text()));
    let reloading = notify
        .all()
        .into_iter()
        .find(|m| m.contains("RELOADING=1"))
        .unwrap();
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");

    let status = daemon.terminate(STOP_BOUND).expect("exits");
    assert!(status.success());
    assert_eq!(notify.count("STOPPING=1"), 1, "{:?}", notify.all());
}

#[test]
fn sighup_reloads_templates_and_survives_a_broken_configuration() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let templates = env.path("templates");
    std::fs::create_dir_all(&templates).unwrap();
    for entry in std::fs::read_dir(repo_root().join("config/templates")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), templates.join(entry.file_name())).unwrap();
    }
    let original = std::fs::read_to_string(&env.config).unwrap();
    let config = original.replace(
        &format!(
            "templates = \"{}\"",
            repo_root().join("config/templates").display()
        ),
        &format!("templates = \"{}\"", templates.display()),
    );
    assert_ne!(config, original, "templates line not found");
    std::fs::write(&env.config, &config).unwrap();

    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    env.deliver(&mail::plain(
        REPORTER,
        "first",
        "<hup-1@example.test>",
        "One report about cookies.",
    ));
    env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 1, WAIT);

    let ack = templates.join("ack.txt.j2");
    let template = std::fs::read_to_string(&ack).unwrap();
    std::fs::write(&ack, format!("RELOADED-TEMPLATE-MARKER\n{template}")).unwrap();
    daemon.signal("HUP");
    wait_until(WAIT, || {
        daemon
            .log_text()
            .contains("configuration reloaded")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no reload:\n{}", daemon.log_text()));
    env.deliver(&mail::plain(
        REPORTER,
        "second",
        "<hup-2@example.test>",
        "Another about websockets.",
    ));
    let acks = env.wait_mailbox(REPORTER, REPORTER_PW, "INBOX", 2, WAIT);
    let with_marker = acks
        .iter()
        .filter(|a| text(a).contains("RELOADED-TEMPLATE-MARKER"))
        .count();
    assert_eq!(
        with_marker, 1,
        "exactly the second ack uses the new template"
    );

    // A broken edit: the daemon says why and keeps the running configuration.
    std::fs::write(&env.config, format!("{config}\n[nonsense]\nkey = 1\n")).unwrap();
    daemon.signal("HUP");
    wait_until(WAIT, || {
        daemon.log_text().contains("reload failed").then_some(())
    })
    .unwrap_or_else(|| panic!("no reload failure:\n{}", daemon.log_text()));
    assert!(daemon.is_running());
    env.deliver(&mail::plain(
        REPORTER,
        "third",
        "<hup-3@example.test>",
        "A third on kernels.",
    ));
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 3, WAIT);
    assert_eq!(env.github.issues(REPO).len(), 3);
    assert!(daemon.terminate(STOP_BOUND).is_some_and(|s| s.success()));
}

#[test]
fn status_works_while_the_daemon_runs_and_after_it_stopped() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    backlog(&env, 2);
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    env.wait_mailbox(SECURITY, SECURITY_PW, "Processed", 2, WAIT);
    let config = env.config.to_str().unwrap();
    // The daemon holds the store; status answers from its snapshot.
    let json = wait_until(WAIT, || {
        let (code, out) = common::daemon::run_cli(&["--config", config, "status", "--json"]);
        assert_eq!(code, 0, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        let archived = v["records"]
            .as_array()
            .is_some_and(|r| r.len() == 2 && r.iter().all(|r| r["state"] == "archived"));
        archived.then_some(v)
    })
    .expect("status shows both reports archived");
    assert_eq!(json["daemon"]["phase"], "running");
    assert_eq!(json["daemon"]["pid"], daemon.pid());
    let (code, out) = common::daemon::run_cli(&["--config", config, "status"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("daemon: running, pid {}", daemon.pid())),
        "{out}"
    );
    assert!(out.contains("2 record(s)"), "{out}");

    assert!(daemon.terminate(STOP_BOUND).is_some_and(|s| s.success()));
    // Stopped: status reads the store itself and says the daemon stopped.
    let (code, out) = common::daemon::run_cli(&["--config", config, "status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("daemon: stopped"), "{out}");
    assert!(out.contains("2 record(s)"), "{out}");
}
