//! Live capture from a network interface with libpcap (feature `live`).
//!
//! [`LiveSource`] is the monitor's [`FrameSource`] for a real interface. It opens the
//! interface once at startup, where every failure is fatal and explained
//! ([`SourceError`] with a hint: the `setcap` command, the interfaces that exist, why
//! monitor mode failed, what is wrong with the filter). After that it never fails: when
//! the interface goes away or down it logs one warning, drops the handle and reopens it
//! with backoff (0.5 s doubling to 10 s), returning [`Pull::Idle`] with the wall clock
//! meanwhile so the monitor stays responsive. `docs/live-capture.md` has the details.
//!
//! [`replay`] sends capture files out of an interface, paced by their timestamps.

use crate::capture::Frame;
use crate::monitor::source::{DropStats, FrameSource, Pull, SourceError};
use leakypick_core::decode::LinkType;
use leakypick_core::time::Timestamp;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default bytes kept of each frame: every header leakypick reads (Ethernet or radiotap
/// and 802.11, IP with extension headers, TCP/UDP, DHCP and mDNS names) fits; byte
/// counts always use the frame's original length.
pub const DEFAULT_SNAPLEN: u32 = 2048;

/// Default read timeout: how long [`LiveSource::pull`] waits for a frame before it
/// returns [`Pull::Idle`].
pub const DEFAULT_POLL: Duration = Duration::from_millis(250);

/// The first wait before reopening an interface that went away; doubled after every
/// failed attempt up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_millis(500);

/// The longest wait between two attempts to reopen an interface.
pub const RETRY_MAX: Duration = Duration::from_secs(10);

/// How to open an interface.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOptions {
    /// The interface, as `ip link` names it (`eth0`, `br-lan`, `wlan0mon`, `any`).
    pub interface: String,
    /// A BPF filter in pcap-filter(7) syntax, applied in the kernel.
    pub filter: Option<String>,
    /// Deliver every frame as soon as it arrives instead of in blocks. Frames carry their
    /// kernel timestamps either way, so this only changes latency (at most `poll` when
    /// off) and costs buffer space (each frame takes a whole `snaplen` slot when on).
    pub immediate: bool,
    /// Put a Wi-Fi interface into monitor mode (rfmon), to see the 802.11 frames of every
    /// station instead of this host's own Ethernet-like traffic.
    pub monitor_mode: bool,
    /// Bytes kept of each frame ([`DEFAULT_SNAPLEN`]).
    pub snaplen: u32,
    /// Size of the kernel capture buffer; `None` keeps libpcap's default (2 MB). A larger
    /// buffer rides out longer stalls of the reader without drops.
    pub buffer_bytes: Option<u32>,
    /// Read timeout: the longest [`LiveSource::pull`] blocks ([`DEFAULT_POLL`]).
    pub poll: Duration,
}

impl LiveOptions {
    /// The defaults for `interface`: no filter, not immediate, no monitor mode,
    /// [`DEFAULT_SNAPLEN`], libpcap's buffer size, [`DEFAULT_POLL`].
    pub fn new(interface: impl Into<String>) -> LiveOptions {
        LiveOptions {
            interface: interface.into(),
            filter: None,
            immediate: false,
            monitor_mode: false,
            snaplen: DEFAULT_SNAPLEN,
            buffer_bytes: None,
            poll: DEFAULT_POLL,
        }
    }
}

/// A live capture on one interface; see the [module documentation](self).
pub struct LiveSource {
    options: LiveOptions,
    handle: Option<Handle>,
    /// The handle returned a read error: it is closed at the next [`pull`](Self::pull).
    failed: bool,
    /// Counters of the handles closed so far plus what the current one reported.
    totals: DropStats,
    outages: u64,
    down: Option<Down>,
    watchdog: Watchdog,
    /// When the counters were last read: they are read every [`STATS_EVERY`], so that
    /// little is lost if a vanished handle cannot report its last ones.
    stats_at: Instant,
}

const STATS_EVERY: Duration = Duration::from_secs(1);

/// An open pcap handle.
struct Handle {
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    /// The handle delivers nanoseconds in the header's sub-second field.
    nanos: bool,
    /// libpcap's counters (32 bits, since this handle was opened) when last read.
    last: pcap::Stat,
    /// Interrupts a read of this handle from the watchdog thread.
    breaker: Option<pcap::BreakLoop>,
}

/// The interface is down and being retried.
struct Down {
    since: Instant,
    next_try: Instant,
    backoff: Duration,
    attempts: u32,
}

