use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// The TCP peer address of a request, for servers that are not axum: insert it in the request
/// extensions (see `examples/hyper.rs`). With axum, `ConnectInfo<SocketAddr>` is read instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The header trusted proxies write the client's address in. Only that one is read: a
/// proxy that appends to `X-Forwarded-For` passes a client's own `Forwarded` header through
/// untouched, so reading both would let a client choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx, most load balancers). The default.
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The client's IP address.
///
/// It is the TCP peer, unless the peer is a trusted proxy: then the chain in `header` is read
/// from the right, skipping trusted proxies, and the first untrusted hop is the client (hops
/// further left were written by the client and prove nothing). An unreadable hop where the
/// client should be gives the proxy's own address, never a guess. A request whose peer is
/// unknown is keyed as `0.0.0.0`, so it is still limited (all such requests share one
/// allowance; a warning says so once).
pub(crate) fn client_ip(
    extensions: &http::Extensions,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ProxyHeader,
) -> IpAddr {
    let Some(peer) = peer_ip(extensions) else {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            tracing::warn!(target: "guichet", "requests carry no client address (axum: serve with `into_make_service_with_connect_info::<SocketAddr>()`; hyper: insert `guichet::limit::PeerAddr`): every per-IP limit now shares one bucket");
        });
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_hops(headers, header);
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => continue,
            Some(ip) => return *ip,
            None => return peer,
        }
    }
    hops.first().copied().flatten().unwrap_or(peer)
}

/// The key a client address is limited under: an IPv4 address as it is (also when written as
/// an IPv4-mapped IPv6 address), an IPv6 address by its /64 network. A /64 is the smallest block
/// a network usually hands one customer, so keying by the whole address would let one client
/// rotate through 2^64 addresses and escape every per-address limit.
pub(crate) fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
        },
    }
}

/// Whether the request's TCP peer is one of the trusted proxies (whose headers are believed).
pub(crate) fn from_trusted_proxy(extensions: &http::Extensions, trusted: &[IpNet]) -> bool {
    peer_ip(extensions).is_some_and(|peer| trusted.iter().any(|net| net.contains(&peer)))
}

fn peer_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
        return Some(addr.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    None
}

/// The hops of `header`, left to right; `None` for a hop that is not an address.
fn forwarded_hops(headers: &HeaderMap, header: ProxyHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ProxyHeader::XForwardedFor => "x-forwarded-for",
        ProxyHeader::Forwarded => "forwarded",
    };
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(v) => v.split(',').map(Some).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .map(|element| {
            let node = match header {
                ProxyHeader::XForwardedFor => element,
                ProxyHeader::Forwarded => element?.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.eq_ignore_ascii_case("for").then_some(v)
                }),
            };
            node.and_then(parse_node)
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    node.strip_prefix('[')?.split(']').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ProxyHeader = ProxyHeader::XForwardedFor;

    fn ext(peer: &str) -> http::Extensions {
        let mut e = http::Extensions::new();
        e.insert(PeerAddr(peer.parse().unwrap()));
        e
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            client_ip(&ext("10.0.0.5:1"), &h, &[], XFF),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")]);
        assert_eq!(
            client_ip(&ext("10.0.0.1:1"), &h, &trusted, XFF),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_network_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| limit_key(s.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn forwarded_header_is_understood() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(
            client_ip(&ext("10.0.0.1:1"), &h, &trusted, ProxyHeader::Forwarded),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_garbled_chain_falls_back_to_the_peer() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "1.2.3.4, nonsense")]);
        assert_eq!(
            client_ip(&ext("10.0.0.1:1"), &h, &trusted, ProxyHeader::Forwarded),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
