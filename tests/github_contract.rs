//! Contract test: the daemon's whole GitHub conversation — the repository's
//! visibility check, search, listing, labels (list, create, add), contents
//! upload, issue, comments, continuation parts, the repository-wide comment
//! listing and the answer to a coordinator's command, the lifecycle's issue
//! listing and status block — goes through Stoplight
//! Prism, which validates every request and every response against
//! GitHub's official OpenAPI description (@octokit/openapi, nullable
//! schemas made checkable first), with `--errors`: a violation turns into
//! an error answer and a log line. The test demands zero violations and
//! that each kind of call was made.
//!
//! Prism is installed by scripts/install-deps.sh; under CI=true a missing
//! Prism fails the test.

mod common;

use std::time::Duration;

use common::daemon::Daemon;
use common::*;
use secintake_testkit::prism::{have_prism, Prism};
use secintake_testkit::require::require;

const WAIT: Duration = Duration::from_secs(90);

fn encrypted_with_attachment(text: &str, attachment: &str) -> Vec<u8> {
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"in\"; protected-headers=\"v1\"\r\nSubject: Token leak in the hub proxy\r\n\r\n--in\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--in\r\nContent-Type: text/x-python; name=\"poc.py\"\r\nContent-Disposition: attachment; filename=\"poc.py\"\r\n\r\n{attachment}\r\n--in--\r\n"
    );
    let armored = mail::encrypt_armored(&team_public_key(), inner.as_bytes());
    format!(
        "From: Reporter <{REPORTER}>\r\nTo: {SECURITY}\r\nSubject: ...\r\nMessage-ID: <contract-1@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n{armored}\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// Each test runs its own Prism (~340 MB, CPU-heavy at start); on 2 cores
/// two at once starve the daemon, so the tests take turns.
static ONE_PRISM_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
#[cfg_attr(
    not(feature = "failpoints"),
    ignore = "needs the failpoints feature: scripts/test.sh, or cargo test --features failpoints"
)]
fn daemon_conversation_matches_githubs_openapi_description() {
    let _turn = ONE_PRISM_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !require("prism (scripts/install-deps.sh)", have_prism()) {
        return;
    }
    let Some(env) = Env::start(Options {
        extra: "\n[conversation]\nenabled = true\npoll_interval = \"1s\"\n".into(),
        ..Options::default()
    }) else {
        return;
    };
    env.github
        .set_association(REPO, "coord-alex", "COLLABORATOR");
    let prism = Prism::start(&env.github.url).expect("start prism");
    // Point the daemon at Prism instead of the fake.
    let config = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&env.github.url, &prism.url);
    std::fs::write(&env.config, config).unwrap();

    // 1. An encrypted report with an attachment: labels, contents upload,
    //    issue. The first daemon aborts right after GitHub created the
    //    issue and before its state write (failpoint), so the second one
    //    must search for the marker, list recent issues, look for the stored
    //    attachment, and file nothing again: that recovery conversation goes
    //    through Prism too.
    let crashing = Daemon::start_env(
        &env.config,
        env.path("daemon-crash.log"),
        &[],
        &[("SECINTAKE_FAILPOINT", "effect.filed:1")],
    );
    env.deliver(&encrypted_with_attachment(
        "JupyterHub's proxy leaks the API token in a redirect.",
        "import requests\nprint(requests.get('http://hub/api').text)\n",
    ));
    let mut crashing = crashing;
    let crashed = crashing.wait(WAIT);
    assert!(
        crashed.is_some_and(|s| !s.success()),
        "the failpoint did not stop the first daemon: {crashed:?}\n{}",
        crashing.log_text()
    );
    assert_eq!(env.github.issues(REPO).len(), 1, "filed before the crash");

    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let snapshot = env.state_dir().join("status.json");
    assert!(
        wait_until(WAIT, || snapshot.exists().then_some(())).is_some(),
        "daemon did not start:\n{}",
        daemon.log_text()
    );
    // Acknowledged means filed first.
    let recovered = wait_until(WAIT, || (!env.acks().is_empty()).then_some(()));
    assert!(
        recovered.is_some(),
        "the restarted daemon did not file and acknowledge:\n{}\nprism:\n{}",
        daemon.log_text(),
        prism.log()
    );
    let issues = env.github.issues(REPO);
    assert_eq!(issues.len(), 1, "the retry filed a second issue");
    let tracking_id = issues[0]
        .title
        .split(']')
        .next()
        .unwrap()
        .trim_start_matches('[')
        .to_string();

    // 2. A long plain report: the body continues in comments.
    let long = "step: the proxy forwards the Authorization header.\n".repeat(1800);
    env.deliver(&mail::plain(
        "bob@example.test",
        "Header forwarding",
        "<contract-2@example.test>",
        &long,
    ));
    env.wait_issues(2, WAIT);

    // 3. A coordinator's command on the first issue: the repository-wide
    //    comment listing, our answer looked for and posted. And a
    //    follow-up to the first report: label + comment on its issue.
    env.github.comment_as(
        REPO,
        issues[0].number,
        "coord-alex",
        "/reply\nThanks, we are looking into it.",
    );
    env.deliver(&mail::plain(
        REPORTER,
        &format!("Re: [{tracking_id}] Your security report was received"),
        "<contract-3@example.test>",
        "One more detail: it also happens with named servers.",
    ));
    let done = wait_until(WAIT, || {
        let issues = env.github.issues(REPO);
        let first = issues.first()?;
        let second = issues.get(1)?;
        (!first.comments.is_empty()
            && first.labels.contains(&"follow-up".to_string())
            && first.comments.iter().any(|c| c.contains(" command:"))
            && !second.comments.is_empty())
        .then_some(issues)
    });
    let issues = done.unwrap_or_else(|| {
        panic!(
            "flow incomplete: {:?}\n{}\nprism:\n{}",
            env.github.issues(REPO),
            daemon.log_text(),
            prism.log()
        )
    });
    daemon.terminate(Duration::from_secs(20));

    // What the fake holds is what the daemon meant to do.
    let first = &issues[0];
    for l in ["security-report", "needs-triage", "encrypted", "jupyterhub"] {
        assert!(
            first.labels.contains(&l.to_string()),
            "{l}: {:?}",
            first.labels
        );
    }
    assert!(first.body.contains("reports/"), "attachment link");
    let files = env.github.contents(REPO);
    assert_eq!(files.len(), 1, "{:?}", files.keys());
    let (path, data) = files.iter().next().unwrap();
    assert!(path.starts_with(&format!("reports/{tracking_id}/01-poc.py")));
    assert!(String::from_utf8_lossy(data).contains("requests.get"));
    assert!(issues[1].comments[0].contains("part 2/"));

    // Every call kind went through Prism...
    let requests = env.github.requests();
    let seen = |method: &str, tail: &str| {
        requests
            .iter()
            .any(|r| r.method == method && r.path_only().ends_with(tail))
    };
    assert!(
        requests
            .iter()
            .any(|r| r.path.starts_with("/search/issues")),
        "marker search after the crash"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path.contains("/contents/reports/")),
        "stored-attachment look-up after the crash"
    );
    let created = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path_only().ends_with("/issues"))
        .count();
    assert_eq!(created, 2, "one create-issue per report, none repeated");
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path_only() == format!("/repos/{REPO}")),
        "the repository's visibility check"
    );
    assert!(seen("GET", "/issues"), "list issues");
    assert!(seen("GET", "/labels"), "list labels");
    assert!(seen("POST", "/labels"), "create label / add labels");
    assert!(seen("POST", "/issues"), "create issue");
    assert!(seen("POST", "/comments"), "create comment");
    assert!(seen("GET", "/comments"), "list comments");
    assert!(
        requests.iter().any(|r| r.method == "GET"
            && r.path_only() == format!("/repos/{REPO}/issues/comments")
            && r.path.contains("since=")),
        "the repository-wide comment listing"
    );
    // The lifecycle: the repository-wide issue listing, and the status
    // block read and written on each report's issue.
    assert!(
        requests.iter().any(|r| r.method == "GET"
            && r.path_only() == format!("/repos/{REPO}/issues")
            && r.path
                .contains("state=all&sort=updated&direction=asc&since=")),
        "the repository-wide issue listing"
    );
    let issue_path = format!("/repos/{REPO}/issues/{}", issues[0].number);
    assert!(
        requests
            .iter()
            .any(|r| r.method == "GET" && r.path_only() == issue_path),
        "reading an issue's body"
    );
    assert!(
        requests.iter().any(|r| r.method == "PATCH"
            && r.path_only() == issue_path
            && String::from_utf8_lossy(&r.body).contains("secintake:status:begin")),
        "writing the status block"
    );
    assert!(requests
        .iter()
        .any(|r| r.method == "PUT" && r.path.contains("/contents/reports/")));
    for r in &requests {
        assert_eq!(
            r.header("accept"),
            Some("application/vnd.github+json"),
            "{}",
            r.path
        );
        assert_eq!(
            r.header("x-github-api-version"),
            Some("2022-11-28"),
            "{}",
            r.path
        );
    }
    // ...and Prism found nothing wrong with any of them.
    let violations = prism.violations();
    assert!(
        violations.is_empty(),
        "{} violation line(s) over {} requests:\n{}",
        violations.len(),
        requests.len(),
        violations.join("\n")
    );
    assert!(
        !daemon.log_text().contains("filing failed"),
        "{}",
        daemon.log_text()
    );
    eprintln!(
        "contract: {} requests validated by Prism, 0 violations",
        requests.len()
    );

    // The detector works: an issue without a title is a violation.
    let status = raw_post(
        &prism.url,
        &format!("/repos/{REPO}/issues"),
        r#"{"body": "no title"}"#,
    );
    assert_eq!(status, 422, "Prism let an invalid request through");
    assert!(
        wait_until(Duration::from_secs(5), || (!prism.violations().is_empty())
            .then_some(()))
        .is_some(),
        "Prism's violation was not detected in its log:\n{}",
        prism.log()
    );
}

