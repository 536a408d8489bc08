//! Pure parsers for the /proc files the collectors read. They work on borrowed bytes and allocate
//! nothing, because they run for every process and every socket once a second.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `PF_KTHREAD` in the `flags` field of `/proc/PID/stat` (include/linux/sched.h): the task is a
/// kernel thread. More reliable than "empty cmdline and ppid 2", and needs no extra read.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// The fields of `/proc/PID/stat` the process collector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidStat<'a> {
    /// `comm`, without the parentheses; may contain spaces and parentheses itself.
    pub comm: &'a [u8],
    /// One-letter state (`R`, `S`, `Z`, ...).
    pub state: u8,
    /// Parent pid.
    pub ppid: u32,
    /// Kernel task flags (`PF_*`).
    pub flags: u32,
    /// User plus system time, in clock ticks.
    pub jiffies: u64,
    /// Number of threads.
    pub threads: u32,
    /// Start time after boot, in clock ticks; with the pid it identifies a process across pid reuse.
    pub starttime: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

impl PidStat<'_> {
    /// Zombies and dead tasks have no memory, fds or sockets worth reporting.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }

    /// Kernel threads (kthreadd and its children). Not "ppid 2": user-mode helpers the kernel
    /// starts (modprobe, core dump handlers) are children of kthreadd too, but real processes.
    pub fn is_kernel_thread(&self, pid: u32) -> bool {
        self.flags & PF_KTHREAD != 0 || pid == 2
    }
}

/// Parses `/proc/PID/stat`. `comm` may contain spaces and `)`, so the fields after it are found
/// from the last `)` in the line, as the kernel documents.
pub fn parse_pid_stat(buf: &[u8]) -> Option<PidStat<'_>> {
    let open = buf.iter().position(|&b| b == b'(')?;
    let close = buf.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = &buf[open + 1..close];
    // Fields after comm, numbered as in proc(5): state is field 3.
    let mut fields = buf
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let mut field = |n: usize| fields.nth(n);
    let state = *field(0)?.first()?; // 3
    let ppid = parse_u64(field(0)?)? as u32; // 4
    let flags = parse_u64(field(4)?)? as u32; // 9
    let utime = parse_u64(field(4)?)?; // 14
    let stime = parse_u64(field(0)?)?; // 15
    let threads = parse_u64(field(4)?)? as u32; // 20
    let starttime = parse_u64(field(1)?)?; // 22
    let rss_pages = parse_u64(field(1)?)?; // 24
    Some(PidStat {
        comm,
        state,
        ppid,
        flags,
        jiffies: utime + stime,
        threads,
        starttime,
        rss_pages,
    })
}

/// TCP socket states as `/proc/net/tcp` prints them (include/net/tcp_states.h).
pub mod tcp_state {
    /// `TCP_ESTABLISHED`.
    pub const ESTABLISHED: u8 = 0x01;
    /// `TCP_SYN_SENT`.
    pub const SYN_SENT: u8 = 0x02;
    /// `TCP_FIN_WAIT1`.
    pub const FIN_WAIT1: u8 = 0x04;
    /// `TCP_FIN_WAIT2`.
    pub const FIN_WAIT2: u8 = 0x05;
    /// `TCP_TIME_WAIT`.
    pub const TIME_WAIT: u8 = 0x06;
    /// `TCP_CLOSE_WAIT`.
    pub const CLOSE_WAIT: u8 = 0x08;
    /// `TCP_LAST_ACK`.
    pub const LAST_ACK: u8 = 0x09;
    /// `TCP_LISTEN`.
    pub const LISTEN: u8 = 0x0A;
    /// `TCP_CLOSING`.
    pub const CLOSING: u8 = 0x0B;

    /// Whether a socket in `state` is a connection that is still open at least one way
    /// (established, or closing but not yet in TIME_WAIT).
    pub fn is_connected(state: u8) -> bool {
        matches!(
            state,
            ESTABLISHED | FIN_WAIT1 | FIN_WAIT2 | CLOSE_WAIT | LAST_ACK | CLOSING
        )
    }
}

/// One line of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    /// Local address and port, as the kernel printed it (IPv4-mapped IPv6 kept as such).
    pub local: SocketAddr,
    /// Remote address and port.
    pub remote: SocketAddr,
    /// State, see [`tcp_state`].
    pub state: u8,
    /// Socket inode; 0 for sockets no file refers to (time-wait, not yet accepted).
    pub inode: u64,
}

