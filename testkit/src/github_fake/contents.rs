//! The repository contents API: files kept per repository in memory.

use serde_json::{json, Value};

use super::codec::{base64_decode, git_blob_sha, sha1_hex};
use super::json as gj;
use super::routes::{repo, Ctx, Handled, Reply};
use super::state::{now, FileRec};

pub(crate) fn handle(
    st: &mut super::state::State,
    cx: &Ctx,
    o: &str,
    r: &str,
    path: &str,
) -> Handled {
    let body = cx.json()?;
    let repo = repo(st, o, r)?;
    let path = path.trim_matches('/').to_string();
    match cx.method.as_str() {
        "GET" => {
            if let Some(f) = repo.files.get(&path) {
                return Ok(Reply::ok(gj::content(&cx.base, repo, &path, f, true)));
            }
            // A directory: list its direct children.
            let prefix = if path.is_empty() {
                String::new()
            } else {
                format!("{path}/")
            };
            let mut entries: Vec<Value> = Vec::new();
            let mut dirs: Vec<String> = Vec::new();
            for (p, f) in repo.files.iter().filter(|(p, _)| p.starts_with(&prefix)) {
                match p[prefix.len()..].split_once('/') {
                    None => entries.push(gj::content(&cx.base, repo, p, f, false)),
                    Some((dir, _)) => {
                        let d = format!("{prefix}{dir}");
                        if !dirs.contains(&d) {
                            dirs.push(d);
                        }
                    }
                }
            }
            if entries.is_empty() && dirs.is_empty() && !path.is_empty() {
                return Err(Reply::not_found());
            }
            entries.extend(dirs.iter().map(|d| gj::dir_entry(&cx.base, repo, d)));
            Ok(Reply::ok(Value::Array(entries)))
        }
        "PUT" => {
            if path.is_empty() {
                return Err(Reply::not_found());
            }
            let message = match body.get("message").and_then(Value::as_str) {
                Some(m) => m.to_string(),
                None => return Err(invalid("\"message\" wasn't supplied.")),
            };
            let content = body
                .get("content")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("\"content\" wasn't supplied."))?;
            let data =
                base64_decode(content).ok_or_else(|| invalid("content is not valid Base64"))?;
            let given_sha = body.get("sha").and_then(Value::as_str);
            let existed = match (repo.files.get(&path), given_sha) {
                (Some(_), None) => return Err(invalid("\"sha\" wasn't supplied.")),
                (Some(f), Some(s)) if f.sha != s => {
                    return Err(Reply::new(
                        409,
                        gj::error(&format!("{path} does not match {s}")),
                    ));
                }
                (Some(_), Some(_)) => true,
                (None, _) => false,
            };
            let file = FileRec {
                sha: git_blob_sha(&data),
                content: data,
            };
            let commit_sha = sha1_hex(format!("{path}{}{}", file.sha, now()).as_bytes());
            let out = json!({
                "content": gj::content(&cx.base, repo, &path, &file, false),
                "commit": gj::commit(&cx.base, repo, &commit_sha, &message),
            });
            repo.files.insert(path, file);
            Ok(Reply::new(if existed { 200 } else { 201 }, out))
        }
        _ => {
            let f = repo.files.get(&path).ok_or_else(Reply::not_found)?;
            let message = body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match body.get("sha").and_then(Value::as_str) {
                None => return Err(invalid("\"sha\" wasn't supplied.")),
                Some(s) if s != f.sha => {
                    return Err(Reply::new(
                        409,
                        gj::error(&format!("{path} does not match {s}")),
                    ));
                }
                Some(_) => {}
            }
            let commit_sha = sha1_hex(format!("delete{path}{}", now()).as_bytes());
            let out = json!({
                "content": null,
                "commit": gj::commit(&cx.base, repo, &commit_sha, message),
            });
            repo.files.remove(&path);
            Ok(Reply::ok(out))
        }
    }
}

fn invalid(why: &str) -> Reply {
    Reply::new(422, gj::error(&format!("Invalid request.\n\n{why}")))
}
