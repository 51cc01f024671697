//! Live capture from a network interface with libpcap (feature `live`).
//! (Being written: see docs/status.md.)
