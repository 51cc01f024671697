//! Live capture on veth pairs in test-made network namespaces (feature `live`).
