use super::*;

const LOGD: &str = "/etc/libvirt/virtlogd.conf";
const LOCKD: &str = "/etc/libvirt/virtlockd.conf";

#[test]
fn logd_defaults() {
    let (cfg, w) = LogdConfig::load(LOGD, "").unwrap();
    assert!(w.is_empty());
    assert_eq!(cfg, LogdConfig::default());
    assert_eq!(cfg.log_level, 0);
    assert_eq!((&cfg.log_filters, &cfg.log_outputs), (&None, &None));
    assert_eq!(cfg.max_clients, 1024);
    assert_eq!(cfg.admin_max_clients, 5000);
    assert_eq!(cfg.max_size, 2_097_152);
    assert_eq!(cfg.max_backups, 3);
    assert_eq!(cfg.max_age_days, 0);
    assert_eq!(cfg.log_root, "/var/log/libvirt/");
}

#[test]
fn logd_all_keys() {
    let text = "log_level = 1\nlog_filters = \"1:logging\"\nlog_outputs = \"1:stderr\"\n\
                max_clients = 10\nadmin_max_clients = 5\nmax_size = 0\nmax_backups = 32\n\
                max_age_days = 7\nlog_root = \"/srv/logs/\"\n";
    let (cfg, w) = LogdConfig::load(LOGD, text).unwrap();
    assert!(w.is_empty());
    assert_eq!(
        cfg,
        LogdConfig {
            log_level: 1,
            log_filters: Some("1:logging".to_owned()),
            log_outputs: Some("1:stderr".to_owned()),
            max_clients: 10,
            admin_max_clients: 5,
            max_size: 0,
            max_backups: 32,
            max_age_days: 7,
            log_root: "/srv/logs/".to_owned(),
        }
    );
    let (big, _) = LogdConfig::load(LOGD, "max_size = 8589934592").unwrap();
    assert_eq!(big.max_size, 8 << 30, "max_size is a size_t, not an int");
}

#[test]
fn logd_validation() {
    let err = LogdConfig::load(LOGD, "max_backups = 33").unwrap_err();
    assert_eq!(err.key(), Some("max_backups"));
    assert!(err
        .to_string()
        .contains("greater than the maximum allowed 32"));
    assert!(LogdConfig::load(LOGD, "max_size = -1").is_err());
    assert!(LogdConfig::load(LOGD, "log_root = 1").is_err());
    let err = LogdConfig::load(LOGD, "max_clients = \"x\"").unwrap_err();
    assert_eq!(
        err.startup_message(),
        format!("Can't load config file: {LOGD}: expected an unsigned integer for 'max_clients' parameter: {LOGD}")
    );
}

#[test]
fn logd_unknown_keys_warn() {
    let (cfg, w) = LogdConfig::load(LOGD, "max_clients = 3\nmax_requests = 1\n").unwrap();
    assert_eq!(cfg.max_clients, 3);
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].to_string(),
        format!("unknown key 'max_requests' in {LOGD}, ignored")
    );
}

#[test]
fn lockd_defaults_and_keys() {
    let (cfg, w) = LockdConfig::load(LOCKD, "# nothing\n").unwrap();
    assert!(w.is_empty());
    assert_eq!(cfg, LockdConfig::default());
    assert_eq!(
        (cfg.max_clients, cfg.admin_max_clients, cfg.log_level),
        (1024, 5000, 0)
    );

    let text = "log_level = 4\nlog_filters = \"3:locking\"\nlog_outputs = \"3:journald\"\nmax_clients = 64\nadmin_max_clients = 2\nmax_size = 1\n";
    let (cfg, w) = LockdConfig::load(LOCKD, text).unwrap();
    assert_eq!(cfg.log_level, 4);
    assert_eq!(cfg.log_filters.as_deref(), Some("3:locking"));
    assert_eq!(cfg.log_outputs.as_deref(), Some("3:journald"));
    assert_eq!((cfg.max_clients, cfg.admin_max_clients), (64, 2));
    assert_eq!(w.len(), 1, "max_size is a virtlogd key only");
    assert_eq!(w[0].key, "max_size");
}

#[test]
fn lockd_errors_and_missing_file() {
    assert!(LockdConfig::load(LOCKD, "log_level = -1").is_err());
    assert!(LockdConfig::load(LOCKD, "log_level = ").is_err());
    let missing = std::path::Path::new("/nonexistent/oxvirt/virtlockd.conf");
    let (cfg, _) = LockdConfig::load_file(missing, true).unwrap();
    assert_eq!(cfg, LockdConfig::default());
    assert!(LockdConfig::load_file(missing, false).is_err());
    let (cfg, _) = LogdConfig::load_file(missing, true).unwrap();
    assert_eq!(cfg, LogdConfig::default());
}