impl Down {
    fn new(now: Instant) -> Down {
        Down {
            since: now,
            next_try: now + RETRY_FIRST,
            backoff: RETRY_FIRST,
            attempts: 0,
        }
    }
}

impl LiveSource {
    /// Opens the interface and applies the filter. Every failure here is fatal: no such
    /// interface, no permission, no monitor mode, a bad filter.
    pub fn open(options: LiveOptions) -> Result<LiveSource, SourceError> {
        let mut handle = open_handle(&options).map_err(|f| f.into_error(&options))?;
        let watchdog = Watchdog::start(options.poll).map_err(|e| SourceError {
            source_name: options.interface.clone(),
            message: format!("cannot start the read-timeout thread: {e}"),
            hint: None,
        })?;
        watchdog.arm(handle.breaker.take());
        log::info!(
            "{}: capturing ({}{}{})",
            options.interface,
            link_name(handle.link),
            if options.monitor_mode {
                ", monitor mode"
            } else {
                ""
            },
            match &options.filter {
                Some(f) => format!(", filter '{f}'"),
                None => String::new(),
            }
        );
        Ok(LiveSource {
            options,
            handle: Some(handle),
            failed: false,
            totals: DropStats::default(),
            outages: 0,
            down: None,
            watchdog,
            stats_at: Instant::now(),
        })
    }

    /// The options the source was opened with.
    pub fn options(&self) -> &LiveOptions {
        &self.options
    }

    /// How many times the interface went away (or failed) since opening.
    pub fn outages(&self) -> u64 {
        self.outages
    }

    /// True while the interface is away and being retried.
    pub fn is_down(&self) -> bool {
        self.failed || self.handle.is_none()
    }

    /// The link type of the open handle (`None` while down).
    pub fn link_type(&self) -> Option<LinkType> {
        self.handle.as_ref().map(|h| h.link)
    }

    /// Adds what the current handle counted since the last read to the totals.
    fn refresh_stats(&mut self) {
        self.stats_at = Instant::now();
        if let Some(h) = self.handle.as_mut() {
            if let Ok(now) = h.cap.stats() {
                // The counters are 32 bits and may wrap: add the difference.
                self.totals.received += u64::from(now.received.wrapping_sub(h.last.received));
                self.totals.dropped_kernel += u64::from(now.dropped.wrapping_sub(h.last.dropped));
                self.totals.dropped_interface +=
                    u64::from(now.if_dropped.wrapping_sub(h.last.if_dropped));
                h.last = now;
            }
        }
    }

    /// Takes the last counters of the current handle and closes it.
    fn close_handle(&mut self) {
        self.refresh_stats();
        self.watchdog.arm(None);
        self.handle = None;
    }

    /// While down: reopens the interface when its time has come, else waits (at most
    /// one poll interval).
    fn retry(&mut self) {
        let now = Instant::now();
        let down = self.down.get_or_insert_with(|| Down::new(now));
        if now < down.next_try {
            std::thread::sleep(self.options.poll.min(down.next_try - now));
            return;
        }
        down.attempts += 1;
        match open_handle(&self.options) {
            Ok(mut handle) => {
                self.watchdog.arm(handle.breaker.take());
                log::info!(
                    "{}: capture resumed after {:.1} s down ({} attempt{})",
                    self.options.interface,
                    down.since.elapsed().as_secs_f64(),
                    down.attempts,
                    if down.attempts == 1 { "" } else { "s" }
                );
                self.handle = Some(handle);
                self.down = None;
            }
            Err(failure) => {
                down.backoff = (down.backoff * 2).min(RETRY_MAX);
                log::debug!(
                    "{}: reopening failed (attempt {}): {}; next try in {:.1} s",
                    self.options.interface,
                    down.attempts,
                    failure.message(),
                    down.backoff.as_secs_f64()
                );
                let after = Instant::now();
                down.next_try = after + down.backoff;
                std::thread::sleep(self.options.poll.min(down.next_try - after));
            }
        }
    }
}