/// A minimal HTTP/1.1 POST; returns the status code.
fn raw_post(base: &str, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: token {TOKEN}\r\nAccept: application/vnd.github+json\r\nX-GitHub-Api-Version: 2022-11-28\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// GitHub App authentication against the fake: the daemon mints an
/// installation token with its JWT, files with it, and when that token is
/// revoked mid-run, mints a new one and files the next report without a
/// restart (and without filing anything twice).
#[test]
fn github_app_installation_token_is_minted_and_refreshed() {
    let _turn = ONE_PRISM_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let key = env.path("app.pem");
    let made = std::process::Command::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&key)
        .arg("2048")
        .output()
        .expect("openssl");
    assert!(made.status.success());
    env.github.set_installation(777);
    let config = std::fs::read_to_string(&env.config).unwrap().replace(
        "token_file = \"github-token\"",
        "app_id = 12345\ninstallation_id = 777\nprivate_key_file = \"app.pem\"",
    );
    std::fs::write(&env.config, config).unwrap();
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let snapshot = env.state_dir().join("status.json");
    assert!(wait_until(WAIT, || snapshot.exists().then_some(())).is_some());

    env.deliver(&mail::plain(
        REPORTER,
        "App auth report one",
        "<app-1@example.test>",
        "The terminal endpoint accepts a forged session cookie.",
    ));
    env.wait_issues(1, WAIT);
    let minted = env.github.minted_tokens();
    assert_eq!(minted.len(), 1, "one installation token minted");
    env.github.revoke_token(&minted[0]);

    env.deliver(&mail::plain(
        REPORTER,
        "App auth report two",
        "<app-2@example.test>",
        "Kernel restarts leak the connection file to other users.",
    ));
    let issues = wait_until(WAIT, || {
        let i = env.github.issues(REPO);
        (i.len() >= 2).then_some(i)
    })
    .unwrap_or_else(|| panic!("second issue not filed:\n{}", daemon.log_text()));
    daemon.terminate(Duration::from_secs(20));
    assert_eq!(issues.len(), 2);
    assert_eq!(env.github.minted_tokens().len(), 2, "token refreshed once");
    // The second report's create-issue may first be refused with the
    // revoked token (401, nothing created: still 2 issues above); the one
    // that filed it carried the new token.
    let minted = env.github.minted_tokens();
    let used: Vec<String> = env
        .github
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path_only().ends_with("/issues"))
        .filter_map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert!(
        used.first().is_some_and(|a| a.ends_with(&minted[0])),
        "{used:?}"
    );
    assert!(
        used.last().is_some_and(|a| a.ends_with(&minted[1])),
        "{used:?}"
    );
    let with_new = used.iter().filter(|a| a.ends_with(&minted[1])).count();
    assert_eq!(with_new, 1, "{used:?}");
}

