//! The channels of `[instance]` besides its own addresses: our own mailing
//! lists (`list_ids`) and the team (`team_addresses`,
//! `acknowledge_team_forwards`). How mail from them is treated is
//! [`crate::classify::lists`] and [`crate::classify::team`].

use super::reader::{Problems, Section};
use super::shared::looks_like_address;

/// Who the team is: whole addresses and whole domains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Team {
    /// Lower-case addresses (`carol@example.org`).
    pub addresses: Vec<String>,
    /// Lower-case domains, without the `@` (`jupyter.org` from
    /// `"@jupyter.org"`): every address at exactly that domain, not at its
    /// subdomains (`x@lists.jupyter.org` is not `@jupyter.org`).
    pub domains: Vec<String>,
}

impl Team {
    /// Whether `address` is a team member's.
    pub fn contains(&self, address: &str) -> bool {
        let a = address.trim().to_ascii_lowercase();
        if self.addresses.contains(&a) {
            return true;
        }
        a.rsplit_once('@')
            .is_some_and(|(_, d)| self.domains.iter().any(|t| t == d))
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.domains.is_empty()
    }
}

/// Our channels besides the instance addresses.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// List-Ids of our own mailing lists (RFC 2919), lower case, without
    /// angle brackets: `security.ipython.org`.
    pub list_ids: Vec<String>,
    pub team: Team,
    /// Whether a report a team member forwards is acknowledged to its
    /// original sender (default: no; the team member was in touch).
    pub acknowledge_team_forwards: bool,
}

/// A List-Id's identifier (RFC 2919 §2: `list-label "." list-id-namespace`,
/// a dot-atom), written bare or in angle brackets; lower-cased.
fn list_id(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(t);
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let ok = t.len() <= 255
        && t.contains('.')
        && t.split('.').all(|a| !a.is_empty() && a.chars().all(atext));
    ok.then(|| t.to_ascii_lowercase())
}

/// A team entry: an address, or `@domain` for a whole domain.
fn team_entry(text: &str, team: &mut Team) -> bool {
    let t = text.trim().to_ascii_lowercase();
    if let Some(domain) = t.strip_prefix('@') {
        let ok = domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if ok {
            team.domains.push(domain.to_string());
        }
        return ok;
    }
    let ok = looks_like_address(&t) && t.matches('@').count() == 1;
    if ok {
        team.addresses.push(t);
    }
    ok
}

impl Channels {
    /// Reads the channel keys of `[instance]` (the section is finished by
    /// the caller).
    pub(super) fn read(s: &mut Section, p: &mut Problems) -> Channels {
        let mut list_ids = Vec::new();
        for entry in s.string_list("list_ids", p).unwrap_or_default() {
            match list_id(&entry) {
                Some(id) => list_ids.push(id),
                None => {
                    p.add(
                        s.key("list_ids"),
                        "each entry must be a List-Id like security.ipython.org",
                    );
                    break;
                }
            }
        }
        let mut team = Team::default();
        for entry in s.string_list("team_addresses", p).unwrap_or_default() {
            if !team_entry(&entry, &mut team) {
                p.add(
                    s.key("team_addresses"),
                    "each entry must be an address (carol@example.org) or a whole domain (@example.org)",
                );
                break;
            }
        }
        let acknowledge_team_forwards = s.bool_or("acknowledge_team_forwards", false, p);
        Channels {
            list_ids,
            team,
            acknowledge_team_forwards,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ids_bare_or_bracketed() {
        assert_eq!(
            list_id("<Security.IPython.org>").as_deref(),
            Some("security.ipython.org")
        );
        assert_eq!(
            list_id("security.lists.jupyter.org").as_deref(),
            Some("security.lists.jupyter.org")
        );
        for bad in [
            "",
            "nodot",
            "a..b",
            "a b.org",
            "Security <security.x.org>",
            ".a.b",
        ] {
            assert_eq!(list_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn team_addresses_and_domains() {
        let mut team = Team::default();
        for e in ["Carol@Example.org", "@Jupyter.org"] {
            assert!(team_entry(e, &mut team), "{e}");
        }
        assert!(team.contains("carol@example.org"));
        assert!(team.contains("Anyone@JUPYTER.org"));
        assert!(
            !team.contains("x@lists.jupyter.org"),
            "subdomains are not the domain"
        );
        assert!(!team.contains("x@notjupyter.org"));
        assert!(!team.contains("dave@example.org"));
        for bad in [
            "@",
            "@localhost",
            "@-bad.org",
            "@a..org",
            "carol",
            "a@b@c.org",
            "@a b.org",
        ] {
            assert!(!team_entry(bad, &mut Team::default()), "{bad}");
        }
    }
}