impl FrameSource for LiveSource {
    fn pull(&mut self) -> Result<Pull<'_>, SourceError> {
        if self.failed {
            self.failed = false;
            self.close_handle();
        }
        if self.stats_at.elapsed() >= STATS_EVERY {
            self.refresh_stats();
        }
        if self.handle.is_none() {
            self.retry();
            if self.handle.is_none() {
                return Ok(Pull::Idle {
                    now: Some(wall_clock()),
                });
            }
        }
        let Some(h) = self.handle.as_mut() else {
            return Ok(Pull::Idle {
                now: Some(wall_clock()),
            });
        };
        self.watchdog.begin_read();
        let read = h.cap.next_packet();
        self.watchdog.end_read();
        match read {
            Ok(p) => Ok(Pull::Frame(Frame {
                ts: packet_time(p.header, h.nanos),
                wire_len: p.header.len,
                link: h.link,
                data: p.data,
            })),
            // The read timed out, or the watchdog interrupted it (pcap_breakloop).
            Err(pcap::Error::TimeoutExpired | pcap::Error::NoMorePackets) => Ok(Pull::Idle {
                now: Some(wall_clock()),
            }),
            Err(e) => {
                // Not fatal: the handle is closed at the next pull and reopened with
                // backoff. (Closing it here would conflict with the frame borrowed above.)
                self.failed = true;
                self.outages += 1;
                self.down = Some(Down::new(Instant::now()));
                log::warn!(
                    "{}: capture interrupted: {}; retrying (first in {:.1} s, then up to every {} s)",
                    self.options.interface,
                    pcap_message(&e),
                    RETRY_FIRST.as_secs_f64(),
                    RETRY_MAX.as_secs()
                );
                Ok(Pull::Idle {
                    now: Some(wall_clock()),
                })
            }
        }
    }

    fn drop_stats(&mut self) -> Option<DropStats> {
        if !self.failed {
            self.refresh_stats();
        }
        Some(self.totals)
    }

    fn name(&self) -> &str {
        &self.options.interface
    }
}

