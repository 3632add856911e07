//! The fake's in-memory world: repositories, issues, comments, labels, files,
//! tokens, rate-limit budget, fault queue and the request log.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};

/// Login of the user every accepted token acts as.
pub const BOT_LOGIN: &str = "secintake-bot";
/// User id of [`BOT_LOGIN`].
pub const BOT_ID: u64 = 1001;

/// One HTTP request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path plus `?query` exactly as sent.
    pub path: String,
    /// Header names are lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub received_at: Instant,
}

impl RecordedRequest {
    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A failure the fake injects instead of answering a (non-`/app`) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and `{"message": <reason phrase>}`.
    Status(u16),
    /// 403 with `Retry-After` and GitHub's secondary-rate-limit message.
    SecondaryRateLimit { retry_after_secs: u64 },
    /// 429 with `Retry-After` and GitHub's secondary-rate-limit message.
    TooManyRequests { retry_after_secs: u64 },
    /// Close the connection without sending any response.
    Drop,
    /// Wait this long, then handle the request normally (for timeouts).
    Delay(Duration),
    /// Handle the request (e.g. create the issue), then close the connection
    /// without answering: the "did my POST go through?" case.
    DropAfterApply,
    /// Handle the request, then answer with this status instead of the result.
    StatusAfterApply(u16),
}

/// An issue as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeIssue {
    pub number: u64,
    pub title: String,
    /// Empty when the issue has no body.
    pub body: String,
    pub labels: Vec<String>,
    /// `"open"` or `"closed"`.
    pub state: String,
    /// Comment bodies, oldest first.
    pub comments: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A repository label as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLabel {
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct CommentRec {
    pub id: u64,
    /// Login of the author ([`BOT_LOGIN`] for comments made through the API).
    pub user: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct IssueRec {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub open: bool,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub user: String,
    pub comments: Vec<CommentRec>,
    /// Issue events (`labeled`, `unlabeled`, `assigned`, …), oldest first.
    pub events: Vec<EventRec>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Monotonic creation time; search sees the issue `search_lag` later.
    pub created_instant: Instant,
}

/// One issue event, as `GET /repos/{o}/{r}/issues/{n}/events` lists it.
#[derive(Debug, Clone)]
pub(crate) struct EventRec {
    pub id: u64,
    /// `labeled`, `unlabeled`, `assigned`, …
    pub event: String,
    pub actor: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct LabelRec {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct FileRec {
    pub content: Vec<u8>,
    pub sha: String,
}

#[derive(Debug)]
pub(crate) struct RepoState {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub issues: Vec<IssueRec>,
    pub labels: Vec<LabelRec>,
    pub files: BTreeMap<String, FileRec>,
    pub created_at: DateTime<Utc>,
    /// `"private"` (the default), `"public"` or `"internal"`.
    pub visibility: String,
    /// Answers 404 to every request, like a repository the token lost
    /// access to.
    pub hidden: bool,
    /// `author_association` by login (lower case): `OWNER`, `MEMBER`,
    /// `COLLABORATOR`, …; other logins are `NONE`, the bot `MEMBER`.
    pub associations: BTreeMap<String, String>,
}

impl RepoState {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn label_index(&self, name: &str) -> Option<usize> {
        self.labels
            .iter()
            .position(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// What GitHub calls `login`'s relation to this repository.
    pub fn association(&self, login: &str) -> &str {
        if login == BOT_LOGIN {
            return "MEMBER";
        }
        self.associations
            .get(&login.to_ascii_lowercase())
            .map_or("NONE", String::as_str)
    }

    pub fn issue_mut(&mut self, number: u64) -> Option<&mut IssueRec> {
        self.issues.iter_mut().find(|i| i.number == number)
    }
}

#[derive(Debug)]
pub(crate) struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    pub reset: DateTime<Utc>,
}

impl RateLimit {
    /// Starts a fresh window once the reset time has passed, like GitHub.
    pub fn refresh(&mut self, now: DateTime<Utc>) {
        if now >= self.reset {
            self.remaining = self.limit;
            self.reset = now + chrono::Duration::hours(1);
        }
    }
}

#[derive(Debug)]
pub(crate) struct State {
    pub base_url: String,
    pub tokens: HashSet<String>,
    pub minted: Vec<String>,
    pub installation: Option<u64>,
    pub repos: BTreeMap<String, RepoState>,
    pub requests: Vec<RecordedRequest>,
    pub faults: VecDeque<Fault>,
    pub fail_until: Option<(Instant, Fault)>,
    pub rate: RateLimit,
    pub search_lag: Duration,
    /// Repository security advisories of every repository.
    pub advisories: Vec<super::advisories::AdvisoryRec>,
    /// Tokens with a primary rate-limit budget of their own (GitHub's is
    /// per user or installation); the others share `rate`.
    pub token_rate: std::collections::HashMap<String, RateLimit>,
    /// (token, organisation or `owner/name`) pairs denied advisories.
    pub advisory_denied: Vec<(String, String)>,
}

impl State {
    pub fn new(base_url: String, token: &str) -> State {
        State {
            base_url,
            tokens: HashSet::from([token.to_string()]),
            minted: Vec::new(),
            installation: None,
            repos: BTreeMap::new(),
            requests: Vec::new(),
            faults: VecDeque::new(),
            fail_until: None,
            rate: RateLimit {
                limit: 5000,
                remaining: 5000,
                reset: now() + chrono::Duration::hours(1),
            },
            search_lag: Duration::ZERO,
            advisories: Vec::new(),
            token_rate: std::collections::HashMap::new(),
            advisory_denied: Vec::new(),
        }
    }

    /// The repository `owner/name` (case-insensitive, like GitHub).
    pub fn repo_key(&self, owner: &str, name: &str) -> Option<String> {
        let wanted = format!("{owner}/{name}");
        self.repos
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&wanted))
            .cloned()
    }

    /// The fault to inject for the next request, if any.
    pub fn take_fault(&mut self) -> Option<Fault> {
        if let Some((until, fault)) = &self.fail_until {
            if Instant::now() < *until {
                return Some(fault.clone());
            }
            self.fail_until = None;
        }
        self.faults.pop_front()
    }
}

/// A fresh id for an issue, comment, label or repository.
pub(crate) fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1_000_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The current time at GitHub's one-second resolution.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// GitHub's timestamp format, e.g. `2026-01-02T03:04:05Z`.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<&IssueRec> for FakeIssue {
    fn from(i: &IssueRec) -> FakeIssue {
        FakeIssue {
            number: i.number,
            title: i.title.clone(),
            body: i.body.clone().unwrap_or_default(),
            labels: i.labels.clone(),
            state: if i.open { "open" } else { "closed" }.to_string(),
            comments: i.comments.iter().map(|c| c.body.clone()).collect(),
            created_at: i.created_at,
        }
    }
}

impl From<&LabelRec> for FakeLabel {
    fn from(l: &LabelRec) -> FakeLabel {
        FakeLabel {
            name: l.name.clone(),
            color: l.color.clone(),
            description: l.description.clone(),
        }
    }
}
