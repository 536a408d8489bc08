//! What sock_diag (`diag`) and conntrack (`conntrack`) share of the netlink wire format
//! (linux/netlink.h).

/// Length of `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// Message types `NLMSG_ERROR` and `NLMSG_DONE`.
pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST | NLM_F_DUMP`.
pub(crate) const DUMP_REQUEST: u16 = 0x1 | 0x300;

/// Calls `f(type, seq, payload)` for each netlink message in `buf` (messages are 4-byte
/// aligned); stops at the first truncated one, which it reports as `Err(())`.
pub(crate) fn for_each_message(
    mut buf: &[u8],
    mut f: impl FnMut(u16, u32, &[u8]),
) -> Result<(), ()> {
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(());
        }
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        f(kind, seq, &buf[NLMSG_HDRLEN..len]);
        buf = buf.get((len + 3) & !3..).unwrap_or_default();
    }
    Ok(())
}
