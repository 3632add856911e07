//! The reporter's recorded consent to be credited, kept beside the
//! records in the store's meta space (`credit/<TRACKING_ID>`): how they
//! want to be named and, when they have one and gave it, their GitHub
//! login (a GitHub advisory credits logins only). Written when a
//! coordinator records the reporter's answer (the lifecycle's `/credit`
//! command); read by `/ghsa draft`, which credits nobody without it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::{meta, Store, StoreError};

const PREFIX: &str = "credit/";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Consent {
    /// The name the reporter asked for.
    pub name: String,
    /// Their GitHub login, when they gave one.
    pub github_login: Option<String>,
    pub agreed_at: DateTime<Utc>,
}

impl Consent {
    /// The consent a `/credit "Name (handle)"` line records: the GitHub
    /// login is the handle in the last parentheses, when it is one.
    pub fn from_credit_line(line: &str, at: DateTime<Utc>) -> Consent {
        let handle = line
            .rsplit_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(h, _)| h.trim().trim_start_matches('@'))
            .filter(|h| {
                (1..=39).contains(&h.len())
                    && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !h.starts_with('-')
            });
        Consent {
            name: line.trim().to_string(),
            github_login: handle.map(str::to_string),
            agreed_at: at,
        }
    }

    pub fn load(store: &dyn Store, tracking_id: &str) -> Result<Option<Consent>, StoreError> {
        meta::load(store, &format!("{PREFIX}{tracking_id}"))
    }

    pub fn save(&self, store: &dyn Store, tracking_id: &str) -> Result<(), StoreError> {
        meta::save(store, &format!("{PREFIX}{tracking_id}"), self, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_in_parentheses_is_the_login() {
        let at = Utc::now();
        let c = Consent::from_credit_line("Ada Lovelace (@ada-l)", at);
        assert_eq!(c.github_login.as_deref(), Some("ada-l"));
        assert_eq!(c.name, "Ada Lovelace (@ada-l)");
        assert_eq!(
            Consent::from_credit_line("Ada Lovelace", at).github_login,
            None
        );
        assert_eq!(
            Consent::from_credit_line("Ada (not a login!)", at).github_login,
            None
        );
    }
}
