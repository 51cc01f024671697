//! Peak memory per input without a custom allocator (the workspace forbids `unsafe`):
//! Linux keeps the process's resident-set high-water mark (`VmHWM` in
//! `/proc/self/status`), and writing `5` to `/proc/self/clear_refs` resets it to the
//! current resident size. The growth of the mark over an input is what the input cost.

use std::fs;

/// Resets the high-water mark and returns the current resident size in bytes, or `None`
/// where that is not possible (not Linux, `/proc` not mounted or read-only).
pub fn reset_peak() -> Option<u64> {
    fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kb("VmRSS:").map(|kb| kb * 1024)
}

/// The high-water mark of the resident size since the last reset, in bytes.
pub fn peak() -> Option<u64> {
    status_kb("VmHWM:").map(|kb| kb * 1024)
}

fn status_kb(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak().is_some_and(|p| p > 0));
        }
    }
}
