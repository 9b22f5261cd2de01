//! Which destinations Kachay may fetch from (moved here from the server's
//! `egress` module unchanged, so the engine can use it too).
//!
//! [`EgressPolicy`] classifies IP addresses (loopback, private, link-local,
//! CGNAT, multicast, documentation, reserved …) and refuses them unless the
//! operator allowed them with `ALLOW_PRIVATE_NETWORKS`. Host names are resolved
//! once, every resolved address is checked, and the checked addresses are
//! returned so the caller connects to exactly those (no second lookup that a
//! rebinding DNS server could answer differently).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long a host-name lookup may take before the destination is refused.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The kind of special-purpose range an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
    Private,
    /// 169.254/16 (cloud metadata lives here), fe80::/10
    LinkLocal,
    /// 100.64.0.0/10, carrier-grade NAT
    SharedAddressSpace,
    /// 0.0.0.0/8, ::
    Unspecified,
    /// 255.255.255.255
    Broadcast,
    /// 224.0.0.0/4, ff00::/8
    Multicast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
    Documentation,
    /// 198.18.0.0/15
    Benchmarking,
    /// Everything else no public website lives on: 192.0.0/24, 240/4,
    /// 192.88.99/24, Teredo, ORCHID, local-use NAT64, anything outside 2000::/3.
    Reserved,
}

impl AddressClass {
    fn noun(self) -> &'static str {
        match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private network address",
            Self::LinkLocal => "a link-local address",
            Self::SharedAddressSpace => "a carrier-grade NAT address",
            Self::Unspecified => "an unspecified address",
            Self::Broadcast => "the broadcast address",
            Self::Multicast => "a multicast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
        }
    }

    fn group(self) -> &'static str {
        match self {
            Self::Loopback
            | Self::Private
            | Self::LinkLocal
            | Self::SharedAddressSpace
            | Self::Unspecified
            | Self::Broadcast => "private or local network addresses",
            Self::Multicast => "multicast addresses",
            Self::Documentation | Self::Benchmarking | Self::Reserved => {
                "reserved addresses that no public website uses"
            }
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Why a destination may not be fetched. `Display` is a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The address (or one the host name resolves to) is in a refused range.
    #[error("{}", blocked_sentence(host.as_deref(), *ip, *embedded, *class))]
    Blocked {
        /// The host name as given, when it was a name rather than an address.
        host: Option<String>,
        /// The refused address.
        ip: IpAddr,
        /// The IPv4 address an IPv6 address embeds (mapped, 6to4, NAT64 …),
        /// when that is what was refused.
        embedded: Option<Ipv4Addr>,
        /// The refused range.
        class: AddressClass,
    },
    /// A public address on a port other than 80, 443 and `EGRESS_PORTS`.
    #[error("{}", port_sentence(*port, allowed))]
    Port {
        /// The port asked for.
        port: u16,
        /// The ports allowed, as words ("80 and 443").
        allowed: String,
    },
    /// The host is not a valid host name or address.
    #[error("This server cannot download from \"{host}\": it is not a valid host name.")]
    InvalidHost {
        /// The host as given (possibly cut short).
        host: String,
    },
    /// Only http and https links are fetched.
    #[error("This server only downloads http and https links, not {scheme}: links.")]
    UnsupportedScheme {
        /// The scheme of the link.
        scheme: String,
    },
    /// The link has no host.
    #[error("This link has no host name to download from.")]
    MissingHost,
    /// The proxy was asked to connect to itself.
    #[error("This server does not send its proxy's requests back to the proxy itself.")]
    ProxyLoop,
    /// The name lookup failed.
    #[error("This server could not find the site {host} (the name lookup failed: {detail}).")]
    Unresolvable {
        /// The host name.
        host: String,
        /// What the resolver said.
        detail: String,
    },
    /// The name lookup took too long.
    #[error("This server could not find the site {host}: the name lookup took longer than {} seconds.", RESOLVE_TIMEOUT.as_secs())]
    ResolveTimeout {
        /// The host name.
        host: String,
    },
    /// The name resolved to no address at all.
    #[error("This server could not find the site {host}: the name has no addresses.")]
    NoAddresses {
        /// The host name.
        host: String,
    },
}

impl Refusal {
    /// True when the policy refused the destination (as opposed to the name
    /// lookup failing): the proxy answers these with 403 and counts them.
    pub fn is_policy(&self) -> bool {
        matches!(
            self,
            Self::Blocked { .. }
                | Self::Port { .. }
                | Self::InvalidHost { .. }
                | Self::UnsupportedScheme { .. }
                | Self::MissingHost
                | Self::ProxyLoop
        )
    }

