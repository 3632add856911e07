//! `[instance]`: who we are (tracking prefix, our addresses, our own
//! mailing lists and team, [`super::Channels`]) and where the state lives.

use std::path::PathBuf;

use super::channels::Channels;
use super::reader::{Problems, Section};
use super::shared::looks_like_address;

#[derive(Debug, Clone)]
pub struct Instance {
    /// Tracking IDs look like `<PREFIX>-<YEAR>-<NNNN>`.
    pub tracking_prefix: String,
    /// Our own addresses: never acknowledged, used for loop protection.
    pub addresses: Vec<String>,
    pub state_dir: PathBuf,
    /// `list_ids`, `team_addresses`, `acknowledge_team_forwards`.
    pub channels: Channels,
}

impl Instance {
    pub(super) fn read(mut s: Section, p: &mut Problems) -> Option<Instance> {
        if !s.required(p) {
            return None;
        }
        let prefix = s.string("tracking_prefix", p);
        if let Some(prefix) = &prefix {
            let ok = !prefix.is_empty()
                && prefix.len() <= 16
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !ok {
                p.add(
                    s.key("tracking_prefix"),
                    "must be 1 to 16 upper-case letters or digits",
                );
            }
        }
        let addresses = s.string_list("addresses", p);
        match &addresses {
            Some(list) if list.is_empty() => {
                p.add(s.key("addresses"), "must name at least one address")
            }
            Some(list) => {
                for a in list {
                    if !looks_like_address(a) {
                        p.add(
                            s.key("addresses"),
                            "each entry must be an address like security@example.org",
                        );
                        break;
                    }
                }
            }
            None if !s.has("addresses") => p.add(s.key("addresses"), "is required"),
            None => {}
        }
        let state_dir = s.string("state_dir", p).map(PathBuf::from);
        let channels = Channels::read(&mut s, p);
        s.finish(p);
        Some(Instance {
            tracking_prefix: prefix?,
            addresses: addresses?.iter().map(|a| a.to_ascii_lowercase()).collect(),
            state_dir: state_dir?,
            channels,
        })
    }
}
