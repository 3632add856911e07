//! GitHub Security Advisories in, against the GitHub fake and a real
//! Dovecot/Postfix: two organisation sources and one repository source,
//! five advisories in various states plus one outside every source.
//! Exactly the three private vulnerability reports in triage are filed,
//! once each, across a crash right after GitHub created an issue
//! (failpoint), a restart and a SIGKILL; the GHSA and the mail report of
//! the same bug are linked both ways; a state change (accepted, then
//! published with a CVE) is mirrored once per change; and `check` names
//! the source whose token cannot read its advisories.

mod common;

use std::time::Duration;

use common::advisories::*;
use common::daemon::{run_cli, Daemon};
use common::*;

const WAIT: Duration = Duration::from_secs(90);

fn listings(env: &Env) -> usize {
    env.github
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path_only().ends_with("/security-advisories"))
        .count()
}

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn triage_advisories_are_filed_once_linked_and_mirrored() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let extra = format!(
        "{}\n[reminders]\nenabled = true\nteam = \"@jupyter/security\"\nafter = \"1s\"\n",
        sources(&env.github)
    );
    env.write_config(&Options {
        extra,
        ..Options::default()
    });
    write_tokens(&env);
    let ([lab, hub, nb], other) = seed(&env.github);

    // The same bug by mail, before the daemon first runs.
    env.deliver(&mail::plain(
        REPORTER,
        "JupyterHub token leak",
        "<hub-leak@example.test>",
        &format!("Hello security team,\n\n{HUB_TEXT}\n\nBest,\nAlice"),
    ));

    // 1. The first daemon dies right after GitHub created the first
    //    advisory's issue, before that was recorded.
    let mut crashing = Daemon::start_env(
        &env.config,
        env.path("daemon-crash.log"),
        &[],
        &[("SECINTAKE_FAILPOINT", "effect.advisory.filed:1")],
    );
    let crashed = crashing.wait(WAIT);
    assert!(
        crashed.is_some_and(|s| !s.success()),
        "the failpoint did not stop the daemon: {crashed:?}\n{}",
        crashing.log_text()
    );
    assert_eq!(
        advisory_issues(&env.github).len(),
        1,
        "filed before the crash"
    );

    // A coordinator answers on the issue filed before the crash: that
    // advisory gets no reminder; the two others do, once.
    let lab_number = issue_of(&env.github, &lab).expect("lab filed first").number;
    env.github
        .set_association(REPO, "coord-alex", "COLLABORATOR");
    env.github
        .comment_as(REPO, lab_number, "coord-alex", "Looking at it.");

    // 2. A restart recovers that one by its marker and files the rest.
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let linked = wait_until(WAIT, || {
        let hub_issue = issue_of(&env.github, &hub)?;
        let mail_issue = env
            .github
            .issues(REPO)
            .into_iter()
            .find(|i| !i.title.starts_with("[GHSA-"))?;
        let filed = advisory_issues(&env.github).len() == 3;
        let both = hub_issue
            .comments
            .iter()
            .any(|c| c.contains("/related:JUPSEC-"))
            && mail_issue
                .comments
                .iter()
                .any(|c| c.contains(&format!("/related:{hub}")));
        (filed && both).then_some((hub_issue, mail_issue))
    });
    let (hub_issue, mail_issue) = linked.unwrap_or_else(|| {
        panic!(
            "advisories not filed and linked: {:#?}\n{}",
            env.github.issues(REPO),
            daemon.log_text()
        )
    });
    assert!(
        wait_until(WAIT, || (!env.acks().is_empty()).then_some(())).is_some(),
        "the mail report was not acknowledged"
    );

    // What an advisory's issue says.
    assert!(
        hub_issue.title.starts_with(&format!("[{hub}] Token leak")),
        "{}",
        hub_issue.title
    );
    for needle in [
        "jupyterhub/jupyterhub",
        "` critical `",
        "pip jupyterhub < 5.1.0",
        "hub-finder",
        "` reporter `",
        "Respond by",
        "```text\nThe JupyterHub proxy forwards",
        &format!("https://github.com/{HUB_REPO}/security/advisories/{hub}"),
    ] {
        assert!(
            hub_issue.body.contains(needle),
            "{needle}:\n{}",
            hub_issue.body
        );
    }
    for l in ["security-report", "ghsa", "jupyterhub"] {
        assert!(
            hub_issue.labels.contains(&l.to_string()),
            "{l}: {:?}",
            hub_issue.labels
        );
    }
    assert!(
        mail_issue
            .comments
            .iter()
            .any(|c| c.contains(&format!("#{}", hub_issue.number))),
        "the mail report's issue points at the advisory's: {:?}",
        mail_issue.comments
    );

    // 3. The lab advisory is accepted, then published with a CVE.
    env.github.update_advisory(&lab, "draft", None);
    let accepted = wait_until(WAIT, || {
        let i = issue_of(&env.github, &lab)?;
        i.labels.contains(&"ghsa-draft".to_string()).then_some(i)
    });
    let accepted =
        accepted.unwrap_or_else(|| panic!("acceptance not mirrored\n{}", daemon.log_text()));
    assert!(
        accepted
            .comments
            .iter()
            .any(|c| c.contains("accepted (draft)")),
        "{:?}",
        accepted.comments
    );
    env.github
        .update_advisory(&lab, "published", Some("CVE-2026-40001"));
    let published = wait_until(WAIT, || {
        let i = issue_of(&env.github, &lab)?;
        i.labels
            .contains(&"ghsa-published".to_string())
            .then_some(i)
    })
    .unwrap_or_else(|| panic!("publication not mirrored\n{}", daemon.log_text()));
    assert!(
        published
            .comments
            .iter()
            .any(|c| c.contains("CVE assigned: ` CVE-2026-40001 `")),
        "{:?}",
        published.comments
    );

    // 4. SIGKILL, restart, a few more passes: nothing new.
    daemon.kill9();
    let before = listings(&env);
    let mut daemon = Daemon::start(&env.config, env.path("daemon-2.log"), &[]);
    assert!(
        wait_until(WAIT, || (listings(&env) >= before + 9).then_some(())).is_some(),
        "the restarted daemon did not list the sources again:\n{}",
        daemon.log_text()
    );
    daemon.terminate(Duration::from_secs(20));

    let issues = advisory_issues(&env.github);
    let mut filed: Vec<String> = issues
        .iter()
        .map(|i| {
            i.title
                .split(']')
                .next()
                .unwrap()
                .trim_start_matches('[')
                .to_string()
        })
        .collect();
    filed.sort();
    let mut want = vec![lab.clone(), hub.clone(), nb.clone()];
    want.sort();
    assert_eq!(
        filed, want,
        "exactly the three in triage, once each (not {other})"
    );
    let lab_issue = issue_of(&env.github, &lab).unwrap();
    let changes: Vec<&String> = lab_issue
        .comments
        .iter()
        .filter(|c| c.contains("/state:"))
        .collect();
    assert_eq!(changes.len(), 2, "one comment per change: {changes:?}");
    let hub_issue = issue_of(&env.github, &hub).unwrap();
    let links = hub_issue
        .comments
        .iter()
        .filter(|c| c.contains("/related:"))
        .count();
    assert_eq!(links, 1, "{:?}", hub_issue.comments);
    let mail_issue = env
        .github
        .issues(REPO)
        .into_iter()
        .find(|i| !i.title.starts_with("[GHSA-"))
        .unwrap();
    let links = mail_issue
        .comments
        .iter()
        .filter(|c| c.contains("/related:GHSA-"))
        .count();
    assert_eq!(links, 1, "{:?}", mail_issue.comments);
    assert_eq!(
        env.github.issues(REPO).len(),
        4,
        "three advisories and one mail report"
    );
    // The response window: one reminder where no coordinator answered.
    for (ghsa, want) in [(&lab, 0), (&hub, 1), (&nb, 1)] {
        let i = issue_of(&env.github, ghsa).unwrap();
        let reminders: Vec<&String> = i
            .comments
            .iter()
            .filter(|c| c.starts_with(&format!("<!-- secintake:{ghsa} reminder:response -->")))
            .collect();
        assert_eq!(reminders.len(), want, "{ghsa}: {:?}", i.comments);
        if want == 1 {
            assert!(
                reminders[0].contains("@jupyter/security **No response yet**"),
                "{}",
                reminders[0]
            );
        }
    }
    // Each source was read with its own token.
    for r in env.github.requests() {
        let p = r.path_only();
        let token = if p.starts_with("/orgs/jupyterlab/") {
            LAB_TOKEN
        } else if p.starts_with("/orgs/jupyterhub/") {
            HUB_TOKEN
        } else if p.starts_with("/repos/jupyter/notebook/") {
            NOTEBOOK_TOKEN
        } else {
            continue;
        };
        assert!(
            r.header("authorization")
                .is_some_and(|a| a.ends_with(token)),
            "{p}"
        );
    }
    let log = daemon.log_text() + &std::fs::read_to_string(env.path("daemon.log")).unwrap();
    for secret in [
        "The JupyterHub proxy forwards",
        "Stored XSS",
        LAB_TOKEN,
        HUB_TOKEN,
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }

    // `status` (no daemon: from the store) lists the three advisories.
    let (code, out) = run_cli(&["status", "--config", env.config.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    for ghsa in [&lab, &hub, &nb] {
        let line = out
            .lines()
            .find(|l| l.starts_with(ghsa.as_str()))
            .unwrap_or_else(|| panic!("{ghsa} not in status:\n{out}"));
        let issue = issue_of(&env.github, ghsa).unwrap().number;
        assert!(line.contains(&format!("#{issue}")), "{line}");
    }
    assert!(out.contains("published, CVE-2026-40001"), "{out}");
    assert!(out.contains("3 advisory(ies) taken in"), "{out}");

    // `report` counts the advisories as a channel of their own: the lab
    // one published (fixed, with its CVE), the other two in triage.
    let (code, out) = run_cli(&[
        "report",
        "--config",
        env.config.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let figures: serde_json::Value = serde_json::from_str(&out).expect("JSON figures");
    assert_eq!(figures["by_channel"]["ghsa"], 3, "{out}");
    assert_eq!(figures["by_channel"]["mail"], 1, "{out}");
    assert_eq!(figures["received"], 4, "{out}");
    assert_eq!(figures["by_phase"]["fixed"], 1, "{out}");
    assert_eq!(figures["by_phase"]["triage"], 3, "{out}");
    assert_eq!(figures["ghsas_linked"], 3, "{out}");
    assert_eq!(figures["cves_linked"], 1, "{out}");

    // 5. A token that cannot read its source: check names that source.
    env.github.deny_advisories(HUB_TOKEN, "jupyterhub");
    let (code, out) = run_cli(&["check", "--config", env.config.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("advisories source org jupyterhub"), "{out}");
    assert!(out.contains("cannot read its security advisories"), "{out}");
    assert!(
        out.contains("advisories source org jupyterlab readable"),
        "{out}"
    );
    assert!(
        out.contains("advisories source repo jupyter/notebook readable"),
        "{out}"
    );
    assert!(!out.contains(HUB_TOKEN), "{out}");
}

/// Rate-limit aware: the jupyterhub source's token has spent its budget
/// (GitHub keeps one per user or installation). That source is asked once,
/// told to wait until the reset, and not asked again before it, while the
/// other sources are read and filed; after the reset its report is filed.
#[test]
fn an_advisory_source_waits_for_its_rate_limit_reset() {
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let extra = sources(&env.github);
    env.write_config(&Options {
        extra,
        ..Options::default()
    });
    write_tokens(&env);
    let ([lab, hub, nb], _) = seed(&env.github);
    let reset = chrono::Utc::now() + chrono::Duration::seconds(10);
    env.github.set_token_rate_limit(HUB_TOKEN, 0, reset);
    let hub_requests = || {
        env.github
            .requests()
            .iter()
            .filter(|r| r.path_only() == "/orgs/jupyterhub/security-advisories")
            .count()
    };
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let others = wait_until(WAIT, || {
        (issue_of(&env.github, &lab).is_some() && issue_of(&env.github, &nb).is_some())
            .then_some(())
    });
    assert!(others.is_some(), "{}", daemon.log_text());
    // Several one-second passes go by before the reset.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        chrono::Utc::now() < reset,
        "the machine was too slow for this test"
    );
    assert_eq!(
        hub_requests(),
        1,
        "asked once, then waited\n{}",
        daemon.log_text()
    );
    assert!(issue_of(&env.github, &hub).is_none());
    let filed = wait_until(WAIT, || issue_of(&env.github, &hub));
    assert!(
        filed.is_some(),
        "not filed after the reset\n{}",
        daemon.log_text()
    );
    daemon.terminate(Duration::from_secs(20));
    assert!(chrono::Utc::now() >= reset);
    assert!(hub_requests() >= 2);
}