/// Parses one data line of `/proc/net/tcp{,6}`; `None` for the header or a malformed line.
///
/// Format: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`, addresses as
/// `HEXADDR:HEXPORT`.
pub fn parse_tcp_line(line: &[u8]) -> Option<TcpSocket> {
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let sl = fields.next()?;
    if sl.last() != Some(&b':') {
        return None; // the header line: "sl local_address ..."
    }
    let local = parse_hex_socket_addr(fields.next()?)?;
    let remote = parse_hex_socket_addr(fields.next()?)?;
    let state = parse_hex_u32(fields.next()?)? as u8;
    let inode = parse_u64(fields.nth(5)?)?;
    Some(TcpSocket {
        local,
        remote,
        state,
        inode,
    })
}

/// Parses `HEXADDR:HEXPORT` as the kernel prints it in `/proc/net/tcp{,6}`.
fn parse_hex_socket_addr(field: &[u8]) -> Option<SocketAddr> {
    let colon = field.iter().position(|&b| b == b':')?;
    let (addr, port) = (&field[..colon], &field[colon + 1..]);
    let port = u16::try_from(parse_hex_u32(port)?).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(parse_hex_ipv4(addr)?),
        32 => IpAddr::V6(parse_hex_ipv6(addr)?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The kernel prints the address as the `%08X` of the network-order 32-bit word read as a
/// native integer, so the native byte order of the parsed word gives the address bytes back
/// (on x86, `0100007F` is 127.0.0.1).
pub fn parse_hex_ipv4(hex: &[u8]) -> Option<Ipv4Addr> {
    (hex.len() == 8).then_some(())?;
    Some(Ipv4Addr::from(parse_hex_u32(hex)?.to_ne_bytes()))
}

/// IPv6 addresses are four such words, each in native byte order: on x86,
/// `0000000000000000FFFF00000100007F` is `::ffff:127.0.0.1` and
/// `B80D0120000000000000000001000000` is `2001:db8::1`.
pub fn parse_hex_ipv6(hex: &[u8]) -> Option<Ipv6Addr> {
    (hex.len() == 32).then_some(())?;
    let mut bytes = [0u8; 16];
    for (i, word) in hex.chunks_exact(8).enumerate() {
        bytes[i * 4..i * 4 + 4].copy_from_slice(&parse_hex_u32(word)?.to_ne_bytes());
    }
    Some(Ipv6Addr::from(bytes))
}

fn parse_hex_u32(hex: &[u8]) -> Option<u32> {
    if hex.is_empty() || hex.len() > 8 {
        return None;
    }
    hex.iter().try_fold(0u32, |acc, &b| {
        let digit = (b as char).to_digit(16)?;
        Some(acc << 4 | digit)
    })
}

/// Parses an unsigned decimal; `None` for empty input, other bytes or overflow.
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d < 10)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Parses `prefix:[N]` symlink targets: `net:[4026531993]` for namespaces, `socket:[12345]` for
/// sockets in `fd/`.
pub fn parse_bracketed_inode(target: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = target.strip_prefix(prefix)?.strip_prefix(b":[")?;
    parse_u64(rest.strip_suffix(b"]")?)
}

/// The soft "Max open files" limit from `/proc/PID/limits`; `None` when unlimited or missing.
pub fn parse_open_files_limit(limits: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"Max open files";
    limits
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(KEY))
        .and_then(|rest| rest.split(|&b| b == b' ').find(|f| !f.is_empty()))
        .and_then(parse_u64)
}

/// Name and command line from raw `/proc/PID/cmdline` (NUL-separated argv).
///
/// The name is the base name of argv\[0\] (`/usr/bin/python3` -> `python3`), the command line is
/// argv joined with spaces, or argv\[0\] alone when `omit_args` (arguments can hold secrets).
/// Both are `None` when the cmdline is empty.
pub fn parse_cmdline(raw: &[u8], omit_args: bool) -> Option<(String, String)> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return None;
    }
    let argv0 = raw.split(|&b| b == 0).next().unwrap_or(raw);
    let name = argv0.rsplit(|&b| b == b'/').next().unwrap_or(argv0);
    let name = if name.is_empty() { argv0 } else { name };
    let cmdline: Vec<u8> = if omit_args {
        argv0.to_vec()
    } else {
        raw.iter().map(|&b| if b == 0 { b' ' } else { b }).collect()
    };
    Some((
        String::from_utf8_lossy(name).into_owned(),
        String::from_utf8_lossy(&cmdline).into_owned(),
    ))
}

