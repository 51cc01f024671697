//! The pure, deterministic core of leakypick.
//!
//! Everything here takes data and returns data: it does no I/O, reads no clock and
//! never panics on input bytes. Time comes from packet timestamps, so a live capture
//! and a file replay go through exactly the same code.
//!
//! The data flow is
//!
//! ```text
//! raw frame bytes + link type --decode--> PacketMeta
//! Packet (timestamp, wire length, PacketMeta) --Inventory--> per-device counters
//!                                            --BurstDetector--> Burst events
//! two windows of one device's frames --probe::compare--> Comparison (p-values)
//! one device's frames around a spoken word --wakefuzz::AttemptJudge--> woke / quiet
//! ```

pub mod baseline;
pub mod burst;
pub mod decode;
pub mod eval;
pub mod inventory;
pub mod net;
pub mod phonetic;
pub mod probe;
pub mod session;
pub mod sim;
pub mod stats;
pub mod time;
pub mod wakefuzz;

pub use burst::{Burst, BurstConfig, BurstDetector, BurstOnset};
pub use decode::{decode, HostnameHint, HostnameSource, LinkType, PacketMeta};
pub use inventory::{
    is_upload, DestinationScope, DeviceKey, DeviceStats, Inventory, InventoryLimits,
    ParseDeviceKeyError,
};
pub use net::{is_local_ip, Mac};
pub use time::Timestamp;

/// One captured frame after decoding: what every detector consumes.
///
/// `wire_len` is the frame's original length on the wire, never the captured
/// length: many real captures are cut short by a snap length, and byte rates must
/// count what the device actually sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub ts: Timestamp,
    pub wire_len: u32,
    pub meta: PacketMeta,
}
