//! System and session mode, and the default paths of each (libvirt's layout).

use crate::family::DaemonSpec;
use std::path::PathBuf;

/// Where a daemon keeps its config, pid file and sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// True for system mode (euid 0).
    pub system: bool,
    /// Default config file.
    pub config_file: PathBuf,
    /// Default pid file.
    pub pid_file: PathBuf,
    /// Directory of the sockets.
    pub run_dir: PathBuf,
    /// Read-write socket.
    pub sock: PathBuf,
    /// Read-only socket (system mode only).
    pub sock_ro: Option<PathBuf>,
    /// Admin socket.
    pub admin_sock: PathBuf,
    /// Where virtlogd/virtlockd leave their state for the re-executed process.
    pub restart_state: PathBuf,
}

/// The environment the paths derive from (so tests need not touch the real one).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub home: Option<String>,
    pub xdg_runtime_dir: Option<String>,
    pub xdg_config_home: Option<String>,
}

impl Env {
    /// Read from the process environment.
    pub fn from_process() -> Env {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Env {
            home: get("HOME"),
            xdg_runtime_dir: get("XDG_RUNTIME_DIR"),
            xdg_config_home: get("XDG_CONFIG_HOME"),
        }
    }

    fn home(&self) -> PathBuf {
        PathBuf::from(self.home.clone().unwrap_or_else(|| "/".into()))
    }

    /// `$XDG_RUNTIME_DIR/libvirt`, or `$HOME/.cache/libvirt` without it.
    pub fn user_runtime_dir(&self) -> PathBuf {
        match &self.xdg_runtime_dir {
            Some(d) => PathBuf::from(d).join("libvirt"),
            None => self.home().join(".cache").join("libvirt"),
        }
    }

    /// `$XDG_CONFIG_HOME/libvirt`, or `$HOME/.config/libvirt`.
    pub fn user_config_dir(&self) -> PathBuf {
        match &self.xdg_config_home {
            Some(d) => PathBuf::from(d).join("libvirt"),
            None => self.home().join(".config").join("libvirt"),
        }
    }
}

impl Paths {
    /// Default paths for `spec` in system or session mode; `sock_dir` is `unix_sock_dir`.
    pub fn new(spec: &DaemonSpec, system: bool, env: &Env, sock_dir: Option<&str>) -> Paths {
        let (config_file, pid_file, default_run) = if system {
            (
                PathBuf::from(format!("/etc/libvirt/{}.conf", spec.name)),
                PathBuf::from(format!("/run/{}.pid", spec.name)),
                PathBuf::from("/run/libvirt"),
            )
        } else {
            let rt = env.user_runtime_dir();
            (
                env.user_config_dir().join(format!("{}.conf", spec.name)),
                rt.join(format!("{}.pid", spec.name)),
                rt,
            )
        };
        let run_dir = sock_dir.map(PathBuf::from).unwrap_or(default_run);
        let p = spec.sock_prefix;
        Paths {
            system,
            config_file,
            pid_file,
            sock: run_dir.join(format!("{p}-sock")),
            sock_ro: (system && spec.role == crate::family::Role::Remote)
                .then(|| run_dir.join(format!("{p}-sock-ro"))),
            admin_sock: run_dir.join(format!("{p}-admin-sock")),
            restart_state: if system {
                PathBuf::from(format!("/run/{}-restart-exec.json", spec.name))
            } else {
                env.user_runtime_dir()
                    .join(format!("{}-restart-exec.json", spec.name))
            },
            run_dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::LIBVIRTD;

    #[test]
    fn system_paths() {
        let p = Paths::new(&LIBVIRTD, true, &Env::default(), None);
        assert_eq!(p.sock, PathBuf::from("/run/libvirt/libvirt-sock"));
        assert_eq!(
            p.sock_ro,
            Some(PathBuf::from("/run/libvirt/libvirt-sock-ro"))
        );
        assert_eq!(
            p.admin_sock,
            PathBuf::from("/run/libvirt/libvirt-admin-sock")
        );
        assert_eq!(p.pid_file, PathBuf::from("/run/libvirtd.pid"));
        assert_eq!(p.config_file, PathBuf::from("/etc/libvirt/libvirtd.conf"));
        let l = Paths::new(&crate::family::VIRTLOGD, true, &Env::default(), None);
        assert_eq!(l.sock, PathBuf::from("/run/libvirt/virtlogd-sock"));
        assert_eq!(l.sock_ro, None);
        assert_eq!(l.pid_file, PathBuf::from("/run/virtlogd.pid"));
        assert_eq!(
            l.restart_state,
            PathBuf::from("/run/virtlogd-restart-exec.json")
        );
    }

    #[test]
    fn session_paths() {
        let env = Env {
            home: Some("/home/u".into()),
            xdg_runtime_dir: Some("/run/user/1000".into()),
            xdg_config_home: None,
        };
        let p = Paths::new(&LIBVIRTD, false, &env, None);
        assert_eq!(p.sock, PathBuf::from("/run/user/1000/libvirt/libvirt-sock"));
        assert_eq!(p.sock_ro, None);
        let k = Paths::new(&crate::family::VIRTLOCKD, false, &env, None);
        assert_eq!(
            k.restart_state,
            PathBuf::from("/run/user/1000/libvirt/virtlockd-restart-exec.json")
        );
        assert_eq!(
            p.pid_file,
            PathBuf::from("/run/user/1000/libvirt/libvirtd.pid")
        );
        assert_eq!(
            p.config_file,
            PathBuf::from("/home/u/.config/libvirt/libvirtd.conf")
        );
        let env = Env {
            home: Some("/home/u".into()),
            ..Default::default()
        };
        let p = Paths::new(&LIBVIRTD, false, &env, Some("/tmp/s"));
        assert_eq!(p.admin_sock, PathBuf::from("/tmp/s/libvirt-admin-sock"));
        assert_eq!(
            Env {
                home: Some("/h".into()),
                ..Default::default()
            }
            .user_runtime_dir(),
            PathBuf::from("/h/.cache/libvirt")
        );
    }
}
