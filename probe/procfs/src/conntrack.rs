//! Every TCP flow netfilter tracks, from conntrack's netlink events (`NFNLGRP_CONNTRACK_NEW`,
//! `_UPDATE` and `_DESTROY`, plus one dump at start), the way Weave Scope's probe saw
//! connections that live far less than a scan interval.
//!
//! Scanning socket tables only sees a connection that exists at the instant of the scan: an
//! HTTP request without keep-alive, a health check or a reconnecting client lives a few
//! milliseconds and is missed. Conntrack tells of every flow as it happens, with its direction
//! (the original tuple is the side that sent the first packet) and its NAT mapping (the reply
//! tuple names the real server behind a published port). It sees the host's own traffic and,
//! with `br_netfilter` (which Docker turns on), traffic between containers on a bridge; not
//! loopback inside a container, which the socket tables still cover.
//!
//! A thread reads the events into a [`FlowTable`]; the collector reads that once a tick. A flow
//! is kept while established and, once it ends, until one tick has reported it, so a
//! connection of a millisecond appears in one report, and the app's merge window keeps it on
//! the map for the window after. Where conntrack cannot be opened (no privilege, no module),
//! [`Conntrack::start`] says why and the probe goes on with socket tables alone.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use rustix::fd::OwnedFd;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::netlink::{DUMP_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, for_each_message};

/// `NFNL_SUBSYS_CTNETLINK` and its message types (linux/netfilter/nfnetlink_conntrack.h).
const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
/// Multicast groups `NFNLGRP_CONNTRACK_NEW`, `_UPDATE`, `_DESTROY` (1, 2, 3) as a bind mask.
const GROUPS: u32 = 1 << 0 | 1 << 1 | 1 << 2;
/// `struct nfgenmsg`: family, version, res_id.
const NFGENMSG_LEN: usize = 4;
/// Attribute types (`CTA_*`, `CTA_TUPLE_*`, `CTA_IP_*`, `CTA_PROTO_*`, `CTA_PROTOINFO_*`).
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_PROTOINFO: u16 = 4;
const CTA_ID: u16 = 12;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;
/// `NLA_F_NESTED | NLA_F_NET_BYTEORDER`, masked off attribute types.
const NLA_TYPE_MASK: u16 = !(0x8000 | 0x4000);
const IPPROTO_TCP: u8 = 6;
/// Conntrack's TCP states (`enum tcp_conntrack`): ESTABLISHED up to TIME_WAIT mean the
/// handshake completed; FIN_WAIT and later mean it is closing.
const TCP_ESTABLISHED: u8 = 3;
const TCP_FIN_WAIT: u8 = 4;
const TCP_TIME_WAIT: u8 = 7;
const TCP_CLOSE: u8 = 8;
/// What the kernel may queue for us before it drops events (ENOBUFS), as Scope's default.
const RECV_BUFFER: usize = 4 * 1024 * 1024;

/// At most this many flows are held; a storm beyond it is counted, not stored (and what is
/// stored is summarised per pair by the collector).
pub const DEFAULT_MAX_FLOWS: usize = 50_000;

/// One direction of a flow: who sent to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
}

/// A TCP flow as conntrack knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// As the connecting side sent it: `src` is the client.
    pub orig: Tuple,
    /// As the answering side sent it: `src` is the real server (after DNAT), `dst` the client
    /// as the server sees it (after SNAT).
    pub reply: Tuple,
}

impl Flow {
    /// The connecting end.
    pub fn client(&self) -> SocketAddr {
        self.orig.src
    }

    /// The end that accepted: the real server behind any DNAT (a published port).
    pub fn server(&self) -> SocketAddr {
        self.reply.src
    }
}

/// How a reported flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Open, and reported for the first time.
    New,
    /// Open, and reported before.
    Open,
    /// Ended since the last report (reported this once more).
    Ended,
}

/// What an event says of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// New or changed, with conntrack's TCP state when the message carried one.
    Update(Option<u8>),
    /// Gone from the table.
    Destroy,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    flow: Flow,
    established: bool,
    ended: bool,
    /// Reported by a tick since it ended (or since it was seen, for a flow that ended at once).
    reported: bool,
    /// Reported by a tick at all.
    announced: bool,
}