/// Makes a read that blocks longer than the poll interval return.
///
/// libpcap's read timeout does not bound a read on Linux: with TPACKET_V3 (not immediate
/// mode) the timeout starts only with the first packet, and libpcap 1.10 with TPACKET_V2
/// (immediate mode) polls again after every timeout, so on a silent interface
/// `pcap_next_ex` would block forever. A thread watches the reads and calls
/// `pcap_breakloop` (which wakes libpcap's poll, since 1.10) on one that has blocked for
/// `poll`; the read then returns `PCAP_ERROR_BREAK`, which [`LiveSource`] turns into
/// [`Pull::Idle`]. Reads cost two atomic stores and a clock read; the thread sleeps
/// until a read is due to be interrupted.
struct Watchdog {
    shared: Arc<WatchShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct WatchShared {
    base: Instant,
    /// When the current read started: nanoseconds since `base` plus one; 0 when no read
    /// is in progress.
    reading_since: AtomicU64,
    stop: AtomicBool,
    breaker: Mutex<Option<pcap::BreakLoop>>,
}

impl WatchShared {
    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Watchdog {
    fn start(poll: Duration) -> std::io::Result<Watchdog> {
        let shared = Arc::new(WatchShared {
            base: Instant::now(),
            reading_since: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            breaker: Mutex::new(None),
        });
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("leakypick-pcap-timeout".into())
            .spawn(move || watch(&watched, poll))?;
        Ok(Watchdog {
            shared,
            thread: Some(thread),
        })
    }

    /// Sets (or clears) the handle whose reads are watched.
    fn arm(&self, breaker: Option<pcap::BreakLoop>) {
        match self.shared.breaker.lock() {
            Ok(mut b) => *b = breaker,
            Err(poisoned) => *poisoned.into_inner() = breaker,
        }
    }

    fn begin_read(&self) {
        let since = self.shared.now().saturating_add(1);
        self.shared.reading_since.store(since, Ordering::Release);
    }

    fn end_read(&self) {
        self.shared.reading_since.store(0, Ordering::Release);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The watchdog thread.
fn watch(shared: &WatchShared, poll: Duration) {
    let poll_ns = u64::try_from(poll.as_nanos()).unwrap_or(u64::MAX).max(1);
    // Checks while no read is in progress: a read that starts then is interrupted at
    // most a quarter of `poll` late.
    let idle_check = (poll / 4).max(Duration::from_millis(1));
    let mut interrupted: u64 = 0;
    while !shared.stop.load(Ordering::Acquire) {
        let since = shared.reading_since.load(Ordering::Acquire);
        let wait = if since == 0 {
            idle_check
        } else {
            let due = since.saturating_add(poll_ns);
            let now = shared.now().saturating_add(1);
            if now >= due {
                if interrupted != since {
                    interrupted = since;
                    let guard = match shared.breaker.lock() {
                        Ok(g) => g,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                    if let Some(b) = guard.as_ref() {
                        b.breakloop();
                    }
                }
                idle_check
            } else {
                Duration::from_nanos(due - now)
            }
        };
        std::thread::park_timeout(wait);
    }
}

use crate::process::wall_clock;

/// A captured frame's kernel timestamp.
// `time_t` and `suseconds_t` are 32 bits on some targets, 64 on others.
#[allow(clippy::useless_conversion)]
fn packet_time(header: &pcap::PacketHeader, nanos: bool) -> Timestamp {
    header_time(
        i64::from(header.ts.tv_sec),
        i64::from(header.ts.tv_usec),
        nanos,
    )
}

/// A pcap header's time: seconds and a sub-second part in nanoseconds or microseconds.
fn header_time(secs: i64, frac: i64, nanos: bool) -> Timestamp {
    let frac_ns = if nanos {
        frac
    } else {
        frac.saturating_mul(1000)
    };
    Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(frac_ns))
}

/// libpcap's own words, without the crate's "libpcap error: " prefix.
pub(crate) fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A human name of a link type, e.g. "Ethernet (1)".
pub fn link_name(link: LinkType) -> String {
    let n = link.to_linktype();
    let desc = i32::try_from(n)
        .ok()
        .and_then(|v| pcap::Linktype(v).get_description().ok());
    match desc {
        Some(d) => format!("{d} ({n})"),
        None => format!("link type {n}"),
    }
}

/// Why an interface could not be opened.
#[derive(Debug)]
pub(crate) enum OpenFailure {
    NoDevice(String),
    Permission(String),
    MonitorMode(String),
    Filter { expr: String, message: String },
    Other(String),
}

impl OpenFailure {
    /// Sorts libpcap's message by what the user can do about it.
    pub(crate) fn classify(e: &pcap::Error) -> OpenFailure {
        let msg = pcap_message(e);
        let l = msg.to_ascii_lowercase();
        if l.contains("permission")
            || l.contains("operation not permitted")
            || l.contains("eperm")
            || l.contains("not allowed")
        {
            OpenFailure::Permission(msg)
        } else if l.contains("monitor mode") || l.contains("rfmon") {
            OpenFailure::MonitorMode(msg)
        } else if l.contains("no such device")
            || l.contains("doesn't exist")
            || l.contains("does not exist")
            || l.contains("enodev")
            || l.contains("enxio")
        {
            OpenFailure::NoDevice(msg)
        } else {
            OpenFailure::Other(msg)
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            OpenFailure::NoDevice(m)
            | OpenFailure::Permission(m)
            | OpenFailure::MonitorMode(m)
            | OpenFailure::Other(m) => m,
            OpenFailure::Filter { message, .. } => message,
        }
    }

    /// The fatal error with its hint.
    pub(crate) fn into_error(self, options: &LiveOptions) -> SourceError {
        let iface = &options.interface;
        let (message, hint) = match self {
            OpenFailure::NoDevice(m) => (
                format!("no such interface '{iface}' (libpcap: {m})"),
                Some(interfaces_hint()),
            ),
            OpenFailure::Permission(m) => (
                format!("no permission to capture on '{iface}' (libpcap: {m})"),
                Some(permission_hint()),
            ),
            OpenFailure::MonitorMode(m) => (
                format!("'{iface}' cannot be put into monitor mode (libpcap: {m})"),
                Some(
                    "monitor mode needs a Wi-Fi adapter and driver that support it \
                     (`iw list` shows 'monitor' under 'Supported interface modes'); \
                     on a wired interface or a bridge, capture without monitor mode"
                        .to_string(),
                ),
            ),
            OpenFailure::Filter { expr, message } => (
                format!("bad capture filter '{expr}': {message}"),
                Some(format!(
                    "the filter is in pcap-filter(7) syntax, e.g. 'ether host \
                     68:db:f5:90:19:64'; `tcpdump -d '{expr}'` checks one"
                )),
            ),
            OpenFailure::Other(m) => (format!("cannot capture on '{iface}': {m}"), None),
        };
        SourceError {
            source_name: iface.clone(),
            message,
            hint,
        }
    }
}

/// The exact command that grants this executable the right to capture.
pub fn setcap_command() -> String {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/path/to/leakypick".to_string());
    format!("sudo setcap cap_net_raw,cap_net_admin+ep {exe}")
}

fn permission_hint() -> String {
    format!(
        "capturing needs the capabilities CAP_NET_RAW (raw sockets) and CAP_NET_ADMIN \
         (promiscuous and monitor mode); grant them to this program once with\n    {}\n  \
         or run it as root",
        setcap_command()
    )
}

/// The interface libpcap would capture on by default (the first that is up and not a
/// loopback), for `monitor` without `-i` or `capture.interface`.
pub fn default_interface() -> Result<String, SourceError> {
    match pcap::Device::lookup() {
        Ok(Some(d)) => Ok(d.name),
        Ok(None) => Err(SourceError {
            source_name: "default interface".into(),
            message: "libpcap finds no interface to capture on".into(),
            hint: Some(format!(
                "pass -i IFACE or set capture.interface in the config file; {}",
                interfaces_hint()
            )),
        }),
        Err(e) => Err(SourceError {
            source_name: "default interface".into(),
            message: pcap_message(&e),
            hint: Some("pass -i IFACE or set capture.interface in the config file".into()),
        }),
    }
}

fn interfaces_hint() -> String {
    match pcap::Device::list() {
        Ok(devices) if !devices.is_empty() => {
            // libpcap also lists pseudo-devices (nflog, dbus-system, ...): on Linux keep
            // the network interfaces and `any`.
            let sys = std::path::Path::new("/sys/class/net");
            let names: Vec<String> = devices
                .into_iter()
                .map(|d| d.name)
                .filter(|n| n == "any" || !sys.is_dir() || sys.join(n).exists())
                .collect();
            format!("available interfaces: {} (see `ip link`)", names.join(", "))
        }
        Ok(_) => "libpcap sees no interface here (see `ip link`)".to_string(),
        Err(e) => format!("the interfaces cannot be listed ({})", pcap_message(&e)),
    }
}

fn clamp_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Opens and activates a capture handle with the options, then sets the filter.
fn open_handle(options: &LiveOptions) -> Result<Handle, OpenFailure> {
    match activate(options, true) {
        // `any` and some drivers refuse promiscuous mode (a libpcap warning that the
        // pcap crate reports as an error): capture without it.
        Err(OpenFailure::Other(m)) if m.to_ascii_lowercase().contains("promiscuous") => {
            log::info!(
                "{}: promiscuous mode not supported ({m}); capturing without it",
                options.interface
            );
            activate(options, false)
        }
        other => other,
    }
}

fn activate(options: &LiveOptions, promisc: bool) -> Result<Handle, OpenFailure> {
    let timeout_ms = i32::try_from(options.poll.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    let mut inactive = pcap::Capture::from_device(options.interface.as_str())
        .map_err(|e| OpenFailure::classify(&e))?
        .promisc(promisc)
        .snaplen(clamp_i32(options.snaplen.max(64)))
        .immediate_mode(options.immediate)
        .timeout(timeout_ms);
    // Linux delivers nanosecond timestamps on request; elsewhere keep microseconds,
    // whose meaning is certain (the pcap crate cannot tell whether the request held).
    let nanos = cfg!(target_os = "linux");
    if nanos {
        inactive = inactive.precision(pcap::Precision::Nano);
    }
    if options.monitor_mode {
        inactive = inactive.rfmon(true);
    }
    if let Some(bytes) = options.buffer_bytes {
        inactive = inactive.buffer_size(clamp_i32(bytes));
    }
    let mut cap = inactive.open().map_err(|e| OpenFailure::classify(&e))?;
    if let Some(expr) = &options.filter {
        cap.filter(expr, true).map_err(|e| OpenFailure::Filter {
            expr: expr.clone(),
            message: pcap_message(&e),
        })?;
    }
    let dlt = cap.get_datalink().0;
    let link = LinkType::from_linktype(u32::try_from(dlt).unwrap_or(u32::MAX));
    let breaker = Some(cap.breakloop_handle());
    Ok(Handle {
        cap,
        link,
        nanos,
        breaker,
        last: pcap::Stat {
            received: 0,
            dropped: 0,
            if_dropped: 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_times() {
        assert_eq!(header_time(1, 5, true), Timestamp(1_000_000_005));
        assert_eq!(header_time(1, 5, false), Timestamp(1_000_005_000));
        assert_eq!(header_time(i64::MAX, 0, true), Timestamp(i64::MAX));
    }

    #[test]
    fn classifies_libpcap_messages() {
        let f = |m: &str| OpenFailure::classify(&pcap::Error::PcapError(m.to_string()));
        assert!(matches!(
            f("You don't have permission to perform this capture on that device (socket: Operation not permitted)"),
            OpenFailure::Permission(_)
        ));
        assert!(matches!(
            f("No such device exists (No such device exists)"),
            OpenFailure::NoDevice(_)
        ));
        assert!(matches!(
            f("That device doesn't support monitor mode"),
            OpenFailure::MonitorMode(_)
        ));
        assert!(matches!(f("something else"), OpenFailure::Other(_)));
    }

    #[test]
    fn setcap_names_this_executable() {
        let cmd = setcap_command();
        assert!(
            cmd.starts_with("sudo setcap cap_net_raw,cap_net_admin+ep /"),
            "{cmd}"
        );
    }
}
