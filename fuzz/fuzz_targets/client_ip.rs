//! `client_ip` (`X-Forwarded-For` / `Forwarded` behind trusted proxies): any headers give an
//! address; an untrusted or unknown peer is never overridden by a header.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arbitrary::Arbitrary;
use guichet::fuzzing::client_ip;
use guichet::limit::{PeerAddr, ProxyHeader};
use http::{HeaderMap, HeaderValue};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    peer: Option<IpAddr>,
    trusted: Vec<(IpAddr, u8)>,
    forwarded: bool,
    values: Vec<Value>,
}

#[derive(Arbitrary, Debug)]
enum Value {
    XForwardedFor(Vec<u8>),
    Forwarded(Vec<u8>),
}

fuzz_target!(|input: Input| {
    let trusted: Vec<IpNet> = input
        .trusted
        .iter()
        .take(8)
        .filter_map(|(ip, len)| IpNet::new(*ip, *len).ok())
        .collect();
    let mut headers = HeaderMap::new();
    for value in &input.values {
        let (name, bytes) = match value {
            Value::XForwardedFor(b) => ("x-forwarded-for", b),
            Value::Forwarded(b) => ("forwarded", b),
        };
        if let Ok(v) = HeaderValue::from_bytes(bytes) {
            headers.append(name, v);
        }
    }
    let mut extensions = http::Extensions::new();
    if let Some(peer) = input.peer {
        extensions.insert(PeerAddr(SocketAddr::new(peer, 4711)));
    }
    let header = if input.forwarded {
        ProxyHeader::Forwarded
    } else {
        ProxyHeader::XForwardedFor
    };
    let ip = client_ip(&extensions, &headers, &trusted, header);
    match input.peer {
        None => assert_eq!(ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(peer) if !trusted.iter().any(|n| n.contains(&peer)) => assert_eq!(ip, peer),
        Some(_) => {}
    }
});