    fn with_host(self, name: &str) -> Self {
        match self {
            Self::Blocked { ip, embedded, class, .. } => {
                Self::Blocked { host: Some(name.to_owned()), ip, embedded, class }
            }
            other => other,
        }
    }
}

fn port_sentence(port: u16, allowed: &str) -> String {
    let asked = match port {
        // A resolver that never learns the port.
        0 => "on other ports".to_owned(),
        port => format!("on port {port}"),
    };
    format!("This server downloads from public sites only on the usual web ports ({allowed}), not {asked}.")
}

fn blocked_sentence(host: Option<&str>, ip: IpAddr, embedded: Option<Ipv4Addr>, class: AddressClass) -> String {
    // A name's addresses are not repeated: they are the inside of the
    // network this guards, and the log has them. An address the person
    // typed is theirs to see.
    let detail = match (host, embedded) {
        (Some(host), None) => format!("{host} resolves to {}", class.noun()),
        (Some(host), Some(_)) => format!("{host} resolves to an IPv6 form of {}", class.noun()),
        (None, Some(v4)) => format!("{ip}, which embeds {v4}, {}", class.noun()),
        (None, None) => format!("{ip}, {}", class.noun()),
    };
    format!("This server does not download from {} ({detail}).", class.group())
}

/// `ALLOW_PRIVATE_NETWORKS` or `EGRESS_PORTS` could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// One entry of `EGRESS_PORTS` is not a port number.
    #[error("EGRESS_PORTS: \"{entry}\" is not a port number (expected a comma-separated list such as \"8080,8443\")")]
    BadPort {
        /// The entry as written.
        entry: String,
    },
    /// One entry of the list is neither an address nor a CIDR range.
    #[error("ALLOW_PRIVATE_NETWORKS: \"{entry}\" is not an IP address or CIDR range (expected \"true\", \"false\", or a comma-separated list such as \"10.0.0.0/8,192.168.1.20,fd00::/8\")")]
    BadEntry {
        /// The entry as written.
        entry: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Refuse every special range except the listed networks.
    Refuse(Vec<IpNet>),
    /// `ALLOW_PRIVATE_NETWORKS=true`: allow everything.
    AllowAll,
}

/// The ports every public address may be fetched on.
pub const WEB_PORTS: [u16; 2] = [80, 443];

/// Which destinations the server may fetch from.
///
/// Addresses: see the module documentation. Ports: a public address only on
/// [`WEB_PORTS`] and the operator's `EGRESS_PORTS` (a guard that allowed any
/// port would be a port scanner of the internet); an address the operator
/// allowed with `ALLOW_PRIVATE_NETWORKS` (every address, with `true`) on any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    mode: Mode,
    /// `EGRESS_PORTS`: public ports allowed besides 80 and 443.
    extra_ports: Vec<u16>,
}

impl Default for EgressPolicy {
    /// Refuse every special range, and every port but 80 and 443.
    fn default() -> Self {
        Self { mode: Mode::Refuse(Vec::new()), extra_ports: Vec::new() }
    }
}

