//! virtlockd: see [oxvirt_daemon::support].

fn main() {
    oxvirt_daemon::support::ignore_sigusr1();
    std::process::exit(oxvirt_daemon::run::main(&oxvirt_daemon::family::VIRTLOCKD));
}
