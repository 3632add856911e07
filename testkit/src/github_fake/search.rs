//! `GET /search/issues`: a small subset of GitHub's issue search syntax.

use std::time::Instant;

use serde_json::{json, Value};

use super::json as gj;
use super::routes::{paginate, Ctx, Handled, Reply};
use super::state::{IssueRec, State};

#[derive(Default)]
struct Query {
    repos: Vec<String>,
    terms: Vec<String>,
    in_title: bool,
    in_body: bool,
    in_comments: bool,
    want_open: Option<bool>,
    pulls_only: bool,
    labels: Vec<String>,
    author: Option<String>,
}

/// Splits on whitespace, keeping `"quoted phrases"` (and `key:"x y"`) whole.
fn tokenize(q: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in q.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), was_quoted));
                }
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push((cur, was_quoted));
    }
    out
}

fn parse(q: &str) -> Query {
    let mut query = Query::default();
    for (tok, quoted) in tokenize(q) {
        let qualifier = tok.split_once(':').filter(|(k, _)| {
            !quoted
                && matches!(
                    k.to_ascii_lowercase().as_str(),
                    "repo" | "in" | "is" | "type" | "state" | "label" | "author"
                )
        });
        let Some((key, value)) = qualifier else {
            query.terms.push(tok.to_lowercase());
            continue;
        };
        let value_lc = value.to_ascii_lowercase();
        match (key.to_ascii_lowercase().as_str(), value_lc.as_str()) {
            ("repo", _) => query.repos.push(value.to_string()),
            ("in", fields) => {
                for f in fields.split(',') {
                    match f {
                        "title" => query.in_title = true,
                        "body" => query.in_body = true,
                        "comments" => query.in_comments = true,
                        _ => {}
                    }
                }
            }
            ("is" | "type", "pr" | "pull-request") => query.pulls_only = true,
            ("is" | "state", "open") => query.want_open = Some(true),
            ("is" | "state", "closed") => query.want_open = Some(false),
            ("label", _) => query.labels.push(value.to_string()),
            ("author", _) => query.author = Some(value.to_string()),
            _ => {}
        }
    }
    if !(query.in_title || query.in_body || query.in_comments) {
        query.in_title = true;
        query.in_body = true;
    }
    query
}

fn matches(q: &Query, i: &IssueRec) -> bool {
    if q.pulls_only || q.want_open.is_some_and(|o| o != i.open) {
        return false;
    }
    if q.author
        .as_ref()
        .is_some_and(|a| !a.eq_ignore_ascii_case(&i.user))
    {
        return false;
    }
    if !q
        .labels
        .iter()
        .all(|w| i.labels.iter().any(|l| l.eq_ignore_ascii_case(w)))
    {
        return false;
    }
    let mut hay = String::new();
    if q.in_title {
        hay.push_str(&i.title.to_lowercase());
        hay.push('\n');
    }
    if q.in_body {
        hay.push_str(&i.body.clone().unwrap_or_default().to_lowercase());
        hay.push('\n');
    }
    if q.in_comments {
        for c in &i.comments {
            hay.push_str(&c.body.to_lowercase());
            hay.push('\n');
        }
    }
    q.terms.iter().all(|t| hay.contains(t.as_str()))
}

pub(crate) fn issues(st: &mut State, cx: &Ctx) -> Handled {
    let q = cx.param("q").unwrap_or("").trim();
    if q.is_empty() {
        return Err(Reply::unprocessable("Search", "q", "missing"));
    }
    let query = parse(q);
    let mut keys = Vec::new();
    for r in &query.repos {
        let (o, n) = r.split_once('/').unwrap_or((r, ""));
        match st
            .repo_key(o, n)
            .filter(|k| st.repos.get(k).is_some_and(|r| !r.hidden))
        {
            Some(k) => keys.push(k),
            None => {
                return Err(Reply::new(
                    422,
                    json!({
                        "message": "Validation Failed",
                        "errors": [{
                            "message": "The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.",
                            "resource": "Search", "field": "q", "code": "invalid",
                        }],
                        "documentation_url": "https://docs.github.com/rest/search/search#search-issues-and-pull-requests",
                    }),
                ))
            }
        }
    }
    if keys.is_empty() {
        keys = st
            .repos
            .iter()
            .filter(|(_, r)| !r.hidden)
            .map(|(k, _)| k.clone())
            .collect();
    }
    let lag = st.search_lag;
    let now = Instant::now();
    let mut hits: Vec<(&super::state::RepoState, &IssueRec)> = keys
        .iter()
        .filter_map(|k| st.repos.get(k))
        .flat_map(|repo| repo.issues.iter().map(move |i| (repo, i)))
        .filter(|(_, i)| now.duration_since(i.created_instant) >= lag)
        .filter(|(_, i)| matches(&query, i))
        .collect();
    match cx.param("sort") {
        Some("updated") => hits.sort_by_key(|(_, i)| (i.updated_at, i.number)),
        Some("comments") => hits.sort_by_key(|(_, i)| (i.comments.len(), i.number)),
        _ => hits.sort_by_key(|(_, i)| (i.created_at, i.number)),
    }
    if cx.param("order") != Some("asc") {
        hits.reverse();
    }
    let total = hits.len();
    let items: Vec<Value> = hits
        .iter()
        .map(|(repo, i)| {
            let mut v = gj::issue(&cx.base, repo, i);
            v["score"] = json!(1.0);
            v
        })
        .collect();
    let (items, link) = paginate(cx, items)?;
    let mut reply = Reply::ok(json!({
        "total_count": total,
        "incomplete_results": false,
        "search_type": "lexical",
        "items": items,
    }));
    if let Some(link) = link {
        reply = reply.with_header("link", link);
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qualifiers_and_quoted_terms() {
        let q = parse(
            r#"repo:jupyter/security-reports in:body is:issue "secintake:JUPSEC-2026-0001" extra"#,
        );
        assert_eq!(q.repos, vec!["jupyter/security-reports"]);
        assert_eq!(q.terms, vec!["secintake:jupsec-2026-0001", "extra"]);
        assert!(q.in_body && !q.in_title);
        let q = parse("secintake:JUPSEC-1");
        assert_eq!(q.terms, vec!["secintake:jupsec-1"]);
    }
}
