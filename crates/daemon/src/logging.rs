//! Logging with libvirt's settings: `log_level`, `log_filters` ("3:util 1:rpc") and
//! `log_outputs` ("1:file:/path 3:stderr 3:journald 3:syslog:ident"), changeable at run time
//! (the admin interface calls [`Logging::set_outputs`] / [`Logging::set_filters`]).
//!
//! A tracing [`Layer`] decides per event: the first filter whose match is a substring of the
//! event's target gives the threshold, else the default level; then every output whose own
//! level admits the event gets one line.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex, RwLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// libvirt priorities: 1 debug, 2 info, 3 warning, 4 error.
pub type Priority = u8;

/// Settings errors, reported as libvirt reports them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("Failed to parse value of logging output '{0}'")]
    BadOutput(String),
    #[error("Failed to parse value of logging filter '{0}'")]
    BadFilter(String),
    #[error("Failed to set logging priority, argument '{0}' is invalid")]
    BadLevel(u32),
    #[error("Failed to open log file '{0}': {1}")]
    Open(String, String),
}

#[derive(Debug)]
enum Sink {
    Stderr,
    File(Mutex<std::fs::File>),
    Journald(std::os::unix::net::UnixDatagram),
    Syslog(std::os::unix::net::UnixDatagram, String),
}

#[derive(Debug)]
struct Output {
    prio: Priority,
    spec: String,
    sink: Sink,
}

/// One `PRIO:[+]MATCH` filter (libvirt 9.0 accepts the old `+` stack-trace flag and ignores it).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    prio: Priority,
    matches: String,
}

#[derive(Debug)]
struct Settings {
    default: Priority,
    filters: Vec<Filter>,
    outputs: Vec<Output>,
}

/// Handle to the process's logging settings.
#[derive(Debug, Clone)]
pub struct Logging {
    inner: Arc<RwLock<Settings>>,
    ident: String,
}

fn prio_name(p: Priority) -> &'static str {
    match p {
        1 => "debug",
        2 => "info",
        3 => "warning",
        _ => "error",
    }
}

fn level_prio(l: &Level) -> Priority {
    match *l {
        Level::TRACE | Level::DEBUG => 1,
        Level::INFO => 2,
        Level::WARN => 3,
        Level::ERROR => 4,
    }
}

fn parse_prio(s: &str) -> Option<Priority> {
    match s.parse::<u8>() {
        Ok(p @ 1..=4) => Some(p),
        _ => None,
    }
}

fn parse_filters(text: &str) -> Result<Vec<Filter>, LogError> {
    text.split_whitespace()
        .map(|f| {
            let (p, m) = f
                .split_once(':')
                .ok_or_else(|| LogError::BadFilter(f.into()))?;
            let p = parse_prio(p).ok_or_else(|| LogError::BadFilter(f.into()))?;
            let m = m.strip_prefix('+').unwrap_or(m);
            if m.is_empty() {
                return Err(LogError::BadFilter(f.into()));
            }
            Ok(Filter {
                prio: p,
                matches: m.to_string(),
            })
        })
        .collect()
}

fn parse_outputs(text: &str, ident: &str) -> Result<Vec<Output>, LogError> {
    text.split_whitespace()
        .map(|o| {
            let mut parts = o.splitn(3, ':');
            let prio = parts
                .next()
                .and_then(parse_prio)
                .ok_or_else(|| LogError::BadOutput(o.into()))?;
            let kind = parts.next().ok_or_else(|| LogError::BadOutput(o.into()))?;
            let arg = parts.next();
            let sink = match (kind, arg) {
                ("stderr", None) => Sink::Stderr,
                ("file", Some(path)) if path.starts_with('/') => {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| LogError::Open(path.into(), e.to_string()))?;
                    Sink::File(Mutex::new(f))
                }
                ("journald", None) => {
                    let s = std::os::unix::net::UnixDatagram::unbound()
                        .map_err(|e| LogError::Open("journald".into(), e.to_string()))?;
                    Sink::Journald(s)
                }
                ("syslog", Some(id)) if !id.is_empty() => {
                    let s = std::os::unix::net::UnixDatagram::unbound()
                        .map_err(|e| LogError::Open("syslog".into(), e.to_string()))?;
                    Sink::Syslog(s, id.to_string())
                }
                _ => return Err(LogError::BadOutput(o.into())),
            };
            let _ = ident;
            Ok(Output {
                prio,
                spec: o.to_string(),
                sink,
            })
        })
        .collect()
}

/// Where logs go when `log_outputs` is not set (libvirt's rule): stderr in the foreground;
/// daemonised, the journal if its socket exists, else a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultOutput {
    Stderr,
    Journald,
    File(std::path::PathBuf),
}

