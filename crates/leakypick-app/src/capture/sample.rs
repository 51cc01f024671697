//! The bundled sample capture, embedded in the binary so that `leakypick analyze`
//! works on a fresh machine with no file at hand.

/// File name of the bundled sample.
pub const SAMPLE_NAME: &str = "echodot3a_active.pcap";

/// One line that says what the sample is and where it comes from.
pub const SAMPLE_DESCRIPTION: &str =
    "bundled sample echodot3a_active.pcap: an Echo Dot (68:db:f5:90:19:64) activated once, 48 s, \
from djdubois/smart-speakers-study (Apache-2.0; see data/PROVENANCE.md)";

/// The bytes of the sample capture (pcapng, 490 kB).
pub static SAMPLE_BYTES: &[u8] = include_bytes!("../../../../data/samples/echodot3a_active.pcap");
