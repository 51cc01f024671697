//! Per-device inventory: counters, addresses and names, grouped by MAC address.