impl DefaultOutput {
    /// The default for a daemon: `daemonized` with `--daemon`; `log_file` is
    /// `/var/log/libvirt/<daemon>.log` (system) or `$XDG_CACHE_HOME/libvirt/<daemon>.log`.
    pub fn choose(
        daemonized: bool,
        journal_socket: &std::path::Path,
        log_file: std::path::PathBuf,
    ) -> Self {
        if !daemonized {
            DefaultOutput::Stderr
        } else if journal_socket.exists() {
            DefaultOutput::Journald
        } else {
            DefaultOutput::File(log_file)
        }
    }

    fn spec(&self, level: Priority) -> String {
        match self {
            DefaultOutput::Stderr => format!("{level}:stderr"),
            // libvirt caps debug at info for the journal (rate limiting).
            DefaultOutput::Journald => format!("{}:journald", level.max(2)),
            DefaultOutput::File(p) => {
                if let Some(dir) = p.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                format!("{level}:file:{}", p.display())
            }
        }
    }
}

impl Logging {
    /// Settings from the config (and environment, which wins: `LIBVIRT_DEBUG`,
    /// `LIBVIRT_LOG_FILTERS`, `LIBVIRT_LOG_OUTPUTS`), then `--verbose`.
    pub fn new(
        ident: &str,
        level: u32,
        filters: Option<&str>,
        outputs: Option<&str>,
        verbose: bool,
    ) -> Result<Logging, LogError> {
        Self::with_default(
            ident,
            level,
            filters,
            outputs,
            verbose,
            DefaultOutput::Stderr,
        )
    }

    /// As [`Logging::new`], with the output used when none is configured.
    pub fn with_default(
        ident: &str,
        level: u32,
        filters: Option<&str>,
        outputs: Option<&str>,
        verbose: bool,
        fallback: DefaultOutput,
    ) -> Result<Logging, LogError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut default: Priority = match level {
            0 => 3,
            1..=4 => level as u8,
            l => return Err(LogError::BadLevel(l)),
        };
        if let Some(d) = env("LIBVIRT_DEBUG") {
            default = parse_prio(&d).unwrap_or(1);
        }
        if verbose && default > 2 {
            default = 2;
        }
        let filters_text = env("LIBVIRT_LOG_FILTERS")
            .or(filters.map(str::to_string))
            .unwrap_or_default();
        let outputs_text = env("LIBVIRT_LOG_OUTPUTS")
            .or(outputs.map(str::to_string))
            .unwrap_or_else(|| fallback.spec(default));
        let settings = Settings {
            default,
            filters: parse_filters(&filters_text)?,
            outputs: parse_outputs(&outputs_text, ident)?,
        };
        Ok(Logging {
            inner: Arc::new(RwLock::new(settings)),
            ident: ident.to_string(),
        })
    }

    /// Install as the global tracing subscriber.
    pub fn install(&self) {
        use tracing_subscriber::prelude::*;
        let layer = LogLayer {
            logging: self.clone(),
        };
        let _ = tracing_subscriber::registry().with(layer).try_init();
    }

    /// Replace the outputs ("" restores the default output).
    pub fn set_outputs(&self, text: &str) -> Result<(), LogError> {
        let mut s = self.inner.write().unwrap();
        let text = if text.trim().is_empty() {
            format!("{}:stderr", s.default)
        } else {
            text.to_string()
        };
        s.outputs = parse_outputs(&text, &self.ident)?;
        Ok(())
    }

    /// Replace the filters ("" clears them).
    pub fn set_filters(&self, text: &str) -> Result<(), LogError> {
        let f = parse_filters(text)?;
        let mut s = self.inner.write().unwrap();
        s.filters = f;
        Ok(())
    }

    /// The outputs as libvirt formats them, and their number.
    pub fn outputs(&self) -> (String, u32) {
        let s = self.inner.read().unwrap();
        let v: Vec<&str> = s.outputs.iter().map(|o| o.spec.as_str()).collect();
        (v.join(" "), v.len() as u32)
    }

    /// The filters as libvirt 9.0 reports them (each match wrapped in `*` as libvirt stores it
    /// for fnmatch, every filter followed by a space, no `+`), and their number.
    pub fn filters(&self) -> (String, u32) {
        let s = self.inner.read().unwrap();
        let mut out = String::new();
        for f in &s.filters {
            out.push_str(&format!("{}:*{}* ", f.prio, f.matches));
        }
        (out, s.filters.len() as u32)
    }

    fn enabled(&self, target: &str, prio: Priority) -> bool {
        let s = self.inner.read().unwrap();
        let threshold = s
            .filters
            .iter()
            .find(|f| target.contains(f.matches.as_str()))
            .map(|f| f.prio)
            .unwrap_or(s.default);
        prio >= threshold && s.outputs.iter().any(|o| prio >= o.prio)
    }

    fn emit(&self, target: &str, prio: Priority, msg: &str) {
        let s = self.inner.read().unwrap();
        let line = format!(
            "{}: {}: {} : {}: {}\n",
            timestamp(),
            std::process::id(),
            prio_name(prio),
            target,
            msg
        );
        for o in s.outputs.iter().filter(|o| prio >= o.prio) {
            match &o.sink {
                Sink::Stderr => {
                    let _ = std::io::stderr().write_all(line.as_bytes());
                }
                Sink::File(f) => {
                    let _ = f.lock().unwrap().write_all(line.as_bytes());
                }
                Sink::Journald(sock) => {
                    let pri = match prio {
                        1 => 7,
                        2 => 6,
                        3 => 4,
                        _ => 3,
                    };
                    let rec = format!(
                        "MESSAGE={msg}\nPRIORITY={pri}\nSYSLOG_IDENTIFIER={}\nLIBVIRT_SOURCE={target}\n",
                        self.ident
                    );
                    let _ = sock.send_to(rec.as_bytes(), "/run/systemd/journal/socket");
                }
                Sink::Syslog(sock, ident) => {
                    let pri = 3 * 8
                        + match prio {
                            1 => 7,
                            2 => 6,
                            3 => 4,
                            _ => 3,
                        };
                    let rec = format!("<{pri}>{ident}[{}]: {msg}", std::process::id());
                    let _ = sock.send_to(rec.as_bytes(), "/dev/log");
                }
            }
        }
    }
}

