//! Vendor names from the offline IEEE OUI table (`data/oui.tsv`, embedded at build time).
//!
//! The table is the IEEE MA-L public listing (see `data/PROVENANCE.md` for its source and
//! licence and the command that regenerates it). It is parsed once, on first use, into a
//! sorted vector searched by binary search.

use leakypick_core::Mac;
use std::sync::OnceLock;

static TABLE_TSV: &str = include_str!("../../../data/oui.tsv");

fn table() -> &'static [(u32, &'static str)] {
    static TABLE: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut v: Vec<(u32, &'static str)> = TABLE_TSV
            .lines()
            .filter_map(|line| {
                let (prefix, name) = line.split_once('\t')?;
                Some((u32::from_str_radix(prefix, 16).ok()?, name))
            })
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v
    })
}

/// The organisation the IEEE assigned this MAC's OUI to, if any.
///
/// Locally administered addresses (randomised by phones, or made up by virtual
/// interfaces) have no vendor, even when their first octets collide with an assignment.
pub fn vendor(mac: Mac) -> Option<&'static str> {
    if mac.is_locally_administered() || mac.is_group() {
        return None;
    }
    let t = table();
    t.binary_search_by_key(&mac.oui(), |e| e.0)
        .ok()
        .map(|i| t[i].1)
}

/// Number of entries in the embedded table.
pub fn table_len() -> usize {
    table().len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_vendors() {
        // Expected names checked against /usr/share/ieee-data/oui.csv.
        let echo: Mac = "68:db:f5:90:19:64".parse().unwrap();
        assert_eq!(vendor(echo), Some("Amazon Technologies Inc."));
        let hub: Mac = "00:03:7f:96:d8:ec".parse().unwrap();
        assert_eq!(vendor(hub), Some("Atheros Communications, Inc."));
        let random: Mac = "1e:f2:0c:cc:ed:1c".parse().unwrap();
        assert_eq!(vendor(random), None);
        assert!(table_len() > 30_000);
    }
}