/// The TCP counters of a network namespace (`Tcp:` lines of `/proc/PID/net/snmp`, shared by
/// IPv4 and IPv6) that together change whenever its set of established connections does: every
/// connection is opened (ActiveOpens or PassiveOpens) and counted in CurrEstab while
/// established, so if none of the three moved, no connection came or went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpCounters {
    /// Connections opened from this namespace.
    pub active_opens: u64,
    /// Connections accepted in this namespace.
    pub passive_opens: u64,
    /// Connections currently established (or closing from the peer's side).
    pub curr_estab: u64,
}

/// Parses the `Tcp:` header and value lines of `/proc/PID/net/snmp`.
pub fn parse_snmp_tcp(buf: &[u8]) -> Option<TcpCounters> {
    let mut lines = buf
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"Tcp: "));
    let names = lines.next()?;
    let values = lines.next()?;
    fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
        line[5..].split(|&b| b == b' ').filter(|w| !w.is_empty())
    }
    let mut c = TcpCounters::default();
    let mut found = 0;
    for (name, value) in words(names).zip(words(values)) {
        let slot = match name {
            b"ActiveOpens" => &mut c.active_opens,
            b"PassiveOpens" => &mut c.passive_opens,
            b"CurrEstab" => &mut c.curr_estab,
            _ => continue,
        };
        *slot = parse_u64(value)?;
        found += 1;
    }
    (found == 3).then_some(c)
}

/// The number of IPv6 TCP sockets in use, from `/proc/PID/net/sockstat6` (`TCP6: inuse N`).
pub fn parse_sockstat6_tcp(buf: &[u8]) -> Option<u64> {
    let line = buf
        .split(|&b| b == b'\n')
        .find(|l| l.starts_with(b"TCP6:"))?;
    let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
    words.find(|w| *w == b"inuse")?;
    parse_u64(words.next()?)
}

/// The aggregate `cpu` line of `/proc/stat`, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    /// user + nice + system + idle + iowait + irq + softirq + steal (guest time is already
    /// counted in user).
    pub total: u64,
    /// idle + iowait: time the CPUs had nothing to run.
    pub idle: u64,
}

impl CpuTimes {
    /// Busy percentage of the whole machine (0-100) between `prev` and `self`.
    pub fn usage_since(&self, prev: &CpuTimes) -> Option<f64> {
        let total = self.total.checked_sub(prev.total)?;
        let idle = self.idle.checked_sub(prev.idle)?;
        (total > 0).then(|| (total.saturating_sub(idle)) as f64 / total as f64 * 100.0)
    }
}

/// Parses the first (`cpu `) line of `/proc/stat`.
pub fn parse_cpu_times(stat: &[u8]) -> Option<CpuTimes> {
    let line = stat.split(|&b| b == b'\n').next()?;
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    if fields.next()? != b"cpu" {
        return None;
    }
    let mut v = [0u64; 8];
    for slot in &mut v {
        // Old kernels print fewer columns; missing ones count as zero.
        *slot = fields.next().and_then(parse_u64).unwrap_or(0);
    }
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
    Some(CpuTimes {
        total: user + nice + system + idle + iowait + irq + softirq + steal,
        idle: idle + iowait,
    })
}

/// The `/proc/meminfo` fields host memory usage needs, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemInfo {
    /// `MemTotal`.
    pub total: u64,
    /// `MemFree`.
    pub free: u64,
    /// `Buffers`.
    pub buffers: u64,
    /// `Cached`.
    pub cached: u64,
}

impl MemInfo {
    /// Used memory as Scope defines it: total - free - buffers - cached.
    pub fn used(&self) -> u64 {
        self.total
            .saturating_sub(self.free)
            .saturating_sub(self.buffers)
            .saturating_sub(self.cached)
    }
}

