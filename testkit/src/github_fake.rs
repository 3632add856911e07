//! A stateful, in-process stand-in for the GitHub REST API (the subset
//! secintake uses), served over plain HTTP/1.1 on `127.0.0.1:<ephemeral>`.
//!
//! It keeps issues, comments, labels and files per pre-created `owner/repo`,
//! answers with full GitHub-shaped JSON that octocrab 0.54 deserializes,
//! records every request, and can inject outages and rate limits. Anything it
//! does not implement answers `500 {"message": "unexpected METHOD PATH"}`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use secintake_testkit::github_fake::{Fault, GithubFake};
//! let fake = GithubFake::start("ghp_test").await?; // or start_on_thread()
//! fake.create_repo("jupyter/security-reports");
//! fake.push_faults(vec![Fault::Status(502)]);
//! // point the daemon / octocrab at fake.url ("http://127.0.0.1:PORT/")
//! assert!(fake.issues("jupyter/security-reports").is_empty());
//! # Ok(()) }
//! ```
//!
//! Two ways to run it:
//! * [`GithubFake::start`] spawns the server on the caller's tokio runtime;
//!   handy in `#[tokio::test]`, but the server only runs while that runtime
//!   is polled (don't block a current-thread runtime while the fake serves).
//! * [`GithubFake::start_on_thread`] runs it on its own runtime in a std
//!   thread: works from plain `#[test]`s and alongside blocking code such as
//!   waiting on a daemon child process.
//!
//! Both stop serving when the [`GithubFake`] is dropped.

mod advisories;
mod codec;
mod contents;
mod events;
mod issues;
mod json;
mod labels;
mod repo_comments;
mod routes;
mod search;
mod server;
mod state;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use advisories::{triage_report, FakeAdvisory};
use state::{now, RepoState, State};
pub use state::{FakeIssue, FakeLabel, Fault, RecordedRequest, BOT_ID, BOT_LOGIN};

/// A running GitHub REST API fake. See the module docs.
pub struct GithubFake {
    /// Base URL with a trailing slash, e.g. `http://127.0.0.1:41234/`; use it
    /// as octocrab's `base_uri` / the daemon's `api_url`.
    pub url: String,
    state: Arc<Mutex<State>>,
    token: String,
    shutdown: Option<watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn bind(token: &str) -> anyhow::Result<(std::net::TcpListener, String, Arc<Mutex<State>>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the GitHub fake")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/", listener.local_addr()?);
    let state = Arc::new(Mutex::new(State::new(url.clone(), token)));
    Ok((listener, url, state))
}

