//! libvirtd: the monolithic daemon (all drivers of this build in one process).

fn main() {
    std::process::exit(oxvirt_daemon::run::main(&oxvirt_daemon::family::LIBVIRTD));
}