/// Parses `/proc/meminfo` (values in kB).
pub fn parse_meminfo(buf: &[u8]) -> Option<MemInfo> {
    let mut m = MemInfo::default();
    let mut seen = 0;
    for line in buf.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let slot = match &line[..colon] {
            b"MemTotal" => &mut m.total,
            b"MemFree" => &mut m.free,
            b"Buffers" => &mut m.buffers,
            b"Cached" => &mut m.cached,
            _ => continue,
        };
        let kb = line[colon + 1..]
            .split(|&b| b == b' ')
            .find(|f| !f.is_empty())
            .and_then(parse_u64)?;
        *slot = kb * 1024;
        seen += 1;
        if seen == 4 {
            break;
        }
    }
    (m.total > 0).then_some(m)
}

/// The three load averages of `/proc/loadavg`.
pub fn parse_loadavg(buf: &[u8]) -> Option<[f64; 3]> {
    let text = std::str::from_utf8(buf).ok()?;
    let mut it = text.split_ascii_whitespace().map(str::parse::<f64>);
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

/// Seconds since boot, from `/proc/uptime`.
pub fn parse_uptime(buf: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(buf).ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// `PRETTY_NAME` from an os-release file, unquoted.
pub fn parse_os_release(text: &str) -> Option<String> {
    let value = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("PRETTY_NAME="))?
        .trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    Some(unquoted.to_owned()).filter(|s| !s.is_empty())
}

/// Counts the online CPUs listed in `/proc/stat` (`cpu0`, `cpu1`, ...).
pub fn count_cpus(stat: &[u8]) -> usize {
    stat.split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"cpu") && l.get(3).is_some_and(u8::is_ascii_digit))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/proc/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let buf = fixture("4242/stat");
        let s = parse_pid_stat(&buf).unwrap();
        assert_eq!(s.comm, b"my (weird) proc) x");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.flags, 4194560);
        assert_eq!(s.jiffies, 150 + 25);
        assert_eq!(s.threads, 7);
        assert_eq!(s.starttime, 123456);
        assert_eq!(s.rss_pages, 2048);
        assert!(!s.is_zombie());
        assert!(!s.is_kernel_thread(4242));
    }

    #[test]
    fn stat_kernel_thread_and_zombie() {
        let kthread = b"17 (kworker/0:1-events) I 2 0 0 0 -1 69238880 0 0 0 0 0 3 0 0 20 0 1 0 40 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let s = parse_pid_stat(kthread).unwrap();
        assert_eq!(s.comm, b"kworker/0:1-events");
        assert!(s.is_kernel_thread(17));
        let zombie = b"99 (defunct) Z 1 99 99 0 -1 4227340 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";
        assert!(parse_pid_stat(zombie).unwrap().is_zombie());
        assert_eq!(parse_pid_stat(b"12 (trunc"), None);
        assert_eq!(parse_pid_stat(b"12 (x) S 1"), None);
    }

    #[test]
    fn tcp4_table() {
        let buf = fixture("net/tcp");
        let socks: Vec<_> = buf
            .split(|&b| b == b'\n')
            .filter_map(parse_tcp_line)
            .collect();
        assert_eq!(socks.len(), 3);
        assert_eq!(socks[0].local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(socks[0].remote, "0.0.0.0:0".parse().unwrap());
        assert_eq!(socks[0].state, tcp_state::LISTEN);
        assert_eq!(socks[0].inode, 31337);
        assert_eq!(socks[1].local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(socks[1].remote, "127.0.0.1:54321".parse().unwrap());
        assert_eq!(socks[1].state, tcp_state::ESTABLISHED);
        assert_eq!(socks[1].inode, 31338);
        assert_eq!(socks[2].local, "172.17.0.2:44444".parse().unwrap());
        assert_eq!(socks[2].remote, "93.184.216.34:443".parse().unwrap());
        assert_eq!(socks[2].state, 0x06); // TIME_WAIT
        assert_eq!(socks[2].inode, 0);
    }

    #[test]
    fn tcp6_table_byte_order() {
        let buf = fixture("net/tcp6");
        let socks: Vec<_> = buf
            .split(|&b| b == b'\n')
            .filter_map(parse_tcp_line)
            .collect();
        assert_eq!(socks.len(), 3);
        assert_eq!(socks[0].local, "[::]:22".parse().unwrap());
        assert_eq!(socks[0].state, tcp_state::LISTEN);
        assert_eq!(socks[1].local, "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(socks[1].remote, "[fe80::1:2]:50000".parse().unwrap());
        assert_eq!(socks[1].inode, 555);
        // IPv4-mapped, as a dual-stack socket shows an IPv4 peer.
        assert_eq!(socks[2].local, "[::ffff:127.0.0.1]:9000".parse().unwrap());
        assert_eq!(
            socks[2].remote.ip().to_canonical(),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn hex_addresses() {
        assert_eq!(parse_hex_ipv4(b"0100007F"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(parse_hex_ipv4(b"0100007"), None);
        assert_eq!(parse_hex_ipv4(b"0100007G"), None);
        assert_eq!(
            parse_hex_ipv6(b"00000000000000000000000001000000"),
            Some(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            parse_tcp_line(b"  sl  local_address rem_address   st"),
            None
        );
        assert_eq!(parse_tcp_line(b""), None);
    }

    #[test]
    fn links_limits_cmdline() {
        assert_eq!(
            parse_bracketed_inode(b"net:[4026531993]", b"net"),
            Some(4026531993)
        );
        assert_eq!(
            parse_bracketed_inode(b"socket:[12345]", b"socket"),
            Some(12345)
        );
        assert_eq!(parse_bracketed_inode(b"pipe:[12345]", b"socket"), None);
        assert_eq!(parse_bracketed_inode(b"/dev/null", b"socket"), None);

        assert_eq!(parse_open_files_limit(&fixture("4242/limits")), Some(1024));
        assert_eq!(
            parse_open_files_limit(
                b"Max open files            unlimited            unlimited            files\n"
            ),
            None
        );

        let raw = fixture("4242/cmdline");
        let (name, cmd) = parse_cmdline(&raw, false).unwrap();
        assert_eq!(name, "python3");
        assert_eq!(cmd, "/usr/bin/python3 -m http.server 8080");
        let (_, cmd) = parse_cmdline(&raw, true).unwrap();
        assert_eq!(cmd, "/usr/bin/python3");
        assert_eq!(parse_cmdline(b"", false), None);
        assert_eq!(
            parse_cmdline(b"nginx: worker process\0", false).unwrap().0,
            "nginx: worker process"
        );
    }

    #[test]
    fn host_files() {
        let stat = fixture("stat");
        let cpu = parse_cpu_times(&stat).unwrap();
        assert_eq!(cpu.total, 100 + 5 + 50 + 800 + 20 + 10 + 10 + 5);
        assert_eq!(cpu.idle, 820);
        assert_eq!(count_cpus(&stat), 2);
        let later = CpuTimes {
            total: cpu.total + 200,
            idle: cpu.idle + 150,
        };
        assert_eq!(later.usage_since(&cpu), Some(25.0));
        assert_eq!(cpu.usage_since(&cpu), None);

        let mem = parse_meminfo(&fixture("meminfo")).unwrap();
        assert_eq!(mem.total, 16_000_000 * 1024);
        assert_eq!(
            mem.used(),
            (16_000_000 - 8_000_000 - 1_000_000 - 3_000_000) * 1024
        );

        assert_eq!(
            parse_loadavg(b"0.52 0.58 0.59 2/431 12345\n"),
            Some([0.52, 0.58, 0.59])
        );
        assert_eq!(parse_uptime(b"350735.47 234388.90\n"), Some(350735.47));
        assert_eq!(
            parse_os_release("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
                .as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(
            parse_os_release("PRETTY_NAME=Alpine\n").as_deref(),
            Some("Alpine")
        );
    }

    #[test]
    fn snmp_and_sockstat() {
        let c = parse_snmp_tcp(&fixture("net/snmp")).unwrap();
        assert_eq!(
            c,
            TcpCounters {
                active_opens: 242,
                passive_opens: 211,
                curr_estab: 7
            }
        );
        assert_eq!(parse_snmp_tcp(b"Ip: 1 2\nIp: 3 4\n"), None);
        assert_eq!(
            parse_sockstat6_tcp(b"TCP6: inuse 3\nUDP6: inuse 1\nRAW6: inuse 0\n"),
            Some(3)
        );
        assert_eq!(parse_sockstat6_tcp(b""), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
    }
}
