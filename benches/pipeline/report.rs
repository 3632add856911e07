//! The one table the benchmark prints, with the machine's state around it.

use std::fmt::Write as _;

use crate::helpers::Run;
use crate::phases::{Drain, Latency};

/// Load, cores and competing compilers at one moment.
pub struct Machine {
    pub load: String,
    pub cores: usize,
    pub compilers: usize,
}

impl Machine {
    pub fn now() -> Machine {
        let load = std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        let compilers = std::fs::read_dir("/proc")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| {
                        std::fs::read_to_string(e.path().join("comm"))
                            .is_ok_and(|c| c.trim() == "rustc")
                    })
                    .count()
            })
            .unwrap_or(0);
        Machine {
            load,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            compilers,
        }
    }
}

pub struct Table {
    pub command: String,
    pub machine_before: Machine,
    pub machine_after: Machine,
    pub minutes: f64,
    pub n: usize,
    pub floor: Run,
    pub peer: Run,
    pub backlog: Drain,
    pub latency: Latency,
    pub big: Drain,
    pub big_size: u64,
}

/// Nearest-rank percentile of seconds, in milliseconds.
fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1] * 1000.0
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

impl Table {
    pub fn render(&self) -> String {
        let mut o = String::new();
        let n = self.n as f64;
        let l = &self.latency;
        let (mb_, ma) = (&self.machine_before, &self.machine_after);
        let _ = writeln!(o, "\n## secintake pipeline benchmark\n");
        let _ = writeln!(o, "command:  {}", self.command);
        let _ = writeln!(
            o,
            "machine:  {} cores; load {} at start ({} rustc running), {} at end ({} rustc); run took {:.1} min",
            mb_.cores, mb_.load, mb_.compilers, ma.load, ma.compilers, self.minutes
        );
        let _ = writeln!(
            o,
            "\n### Latency ({} single reports, APPENDed one at a time while the daemon IDLEs)\n",
            l.issue.len()
        );
        let _ = writeln!(
            o,
            "| from APPEND to …                         |    p50 |    p95 |    p99 |"
        );
        let _ = writeln!(
            o,
            "|------------------------------------------|-------:|-------:|-------:|"
        );
        for (name, v) in [
            ("IDLE `EXISTS` at a bare client (floor)", &l.floor),
            ("issue created (GitHub fake)", &l.issue),
            ("acknowledgement accepted by SMTP", &l.ack),
        ] {
            let _ = writeln!(
                o,
                "| {name:<40} | {:>4.0} ms | {:>4.0} ms | {:>4.0} ms |",
                pct(v, 50.0),
                pct(v, 95.0),
                pct(v, 99.0)
            );
        }
        if l.floor_unseen > 0 {
            let _ = writeln!(
                o,
                "\nfloor: {} of {} reports were moved out by the daemon before Dovecot told the bare client (not announced at all); the floor is over the other {}",
                l.floor_unseen,
                l.issue.len(),
                l.floor.len()
            );
        }
        let _ = writeln!(
            o,
            "\n### Backlog ({} encrypted reports waiting: 80 % ~4 KB text, 20 % + 512 KB attachment; half RSA-4096, half Cv25519)\n",
            self.n
        );
        let _ = writeln!(o, "| run                                   | done | wall s | reports/s | CPU ms/report | wall vs floor |");
        let _ = writeln!(o, "|---------------------------------------|-----:|-------:|----------:|--------------:|--------------:|");
        let f = self.floor.wall_secs;
        let rows = [
            (
                "floor: in-process decrypt + normalise",
                self.floor.ok,
                f,
                self.floor.cpu_secs,
            ),
            (
                "secintake daemon (filed + acknowledged)",
                self.n,
                self.backlog.wall_secs,
                self.backlog.cpu_secs,
            ),
            (
                "peer: IMAP fetch + gpg --batch --decrypt",
                self.peer.ok,
                self.peer.wall_secs,
                self.peer.cpu_secs,
            ),
        ];
        for (name, done, wall, cpu) in rows {
            let _ = writeln!(
                o,
                "| {name:<37} | {done:>4} | {wall:>6.1} | {:>9.1} | {:>13.1} | {:>12.2}× |",
                n / wall,
                cpu / n * 1000.0,
                wall / f
            );
        }
        let _ = writeln!(
            o,
            "\ndaemon vs floor: {:.2}× the wall time, {:.2}× the CPU;  peer vs daemon: {:.2}× the wall time, {:.2}× the CPU",
            self.backlog.wall_secs / f,
            self.backlog.cpu_secs / self.floor.cpu_secs,
            self.peer.wall_secs / self.backlog.wall_secs,
            self.peer.cpu_secs / self.backlog.cpu_secs
        );
        let _ = writeln!(
            o,
            "GitHub requests per report in the backlog run: {:.1} ({} in all; at GitHub's 5,000 an hour per token that caps filing at {:.0} reports an hour)",
            self.backlog.github_requests as f64 / n,
            self.backlog.github_requests,
            5000.0 * n / self.backlog.github_requests.max(1) as f64
        );
        let per_endpoint: Vec<String> = self
            .backlog
            .github_endpoints
            .iter()
            .map(|(e, c)| format!("{e} {c}"))
            .collect();
        let _ = writeln!(o, "by endpoint: {}", per_endpoint.join(", "));
        let _ = writeln!(o, "\n### Peak RSS (VmHWM)\n");
        let _ = writeln!(
            o,
            "| process                                         |   peak |"
        );
        let _ = writeln!(
            o,
            "|-------------------------------------------------|-------:|"
        );
        for (name, kb) in [
            (
                "daemon, idle (started, first pass done)".to_string(),
                l.idle_rss_kb,
            ),
            (
                format!("daemon, {} -report backlog", self.n),
                self.backlog.peak_rss_kb,
            ),
            (
                format!("daemon, one {:.1} MB report", self.big_size as f64 / 1e6),
                self.big.peak_rss_kb,
            ),
            (
                format!("daemon, after {} latency reports", l.issue.len() + 1),
                l.rss_after_kb,
            ),
            (
                "floor process (same backlog)".to_string(),
                self.floor.peak_rss_kb,
            ),
        ] {
            let _ = writeln!(o, "| {name:<47} | {:>6} |", mb(kb));
        }
        let _ = writeln!(
            o,
            "\none {:.1} MB report: {:.1} s from APPEND to filed and acknowledged, {:.2} CPU s (incl. start-up)",
            self.big_size as f64 / 1e6,
            self.big.wall_secs,
            self.big.cpu_secs
        );
        o
    }
}