/// Counters of the flow table, for the probe's own report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows held now (established, or ended and not yet reported).
    pub flows: usize,
    /// Events read since start.
    pub events: u64,
    /// Times the kernel dropped events because we were slow (ENOBUFS); flows that began and
    /// ended in such a gap are missed.
    pub overflows: u64,
    /// Flows not held because the table was full.
    pub dropped: u64,
}

/// The flows seen, by conntrack id.
#[derive(Debug)]
pub struct FlowTable {
    max_flows: usize,
    entries: HashMap<u32, Entry>,
    /// Flows reported as ended and forgotten, with when: conntrack still sends events for
    /// them (TIME_WAIT, then destroy two minutes later), which must not bring them back.
    forgotten: HashMap<u32, Instant>,
    stats: FlowStats,
}

/// How long conntrack may still speak of a flow after it closed: its TIME_WAIT timeout
/// (`nf_conntrack_tcp_timeout_time_wait`, 120 s), plus slack.
const FORGET_AFTER: Duration = Duration::from_secs(150);

impl FlowTable {
    /// An empty table holding at most `max_flows`.
    pub fn new(max_flows: usize) -> FlowTable {
        FlowTable {
            max_flows,
            entries: HashMap::new(),
            forgotten: HashMap::new(),
            stats: FlowStats::default(),
        }
    }

    fn apply(&mut self, id: u32, flow: Flow, event: Event) {
        self.stats.events += 1;
        let state = match event {
            Event::Update(state) => state,
            Event::Destroy => None,
        };
        // A flow whose first packet got no answer (a refused or dropped SYN) never was a
        // connection: conntrack reports it in SYN_SENT and then CLOSE.
        let established =
            matches!(state, Some(s) if (TCP_ESTABLISHED..=TCP_TIME_WAIT).contains(&s));
        let ending = event == Event::Destroy
            || matches!(state, Some(s) if (TCP_FIN_WAIT..=TCP_CLOSE).contains(&s));
        let full = self.entries.len() >= self.max_flows;
        match self.entries.get_mut(&id) {
            Some(e) => {
                e.established |= established;
                if ending && !e.ended {
                    e.ended = true;
                    e.reported = false;
                }
            }
            None if event == Event::Destroy && !established => {}
            // The close of a flow already reported ended; a flow in an opening state under the
            // same id is a new connection, and is taken.
            None if ending && self.forgotten.contains_key(&id) => {}
            None if full => self.stats.dropped += 1,
            None => {
                self.forgotten.remove(&id);
                self.entries.insert(
                    id,
                    Entry {
                        flow,
                        established,
                        ended: ending,
                        reported: false,
                        announced: false,
                    },
                );
            }
        }
    }

    /// Calls `f(flow, seen)` for every flow that was established: those still open and those
    /// that ended since the last call. `seen` says how it stands: new (first reported now),
    /// ended, or neither. Ended flows are forgotten after this call reported them once, and so
    /// are flows that ended without ever being established.
    pub fn report(&mut self, mut f: impl FnMut(&Flow, Seen)) {
        let now = Instant::now();
        self.forgotten
            .retain(|_, at| now.duration_since(*at) < FORGET_AFTER);
        let forgotten = &mut self.forgotten;
        let room = self.max_flows;
        self.entries.retain(|id, e| {
            if e.established && !(e.ended && e.reported) {
                let seen = if e.ended {
                    Seen::Ended
                } else if e.announced {
                    Seen::Open
                } else {
                    Seen::New
                };
                f(&e.flow, seen);
                e.reported = true;
                e.announced = true;
            }
            let keep = !(e.ended && (e.reported || !e.established));
            // Bounded like the table: past that, a late event may bring a flow back once.
            if !keep && forgotten.len() < room {
                forgotten.insert(*id, now);
            }
            keep
        });
        self.stats.flows = self.entries.len();
    }

