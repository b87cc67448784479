//! The SSRF guard of the HTTP loader: which IP addresses an origin fetch may connect to.
//! Checked on resolved addresses (so a public name pointing at 127.0.0.1 is refused too) and
//! on IP literals of the first URL and of every redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Which private addresses the HTTP loader may reach (`HTTP_LOADER_ALLOW_PRIVATE_NETWORKS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateNetworks {
    /// Loopback, private, link-local, metadata and other non-public addresses are refused.
    Refused,
    /// Every address may be fetched (`true`).
    Allowed,
    /// Only these non-public networks may be fetched (`10.1.0.0/16,fd00::/8`).
    Only(Vec<IpNetwork>),
}

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    network: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` is in the network, as written or as the IPv4 address an IPv6 form carries
    /// (`10.1.0.0/16` contains `::ffff:10.1.0.9`, `::1/128` still contains `::1`).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_exactly(ip) || self.contains_exactly(canonical(ip))
    }

    fn contains_exactly(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_matches(u32::from(net).into(), u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_matches(network: u128, ip: u128, bits: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(bits - prefix);
    (network >> shift) == (ip >> shift)
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNetwork, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP network"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?} has a bad prefix length"))?,
        };
        Ok(IpNetwork { network, prefix })
    }
}

/// IPv6 forms that stand for one IPv4 address are judged as that address, so they cannot
/// smuggle 127.0.0.1 or 169.254.169.254 past the guard: IPv4-mapped `::ffff:0:0/96`,
/// IPv4-compatible `::/96` (deprecated, still routed by some stacks), SIIT-translated
/// `::ffff:0:0:0/96` and NAT64's well-known `64:ff9b::/96`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            match s[..6] {
                [0, 0, 0, 0, 0, 0xffff]
                | [0, 0, 0, 0, 0, 0]
                | [0, 0, 0, 0, 0xffff, 0]
                | [0x64, 0xff9b, 0, 0, 0, 0] => IpAddr::V4(ipv4_from(s[6], s[7])),
                _ => IpAddr::V6(v6),
            }
        }
        v4 => v4,
    }
}

fn ipv4_from(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// Whether `ip` is an ordinary public unicast address. Everything else (loopback, private,
/// carrier-grade NAT, link-local with the cloud metadata service at 169.254.169.254,
/// unique-local IPv6 with fd00:ec2::254, multicast, reserved, documentation, unspecified) is
/// refused unless explicitly allowed.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT (also Alibaba's metadata)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240; // reserved
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let first = s[0];
    // Tunnelled forms reach the IPv4 address they carry: 6to4 `2002:AABB:CCDD::/48` carries
    // AA.BB.CC.DD; Teredo `2001:0::/32` carries its server (segments 2-3) and its client
    // (segments 6-7, bits inverted).
    let carries_non_public_v4 = match (s[0], s[1]) {
        (0x2002, _) => !is_public_v4(ipv4_from(s[1], s[2])),
        (0x2001, 0) => {
            !is_public_v4(ipv4_from(s[2], s[3])) || !is_public_v4(ipv4_from(!s[6], !s[7]))
        }
        _ => false,
    };
    let refused = carries_non_public_v4
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (first == 0x2001 && s[1] == 0x0db8) // documentation
        || (first == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only 100::/64
    !refused
}

/// The configured policy.
#[derive(Debug, Clone)]
pub struct Guard {
    policy: PrivateNetworks,
}

impl Guard {
    pub fn new(policy: PrivateNetworks) -> Guard {
        Guard { policy }
    }

    /// Whether an origin at `ip` may be fetched.
    pub fn permits(&self, ip: IpAddr) -> bool {
        match &self.policy {
            PrivateNetworks::Allowed => true,
            PrivateNetworks::Refused => is_public(ip),
            PrivateNetworks::Only(networks) => {
                is_public(ip) || networks.iter().any(|n| n.contains(ip))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254", // AWS/GCP/Azure metadata
            "100.100.100.200", // Alibaba metadata (CGNAT range)
            "100.64.0.1",
            "192.0.0.192",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254", // AWS IPv6 metadata
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "2001:db8::1",
            // IPv4-compatible ::/96 and SIIT-translated ::ffff:0:0:0/96.
            "::127.0.0.1",
            "::a9fe:a9fe",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:a9fe:a9fe",
            // Local-use NAT64 (RFC 8215), whatever it carries.
            "64:ff9b:1::808:808",
            "64:ff9b:1:7f00:1::",
            // 6to4 of 127.0.0.1, 169.254.169.254, 10.0.0.1.
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:a00:1::",
            // Teredo with a loopback client (inverted 127.0.0.1) or a private server.
            "2001:0:808:808::80ff:fffe",
            "2001:0:a00:1::f7f7:f7f7",
        ] {
            assert!(!is_public(ip(refused)), "{refused}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
            "2002:808:808::1",
            // Teredo: public server 8.8.8.8, public client 1.1.1.1 (inverted).
            "2001:0:808:808::fefe:fefe",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn networks_parse_and_match() {
        let net: IpNetwork = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        let single: IpNetwork = "127.0.0.2".parse().unwrap();
        assert!(single.contains(ip("127.0.0.2")));
        assert!(!single.contains(ip("127.0.0.1")));
        let v6: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let loopback6: IpNetwork = "::1/128".parse().unwrap();
        assert!(loopback6.contains(ip("::1")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("127.0.0.1")));
        for bad in ["10.0.0.0/33", "intranet", "fd00::/129", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
        }
    }

    #[test]
    fn guard_policies() {
        let refused = Guard::new(PrivateNetworks::Refused);
        assert!(!refused.permits(ip("127.0.0.1")));
        assert!(refused.permits(ip("8.8.8.8")));
        assert!(Guard::new(PrivateNetworks::Allowed).permits(ip("127.0.0.1")));
        let only = Guard::new(PrivateNetworks::Only(vec!["127.0.0.2/32".parse().unwrap()]));
        assert!(only.permits(ip("127.0.0.2")));
        assert!(!only.permits(ip("127.0.0.1")));
        assert!(!only.permits(ip("169.254.169.254")));
        assert!(only.permits(ip("8.8.8.8")));
    }
}