/// The advisory requests through Prism: two organisation listings and a
/// repository listing (newest update first, cursor paging past 100), the
/// triage reports filed, a state change mirrored, a link to the mail
/// report of the same bug, a `/ghsa draft` (issue title read, draft
/// created), and `check` with a token that cannot read its source (404).
#[test]
fn advisory_requests_match_githubs_openapi_description() {
    use common::advisories::*;
    use common::daemon::run_cli;
    let _turn = ONE_PRISM_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !require("prism (scripts/install-deps.sh)", have_prism()) {
        return;
    }
    let Some(env) = Env::start(Options::default()) else {
        return;
    };
    let extra = format!(
        "{}\n[conversation]\nenabled = true\npoll_interval = \"1s\"\n",
        sources(&env.github)
    );
    env.write_config(&Options {
        extra,
        ..Options::default()
    });
    write_tokens(&env);
    env.github
        .set_association(REPO, "coord-alex", "COLLABORATOR");
    let ([lab, hub, _], _) = seed(&env.github);
    // Enough closed advisories that the organisation's listing pages.
    for n in 0..105 {
        let mut a = secintake_testkit::github_fake::triage_report(
            &format!("Old advisory {n}"),
            "Closed long ago.",
            "lab-maintainer",
        );
        a.state = "closed".into();
        env.github.add_advisory(LAB_REPO, a);
    }
    let prism = Prism::start(&env.github.url).expect("start prism");
    let config = std::fs::read_to_string(&env.config)
        .unwrap()
        .replace(&env.github.url, &prism.url);
    std::fs::write(&env.config, config).unwrap();

    env.deliver(&mail::plain(
        REPORTER,
        "JupyterHub token leak",
        "<contract-ghsa@example.test>",
        HUB_TEXT,
    ));
    let mut daemon = Daemon::start(&env.config, env.path("daemon.log"), &[]);
    let linked = wait_until(WAIT, || {
        let filed = advisory_issues(&env.github).len() == 3;
        let hub_issue = issue_of(&env.github, &hub)?;
        (filed && hub_issue.comments.iter().any(|c| c.contains("/related:"))).then_some(())
    });
    assert!(
        linked.is_some(),
        "advisories not filed and linked through Prism: {:#?}\n{}\nprism:\n{}",
        env.github.issues(REPO),
        daemon.log_text(),
        prism.log()
    );
    env.github
        .update_advisory(&lab, "published", Some("CVE-2026-40002"));
    let mail_issue = env
        .github
        .issues(REPO)
        .into_iter()
        .find(|i| !i.title.starts_with("[GHSA-"))
        .unwrap();
    env.github.comment_as(
        REPO,
        mail_issue.number,
        "coord-alex",
        "/ghsa draft jupyterhub/jupyterhub\nThe proxy leaks the API token in a redirect.",
    );
    let done = wait_until(WAIT, || {
        let mirrored = issue_of(&env.github, &lab)?
            .labels
            .contains(&"ghsa-published".to_string());
        let drafted = env
            .github
            .advisories()
            .iter()
            .any(|a| a.repo == HUB_REPO && a.state == "draft");
        (mirrored && drafted).then_some(())
    });
    assert!(
        done.is_some(),
        "state not mirrored or draft not created through Prism\n{}\nprism:\n{}",
        daemon.log_text(),
        prism.log()
    );
    daemon.terminate(Duration::from_secs(20));

    env.github.deny_advisories(HUB_TOKEN, "jupyterhub");
    let (code, out) = run_cli(&["check", "--config", env.config.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("advisories source org jupyterhub"), "{out}");

    let requests = env.github.requests();
    let seen = |method: &str, path: &str, query: &str| {
        requests
            .iter()
            .any(|r| r.method == method && r.path_only() == path && r.path.contains(query))
    };
    assert!(seen(
        "GET",
        "/orgs/jupyterlab/security-advisories",
        "sort=updated"
    ));
    assert!(
        seen("GET", "/orgs/jupyterlab/security-advisories", "after="),
        "cursor paging"
    );
    assert!(seen(
        "GET",
        "/orgs/jupyterhub/security-advisories",
        "direction=desc"
    ));
    assert!(seen(
        "GET",
        "/repos/jupyter/notebook/security-advisories",
        "per_page=100"
    ));
    assert!(seen(
        "POST",
        "/repos/jupyterhub/jupyterhub/security-advisories",
        ""
    ));
    assert!(seen(
        "GET",
        &format!("/repos/{REPO}/issues/{}", mail_issue.number),
        ""
    ));
    let violations = prism.violations();
    assert!(
        violations.is_empty(),
        "{} violation line(s) over {} requests:\n{}",
        violations.len(),
        requests.len(),
        violations.join("\n")
    );
    eprintln!(
        "advisory contract: {} requests validated by Prism, 0 violations",
        requests.len()
    );
}
