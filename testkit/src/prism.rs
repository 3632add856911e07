//! Stoplight Prism as a validating proxy in front of the GitHub fake: every
//! request and response is checked against GitHub's official OpenAPI
//! description (`@octokit/openapi`), offline.
//!
//! Both npm packages are installed by `scripts/install-deps.sh` into
//! `testkit/prism/node_modules` (versions pinned in
//! `testkit/prism/package.json`). Prism silently skips schemas that say
//! `nullable: true` without a `type` (issues/create's `title`, among many),
//! so [`fixed_spec`] rewrites those into `anyOf [schema, null]` first.
//!
//! ```no_run
//! # fn demo(fake_url: &str) -> anyhow::Result<()> {
//! use secintake_testkit::prism::Prism;
//! let prism = Prism::start(fake_url)?;          // ≈15 s
//! // point the client at prism.url instead of the fake
//! assert!(prism.violations().is_empty(), "{}", prism.log());
//! # Ok(()) }
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::Value;

/// `testkit/prism`, where the npm packages live.
pub fn prism_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prism")
}

fn prism_bin() -> PathBuf {
    prism_dir().join("node_modules/.bin/prism")
}

fn source_spec() -> PathBuf {
    prism_dir().join("node_modules/@octokit/openapi/generated/api.github.com.json")
}

/// Whether Prism and the GitHub description are installed.
pub fn have_prism() -> bool {
    crate::require::have_binary(prism_bin())
        && source_spec().is_file()
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Rewrites every schema with `nullable: true` and no `type` so that a
/// validator that ignores such schemas checks them: `{…, nullable}` becomes
/// `{anyOf: [{…}, {enum: [null]}]}` (or gains a `null` alternative when it
/// already is a `oneOf`/`anyOf`). Returns how many were rewritten.
pub fn fix_nullable(v: &mut Value) -> usize {
    let mut n = 0;
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                n += fix_nullable(child);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) && !map.contains_key("type") {
                map.remove("nullable");
                let null = serde_json::json!({"enum": [null]});
                if let Some(Value::Array(alts)) = map.get_mut("oneOf") {
                    alts.push(null);
                } else if let Some(Value::Array(alts)) = map.get_mut("anyOf") {
                    alts.push(null);
                } else {
                    let keep = ["description", "title", "example", "deprecated"];
                    let inner: serde_json::Map<String, Value> = map
                        .iter()
                        .filter(|(k, _)| !keep.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    map.retain(|k, _| keep.contains(&k.as_str()));
                    map.insert(
                        "anyOf".into(),
                        Value::Array(vec![Value::Object(inner), null]),
                    );
                }
                n += 1;
            }
        }
        Value::Array(items) => {
            for child in items {
                n += fix_nullable(child);
            }
        }
        _ => {}
    }
    n
}

/// Prism matches a path parameter against one segment only, but GitHub's
/// `{path}` in `/repos/{owner}/{repo}/contents/{path}` spans several
/// (`reports/ID/01-poc.py`). Adds the same operations under routes with
/// `depth` segments (`{path_1}/…/{path_N}`), schemas untouched. Returns how
/// many routes were added.
pub fn expand_contents_path(spec: &mut Value, depth: usize) -> usize {
    let template = "/repos/{owner}/{repo}/contents/{path}";
    let Some(item) = spec.get("paths").and_then(|p| p.get(template)).cloned() else {
        return 0;
    };
    let mut added = 0;
    for n in 2..=depth {
        let names: Vec<String> = (1..=n).map(|i| format!("path_{i}")).collect();
        let route = format!(
            "/repos/{{owner}}/{{repo}}/contents/{}",
            names
                .iter()
                .map(|x| format!("{{{x}}}"))
                .collect::<Vec<_>>()
                .join("/")
        );
        let mut copy = item.clone();
        if let Value::Object(ops) = &mut copy {
            for op in ops.values_mut() {
                let Some(Value::Array(params)) = op.get_mut("parameters") else {
                    continue;
                };
                let mut out = Vec::new();
                for p in params.drain(..) {
                    let is_path = p.get("name") == Some(&Value::String("path".into()))
                        && p.get("in") == Some(&Value::String("path".into()));
                    if is_path {
                        for name in &names {
                            out.push(serde_json::json!({
                                "name": name, "in": "path", "required": true,
                                "schema": {"type": "string"}
                            }));
                        }
                    } else {
                        out.push(p);
                    }
                }
                *params = out;
            }
        }
        if let Some(Value::Object(paths)) = spec.get_mut("paths") {
            paths.insert(route, copy);
            added += 1;
        }
    }
    added
}

