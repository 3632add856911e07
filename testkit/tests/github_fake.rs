//! The GitHub fake against octocrab 0.54 (the daemon's client) and raw HTTP.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use octocrab::models::issues::Issue;
use octocrab::models::IssueState;
use octocrab::params;
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use secintake_testkit::github_fake::{Fault, GithubFake, BOT_LOGIN};

const TOKEN: &str = "ghp_testtoken";
const REPO: &str = "jupyter/security-reports";
const MARKER: &str = "secintake:JUPSEC-2026-0001";

fn crab(fake: &GithubFake, token: &str, retry: bool) -> Octocrab {
    let mut b = Octocrab::builder()
        .base_uri(fake.url.as_str())
        .unwrap()
        .personal_token(token.to_string());
    if !retry {
        b = b.add_retry_config(RetryConfig::None);
    }
    b.build().unwrap()
}

fn gh_error(e: octocrab::Error) -> (u16, String) {
    match e {
        octocrab::Error::GitHub { source, .. } => (source.status_code.as_u16(), source.message),
        other => panic!("expected a GitHub error, got {other:?}"),
    }
}

struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: serde_json::Value,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection; `None` if the server closed
/// the connection without answering.
fn raw(fake: &GithubFake, method: &str, path: &str, auth: Option<&str>, body: &str) -> Option<Raw> {
    let addr = fake.url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    if buf.is_empty() {
        return None;
    }
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    Some(Raw {
        status,
        headers,
        body,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octocrab_issue_lifecycle() {
    let fake = GithubFake::start(TOKEN).await.unwrap();
    fake.create_repo(REPO);
    let gh = crab(&fake, TOKEN, false);
    let (o, r) = REPO.split_once('/').unwrap();

    let repo = gh.repos(o, r).get().await.unwrap();
    assert_eq!(repo.full_name.as_deref(), Some(REPO));

    let labels = vec!["security-report".to_string(), "needs-triage".to_string()];
    let issue = gh
        .issues(o, r)
        .create("Report JUPSEC-2026-0001")
        .body(format!("Reported via mail.\n\n<!-- {MARKER} -->"))
        .labels(labels.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(issue.number, 1);
    assert_eq!(issue.user.login, BOT_LOGIN);
    let names: Vec<_> = issue.labels.iter().map(|l| l.name.clone()).collect();
    assert_eq!(names, labels);
    assert_eq!(fake.labels(REPO).len(), 2, "labels are auto-created");

    let comment = gh
        .issues(o, r)
        .create_comment(1, "follow-up mail")
        .await
        .unwrap();
    assert_eq!(comment.body.as_deref(), Some("follow-up mail"));
    let comments = gh.issues(o, r).list_comments(1).send().await.unwrap();
    assert_eq!(comments.items.len(), 1);

    let after = gh
        .issues(o, r)
        .add_labels(1, &["triaged".to_string()])
        .await
        .unwrap();
    assert_eq!(after.len(), 3);

    for n in 2..=5 {
        gh.issues(o, r)
            .create(format!("issue {n}"))
            .send()
            .await
            .unwrap();
    }
    gh.issues(o, r)
        .update(5)
        .state(IssueState::Closed)
        .send()
        .await
        .unwrap();
    let open = gh.issues(o, r).list().send().await.unwrap();
    assert_eq!(open.items.len(), 4, "default state=open");

    let mut page = gh
        .issues(o, r)
        .list()
        .state(params::State::All)
        .direction(params::Direction::Ascending)
        .per_page(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.number_of_pages(), Some(3));
    let mut seen: Vec<u64> = page.take_items().iter().map(|i| i.number).collect();
    while let Some(mut next) = gh.get_page::<Issue>(&page.next).await.unwrap() {
        seen.extend(next.take_items().iter().map(|i| i.number));
        page = next;
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);

    let stored = fake.issues(REPO);
    assert_eq!(stored.len(), 5);
    assert_eq!(stored[0].comments, vec!["follow-up mail"]);
    assert_eq!(
        stored[0].labels,
        vec!["security-report", "needs-triage", "triaged"]
    );
    assert_eq!(stored[4].state, "closed");
    let req = &fake.requests()[0];
    assert_eq!(
        req.header("authorization"),
        Some(&*format!("Bearer {TOKEN}"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octocrab_contents_and_search() {
    let fake = GithubFake::start(TOKEN).await.unwrap();
    fake.create_repo(REPO);
    let gh = crab(&fake, TOKEN, false);
    let (o, r) = REPO.split_once('/').unwrap();

    let path = "reports/JUPSEC-2026-0001.md";
    let created = gh
        .repos(o, r)
        .create_file(path, "add report", b"# Report\nhello\n")
        .send()
        .await
        .unwrap();
    assert_eq!(fake.contents(REPO)[path], b"# Report\nhello\n");
    let mut got = gh
        .repos(o, r)
        .get_content()
        .path(path)
        .send()
        .await
        .unwrap();
    let item = &got.take_items()[0];
    assert_eq!(item.decoded_content().as_deref(), Some("# Report\nhello\n"));
    assert_eq!(item.sha, created.content.sha);
    let again = gh.repos(o, r).create_file(path, "dup", b"x").send().await;
    assert_eq!(gh_error(again.unwrap_err()).0, 422, "exists without sha");
    let wrong = gh
        .repos(o, r)
        .update_file(path, "upd", b"x", "0000")
        .send()
        .await;
    assert_eq!(gh_error(wrong.unwrap_err()).0, 409);
    gh.repos(o, r)
        .update_file(path, "upd", b"v2", &item.sha)
        .send()
        .await
        .unwrap();
    assert_eq!(fake.contents(REPO)[path], b"v2");

    gh.issues(o, r)
        .create("Report")
        .body(format!("body\n<!-- {MARKER} -->"))
        .send()
        .await
        .unwrap();
    gh.issues(o, r)
        .create("Other")
        .body("nothing")
        .send()
        .await
        .unwrap();
    let q = format!("repo:{REPO} in:body is:issue \"{MARKER}\"");
    let found = gh
        .search()
        .issues_and_pull_requests(&q)
        .send()
        .await
        .unwrap();
    assert_eq!(found.total_count, Some(1));
    assert_eq!(found.items[0].number, 1);

    fake.set_search_lag(Duration::from_secs(3600));
    gh.issues(o, r)
        .create("Late")
        .body("secintake:JUPSEC-2026-0002")
        .send()
        .await
        .unwrap();
    let q2 = format!("repo:{REPO} secintake:JUPSEC-2026-0002");
    let lagging = gh
        .search()
        .issues_and_pull_requests(&q2)
        .send()
        .await
        .unwrap();
    assert_eq!(lagging.total_count, Some(0), "not indexed yet");
    fake.set_search_lag(Duration::ZERO);
    let indexed = gh
        .search()
        .issues_and_pull_requests(&q2)
        .send()
        .await
        .unwrap();
    assert_eq!(indexed.items[0].number, 3);
}

#[tokio::test]
async fn errors_are_github_shaped() {
    let fake = GithubFake::start(TOKEN).await.unwrap();
    fake.create_repo(REPO);
    let (o, r) = REPO.split_once('/').unwrap();

    let bad = crab(&fake, "ghp_wrong", false);
    let e = gh_error(bad.issues(o, r).get(1).await.unwrap_err());
    assert_eq!(e, (401, "Bad credentials".to_string()));

    let gh = crab(&fake, TOKEN, false);
    let e = gh_error(gh.repos("jupyter", "nope").get().await.unwrap_err());
    assert_eq!(e, (404, "Not Found".to_string()));
    let e = gh_error(gh.issues(o, r).get(42).await.unwrap_err());
    assert_eq!(e.0, 404);

    let e = gh_error(gh.pulls(o, r).list().send().await.unwrap_err());
    assert_eq!(e, (500, format!("unexpected GET /repos/{REPO}/pulls")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_then_recovery() {
    let fake = GithubFake::start(TOKEN).await.unwrap();
    fake.create_repo(REPO);
    let (o, r) = REPO.split_once('/').unwrap();
    let strict = crab(&fake, TOKEN, false);

    fake.push_faults(vec![Fault::Status(502)]);
    let e = gh_error(strict.repos(o, r).get().await.unwrap_err());
    assert_eq!(e.0, 502);
    strict.repos(o, r).get().await.unwrap();

    // octocrab's default retry policy (Simple(3)) absorbs 5xx and dropped
    // connections transparently.
    fake.clear_requests();
    fake.push_faults(vec![Fault::Status(500), Fault::Drop]);
    let retrying = crab(&fake, TOKEN, true);
    retrying.repos(o, r).get().await.unwrap();
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(fake.pending_faults(), 0);

    fake.fail_until(
        Instant::now() + Duration::from_millis(300),
        Fault::Status(503),
    );
    assert_eq!(gh_error(strict.repos(o, r).get().await.unwrap_err()).0, 503);
    tokio::time::sleep(Duration::from_millis(400)).await;
    strict.repos(o, r).get().await.unwrap();
}

#[test]
fn raw_http_on_own_thread() {
    let fake = GithubFake::start_on_thread(TOKEN).unwrap();
    fake.create_repo(REPO);
    let auth = format!("token {TOKEN}");
    let path = format!("/repos/{REPO}");

    let ok = raw(&fake, "GET", &path, Some(&auth), "").unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-ratelimit-limit"), Some("5000"));
    assert_eq!(ok.header("x-ratelimit-resource"), Some("core"));

    fake.push_faults(vec![
        Fault::SecondaryRateLimit {
            retry_after_secs: 7,
        },
        Fault::Drop,
    ]);
    let limited = raw(&fake, "GET", &path, Some(&auth), "").unwrap();
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("retry-after"), Some("7"));
    let msg = limited.body["message"].as_str().unwrap();
    assert!(
        msg.contains("You have exceeded a secondary rate limit"),
        "{msg}"
    );
    assert!(
        raw(&fake, "GET", &path, Some(&auth), "").is_none(),
        "dropped"
    );

    let missing_title = raw(&fake, "POST", &format!("{path}/issues"), Some(&auth), "{}").unwrap();
    assert_eq!(missing_title.status, 422);

    fake.set_rate_limit(0, chrono::Utc::now() + chrono::Duration::hours(1));
    let exhausted = raw(&fake, "GET", &path, Some(&auth), "").unwrap();
    assert_eq!(exhausted.status, 403);
    assert_eq!(exhausted.header("x-ratelimit-remaining"), Some("0"));
    assert!(exhausted.body["message"]
        .as_str()
        .unwrap()
        .starts_with("API rate limit exceeded"));
    fake.set_rate_limit(0, chrono::Utc::now() - chrono::Duration::seconds(1));
    assert_eq!(
        raw(&fake, "GET", &path, Some(&auth), "").unwrap().status,
        200,
        "window reset"
    );

    // Pagination headers on a raw list.
    for n in 0..3 {
        let body = format!(r#"{{"title":"t{n}","labels":["x"]}}"#);
        assert_eq!(
            raw(&fake, "POST", &format!("{path}/issues"), Some(&auth), &body)
                .unwrap()
                .status,
            201
        );
    }
    let listed = raw(
        &fake,
        "GET",
        &format!("{path}/issues?per_page=2&labels=x"),
        Some(&auth),
        "",
    )
    .unwrap();
    let link = listed.header("link").unwrap();
    assert!(
        link.contains("page=2>; rel=\"next\"") && link.contains("rel=\"last\""),
        "{link}"
    );
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
}

#[test]
fn installation_tokens() {
    let fake = GithubFake::start_on_thread(TOKEN).unwrap();
    fake.create_repo(REPO);
    fake.set_installation(77);
    let path = "/app/installations/77/access_tokens";
    assert_eq!(
        raw(&fake, "POST", path, Some("Bearer notajwt"), "{}")
            .unwrap()
            .status,
        401
    );
    assert_eq!(
        raw(
            &fake,
            "POST",
            "/app/installations/78/access_tokens",
            Some("Bearer a.b.c"),
            "{}"
        )
        .unwrap()
        .status,
        404
    );
    let minted = raw(&fake, "POST", path, Some("Bearer a.b.c"), "{}").unwrap();
    assert_eq!(minted.status, 201);
    let token = minted.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_"));
    let auth = format!("Bearer {token}");
    assert_eq!(
        raw(&fake, "GET", &format!("/repos/{REPO}"), Some(&auth), "")
            .unwrap()
            .status,
        200
    );
}

/// octocrab's real GitHub App flow (JWT → installation token → API call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octocrab_app_installation_flow() {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .expect("openssl is installed");
    assert!(out.status.success());
    let key = octocrab::EncodingKey::from_rsa_pem(&out.stdout).unwrap();
    let fake = GithubFake::start(TOKEN).await.unwrap();
    fake.create_repo(REPO);
    fake.set_installation(4242);
    let app = Octocrab::builder()
        .base_uri(fake.url.as_str())
        .unwrap()
        .app(12345.into(), key)
        .build()
        .unwrap();
    let gh = app.installation(4242.into()).unwrap();
    let (o, r) = REPO.split_once('/').unwrap();
    gh.issues(o, r).create("via app").send().await.unwrap();
    assert_eq!(fake.minted_tokens().len(), 1);
    assert_eq!(fake.issues(REPO)[0].title, "via app");
}