impl EgressPolicy {
    /// Builds the policy from the `ALLOW_PRIVATE_NETWORKS` setting:
    /// unset, empty or `false` refuse every special range; `true` allows
    /// everything; otherwise a comma-separated list of CIDR ranges or single
    /// addresses (IPv4 or IPv6) that are allowed although they are in a
    /// refused range.
    pub fn from_setting(setting: Option<&str>) -> Result<Self, PolicyError> {
        let setting = setting.map(str::trim).unwrap_or_default();
        if setting.is_empty() || setting.eq_ignore_ascii_case("false") {
            return Ok(Self::default());
        }
        if setting.eq_ignore_ascii_case("true") {
            return Ok(Self::allow_all());
        }
        let mut allowed = Vec::new();
        for entry in setting.split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            allowed.push(parse_entry(entry).ok_or_else(|| PolicyError::BadEntry { entry: entry.to_owned() })?);
        }
        Ok(Self::allowing(allowed))
    }

    /// A policy that allows every address (`ALLOW_PRIVATE_NETWORKS=true`).
    pub fn allow_all() -> Self {
        Self { mode: Mode::AllowAll, extra_ports: Vec::new() }
    }

    /// A policy that refuses special ranges except `allowed`.
    pub fn allowing(allowed: impl IntoIterator<Item = IpNet>) -> Self {
        Self { mode: Mode::Refuse(allowed.into_iter().map(|net| net.trunc()).collect()), extra_ports: Vec::new() }
    }

    /// This policy with `nets` allowed as well (with `true` nothing changes):
    /// for an address the operator named in a setting of its own, such as
    /// the PO-token minter's.
    pub fn also_allowing(&self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        match &self.mode {
            Mode::AllowAll => self.clone(),
            Mode::Refuse(allowed) => {
                let mut all = allowed.clone();
                all.extend(nets.into_iter().map(|net| net.trunc()));
                Self { mode: Mode::Refuse(all), extra_ports: self.extra_ports.clone() }
            }
        }
    }

    /// Also allows public addresses on `ports` (`EGRESS_PORTS`).
    pub fn with_ports(mut self, ports: impl IntoIterator<Item = u16>) -> Self {
        for port in ports {
            if !WEB_PORTS.contains(&port) && !self.extra_ports.contains(&port) {
                self.extra_ports.push(port);
            }
        }
        self.extra_ports.sort_unstable();
        self
    }

    /// Reads `EGRESS_PORTS`: a comma-separated list of ports (1–65535);
    /// unset or empty is none.
    pub fn parse_ports(setting: Option<&str>) -> Result<Vec<u16>, PolicyError> {
        setting
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .ok_or_else(|| PolicyError::BadPort { entry: shorten(entry) })
            })
            .collect()
    }

    /// The ports any public address may be fetched on: 80, 443 and
    /// `EGRESS_PORTS`.
    pub fn public_ports(&self) -> Vec<u16> {
        let mut ports = WEB_PORTS.to_vec();
        ports.extend(&self.extra_ports);
        ports
    }

    /// True when `port` is allowed on every address that passes
    /// [`check_ip`](Self::check_ip).
    pub fn port_is_public(&self, port: u16) -> bool {
        self.allows_everything() || WEB_PORTS.contains(&port) || self.extra_ports.contains(&port)
    }

    /// True when the operator allowed `ip` with `ALLOW_PRIVATE_NETWORKS`
    /// (every address, with `true`), so that any port of it may be fetched.
    pub fn operator_allowed(&self, ip: IpAddr) -> bool {
        match &self.mode {
            Mode::AllowAll => true,
            Mode::Refuse(allowed) => {
                let embedded = match ip {
                    IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
                    IpAddr::V4(_) => None,
                };
                allowed.iter().any(|net| net.contains(&ip) || embedded.is_some_and(|v4| net.contains(&v4)))
            }
        }
    }

    /// Refuses `port` on `ip` unless it is a public port or the operator
    /// allowed `ip` (see the type's documentation). Call after `check_ip`.
    pub fn check_port(&self, ip: IpAddr, port: u16) -> Result<(), Refusal> {
        if self.port_is_public(port) || self.operator_allowed(ip) {
            Ok(())
        } else {
            Err(self.port_refusal(port))
        }
    }

    /// The refusal of `port` on a public address.
    pub fn port_refusal(&self, port: u16) -> Refusal {
        let ports: Vec<String> = self.public_ports().iter().map(u16::to_string).collect();
        let allowed = match ports.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        };
        Refusal::Port { port, allowed }
    }

    /// True for `ALLOW_PRIVATE_NETWORKS=true`.
    pub fn allows_everything(&self) -> bool {
        self.mode == Mode::AllowAll
    }

    /// The networks allowed despite being in a refused range.
    pub fn allowed_networks(&self) -> &[IpNet] {
        match &self.mode {
            Mode::Refuse(allowed) => allowed,
            Mode::AllowAll => &[],
        }
    }

    /// Refuses `ip` when it is in a special range the operator did not allow.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        let Mode::Refuse(allowed) = &self.mode else {
            return Ok(());
        };
        let is_allowed = |ip: IpAddr| allowed.iter().any(|net| net.contains(&ip));
        if is_allowed(ip) {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(Class::Plain(class)) => Err(Refusal::Blocked { host: None, ip, embedded: None, class }),
            Some(Class::Embeds(v4)) => {
                if is_allowed(IpAddr::V4(v4)) {
                    return Ok(());
                }
                match classify_v4(v4) {
                    None => Ok(()),
                    Some(class) => Err(Refusal::Blocked { host: None, ip, embedded: Some(v4), class }),
                }
            }
        }
    }

    /// Checks a host (name or address literal, as in a URL or a CONNECT line)
    /// and returns the addresses to connect to. Address literals are parsed
    /// the way browsers and the `url` crate do (`2130706433`, `0x7f.1` and
    /// `127.1` all mean 127.0.0.1); names are resolved once, with a timeout,
    /// and refused when ANY address they resolve to is refused.
    pub async fn check_host(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refusal> {
        let host = host.trim();
        let parsed = url::Host::parse(host).map_err(|_| Refusal::InvalidHost { host: shorten(host) })?;
        let name = match parsed {
            url::Host::Ipv4(v4) => {
                self.check_ip(IpAddr::V4(v4))?;
                self.check_port(IpAddr::V4(v4), port)?;
                return Ok(vec![SocketAddr::new(IpAddr::V4(v4), port)]);
            }
            url::Host::Ipv6(v6) => {
                self.check_ip(IpAddr::V6(v6))?;
                self.check_port(IpAddr::V6(v6), port)?;
                return Ok(vec![SocketAddr::new(IpAddr::V6(v6), port)]);
            }
            url::Host::Domain(name) => name,
        };
        let lookup = tokio::net::lookup_host((name.as_str(), port));
        let resolved: Vec<SocketAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Err(_) => Err(Refusal::ResolveTimeout { host: name.clone() }),
            Ok(Err(e)) => Err(Refusal::Unresolvable { host: name.clone(), detail: e.to_string() }),
            Ok(Ok(addrs)) => Ok(addrs.collect()),
        }?;
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(resolved.len());
        for addr in resolved {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        if addrs.is_empty() {
            return Err(Refusal::NoAddresses { host: name });
        }
        for addr in &addrs {
            let checked = self.check_ip(addr.ip()).and_then(|()| self.check_port(addr.ip(), port));
            if let Err(refusal) = checked {
                // The sentence leaves the address out; the log keeps it.
                tracing::info!(host = %name, ip = %addr.ip(), port, reason = %refusal,
                    "egress guard refused a name by one of its addresses");
                return Err(refusal.with_host(&name));
            }
        }
        Ok(addrs)
    }

    /// The API's pre-check of a link: http or https, with a host that passes
    /// [`check_host`](Self::check_host).
    pub async fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(Refusal::UnsupportedScheme { scheme: shorten(scheme) });
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let literal = |ip: IpAddr| self.check_ip(ip).and_then(|()| self.check_port(ip, port));
        match url.host() {
            None => Err(Refusal::MissingHost),
            Some(url::Host::Ipv4(v4)) => literal(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => literal(IpAddr::V6(v6)),
            Some(url::Host::Domain(name)) => self.check_host(name, port).await.map(drop),
        }
    }
}