/// The rewritten description, cached beside the packages
/// (`testkit/prism/api.github.com.fixed.json`, rebuilt when the source is newer).
pub fn fixed_spec() -> anyhow::Result<PathBuf> {
    let src = source_spec();
    // Bump the suffix when the rewrite changes, so a stale cache is not used.
    let out = prism_dir().join("api.github.com.fixed-v2.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(s), Some(o)) = (modified(&src), modified(&out)) {
        if o >= s {
            return Ok(out);
        }
    }
    let text = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
    let mut spec: Value =
        serde_json::from_slice(&text).context("parsing the OpenAPI description")?;
    let n = fix_nullable(&mut spec);
    if n == 0 {
        bail!("no nullable schemas rewritten: unexpected OpenAPI description");
    }
    if expand_contents_path(&mut spec, 4) == 0 {
        bail!("no contents route in the OpenAPI description");
    }
    // Tests may run in parallel: write aside, then rename into place.
    let tmp = out.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec(&spec)?)?;
    std::fs::rename(&tmp, &out)?;
    Ok(out)
}

/// A running `prism proxy --errors`, stopped (by PID) on drop.
pub struct Prism {
    /// `http://127.0.0.1:PORT/`
    pub url: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Prism {
    /// Starts Prism in front of `upstream` (the fake's URL) and waits until
    /// it listens (≈15 s: it parses a 13 MB description).
    pub fn start(upstream: &str) -> anyhow::Result<Prism> {
        let spec = fixed_spec()?;
        let port = crate::ports::free_port()?;
        let mut child = Command::new(prism_bin())
            .arg("proxy")
            .arg("--errors")
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--cors", "false"])
            .arg(&spec)
            .arg(upstream.trim_end_matches('/'))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting prism")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let prism = Prism {
            url: format!("http://127.0.0.1:{port}/"),
            child,
            log,
        };
        let start = Instant::now();
        loop {
            let listening = prism
                .log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|l| l.contains("Prism is listening"));
            if listening {
                return Ok(prism);
            }
            if start.elapsed() > Duration::from_secs(120) {
                bail!("prism did not start in 120 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What Prism printed since it started listening (before that it lists
    /// every route of the description: thousands of lines).
    fn lines(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let start = log
            .iter()
            .position(|l| l.contains("Prism is listening"))
            .unwrap_or(0);
        log.iter().skip(start).cloned().collect()
    }

    /// Everything Prism printed since it started listening.
    pub fn log(&self) -> String {
        self.lines().join("\n")
    }

    /// Lines reporting a request or response that does not match the
    /// description (Prism logs each violation, and with `--errors` answers
    /// the request with an error instead of the upstream's response).
    pub fn violations(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("violation") || l.contains("✖") || l.contains(" error ")
            })
            .collect()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_without_type_becomes_any_of_null() {
        let mut v = serde_json::json!({
            "properties": {
                "title": {"nullable": true, "description": "d", "oneOf": [{"type": "string"}, {"type": "integer"}]},
                "milestone": {"nullable": true, "allOf": [{"$ref": "#/x"}]},
                "plain": {"nullable": true, "type": "string"}
            }
        });
        assert_eq!(fix_nullable(&mut v), 2);
        let p = &v["properties"];
        assert_eq!(p["title"]["oneOf"][2], serde_json::json!({"enum": [null]}));
        assert!(p["title"].get("nullable").is_none());
        assert_eq!(p["milestone"]["anyOf"][0]["allOf"][0]["$ref"], "#/x");
        assert_eq!(
            p["milestone"]["anyOf"][1],
            serde_json::json!({"enum": [null]})
        );
        assert_eq!(p["plain"]["nullable"], true);
    }
}
