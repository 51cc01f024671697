//! Addresses: MAC addresses and the local-versus-cloud decision for IP destinations.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// A 48-bit IEEE MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    /// Group (multicast or broadcast) addresses have the low bit of the first octet set.
    pub fn is_group(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Locally administered addresses (often randomised by phones) have bit 1 set.
    pub fn is_locally_administered(self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The 24-bit organisationally unique identifier (first three octets).
    pub fn oui(self) -> u32 {
        u32::from_be_bytes([0, self.0[0], self.0[1], self.0[2]])
    }

    /// Reads a MAC from the first six bytes of `b`, if there are six.
    pub fn from_slice(b: &[u8]) -> Option<Mac> {
        let arr: [u8; 6] = b.get(..6)?.try_into().ok()?;
        Some(Mac(arr))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Why a string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a MAC address (expected six hex octets like 68:db:f5:90:19:64)")]
pub struct ParseMacError(pub String);

impl FromStr for Mac {
    type Err = ParseMacError;

    /// Accepts `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` and single-digit octets
    /// (`4c:17:44:ec:b:82`, as some tools print them).
    fn from_str(s: &str) -> Result<Mac, ParseMacError> {
        let err = || ParseMacError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.trim().split([':', '-']);
        for o in out.iter_mut() {
            let p = parts.next().ok_or_else(err)?;
            if p.is_empty() || p.len() > 2 {
                return Err(err());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Mac(out))
    }
}

/// True when `ip` is inside the local network or not a unicast cloud address:
/// RFC 1918 private, loopback, link-local, unspecified, multicast and broadcast for IPv4,
/// and loopback, unspecified, unique-local (fc00::/7), link-local (fe80::/10) and
/// multicast for IPv6. IPv4-mapped IPv6 addresses are judged as IPv4.
///
/// Traffic to such an address is never counted as a cloud upload unless the user asks
/// for LAN destinations to be included.
pub fn is_local_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_local_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

fn is_local_v4(v4: Ipv4Addr) -> bool {
    v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_macs() {
        let m: Mac = "68:db:f5:90:19:64".parse().unwrap();
        assert_eq!(m.to_string(), "68:db:f5:90:19:64");
        let short: Mac = "4c:17:44:ec:b:82".parse().unwrap();
        assert_eq!(short.to_string(), "4c:17:44:ec:0b:82");
        assert_eq!("00-03-7F-96-D8-EC".parse::<Mac>().unwrap().oui(), 0x00037f);
        assert!("68:db:f5:90:19".parse::<Mac>().is_err());
        assert!("68:db:f5:90:19:64:00".parse::<Mac>().is_err());
        assert!("zz:db:f5:90:19:64".parse::<Mac>().is_err());
        assert!(Mac::BROADCAST.is_group());
    }

    #[test]
    fn local_and_cloud_addresses() {
        let local = [
            "192.168.12.112",
            "10.63.7.79",
            "172.16.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "224.0.0.251",
            "255.255.255.255",
            "0.0.0.0",
            "fd00::1",
            "fe80::1",
            "ff02::fb",
            "::1",
            "::ffff:192.168.1.1",
        ];
        for s in local {
            assert!(is_local_ip(s.parse().unwrap()), "{s} should be local");
        }
        for s in [
            "52.94.233.109",
            "8.8.8.8",
            "2600:1f18::1",
            "::ffff:52.94.233.109",
        ] {
            assert!(!is_local_ip(s.parse().unwrap()), "{s} should be cloud");
        }
    }
}