fn parse_entry(entry: &str) -> Option<IpNet> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Some(net.trunc());
    }
    entry.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Cuts text a stranger typed to a length that fits in a sentence.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 100;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

enum Class {
    Plain(AddressClass),
    /// An IPv6 form of an IPv4 address: judged by the IPv4 address.
    Embeds(Ipv4Addr),
}

fn classify(ip: IpAddr) -> Option<Class> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(Class::Plain),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// Refused IPv4 ranges, most specific first (255.255.255.255 before 240/4).
const V4_RANGES: &[(Ipv4Net, AddressClass)] = &[
    (v4(255, 255, 255, 255, 32), AddressClass::Broadcast),
    (v4(0, 0, 0, 0, 8), AddressClass::Unspecified),
    (v4(10, 0, 0, 0, 8), AddressClass::Private),
    (v4(100, 64, 0, 0, 10), AddressClass::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), AddressClass::Loopback),
    (v4(169, 254, 0, 0, 16), AddressClass::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddressClass::Private),
    (v4(192, 0, 0, 0, 24), AddressClass::Reserved),
    (v4(192, 0, 2, 0, 24), AddressClass::Documentation),
    (v4(192, 88, 99, 0, 24), AddressClass::Reserved),
    (v4(192, 168, 0, 0, 16), AddressClass::Private),
    (v4(198, 18, 0, 0, 15), AddressClass::Benchmarking),
    (v4(198, 51, 100, 0, 24), AddressClass::Documentation),
    (v4(203, 0, 113, 0, 24), AddressClass::Documentation),
    (v4(224, 0, 0, 0, 4), AddressClass::Multicast),
    (v4(240, 0, 0, 0, 4), AddressClass::Reserved),
];

/// Refused IPv6 ranges, checked after the forms that embed IPv4 addresses.
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), AddressClass::Reserved),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), AddressClass::Reserved),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), AddressClass::Reserved),
    (v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28), AddressClass::Reserved),
    (v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28), AddressClass::Reserved),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), AddressClass::Documentation),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), AddressClass::Documentation),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), AddressClass::Private),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), AddressClass::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), AddressClass::Private),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), AddressClass::Multicast),
];

