//! virtlogd's core on the support-daemon framework: the log handler ([`oxvirt_logd`]) with
//! the rotation settings of `virtlogd.conf`, its program, and the age-based cleaner.
//! Every open guest log keeps the daemon from idling out, in system mode too (libvirt counts
//! them in session mode only; an idle system virtlogd with `--timeout` would otherwise cut
//! the pipes of running guests).

use crate::support::Core;
use oxvirt_conf::LogdConfig;
use oxvirt_logd::{LogHandler, LogSettings};
use oxvirt_rpc::Program;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::watch;

struct LogdCore {
    handler: Arc<LogHandler>,
    cleaner: Option<tokio::task::JoinHandle<()>>,
}

/// Build the core, restoring the open logs of `saved` (`handler.files`) when given.
pub(crate) fn make(c: &LogdConfig, saved: Option<&Value>) -> Result<Arc<dyn Core>, String> {
    let settings = LogSettings {
        max_size: c.max_size,
        max_backups: c.max_backups,
    };
    let handler = match saved.and_then(|s| s.get("handler")) {
        Some(h) => LogHandler::restore(settings, h).map_err(|e| e.to_string())?,
        None => LogHandler::new(settings),
    };
    let cleaner = (c.max_age_days > 0).then(|| {
        oxvirt_logd::spawn_cleaner(c.log_root.clone().into(), c.max_age_days, handler.clone())
    });
    Ok(Arc::new(LogdCore { handler, cleaner }))
}

impl Core for LogdCore {
    fn program(&self) -> Arc<dyn Program> {
        oxvirt_logd::program(self.handler.clone())
    }

    fn busy(&self) -> watch::Receiver<usize> {
        self.handler.open_count()
    }

    fn save_for_exec(&self) -> Map<String, Value> {
        if let Some(c) = &self.cleaner {
            c.abort();
        }
        let mut m = Map::new();
        m.insert("handler".into(), self.handler.save_for_exec());
        m
    }
}

impl Drop for LogdCore {
    fn drop(&mut self) {
        if let Some(c) = &self.cleaner {
            c.abort();
        }
    }
}
