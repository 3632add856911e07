//! Repository labels and the labels of an issue.

use serde_json::Value;

use super::issues::parse_number;
use super::json as gj;
use super::routes::{page_reply, repo, Ctx, Handled, Reply};
use super::state::{next_id, now, LabelRec, RepoState, State};

const DEFAULT_COLOR: &str = "ededed";

/// Label names from `["a", "b"]` or `[{"name": "a"}]`; 422 otherwise.
pub(crate) fn names_of(v: &Value) -> Result<Vec<String>, Reply> {
    let bad = || Reply::unprocessable("Label", "labels", "invalid");
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|l| match l {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(bad),
            _ => Err(bad()),
        })
        .collect()
}

/// Creates missing labels like GitHub does and returns the canonical names.
pub(crate) fn ensure_labels(repo: &mut RepoState, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let idx = match repo.label_index(name) {
            Some(i) => i,
            None => {
                repo.labels.push(LabelRec {
                    id: next_id(),
                    name: name.clone(),
                    color: DEFAULT_COLOR.to_string(),
                    description: None,
                });
                repo.labels.len() - 1
            }
        };
        let canonical = repo.labels[idx].name.clone();
        if !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    out
}

pub(crate) fn issue_labels(
    st: &mut State,
    cx: &Ctx,
    o: &str,
    r: &str,
    n: &str,
    remove: Option<&str>,
) -> Handled {
    let number = parse_number(n)?;
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    repo.issue_mut(number).ok_or_else(Reply::not_found)?;
    let given = match cx.method.as_str() {
        "POST" | "PUT" => {
            let v = body.get("labels").unwrap_or(&body);
            ensure_labels(repo, &names_of(v)?)
        }
        _ => Vec::new(),
    };
    let issue = repo.issue_mut(number).expect("checked above");
    match (cx.method.as_str(), remove) {
        ("POST", _) => {
            for l in given {
                if !issue.labels.contains(&l) {
                    issue.labels.push(l);
                }
            }
        }
        ("PUT", _) => issue.labels = given,
        ("DELETE", None) => issue.labels.clear(),
        ("DELETE", Some(name)) => {
            let before = issue.labels.len();
            issue.labels.retain(|l| !l.eq_ignore_ascii_case(name));
            if issue.labels.len() == before {
                return Err(Reply::new(404, gj::error("Label does not exist")));
            }
        }
        _ => {}
    }
    if cx.method != "GET" {
        issue.updated_at = now();
    }
    if cx.method == "DELETE" && remove.is_none() {
        return Ok(Reply::empty(204));
    }
    let issue = repo
        .issues
        .iter()
        .find(|i| i.number == number)
        .expect("exists");
    Ok(Reply::ok(gj::labels_of(&cx.base, repo, issue)))
}

pub(crate) fn labels(st: &mut State, cx: &Ctx, o: &str, r: &str) -> Handled {
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    if cx.method == "GET" {
        let items = repo
            .labels
            .iter()
            .map(|l| gj::label(&cx.base, repo, l))
            .collect();
        return page_reply(cx, items);
    }
    let name = match body.get("name").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => return Err(Reply::unprocessable("Label", "name", "missing_field")),
    };
    if repo.label_index(&name).is_some() {
        return Err(Reply::unprocessable("Label", "name", "already_exists"));
    }
    let color = body
        .get("color")
        .and_then(Value::as_str)
        .map(|c| c.trim_start_matches('#').to_ascii_lowercase())
        .unwrap_or_else(|| DEFAULT_COLOR.to_string());
    if color.len() != 6 || !color.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Reply::unprocessable("Label", "color", "invalid"));
    }
    let label = LabelRec {
        id: next_id(),
        name,
        color,
        description: body
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let v = gj::label(&cx.base, repo, &label);
    repo.labels.push(label);
    Ok(Reply::created(v))
}

pub(crate) fn get_label(st: &mut State, cx: &Ctx, o: &str, r: &str, name: &str) -> Handled {
    let repo = repo(st, o, r)?;
    let i = repo.label_index(name).ok_or_else(Reply::not_found)?;
    Ok(Reply::ok(gj::label(&cx.base, repo, &repo.labels[i])))
}
