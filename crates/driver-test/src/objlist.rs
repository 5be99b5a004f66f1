//! Helpers shared by the object lists (domains, networks, pools, interfaces): libvirt's
//! list-all filter flags and the legacy "names of the active / defined objects" calls.

/// libvirt's list filter: for a pair of opposite flags (`yes`, `no`), when either is set the
/// object must match one that is set.
pub(crate) fn pair_match(flags: u32, yes: u32, no: u32, value: bool) -> bool {
    if flags & (yes | no) == 0 {
        return true;
    }
    (value && flags & yes != 0) || (!value && flags & no != 0)
}

/// Names of the items for which `pick` holds, in list order, at most `max`.
pub(crate) fn names<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    max: usize,
    pick: impl Fn(&T) -> bool,
    name: impl Fn(&T) -> &str,
) -> Vec<String> {
    items
        .filter(|i| pick(i))
        .take(max)
        .map(|i| name(i).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn picks_in_order_up_to_max() {
        let v = [("a", true), ("b", false), ("c", true), ("d", true)];
        assert_eq!(super::names(v.iter(), 2, |x| x.1, |x| x.0), vec!["a", "c"]);
        assert_eq!(super::names(v.iter(), 9, |x| !x.1, |x| x.0), vec!["b"]);
    }
}