    /// Counters.
    pub fn stats(&self) -> FlowStats {
        FlowStats {
            flows: self.entries.len(),
            ..self.stats
        }
    }
}

/// Conntrack's event stream, read by a thread of its own into a shared [`FlowTable`].
#[derive(Debug, Clone)]
pub struct Conntrack {
    table: Arc<Mutex<FlowTable>>,
}

impl Conntrack {
    /// Subscribes to conntrack's events in the caller's network namespace, dumps the flows
    /// already there, and starts the thread that follows them. Fails when the netlink socket
    /// cannot be had (no CAP_NET_ADMIN, conntrack not in the kernel): the caller then goes on
    /// without it.
    pub fn start(max_flows: usize) -> io::Result<Conntrack> {
        let events = socket()?;
        // Force past rmem_max when privileged; a smaller buffer only means earlier ENOBUFS.
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&events, RECV_BUFFER).is_err() {
            let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&events, RECV_BUFFER);
        }
        rustix::net::bind(
            &events,
            &rustix::net::netlink::SocketAddrNetlink::new(0, GROUPS),
        )?;
        // Wake up now and then on a quiet host to see whether the collector is still there.
        rustix::net::sockopt::set_socket_timeout(
            &events,
            rustix::net::sockopt::Timeout::Recv,
            Some(IDLE_CHECK),
        )?;
        let table = Arc::new(Mutex::new(FlowTable::new(max_flows)));
        // Subscribed first, dumped second: a flow that starts in between is in one or both.
        dump(&table)?;
        // Weak: the thread ends once the collector (the only strong owner) is gone.
        let shared = Arc::downgrade(&table);
        std::thread::Builder::new()
            .name("scope-conntrack".into())
            .spawn(move || follow(&events, &shared))?;
        Ok(Conntrack { table })
    }

    /// See [`FlowTable::report`].
    pub fn report(&self, f: impl FnMut(&Flow, Seen)) {
        self.lock().report(f);
    }

    /// Counters.
    pub fn stats(&self) -> FlowStats {
        self.lock().stats()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FlowTable> {
        // The table is plain data: a panic elsewhere leaves it usable.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn socket() -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(rustix::net::netlink::NETFILTER),
    )?)
}

fn lock(table: &Mutex<FlowTable>) -> std::sync::MutexGuard<'_, FlowTable> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads the flows already in the table (IPv4 and IPv6) into `table`.
fn dump(table: &Mutex<FlowTable>) -> io::Result<()> {
    let fd = socket()?;
    let mut buf = vec![0u8; 64 * 1024];
    for (seq, family) in [(1u32, AddressFamily::INET), (2, AddressFamily::INET6)] {
        let mut req = [0u8; NLMSG_HDRLEN + NFGENMSG_LEN];
        req[0..4].copy_from_slice(&((NLMSG_HDRLEN + NFGENMSG_LEN) as u32).to_ne_bytes());
        let kind = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
        req[4..6].copy_from_slice(&kind.to_ne_bytes());
        req[6..8].copy_from_slice(&DUMP_REQUEST.to_ne_bytes());
        req[8..12].copy_from_slice(&seq.to_ne_bytes());
        req[16] = family.as_raw() as u8;
        rustix::net::send(&fd, &req, SendFlags::empty())?;
        'messages: loop {
            let (n, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
            let mut done = false;
            let mut batch = Vec::new();
            // A truncated message cannot be read past: the dump is over for us.
            let whole = for_each_message(&buf[..n], |kind, _, payload| match kind {
                NLMSG_DONE | NLMSG_ERROR => done = true,
                _ => batch.extend(parse_message(kind, payload)),
            });
            done |= whole.is_err();
            let mut t = lock(table);
            for (id, flow, event) in batch {
                t.apply(id, flow, event);
            }
            if done {
                break 'messages;
            }
        }
    }
    Ok(())
}

