pub fn programs(
    _s: &'static crate::family::DaemonSpec,
) -> Vec<std::sync::Arc<dyn oxvirt_rpc::Program>> {
    vec![]
}
