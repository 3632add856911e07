//! Issue bodies, comments and mail texts from minijinja templates.
//!
//! Templates live in the configured directory (`ack.txt.j2`, `issue.md.j2`,
//! `comment.md.j2`, `receipt.txt.j2`, `unreadable.txt.j2`, `reminder.md.j2`,
//! `reply.txt.j2` and one `notice-KIND.txt.j2` per `/notice` kind, see
//! [`crate::pipeline::commands`]); any that is missing
//! falls back to the copy built into the binary. Templates receive values
//! that are already sanitised: reporter text never reaches Markdown raw.

pub mod sanitize;

use std::path::Path;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

pub const TEMPLATE_NAMES: [&str; 12] = [
    "issue.md.j2",
    "comment.md.j2",
    "ack.txt.j2",
    "receipt.txt.j2",
    "unreadable.txt.j2",
    "reminder.md.j2",
    "reply.txt.j2",
    "notice-needs-info.txt.j2",
    "notice-not-accepted.txt.j2",
    "notice-cve.txt.j2",
    "notice-released.txt.j2",
    "notice-credit.txt.j2",
];

fn builtin(name: &str) -> Option<&'static str> {
    Some(match name {
        "issue.md.j2" => include_str!("../../config/templates/issue.md.j2"),
        "comment.md.j2" => include_str!("../../config/templates/comment.md.j2"),
        "ack.txt.j2" => include_str!("../../config/templates/ack.txt.j2"),
        "receipt.txt.j2" => include_str!("../../config/templates/receipt.txt.j2"),
        "unreadable.txt.j2" => include_str!("../../config/templates/unreadable.txt.j2"),
        "reminder.md.j2" => include_str!("../../config/templates/reminder.md.j2"),
        "reply.txt.j2" => include_str!("../../config/templates/reply.txt.j2"),
        "notice-needs-info.txt.j2" => {
            include_str!("../../config/templates/notice-needs-info.txt.j2")
        }
        "notice-not-accepted.txt.j2" => {
            include_str!("../../config/templates/notice-not-accepted.txt.j2")
        }
        "notice-cve.txt.j2" => include_str!("../../config/templates/notice-cve.txt.j2"),
        "notice-released.txt.j2" => include_str!("../../config/templates/notice-released.txt.j2"),
        "notice-credit.txt.j2" => include_str!("../../config/templates/notice-credit.txt.j2"),
        _ => return None,
    })
}

pub struct Templates {
    env: Environment<'static>,
}

#[derive(Debug, thiserror::Error)]
#[error("template {name}: {reason}")]
pub struct TemplateError {
    pub name: String,
    pub reason: String,
}

impl Templates {
    /// Loads every template, reporting all that fail to parse.
    pub fn load(dir: &Path) -> Result<Templates, Vec<TemplateError>> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let mut errors = Vec::new();
        for name in TEMPLATE_NAMES {
            let path = dir.join(name);
            let source = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    builtin(name).unwrap_or("").to_string()
                }
                Err(e) => {
                    errors.push(TemplateError {
                        name: path.display().to_string(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            if let Err(e) = env.add_template_owned(name, source) {
                errors.push(TemplateError {
                    name: path.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
        if errors.is_empty() {
            Ok(Templates { env })
        } else {
            Err(errors)
        }
    }

    pub fn render<S: Serialize>(&self, name: &str, ctx: &S) -> Result<String, TemplateError> {
        let err = |e: minijinja::Error| TemplateError {
            name: name.to_string(),
            reason: e.to_string(),
        };
        self.env
            .get_template(name)
            .map_err(err)?
            .render(minijinja::value::Serde(ctx))
            .map_err(err)
    }
}