impl GithubFake {
    /// Starts the fake on the current tokio runtime. `token` is accepted as
    /// `Authorization: Bearer <token>` or `token <token>`.
    pub async fn start(token: &str) -> anyhow::Result<GithubFake> {
        let (listener, url, state) = bind(token)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, state.clone(), rx));
        Ok(GithubFake {
            url,
            state,
            token: token.to_string(),
            shutdown: Some(tx),
            task: Some(task),
            thread: None,
        })
    }

    /// Starts the fake on a dedicated thread with its own multi-thread tokio
    /// runtime, independent of (and usable without) the caller's runtime.
    pub fn start_on_thread(token: &str) -> anyhow::Result<GithubFake> {
        let (listener, url, state) = bind(token)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("github-fake")
            .enable_all()
            .build()
            .context("building the GitHub fake runtime")?;
        let (tx, rx) = watch::channel(false);
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name("github-fake".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => server::serve(l, served, rx).await,
                        Err(e) => eprintln!("github fake: {e}"),
                    }
                });
                runtime.shutdown_background();
            })
            .context("spawning the GitHub fake thread")?;
        Ok(GithubFake {
            url,
            state,
            token: token.to_string(),
            shutdown: Some(tx),
            task: None,
            thread: Some(thread),
        })
    }

    fn st(&self) -> MutexGuard<'_, State> {
        server::lock(&self.state)
    }

    fn with_repo<T>(&self, full_name: &str, f: impl FnOnce(&mut RepoState) -> T) -> T {
        let mut st = self.st();
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, ""));
        let key = st.repo_key(owner, name).unwrap_or_else(|| {
            panic!("GitHub fake: unknown repo {full_name:?}; create_repo it first")
        });
        f(st.repos.get_mut(&key).expect("key exists"))
    }

    /// The token given to `start`.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Creates an empty repository `owner/name` (idempotent).
    pub fn create_repo(&self, full_name: &str) {
        let (owner, name) = full_name
            .split_once('/')
            .unwrap_or_else(|| panic!("repo must be owner/name, got {full_name:?}"));
        let mut st = self.st();
        if st.repo_key(owner, name).is_none() {
            st.repos.insert(
                full_name.to_string(),
                RepoState {
                    id: state::next_id(),
                    owner: owner.to_string(),
                    name: name.to_string(),
                    issues: Vec::new(),
                    labels: Vec::new(),
                    files: BTreeMap::new(),
                    created_at: now(),
                    visibility: "private".into(),
                    hidden: false,
                    associations: BTreeMap::new(),
                },
            );
        }
    }

    /// Sets what `GET /repos/{owner}/{repo}` says: `"private"` (the
    /// default), `"public"` or `"internal"`.
    pub fn set_visibility(&self, repo: &str, visibility: &str) {
        self.with_repo(repo, |r| r.visibility = visibility.to_string());
    }

    /// While hidden, every request about `repo` answers 404 (a repository
    /// deleted, renamed or out of the token's reach).
    pub fn set_hidden(&self, repo: &str, hidden: bool) {
        self.with_repo(repo, |r| r.hidden = hidden);
    }

    /// Every request received so far (including rejected and faulted ones).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.st().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.st().requests.clear();
    }

    /// Issues of `owner/repo`, by number ascending. Panics on unknown repo.
    pub fn issues(&self, repo: &str) -> Vec<FakeIssue> {
        self.with_repo(repo, |r| r.issues.iter().map(FakeIssue::from).collect())
    }

    /// `(number, monotonic creation instant)` of every issue of `owner/repo`,
    /// by number ascending: when the fake created it, on this process's clock
    /// (for latency measurements). Panics on unknown repo.
    pub fn issue_created_instants(&self, repo: &str) -> Vec<(u64, Instant)> {
        self.with_repo(repo, |r| {
            r.issues
                .iter()
                .map(|i| (i.number, i.created_instant))
                .collect()
        })
    }

    /// Labels defined in `owner/repo`, in creation order.
    pub fn labels(&self, repo: &str) -> Vec<FakeLabel> {
        self.with_repo(repo, |r| r.labels.iter().map(FakeLabel::from).collect())
    }

    /// Files stored via the contents API: path → bytes.
    pub fn contents(&self, repo: &str) -> BTreeMap<String, Vec<u8>> {
        self.with_repo(repo, |r| {
            r.files
                .iter()
                .map(|(p, f)| (p.clone(), f.content.clone()))
                .collect()
        })
    }

    /// Seeds an open issue directly (no request recorded), e.g. one a
    /// previous daemon run filed. Missing labels are created. Returns its number.
    pub fn insert_issue(&self, repo: &str, title: &str, body: &str, labels: &[&str]) -> u64 {
        let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        self.with_repo(repo, |r| {
            issues::insert(r, title, Some(body.to_string()), &labels, Vec::new())
        })
    }

    /// Makes new issues invisible to `/search/issues` for `lag` after creation.
    pub fn set_search_lag(&self, lag: Duration) {
        self.st().search_lag = lag;
    }

    /// Sets the primary rate-limit budget; at 0 requests get 403 until `reset_at`,
    /// when the budget refills to the limit (5000).
    pub fn set_rate_limit(&self, remaining: u64, reset_at: DateTime<Utc>) {
        let mut st = self.st();
        st.rate.remaining = remaining.min(st.rate.limit);
        st.rate.reset = reset_at;
    }

    /// Gives `token` a primary budget of its own (as GitHub keeps one per
    /// user or installation): at 0 its requests get 403 until `reset_at`.
    pub fn set_token_rate_limit(&self, token: &str, remaining: u64, reset_at: DateTime<Utc>) {
        self.st().token_rate.insert(
            token.to_string(),
            state::RateLimit {
                limit: 5000,
                remaining: remaining.min(5000),
                reset: reset_at,
            },
        );
    }

    /// The current primary budget.
    pub fn rate_limit_remaining(&self) -> u64 {
        self.st().rate.remaining
    }

    /// Queues faults, consumed one per request (except `/app/...`), in order.
    pub fn push_faults(&self, faults: Vec<Fault>) {
        self.st().faults.extend(faults);
    }

    /// Answers every request (except `/app/...`) with `fault` until `until`.
    pub fn fail_until(&self, until: Instant, fault: Fault) {
        self.st().fail_until = Some((until, fault));
    }

    /// Drops queued and time-based faults.
    pub fn clear_faults(&self) {
        let mut st = self.st();
        st.faults.clear();
        st.fail_until = None;
    }

    /// How many queued faults are not yet consumed.
    pub fn pending_faults(&self) -> usize {
        self.st().faults.len()
    }

    /// Declares the GitHub App installation whose id may mint tokens at
    /// `POST /app/installations/{id}/access_tokens`.
    pub fn set_installation(&self, id: u64) {
        self.st().installation = Some(id);
    }

    /// Installation tokens minted so far.
    pub fn minted_tokens(&self) -> Vec<String> {
        self.st().minted.clone()
    }

    /// Accepts one more token (e.g. after a rotation).
    pub fn add_token(&self, token: &str) {
        self.st().tokens.insert(token.to_string());
    }

    /// Stops accepting `token` (later requests with it get 401).
    pub fn revoke_token(&self, token: &str) {
        self.st().tokens.remove(token);
    }
}

impl Drop for GithubFake {
    fn drop(&mut self) {
        // Dropping the sender wakes the accept loop and every connection.
        drop(self.shutdown.take());
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
