//! The lifecycle commands: they change what secintake mirrors of a
//! report ([`crate::lifecycle`]) and send no mail. Their rows are in
//! [`super::COMMANDS`].

use chrono::NaiveDate;

use super::{cve_id, error, ParseError};
use crate::lifecycle::ghsa_id;

/// Longest credit line `/credit` takes.
const MAX_CREDIT: usize = 120;

/// A change to a report's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    Accept,
    Reject,
    Duplicate { of: u64 },
    DiscloseBy { date: NaiveDate },
    ReleaseDate { date: NaiveDate },
    AnnounceDate { date: NaiveDate },
    Ghsa { id: String },
    Cve { id: String },
    Credit { name: String },
}

impl Change {
    /// The command's name (`accept`, `disclose-by`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Change::Accept => "accept",
            Change::Reject => "reject",
            Change::Duplicate { .. } => "duplicate",
            Change::DiscloseBy { .. } => "disclose-by",
            Change::ReleaseDate { .. } => "release-date",
            Change::AnnounceDate { .. } => "announce-date",
            Change::Ghsa { .. } => "ghsa",
            Change::Cve { .. } => "cve",
            Change::Credit { .. } => "credit",
        }
    }
}

fn date(name: &str, args: &[&str]) -> Result<NaiveDate, ParseError> {
    match args {
        [one] => NaiveDate::parse_from_str(one, "%Y-%m-%d")
            .map_err(|_| error(name, "the date must be YYYY-MM-DD, e.g. 2027-03-01")),
        _ => Err(error(name, "takes exactly one date, YYYY-MM-DD")),
    }
}

fn no_args(name: &str, args: &[&str], c: Change) -> Result<Change, ParseError> {
    if args.is_empty() {
        Ok(c)
    } else {
        Err(error(name, format!("/{name} takes no arguments")))
    }
}

/// The lifecycle command `name` with `args` (the first line's other
/// words) and `line` (the first line after the name, for `/credit`).
/// None: `name` is no lifecycle command.
pub fn parse(name: &str, args: &[&str], line: &str) -> Option<Result<Change, ParseError>> {
    let c = match name {
        "accept" => no_args(name, args, Change::Accept),
        "reject" => no_args(name, args, Change::Reject),
        "duplicate" => match args {
            [n] => n
                .trim_start_matches('#')
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|of| Change::Duplicate { of })
                .ok_or_else(|| error(name, "the issue must be a number, e.g. #42")),
            _ => Err(error(name, "takes exactly one issue number, e.g. #42")),
        },
        "disclose-by" => date(name, args).map(|date| Change::DiscloseBy { date }),
        "release-date" => date(name, args).map(|date| Change::ReleaseDate { date }),
        "announce-date" => date(name, args).map(|date| Change::AnnounceDate { date }),
        "ghsa" => match args {
            [one] => ghsa_id(one.rsplit('/').next().unwrap_or(one))
                .map(|id| Change::Ghsa { id })
                .ok_or_else(|| error(name, "the advisory ID must look like GHSA-xxxx-xxxx-xxxx")),
            _ => Err(error(name, "takes exactly one advisory ID (or its URL)")),
        },
        "cve" => match args {
            [one] => cve_id(one)
                .map(|id| Change::Cve { id })
                .ok_or_else(|| error(name, "the CVE ID must look like CVE-2026-12345")),
            _ => Err(error(name, "takes exactly one CVE ID")),
        },
        "credit" => {
            let credit = line.trim().trim_matches('"').trim();
            if credit.is_empty() {
                Err(error(
                    name,
                    "say how to credit the reporter, e.g. /credit \"Ada Lovelace (ada)\"",
                ))
            } else if credit.chars().count() > MAX_CREDIT {
                Err(error(
                    name,
                    format!("a credit line is at most {MAX_CREDIT} characters"),
                ))
            } else {
                Ok(Change::Credit {
                    name: credit.to_string(),
                })
            }
        }
        _ => return None,
    };
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::super::{parse, Command};
    use super::*;

    fn change(body: &str) -> Change {
        match parse(body) {
            Some(Ok(p)) => match p.command {
                Command::Change(c) => c,
                other => panic!("{body:?} is {other:?}"),
            },
            other => panic!("{body:?} gave {other:?}"),
        }
    }

    fn problem(body: &str) -> String {
        match parse(body) {
            Some(Err(e)) => format!("{}; usage: {}", e.problem, e.usage),
            other => panic!("{body:?} gave {other:?}"),
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn lifecycle_commands_and_their_arguments() {
        assert_eq!(change("/accept"), Change::Accept);
        assert_eq!(
            change("/REJECT\nnot a vulnerability: needs local access"),
            Change::Reject
        );
        assert_eq!(change("/duplicate #42"), Change::Duplicate { of: 42 });
        assert_eq!(change("/duplicate 7"), Change::Duplicate { of: 7 });
        assert_eq!(
            change("/disclose-by 2027-03-01"),
            Change::DiscloseBy {
                date: day("2027-03-01")
            }
        );
        assert_eq!(
            change("/release-date 2027-02-10"),
            Change::ReleaseDate {
                date: day("2027-02-10")
            }
        );
        assert_eq!(
            change("/announce-date 2027-02-11"),
            Change::AnnounceDate {
                date: day("2027-02-11")
            }
        );
        assert_eq!(
            change(
                "/ghsa https://github.com/jupyter/notebook/security/advisories/GHSA-ABCD-23fg-hj45"
            ),
            Change::Ghsa {
                id: "GHSA-abcd-23fg-hj45".into()
            }
        );
        assert_eq!(
            change("/cve cve-2026-31337"),
            Change::Cve {
                id: "CVE-2026-31337".into()
            }
        );
        assert_eq!(
            change("/credit \"Ada Lovelace (ada)\"\nshe agreed by mail"),
            Change::Credit {
                name: "Ada Lovelace (ada)".into()
            }
        );
        assert!(!Command::Change(Change::Accept).mails());
    }

    #[test]
    fn bad_arguments_explain_the_syntax() {
        assert!(problem("/accept now").contains("takes no arguments; usage: /accept"));
        assert!(problem("/duplicate").contains("usage: /duplicate #N"));
        assert!(problem("/duplicate #x").contains("must be a number"));
        assert!(problem("/disclose-by 03/01/2027").contains("must be YYYY-MM-DD"));
        assert!(problem("/disclose-by 03/01/2027").contains("usage: /disclose-by YYYY-MM-DD"));
        assert!(problem("/disclose-by 2027-02-30").contains("YYYY-MM-DD"));
        assert!(problem("/ghsa GHSA-1").contains("GHSA-xxxx-xxxx-xxxx"));
        assert!(problem("/cve 2026-1").contains("CVE-2026-12345"));
        assert!(problem("/credit").contains("say how to credit"));
        assert!(problem(&format!("/credit {}", "x".repeat(200))).contains("at most 120"));
    }
}
