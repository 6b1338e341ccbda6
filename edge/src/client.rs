//! Who is calling: the client address the edge decides on for every request, what its
//! per-client limits are keyed on, and what the services are told in [`CLIENT_IP`].
//!
//! The TCP peer is the client unless it is one of `MART_EDGE_TRUSTED_PROXIES`: only then
//! is the forwarding header read, right to left, and the first hop that is not itself a
//! trusted proxy is the client. Everything left of it was written by the client and proves
//! nothing, so a client that sends `X-Forwarded-For` straight to the edge gains nothing.
//! IPv6 clients are keyed by their /64, the block one subscriber gets, so rotating through
//! it does not give a fresh bucket per address.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
    str::FromStr,
};

use http::HeaderMap;

/// The metadata header carrying the client address the edge decided on, to the services
/// (which read it with `mart_platform::rpc::client_ip`). The edge's own: a copy sent by a
/// client is dropped at the door.
pub use mart_platform::rpc::CLIENT_IP;

/// At most this many hops of a forwarding header are looked at; a longer chain stops at the
/// last trusted hop reached.
const MAX_HOPS: usize = 32;

/// A block of addresses (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                mask(u32::from(ip).into(), 32, self.prefix) == mask(u32::from(network).into(), 32, self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                mask(u128::from(ip), 128, self.prefix) == mask(u128::from(network), 128, self.prefix)
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not an address or a block such as 10.0.0.0/8 or fd00::/8");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(bits: u128, width: u32, prefix: u8) -> u128 {
    let prefix = u32::from(prefix).min(width);
    if prefix == 0 { 0 } else { bits >> (width - prefix) }
}

/// Which header a trusted proxy writes the client's address into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardingHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, most ingress controllers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

impl FromStr for ForwardingHeader {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err("expected x-forwarded-for or forwarded".to_owned()),
        }
    }
}

/// How the edge tells clients apart.
#[derive(Clone, Debug, Default)]
pub struct ClientPolicy {
    /// The proxies whose forwarding header is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// The header they write.
    pub header: ForwardingHeader,
}

impl ClientPolicy {
    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|cidr| cidr.contains(ip))
    }

    /// The client behind a request that came from the TCP peer `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.is_trusted(client) {
            return client;
        }
        let hops = match self.header {
            ForwardingHeader::XForwardedFor => list(headers, "x-forwarded-for"),
            ForwardingHeader::Forwarded => {
                list(headers, "forwarded").into_iter().filter_map(forwarded_for).collect::<Vec<_>>()
            }
        };
        for hop in hops.iter().rev().take(MAX_HOPS) {
            // A hop that does not parse (`unknown`, an obfuscated name) ends the chain: the
            // last address a trusted proxy vouched for is the best there is.
            let Some(ip) = node_ip(hop) else { break };
            client = canonical(ip);
            if !self.is_trusted(client) {
                break;
            }
        }
        client
    }
}

/// The items of every `name` header, in order (`a, b` and a second line `c` → a, b, c).
fn list<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=http`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
    })
}

/// The address of a node: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17` or
/// `[2001:db8::17]:4711`.
fn node_ip(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, as a dual-stack listener reports
/// it) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// What per-client limits count against: an IPv4 address, or an IPv6 address's /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match canonical(ip) {
            IpAddr::V6(v6) => Self(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64)))),
            v4 => Self(v4),
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn policy(trusted: &[&str], header: ForwardingHeader) -> ClientPolicy {
        ClientPolicy { trusted_proxies: trusted.iter().map(|c| c.parse().unwrap()).collect(), header }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_contain() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")) && !block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "fd00::/129", "localhost", "10.0.0/8", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let policy = policy(&["10.0.0.0/8"], ForwardingHeader::XForwardedFor);
        let sent = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(policy.client(ip("203.0.113.5"), &sent), ip("203.0.113.5"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let policy = policy(&["10.0.0.0/8"], ForwardingHeader::XForwardedFor);
        // The client forged the first entry; the ingress appended what it saw.
        let sent = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.1"), ("x-forwarded-for", "10.0.0.3")]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("198.51.100.1"));
        // Only proxies in the chain: the left-most of them is as far as it goes.
        let sent = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.3")]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("10.9.9.9"));
        // Garbage stops the walk at the last trusted hop.
        let sent = headers(&[("x-forwarded-for", "198.51.100.1, unknown")]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("10.0.0.2"));
        // No header: the proxy itself.
        assert_eq!(policy.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        // Ports and brackets are read.
        let sent = headers(&[("x-forwarded-for", "[2001:db8::17]:4711")]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("2001:db8::17"));
        let sent = headers(&[("x-forwarded-for", "198.51.100.1:4711")]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("198.51.100.1"));
    }

    #[test]
    fn the_forwarded_header_when_configured() {
        let policy = policy(&["10.0.0.0/8"], ForwardingHeader::Forwarded);
        let sent = headers(&[
            ("forwarded", r#"for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https"#),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("2001:db8:cafe::17"));
        let sent = headers(&[("forwarded", "For=198.51.100.1;by=10.0.0.2")]);
        assert_eq!(policy.client(ip("10.0.0.2"), &sent), ip("198.51.100.1"));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        assert_eq!(ClientKey::of(ip("2001:db8:1:2:aaaa::1")), ClientKey::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(ClientKey::of(ip("::ffff:192.0.2.1")), ClientKey::of(ip("192.0.2.1")));
        assert_ne!(ClientKey::of(ip("192.0.2.1")), ClientKey::of(ip("192.0.2.2")));
        assert_eq!(ClientKey::of(ip("2001:db8:1:2:aaaa::1")).to_string(), "2001:db8:1:2::/64");
    }
}
