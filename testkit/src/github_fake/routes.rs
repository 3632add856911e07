//! Request context, reply type, pagination and the endpoint table.

use serde_json::{json, Value};

use super::codec::{percent_encode, random_alnum};
use super::state::{now, ts, RepoState, State, BOT_LOGIN};
use super::{advisories, contents, events, issues, json as gj, labels, search};

/// One parsed request, as the handlers see it.
pub(crate) struct Ctx {
    pub method: String,
    /// Raw (still percent-encoded) path, starting with `/`.
    pub path: String,
    /// Decoded path segments.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `http://127.0.0.1:PORT/`
    pub base: String,
    /// The token of `Authorization`, if one was sent.
    pub token: Option<String>,
}

impl Ctx {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object; 400 like GitHub when it is not JSON.
    pub fn json(&self) -> Result<Value, Reply> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body)
            .map_err(|_| Reply::new(400, gj::error("Problems parsing JSON")))
    }
}

/// A JSON response with extra headers.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn new(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::new(200, body)
    }

    pub fn created(body: Value) -> Reply {
        Reply::new(201, body)
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    pub fn not_found() -> Reply {
        Reply::new(404, gj::error("Not Found"))
    }

    pub fn unprocessable(resource: &str, field: &str, code: &str) -> Reply {
        Reply::new(422, gj::validation(resource, field, code))
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

pub(crate) type Handled = Result<Reply, Reply>;

/// Looks up a pre-created repository; 404 otherwise.
pub(crate) fn repo<'s>(
    st: &'s mut State,
    owner: &str,
    name: &str,
) -> Result<&'s mut RepoState, Reply> {
    let key = st.repo_key(owner, name).ok_or_else(Reply::not_found)?;
    st.repos
        .get_mut(&key)
        .filter(|r| !r.hidden)
        .ok_or_else(Reply::not_found)
}

/// Routes one authenticated request. Unknown endpoints answer 500 so that a
/// missing piece of the fake fails loudly.
pub(crate) fn dispatch(st: &mut State, cx: &Ctx) -> Reply {
    let segs: Vec<&str> = cx.segs.iter().map(String::as_str).collect();
    let m = cx.method.as_str();
    let result = match (m, segs.as_slice()) {
        ("GET", ["repos", o, r]) => get_repo(st, cx, o, r),
        ("GET", ["repos", o, r, "issues"]) => issues::list(st, cx, o, r),
        ("POST", ["repos", o, r, "issues"]) => issues::create(st, cx, o, r),
        ("GET", ["repos", o, r, "issues", "comments"]) => super::repo_comments::list(st, cx, o, r),
        ("GET" | "PATCH", ["repos", o, r, "issues", "comments", id]) => {
            issues::comment_by_id(st, cx, o, r, id)
        }
        ("GET" | "PATCH", ["repos", o, r, "issues", n]) => issues::get_or_update(st, cx, o, r, n),
        ("GET" | "POST", ["repos", o, r, "issues", n, "comments"]) => {
            issues::comments(st, cx, o, r, n)
        }
        ("GET", ["repos", o, r, "issues", n, "events"]) => events::list(st, cx, o, r, n),
        ("GET" | "POST" | "PUT" | "DELETE", ["repos", o, r, "issues", n, "labels"]) => {
            labels::issue_labels(st, cx, o, r, n, None)
        }
        ("DELETE", ["repos", o, r, "issues", n, "labels", name]) => {
            labels::issue_labels(st, cx, o, r, n, Some(name))
        }
        ("GET" | "POST", ["repos", o, r, "labels"]) => labels::labels(st, cx, o, r),
        ("GET", ["repos", o, r, "labels", name]) => labels::get_label(st, cx, o, r, name),
        ("GET" | "PUT" | "DELETE", ["repos", o, r, "contents", rest @ ..]) => {
            contents::handle(st, cx, o, r, &rest.join("/"))
        }
        ("GET" | "POST", ["repos", o, r, "security-advisories"]) => {
            advisories::repo_advisories(st, cx, o, r)
        }
        ("GET", ["orgs", org, "security-advisories"]) => advisories::list_org(st, cx, org),
        ("GET", ["search", "issues"]) => search::issues(st, cx),
        ("GET", ["user"]) => Ok(Reply::ok(gj::user(&cx.base, BOT_LOGIN))),
        ("GET", ["rate_limit"]) => Ok(rate_limit(st)),
        ("POST", ["app", "installations", id, "access_tokens"]) => mint_token(st, id),
        _ => Err(unexpected(cx)),
    };
    result.unwrap_or_else(|e| e)
}

pub(crate) fn unexpected(cx: &Ctx) -> Reply {
    Reply::new(
        500,
        gj::error(&format!("unexpected {} {}", cx.method, cx.path)),
    )
}

fn get_repo(st: &mut State, cx: &Ctx, o: &str, r: &str) -> Handled {
    let repo = repo(st, o, r)?;
    Ok(Reply::ok(gj::repository(&cx.base, repo)))
}

fn rate_limit(st: &State) -> Reply {
    let core = json!({
        "limit": st.rate.limit,
        "remaining": st.rate.remaining,
        "reset": st.rate.reset.timestamp(),
        "used": st.rate.limit.saturating_sub(st.rate.remaining),
        "resource": "core",
    });
    Reply::ok(json!({"resources": {"core": core, "search": core}, "rate": core}))
}

fn mint_token(st: &mut State, id: &str) -> Handled {
    if st.installation.is_none() || st.installation.map(|i| i.to_string()).as_deref() != Some(id) {
        return Err(Reply::not_found());
    }
    let token = format!("ghs_{}", random_alnum(36));
    st.tokens.insert(token.clone());
    st.minted.push(token.clone());
    Ok(Reply::created(json!({
        "token": token,
        "expires_at": ts(now() + chrono::Duration::hours(1)),
        "permissions": {"issues": "write", "contents": "write", "metadata": "read"},
        "repository_selection": "all",
    })))
}

/// Applies `per_page`/`page` to `items` and adds a GitHub-style `Link`
/// header (`next`/`last`, and `first`/`prev` past page one).
pub(crate) fn paginate<T>(cx: &Ctx, items: Vec<T>) -> Result<(Vec<T>, Option<String>), Reply> {
    let num = |key: &str, default: usize| -> Result<usize, Reply> {
        match cx.param(key) {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| Reply::unprocessable("Query", key, "invalid")),
        }
    };
    let per_page = num("per_page", 30)?.clamp(1, 100);
    let page = num("page", 1)?.max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let slice: Vec<T> = items.into_iter().skip(start).take(per_page).collect();
    let link_to = |p: usize| {
        let mut q: Vec<String> = cx
            .query
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        q.push(format!("page={p}"));
        format!(
            "<{}{}?{}>",
            cx.base,
            cx.path.trim_start_matches('/'),
            q.join("&")
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    Ok((slice, (!links.is_empty()).then(|| links.join(", "))))
}

/// A paginated JSON array reply.
pub(crate) fn page_reply(cx: &Ctx, items: Vec<Value>) -> Handled {
    let (items, link) = paginate(cx, items)?;
    let mut reply = Reply::ok(Value::Array(items));
    if let Some(link) = link {
        reply = reply.with_header("link", link);
    }
    Ok(reply)
}