/// Global unicast: everything outside it is refused as reserved.
const V6_GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    V4_RANGES.iter().find(|(net, _)| net.contains(&ip)).map(|&(_, class)| class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Class> {
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some(Class::Plain(AddressClass::Unspecified));
    }
    if ip == Ipv6Addr::LOCALHOST {
        return Some(Class::Plain(AddressClass::Loopback));
    }
    if let Some(v4) = embedded_v4(ip) {
        return Some(Class::Embeds(v4));
    }
    if let Some(&(_, class)) = V6_RANGES.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(Class::Plain(class));
    }
    if !V6_GLOBAL_UNICAST.contains(&ip) {
        return Some(Class::Plain(AddressClass::Reserved));
    }
    None
}

/// The IPv4 address inside an IPv6 address that stands for it:
/// IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, IPv4-translated
/// `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::/48`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] // mapped
        | [0, 0, 0, 0, 0, 0, _, _] // compatible (:: and ::1 are handled before)
        | [0, 0, 0, 0, 0xffff, 0, _, _] // translated
        | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low), // NAT64 well-known prefix
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refuse_all() -> EgressPolicy {
        EgressPolicy::from_setting(None).expect("default policy")
    }

    #[test]
    fn also_allowing_adds_exactly_those_addresses() {
        let base = EgressPolicy::from_setting(Some("10.0.0.0/8")).expect("policy").with_ports([8080]);
        let minter: IpAddr = "127.0.0.1".parse().expect("ip");
        let wider = base.also_allowing([IpNet::from(minter)]);
        assert!(wider.check_ip(minter).is_ok());
        assert!(wider.check_port(minter, 4416).is_ok());
        assert!(wider.check_ip("127.0.0.2".parse().expect("ip")).is_err());
        assert!(wider.check_ip("10.1.2.3".parse().expect("ip")).is_ok());
        assert_eq!(wider.public_ports(), base.public_ports());
        assert!(base.check_ip(minter).is_err(), "the instance's own policy is unchanged");
        assert!(EgressPolicy::allow_all().also_allowing([IpNet::from(minter)]).allows_everything());
    }

    fn class_of(policy: &EgressPolicy, ip: &str) -> Option<AddressClass> {
        let ip: IpAddr = ip.parse().expect("test address");
        match policy.check_ip(ip) {
            Ok(()) => None,
            Err(Refusal::Blocked { class, .. }) => Some(class),
            Err(other) => panic!("unexpected refusal {other:?}"),
        }
    }

    #[test]
    fn egress_classifier_table() {
        use AddressClass::*;
        let policy = refuse_all();
        let table: &[(&str, Option<AddressClass>)] = &[
            // loopback
            ("127.0.0.1", Some(Loopback)),
            ("127.0.0.2", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("::1", Some(Loopback)),
            // private
            ("10.0.0.1", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.254", Some(Private)),
            ("192.168.0.1", Some(Private)),
            ("192.168.255.255", Some(Private)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("fec0::1", Some(Private)),
            // link-local and cloud metadata
            ("169.254.0.1", Some(LinkLocal)),
            ("169.254.169.254", Some(LinkLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf:ffff::1", Some(LinkLocal)),
            // CGNAT
            ("100.64.0.1", Some(SharedAddressSpace)),
            ("100.127.255.254", Some(SharedAddressSpace)),
            // multicast
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("ff02::1", Some(Multicast)),
            ("ff05::1:3", Some(Multicast)),
            // unspecified and broadcast
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("::", Some(Unspecified)),
            ("255.255.255.255", Some(Broadcast)),
            // documentation, benchmarking, reserved
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.1", Some(Documentation)),
            ("192.88.99.1", Some(Reserved)),
            ("198.18.0.1", Some(Benchmarking)),
            ("198.19.255.254", Some(Benchmarking)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("240.0.0.1", Some(Reserved)),
            ("254.255.255.255", Some(Reserved)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("2001::1", Some(Reserved)),
            ("2001:10::1", Some(Reserved)),
            ("2001:20::1", Some(Reserved)),
            ("100::1", Some(Reserved)),
            ("64:ff9b:1::1", Some(Reserved)),
            ("4000::1", Some(Reserved)),
            ("1::1", Some(Reserved)),
            // IPv6 forms of refused IPv4 addresses: judged by the IPv4 address
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::127.0.0.1", Some(Loopback)),
            ("::192.168.1.1", Some(Private)),
            ("::0.0.0.2", Some(Unspecified)),
            ("::ffff:0:127.0.0.1", Some(Loopback)),
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:a9fe:a9fe::1", Some(LinkLocal)),
            ("2002:c0a8:101:1::1", Some(Private)),
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(LinkLocal)),
            ("64:ff9b::100.64.0.1", Some(SharedAddressSpace)),
            // public addresses (classified only, never contacted)
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("93.184.215.14", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("192.169.0.1", None),
            ("2606:4700::1111", None),
            ("2a00:1450:4001:80b::200e", None),
            ("::ffff:8.8.8.8", None),
            ("::8.8.8.8", None),
            ("2002:808:808::1", None),
            ("64:ff9b::8.8.8.8", None),
        ];
        for &(ip, expected) in table {
            assert_eq!(class_of(&policy, ip), expected, "{ip}");
        }
    }

    #[test]
    fn egress_refusal_sentences() {
        let policy = refuse_all();
        let refusal = policy.check_ip("127.0.0.1".parse().expect("ip")).expect_err("loopback refused");
        assert_eq!(
            refusal.to_string(),
            "This server does not download from private or local network addresses \
             (127.0.0.1, a loopback address)."
        );
        let refusal = policy.check_ip("::ffff:169.254.169.254".parse().expect("ip")).expect_err("metadata refused");
        assert_eq!(
            refusal.to_string(),
            "This server does not download from private or local network addresses \
             (::ffff:169.254.169.254, which embeds 169.254.169.254, a link-local address)."
        );
        let refusal = policy.check_ip("203.0.113.5".parse().expect("ip")).expect_err("documentation refused");
        assert_eq!(
            refusal.to_string(),
            "This server does not download from reserved addresses that no public website \
             uses (203.0.113.5, a documentation address)."
        );
        assert!(refusal.is_policy());
        assert_eq!(
            refusal.clone().with_host("example.test").to_string(),
            "This server does not download from reserved addresses that no public website \
             uses (example.test resolves to a documentation address)."
        );
    }

    #[test]
    fn egress_settings() {
        for off in [None, Some(""), Some("  "), Some("false"), Some("FALSE")] {
            let policy = EgressPolicy::from_setting(off).expect("refusing policy");
            assert_eq!(policy, EgressPolicy::default(), "{off:?}");
            assert!(!policy.allows_everything());
        }
        let all = EgressPolicy::from_setting(Some("true")).expect("allow all");
        assert!(all.allows_everything());
        assert_eq!(EgressPolicy::from_setting(Some(" True ")), Ok(all.clone()));
        for ip in ["127.0.0.1", "::1", "169.254.169.254", "10.0.0.1", "ff02::1"] {
            assert_eq!(class_of(&all, ip), None, "{ip}");
        }

        let one = EgressPolicy::from_setting(Some("127.0.0.2/32")).expect("cidr list");
        assert_eq!(class_of(&one, "127.0.0.2"), None);
        assert_eq!(class_of(&one, "::ffff:127.0.0.2"), None);
        assert_eq!(class_of(&one, "127.0.0.1"), Some(AddressClass::Loopback));
        assert_eq!(class_of(&one, "127.0.0.3"), Some(AddressClass::Loopback));
        assert_eq!(class_of(&one, "::1"), Some(AddressClass::Loopback));
        assert_eq!(class_of(&one, "8.8.8.8"), None);

        let list = EgressPolicy::from_setting(Some(" 10.0.0.0/8 , 192.168.1.20,fd00::/8,::1,")).expect("mixed list");
        assert_eq!(list.allowed_networks().len(), 4);
        for ip in ["10.9.8.7", "192.168.1.20", "fd00::5", "::1"] {
            assert_eq!(class_of(&list, ip), None, "{ip}");
        }
        for ip in ["192.168.1.21", "fc00::1", "127.0.0.1", "169.254.169.254"] {
            assert!(class_of(&list, ip).is_some(), "{ip}");
        }
        // Host bits in a CIDR are ignored.
        let host_bits = EgressPolicy::from_setting(Some("10.1.2.3/8")).expect("host bits");
        assert_eq!(class_of(&host_bits, "10.200.0.1"), None);

        for bad in [
            "yes",
            "10.0.0.0/33",
            "10.0.0",
            "fe80::1%eth0",
            "10.0.0.0/8,true",
            "192.168.1.0/24,nonsense",
            "example.com",
        ] {
            let err = EgressPolicy::from_setting(Some(bad)).expect_err(bad);
            let PolicyError::BadEntry { entry } = &err else { panic!("{bad}: {err:?}") };
            assert!(bad.contains(entry.as_str()), "{bad} → {entry}");
            assert!(err.to_string().contains(&format!("\"{entry}\"")), "{err}");
        }
        assert_eq!(
            EgressPolicy::from_setting(Some("10.0.0.0/8, nonsense")),
            Err(PolicyError::BadEntry { entry: "nonsense".into() })
        );
    }

    #[test]
    fn egress_url_crate_normalises_numeric_hosts() {
        for link in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "https://127.0.0.1./",
            "http://127%2e0.0.1/",
        ] {
            let url = url::Url::parse(link).expect(link);
            assert_eq!(url.host(), Some(url::Host::Ipv4(Ipv4Addr::LOCALHOST)), "{link}");
        }
    }

    #[tokio::test]
    async fn egress_check_host_literals() {
        let policy = refuse_all();
        for host in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "0x7f.1",
            "127.1",
            "0177.0.0.1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "0.0.0.0",
            "0",
            "169.254.169.254",
            "[fe80::1]",
        ] {
            let refusal = policy.check_host(host, 80).await.expect_err(host);
            assert!(matches!(refusal, Refusal::Blocked { host: None, .. }), "{host}: {refusal:?}");
        }
        assert_eq!(policy.check_host("8.8.8.8", 443).await, Ok(vec!["8.8.8.8:443".parse().expect("addr")]));
        assert_eq!(
            policy.check_host("[2606:4700::1111]", 443).await,
            Ok(vec!["[2606:4700::1111]:443".parse().expect("addr")])
        );
        for bad in ["", "a b", "exa mple.com", "[::1", "[fe80::1%25eth0]", "1.2.3.4.5"] {
            let refusal = policy.check_host(bad, 80).await.expect_err(bad);
            assert!(matches!(refusal, Refusal::InvalidHost { .. }), "{bad}: {refusal:?}");
        }
    }

    #[tokio::test]
    async fn egress_check_host_resolves_and_refuses_any_private_answer() {
        let policy = refuse_all();
        // localhost comes from /etc/hosts: no packet leaves the machine.
        let refusal = policy.check_host("localhost", 80).await.expect_err("localhost refused");
        match &refusal {
            Refusal::Blocked { host: Some(host), class: AddressClass::Loopback, .. } => assert_eq!(host, "localhost"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(refusal.to_string().contains("localhost resolves to"));

        let allowed = EgressPolicy::from_setting(Some("127.0.0.0/8,::1")).expect("policy");
        let addrs = allowed.check_host("localhost", 8080).await.expect("localhost allowed");
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.port() == 8080 && a.ip().is_loopback()));

        // Allowing only the IPv4 side is not enough when localhost also has ::1.
        let only_v4 = EgressPolicy::from_setting(Some("127.0.0.0/8")).expect("policy");
        let resolved = allowed.check_host("localhost", 80).await.expect("resolves");
        let v4_only_result = only_v4.check_host("localhost", 80).await;
        if resolved.iter().any(|a| a.is_ipv6()) {
            assert!(v4_only_result.is_err(), "{v4_only_result:?}");
        } else {
            assert!(v4_only_result.is_ok(), "{v4_only_result:?}");
        }
    }

    #[tokio::test]
    async fn egress_ports_public_only_80_443_and_the_listed_ones() {
        let policy = EgressPolicy::from_setting(Some("127.0.0.2/32,10.0.0.0/8"))
            .expect("policy")
            .with_ports(EgressPolicy::parse_ports(Some(" 8080, 443 ,")).expect("ports"));
        assert_eq!(policy.public_ports(), [80, 443, 8080]);
        // Public literals: never connected to, only checked.
        for (host, port) in [("8.8.8.8", 80), ("8.8.8.8", 443), ("[2606:4700::1111]", 443), ("1.1.1.1", 8080)] {
            assert!(policy.check_host(host, port).await.is_ok(), "{host}:{port}");
        }
        for (host, port) in [("8.8.8.8", 22), ("1.1.1.1", 6379), ("[2606:4700::1111]", 8443), ("[::ffff:8.8.8.8]", 25)]
        {
            let refusal = policy.check_host(host, port).await.expect_err(host);
            assert!(matches!(refusal, Refusal::Port { .. }), "{host}:{port} {refusal:?}");
            assert!(refusal.is_policy());
            assert_eq!(
                refusal.to_string(),
                format!("This server downloads from public sites only on the usual web ports (80, 443 and 8080), not on port {port}.")
            );
        }
        // What the operator allowed: any port, in every spelling.
        for host in ["127.0.0.2", "10.1.2.3", "[::ffff:10.1.2.3]"] {
            assert!(policy.check_host(host, 6379).await.is_ok(), "{host}");
        }
        // A refused address stays refused for its address, whatever the port.
        let refusal = policy.check_host("127.0.0.1", 22).await.expect_err("loopback");
        assert!(matches!(refusal, Refusal::Blocked { .. }), "{refusal:?}");
        // URLs: the scheme's port counts when none is written.
        let url = |s: &str| url::Url::parse(s).expect(s);
        assert!(policy.check_url(&url("https://1.1.1.1/x")).await.is_ok());
        assert!(policy.check_url(&url("http://1.1.1.1:8080/x")).await.is_ok());
        assert!(matches!(policy.check_url(&url("http://1.1.1.1:22/x")).await, Err(Refusal::Port { port: 22, .. })));
        assert!(policy.check_url(&url("http://127.0.0.2:40000/x")).await.is_ok());
        // true allows every address, so every port.
        assert!(EgressPolicy::allow_all().check_host("8.8.8.8", 22).await.is_ok());
        let plain = EgressPolicy::default().port_refusal(8080).to_string();
        assert!(plain.contains("(80 and 443), not on port 8080"), "{plain}");

        for bad in ["http", "0", "65536", "80-90", "-1"] {
            let err = EgressPolicy::parse_ports(Some(bad)).expect_err(bad);
            assert!(err.to_string().starts_with("EGRESS_PORTS: "), "{err}");
            assert!(err.to_string().contains(&format!("\"{bad}\"")), "{err}");
        }
        assert_eq!(EgressPolicy::parse_ports(None), Ok(vec![]));
        assert_eq!(EgressPolicy::parse_ports(Some("")), Ok(vec![]));
    }

    #[tokio::test]
    async fn egress_names_are_refused_without_their_addresses() {
        let refusal = refuse_all().check_host("localhost", 80).await.expect_err("localhost");
        let sentence = refusal.to_string();
        assert_eq!(
            sentence,
            "This server does not download from private or local network addresses \
             (localhost resolves to a loopback address)."
        );
        assert!(!sentence.contains("127.0.0.1") && !sentence.contains("::1"), "{sentence}");
    }

    #[tokio::test]
    async fn egress_check_url() {
        let policy = refuse_all();
        for link in [
            "http://127.0.0.1:8080/x",
            "http://2130706433/",
            "http://0x7f.1/",
            "https://[::1]/",
            "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:3000/",
        ] {
            let url = url::Url::parse(link).expect(link);
            let refusal = policy.check_url(&url).await.expect_err(link);
            assert!(refusal.is_policy(), "{link}: {refusal:?}");
        }
        for link in ["file:///etc/passwd", "ftp://8.8.8.8/", "data:text/plain,hi"] {
            let url = url::Url::parse(link).expect(link);
            assert!(matches!(policy.check_url(&url).await, Err(Refusal::UnsupportedScheme { .. })), "{link}");
        }
        let public = url::Url::parse("https://1.1.1.1/video").expect("url");
        assert_eq!(policy.check_url(&public).await, Ok(()));
    }

    fn v4_forms(v4: Ipv4Addr) -> [Ipv6Addr; 2] {
        let o = v4.octets();
        let hi = u16::from_be_bytes([o[0], o[1]]);
        let lo = u16::from_be_bytes([o[2], o[3]]);
        [v4.to_ipv6_mapped(), Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo)]
    }

    proptest! {
        #[test]
        fn egress_mapped_and_compatible_forms_are_refused_like_the_plain_form(raw in any::<u32>()) {
            let policy = refuse_all();
            let plain = Ipv4Addr::from(raw);
            let plain_refused = policy.check_ip(IpAddr::V4(plain)).is_err();
            for form in v4_forms(plain) {
                if plain_refused {
                    prop_assert!(policy.check_ip(IpAddr::V6(form)).is_err(), "{form}");
                }
            }
            // Also the other way round for the mapped form: it is the same destination.
            let mapped = policy.check_ip(IpAddr::V6(plain.to_ipv6_mapped())).is_err();
            prop_assert_eq!(plain_refused, mapped);
        }

        #[test]
        fn egress_check_ip_never_panics(raw in any::<u128>(), raw4 in any::<u32>(), allow_bits in 0u8..=128) {
            let ip6 = Ipv6Addr::from(raw);
            let ip4 = Ipv4Addr::from(raw4);
            let net = IpNet::V6(Ipv6Net::new(ip6, allow_bits).expect("prefix <= 128"));
            for policy in [refuse_all(), EgressPolicy::allow_all(), EgressPolicy::allowing([net])] {
                let _ = policy.check_ip(IpAddr::V6(ip6));
                let _ = policy.check_ip(IpAddr::V4(ip4));
                if let Err(refusal) = policy.check_ip(IpAddr::V6(ip6)) {
                    prop_assert!(!refusal.to_string().is_empty());
                }
            }
        }
    }
}