/// "YYYY-MM-DD HH:MM:SS.mmm+0000", UTC, as libvirt stamps its log lines.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

struct LogLayer {
    logging: Logging,
}

struct MsgVisitor(String);

impl Visit for MsgVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let prio = level_prio(meta.level());
        if !self.logging.enabled(meta.target(), prio) {
            return;
        }
        let mut v = MsgVisitor(String::new());
        event.record(&mut v);
        self.logging.emit(meta.target(), prio, &v.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libvirt_syntax() {
        let f = parse_filters("3:util 1:+rpc").unwrap();
        let got: Vec<_> = f.iter().map(|f| (f.prio, f.matches.as_str())).collect();
        assert_eq!(got, vec![(3, "util"), (1, "rpc")]);
        assert!(parse_filters("9:x").is_err());
        assert!(parse_filters("util").is_err());
        let o = parse_outputs("1:stderr 3:journald", "t").unwrap();
        assert_eq!(o.len(), 2);
        assert!(parse_outputs("1:file:relative", "t").is_err());
        assert!(parse_outputs("1:bogus", "t").is_err());
    }

    #[test]
    fn filters_decide_by_first_substring_match() {
        let l = Logging::new("t", 3, Some("1:rpc 4:oxvirt"), Some("1:stderr"), false).unwrap();
        assert!(l.enabled("oxvirt_rpc::client", 1));
        assert!(!l.enabled("oxvirt_daemon::x", 3));
        assert!(l.enabled("other", 3));
        assert!(!l.enabled("other", 2));
        // Read back as libvirt 9.0 does: matches wrapped in '*', a space after each filter.
        assert_eq!(l.filters(), ("1:*rpc* 4:*oxvirt* ".into(), 2));
        l.set_filters("3:util 1:+rpc").unwrap();
        assert_eq!(l.filters(), ("3:*util* 1:*rpc* ".into(), 2));
        l.set_filters("").unwrap();
        assert_eq!(l.filters(), (String::new(), 0));
        l.set_outputs("2:stderr").unwrap();
        assert_eq!(l.outputs(), ("2:stderr".into(), 1));
    }

    #[test]
    fn default_output_follows_libvirt() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x/libvirtd.log");
        assert_eq!(
            DefaultOutput::choose(false, d.path(), f.clone()),
            DefaultOutput::Stderr
        );
        assert_eq!(
            DefaultOutput::choose(true, d.path(), f.clone()),
            DefaultOutput::Journald
        );
        let none = d.path().join("no-journal");
        assert_eq!(
            DefaultOutput::choose(true, &none, f.clone()),
            DefaultOutput::File(f.clone())
        );
        let l = Logging::with_default("t", 0, None, None, false, DefaultOutput::File(f.clone()))
            .unwrap();
        assert_eq!(l.outputs().0, format!("3:file:{}", f.display()));
        assert!(f.parent().unwrap().is_dir());
        let l = Logging::with_default("t", 1, None, None, false, DefaultOutput::Journald).unwrap();
        assert_eq!(l.outputs().0, "2:journald");
    }

    #[test]
    fn file_output_writes_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.log");
        let l = Logging::new(
            "t",
            1,
            None,
            Some(&format!("1:file:{}", p.display())),
            false,
        )
        .unwrap();
        l.emit("x", 3, "hello");
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(s.contains(": warning : x: hello"), "{s}");
        assert!(timestamp().ends_with("+0000"));
    }
}