/// How often the conntrack thread of a quiet host checks that its collector still exists.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The event loop of the conntrack thread: runs while the [`Conntrack`] it feeds exists.
fn follow(fd: &OwnedFd, table: &Weak<Mutex<FlowTable>>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut batch = Vec::new();
    loop {
        let received = rustix::net::recv(fd, &mut buf[..], RecvFlags::empty());
        let Some(table) = table.upgrade() else {
            return;
        };
        let table = &*table;
        match received {
            Ok((n, _)) => {
                batch.clear();
                // Events are whole datagrams: a truncated one is dropped, the rest kept.
                let _ = for_each_message(&buf[..n], |kind, _, payload| {
                    batch.extend(parse_message(kind, payload));
                });
                let mut t = lock(table);
                for &(id, flow, event) in &batch {
                    t.apply(id, flow, event);
                }
            }
            Err(rustix::io::Errno::NOBUFS) => {
                // The kernel dropped events while we were slow: count it, and re-read what is
                // there now so flows that are still open are not lost for good.
                lock(table).stats.overflows += 1;
                tracing::debug!("conntrack events overflowed; re-reading the table");
                if let Err(e) = dump(table) {
                    tracing::debug!(error = %e, "conntrack dump after overflow failed");
                }
            }
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(e) => {
                tracing::warn!(error = %e, "conntrack events stopped; short connections are no longer seen");
                return;
            }
        }
    }
}

/// A ctnetlink message: (conntrack id, flow, event), for TCP flows with both tuples.
fn parse_message(kind: u16, payload: &[u8]) -> Option<(u32, Flow, Event)> {
    if kind >> 8 != NFNL_SUBSYS_CTNETLINK {
        return None;
    }
    let attrs = payload.get(NFGENMSG_LEN..)?;
    let (mut orig, mut reply, mut id, mut state) = (None, None, None, None);
    for_each_attr(attrs, |t, v| match t {
        CTA_TUPLE_ORIG => orig = parse_tuple(v),
        CTA_TUPLE_REPLY => reply = parse_tuple(v),
        CTA_ID => {
            id = v
                .get(..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        CTA_PROTOINFO => for_each_attr(v, |t, v| {
            if t == CTA_PROTOINFO_TCP {
                for_each_attr(v, |t, v| {
                    if t == CTA_PROTOINFO_TCP_STATE {
                        state = v.first().copied();
                    }
                });
            }
        }),
        _ => {}
    });
    let event = match kind & 0xff {
        IPCTNL_MSG_CT_NEW => Event::Update(state),
        IPCTNL_MSG_CT_DELETE => Event::Destroy,
        _ => return None,
    };
    let ((orig, 6), (reply, 6)) = (orig?, reply?) else {
        return None;
    };
    Some((id?, Flow { orig, reply }, event))
}

/// `CTA_TUPLE_*`: the addresses, ports and protocol of one direction.
fn parse_tuple(v: &[u8]) -> Option<(Tuple, u8)> {
    let (mut src, mut dst, mut sport, mut dport, mut proto) = (None, None, None, None, None);
    for_each_attr(v, |t, v| match t {
        CTA_TUPLE_IP => for_each_attr(v, |t, v| match t {
            CTA_IP_V4_SRC => src = v4(v),
            CTA_IP_V4_DST => dst = v4(v),
            CTA_IP_V6_SRC => src = v6(v),
            CTA_IP_V6_DST => dst = v6(v),
            _ => {}
        }),
        CTA_TUPLE_PROTO => for_each_attr(v, |t, v| match t {
            CTA_PROTO_NUM => proto = v.first().copied(),
            CTA_PROTO_SRC_PORT => sport = port(v),
            CTA_PROTO_DST_PORT => dport = port(v),
            _ => {}
        }),
        _ => {}
    });
    let proto = proto?;
    if proto != IPPROTO_TCP {
        return Some((unspecified(), proto));
    }
    Some((
        Tuple {
            src: SocketAddr::new(src?, sport?),
            dst: SocketAddr::new(dst?, dport?),
        },
        proto,
    ))
}

fn unspecified() -> Tuple {
    let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    Tuple { src: any, dst: any }
}

fn v4(v: &[u8]) -> Option<IpAddr> {
    let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(b)))
}

fn v6(v: &[u8]) -> Option<IpAddr> {
    let b: [u8; 16] = v.get(..16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(b)))
}

fn port(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))
}

/// Calls `f(type, value)` for each netlink attribute in `buf` (4-byte aligned).
fn for_each_attr(mut buf: &[u8], mut f: impl FnMut(u16, &[u8])) {
    while buf.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            return;
        }
        f(kind, &buf[4..len]);
        buf = buf.get((len + 3) & !3..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend(((4 + value.len()) as u16).to_ne_bytes());
        a.extend(kind.to_ne_bytes());
        a.extend(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn nested(kind: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        attr(kind | 0x8000, &parts.concat())
    }

    fn tuple(kind: u16, src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        nested(
            kind,
            &[
                nested(
                    CTA_TUPLE_IP,
                    &[attr(CTA_IP_V4_SRC, &src), attr(CTA_IP_V4_DST, &dst)],
                ),
                nested(
                    CTA_TUPLE_PROTO,
                    &[
                        attr(CTA_PROTO_NUM, &[IPPROTO_TCP]),
                        attr(CTA_PROTO_SRC_PORT, &sport.to_be_bytes()),
                        attr(CTA_PROTO_DST_PORT, &dport.to_be_bytes()),
                    ],
                ),
            ],
        )
    }

    /// A ctnetlink payload as the kernel sends it for a client 10.0.0.1 reaching the host's
    /// published port 8080, DNATed to a container at 172.17.0.2:80.
    fn dnat_message(state: u8) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0];
        p.extend(tuple(
            CTA_TUPLE_ORIG,
            [10, 0, 0, 1],
            [10, 0, 0, 9],
            40000,
            8080,
        ));
        p.extend(tuple(
            CTA_TUPLE_REPLY,
            [172, 17, 0, 2],
            [10, 0, 0, 1],
            80,
            40000,
        ));
        p.extend(nested(
            CTA_PROTOINFO,
            &[nested(
                CTA_PROTOINFO_TCP,
                &[attr(CTA_PROTOINFO_TCP_STATE, &[state])],
            )],
        ));
        p.extend(attr(CTA_ID, &77u32.to_be_bytes()));
        p
    }

    #[test]
    fn parses_a_natted_flow_with_its_direction() {
        let kind = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
        let (id, flow, event) = parse_message(kind, &dnat_message(TCP_ESTABLISHED)).unwrap();
        assert_eq!(id, 77);
        assert_eq!(event, Event::Update(Some(TCP_ESTABLISHED)));
        assert_eq!(flow.client(), "10.0.0.1:40000".parse().unwrap());
        assert_eq!(flow.server(), "172.17.0.2:80".parse().unwrap());
        assert_eq!(flow.orig.dst, "10.0.0.9:8080".parse().unwrap());
        let kind = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE;
        assert_eq!(
            parse_message(kind, &dnat_message(TCP_ESTABLISHED))
                .unwrap()
                .2,
            Event::Destroy
        );
        // Truncated and foreign messages are skipped, not misread.
        let msg = dnat_message(TCP_ESTABLISHED);
        for cut in [0, 3, 10, 40, msg.len() - 8] {
            let _ = parse_message(kind, &msg[..cut]);
        }
        assert_eq!(parse_message(kind, &msg[..msg.len() - 8]), None, "no id");
        assert_eq!(parse_message(0x0200, &msg), None, "another subsystem");
    }

    fn flow(n: u16) -> Flow {
        let a = |s: &str| s.parse().unwrap();
        Flow {
            orig: Tuple {
                src: a(&format!("10.0.0.1:{n}")),
                dst: a("10.0.0.2:80"),
            },
            reply: Tuple {
                src: a("10.0.0.2:80"),
                dst: a(&format!("10.0.0.1:{n}")),
            },
        }
    }

    fn reported(t: &mut FlowTable) -> Vec<u16> {
        let mut out = Vec::new();
        t.report(|f, _| out.push(f.client().port()));
        out.sort_unstable();
        out
    }

    #[test]
    fn short_flows_are_reported_once_after_they_end() {
        let mut t = FlowTable::new(100);
        // A connection of a millisecond: SYN, established, closing, destroyed, all between
        // two ticks.
        t.apply(1, flow(1), Event::Update(Some(1)));
        t.apply(1, flow(1), Event::Update(Some(TCP_ESTABLISHED)));
        t.apply(1, flow(1), Event::Update(Some(TCP_TIME_WAIT)));
        // A long one.
        t.apply(2, flow(2), Event::Update(Some(TCP_ESTABLISHED)));
        // A refused one: SYN, then CLOSE without an answer.
        t.apply(3, flow(3), Event::Update(Some(1)));
        t.apply(3, flow(3), Event::Update(Some(TCP_CLOSE)));
        assert_eq!(reported(&mut t), [1, 2]);
        assert_eq!(
            reported(&mut t),
            [2],
            "the ended flow went after one report"
        );
        t.apply(1, flow(1), Event::Destroy);
        t.apply(2, flow(2), Event::Update(Some(TCP_FIN_WAIT)));
        t.apply(2, flow(2), Event::Destroy);
        assert_eq!(reported(&mut t), [2], "reported once more after it ended");
        assert_eq!(reported(&mut t), Vec::<u16>::new());
        assert_eq!(t.stats().flows, 0);
        assert_eq!(t.stats().events, 9);
    }

    #[test]
    fn late_events_of_a_forgotten_flow_do_not_bring_it_back() {
        let mut t = FlowTable::new(100);
        t.apply(1, flow(1), Event::Update(Some(TCP_ESTABLISHED)));
        t.apply(1, flow(1), Event::Update(Some(TCP_FIN_WAIT)));
        assert_eq!(reported(&mut t), [1]);
        // The rest of the close, after the tick that reported it: TIME_WAIT, then destroy.
        t.apply(1, flow(1), Event::Update(Some(TCP_TIME_WAIT)));
        t.apply(1, flow(1), Event::Destroy);
        assert_eq!(reported(&mut t), Vec::<u16>::new());
        // A dump after an overflow lists it in TIME_WAIT: still not back.
        t.apply(1, flow(1), Event::Update(Some(TCP_TIME_WAIT)));
        assert_eq!(reported(&mut t), Vec::<u16>::new());
        // A new connection that happens to get the same id is taken.
        t.apply(1, flow(3), Event::Update(Some(1)));
        t.apply(1, flow(3), Event::Update(Some(TCP_ESTABLISHED)));
        assert_eq!(reported(&mut t), [3]);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = FlowTable::new(2);
        for i in 0..5 {
            t.apply(i, flow(i as u16), Event::Update(Some(TCP_ESTABLISHED)));
        }
        assert_eq!(t.stats().flows, 2);
        assert_eq!(t.stats().dropped, 3);
    }

    /// Needs CAP_NET_ADMIN and conntrack (the test suite runs as root): a real connection on
    /// loopback shows in the event stream with its direction.
    #[test]
    fn sees_a_real_short_connection() {
        let ct = match Conntrack::start(DEFAULT_MAX_FLOWS) {
            Ok(ct) => ct,
            Err(e) => panic!(
                "conntrack netlink is not available ({e}): run the tests as root on a kernel with nf_conntrack"
            ),
        };
        // Conntrack only tracks loopback flows when a netfilter hook wants them; the host's
        // own traffic is tracked once any conntrack user (Docker's NAT rules, this socket) is
        // there. Retry a few connections to let the first one register the hooks.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // Detached: it accepts until the test process ends.
        std::thread::spawn(move || {
            for s in listener.incoming() {
                drop(s);
            }
        });
        let mut clients = Vec::new();
        let mut seen = false;
        for _ in 0..20 {
            let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            clients.push(c.local_addr().unwrap());
            drop(c);
            std::thread::sleep(std::time::Duration::from_millis(50));
            ct.report(|f, _| {
                if f.server().port() == port && clients.contains(&f.client()) {
                    seen = true;
                }
            });
            if seen {
                break;
            }
        }
        assert!(
            seen,
            "a connection to 127.0.0.1:{port} in conntrack's events"
        );
        assert!(ct.stats().events > 0);
    }
}
