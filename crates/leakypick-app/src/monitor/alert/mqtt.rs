//! MQTT: device states for Home Assistant (discovery, retained states and attributes)
//! and an event message per alert.
//!
//! Three parties share one [`State`] behind a mutex:
//! - the [`Alerter`](super::Alerter) (the monitor's thread) records what each device is
//!   doing and queues event messages; it never touches the network;
//! - the *poller* thread drives rumqttc's `Connection` (connects, reconnects with
//!   backoff, reports ConnAck and lost connections);
//! - the *publisher* thread turns changes into messages for the rumqttc `Client`
//!   (`try_publish`, never a blocking call), and after every (re)connection publishes
//!   everything again: availability "online", discovery configs, attributes, states.
//!
//! Because the state, not a log of messages, is kept, a device that started and
//! stopped while the broker was down is published once, as it is now. Event messages
//! are queued (bounded) while there is no connection; messages handed to a connection
//! that then breaks are lost (events are at most once; states are re-published).

use super::{lock, AlertError, AlertStats, AlerterOptions, DeviceInfo};
use crate::monitor::config::MqttConfig;
use leakypick_core::DeviceKey;
use rumqttc::{
    Client, Connection, Event, LastWill, MqttOptions, Outgoing, Packet, QoS, RecvTimeoutError,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The availability payloads.
const ONLINE: &str = "online";
const OFFLINE: &str = "offline";
/// The binary sensor's state payloads.
const ON: &str = "ON";
const OFF: &str = "OFF";

/// Requests waiting in rumqttc's channel at most; the rest wait in our outbox.
const CLIENT_CHANNEL: usize = 256;

/// The checked MQTT settings (the password read from its file).
pub(super) struct Settings {
    host: String,
    port: u16,
    client_id: String,
    credentials: Option<(String, String)>,
    topics: Topics,
}

impl Settings {
    pub(super) fn new(c: &MqttConfig) -> Result<Settings, AlertError> {
        let invalid = |key: &str, message: String| AlertError::Invalid {
            key: format!("alerts.mqtt.{key}"),
            message,
        };
        if c.host.trim().is_empty() {
            return Err(invalid(
                "host",
                "expected a host name or address, found an empty string".into(),
            ));
        }
        if c.port == 0 {
            return Err(invalid("port", "expected a port from 1 to 65535".into()));
        }
        for (key, value) in [
            ("topic_prefix", &c.topic_prefix),
            ("discovery_prefix", &c.discovery_prefix),
        ] {
            if value.is_empty() || value.contains(['+', '#', '\0']) {
                return Err(invalid(
                    key,
                    format!("expected a topic without wildcards (+, #), found {value:?}"),
                ));
            }
        }
        if c.client_id.is_empty() {
            return Err(invalid(
                "client_id",
                "expected a client id, found an empty string".into(),
            ));
        }
        let password = match &c.password_file {
            None => None,
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| AlertError::PasswordFile {
                        path: path.clone(),
                        source,
                    })?;
                let password = text.trim_end_matches(['\r', '\n']);
                if password.is_empty() {
                    return Err(AlertError::EmptyPasswordFile { path: path.clone() });
                }
                if c.username.as_deref().is_none_or(str::is_empty) {
                    return Err(AlertError::PasswordWithoutUsername { path: path.clone() });
                }
                Some(password.to_string())
            }
        };
        let credentials = match (&c.username, password) {
            (Some(u), p) if !u.is_empty() => Some((u.clone(), p.unwrap_or_default())),
            _ => None,
        };
        Ok(Settings {
            host: c.host.clone(),
            port: c.port,
            client_id: c.client_id.clone(),
            credentials,
            topics: Topics {
                prefix: c.topic_prefix.trim_end_matches('/').to_string(),
                discovery: c.discovery_prefix.trim_end_matches('/').to_string(),
            },
        })
    }
}

/// Topic names.
#[derive(Debug, Clone)]
struct Topics {
    prefix: String,
    discovery: String,
}

/// A device as used in topics and ids: its MAC in lowercase hex without colons; a device
/// known only by IP address: `ip_192_168_12_112`, or `ip6_` and the 32 hex digits.
fn node(device: DeviceKey) -> String {
    match device {
        DeviceKey::Mac(mac) => mac.0.iter().map(|b| format!("{b:02x}")).collect(),
        DeviceKey::Ip(std::net::IpAddr::V4(ip)) => {
            let o = ip.octets();
            format!("ip_{}_{}_{}_{}", o[0], o[1], o[2], o[3])
        }
        DeviceKey::Ip(std::net::IpAddr::V6(ip)) => {
            let hex: String = ip.octets().iter().map(|b| format!("{b:02x}")).collect();
            format!("ip6_{hex}")
        }
    }
}

impl Topics {
    fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }
    fn state(&self, mac: DeviceKey) -> String {
        format!("{}/{}/streaming", self.prefix, node(mac))
    }
    fn attributes(&self, mac: DeviceKey) -> String {
        format!("{}/{}/attributes", self.prefix, node(mac))
    }
    fn event(&self, mac: DeviceKey) -> String {
        format!("{}/{}/event", self.prefix, node(mac))
    }
    fn config(&self, mac: DeviceKey) -> String {
        format!(
            "{}/binary_sensor/leakypick_{}/streaming/config",
            self.discovery,
            node(mac)
        )
    }

    /// The Home Assistant discovery config of a device's binary sensor.
    fn discovery_config(&self, info: &DeviceInfo) -> serde_json::Value {
        let id = format!("leakypick_{}", node(info.device));
        let key = info.device.to_string();
        let name = match (&info.name, &info.vendor) {
            (Some(n), _) => n.clone(),
            (None, Some(v)) => format!("{v} {key}"),
            (None, None) => key.clone(),
        };
        // The MAC lets Home Assistant merge the device with other integrations' view of
        // it; a device known only by IP address has no such connection.
        let mut device = match info.device {
            DeviceKey::Mac(_) => serde_json::json!({
                "identifiers": [id],
                "connections": [["mac", key]],
                "name": name,
            }),
            DeviceKey::Ip(_) => serde_json::json!({
                "identifiers": [id],
                "name": name,
            }),
        };
        if let (Some(v), Some(map)) = (&info.vendor, device.as_object_mut()) {
            map.insert("manufacturer".into(), v.clone().into());
        }
        serde_json::json!({
            "name": "Streaming audio",
            "unique_id": format!("{id}_streaming"),
            // Home Assistant before 2025.10 reads object_id, later ones
            // default_entity_id (object_id stops working in 2026.4).
            "object_id": format!("{id}_streaming"),
            "default_entity_id": format!("binary_sensor.{id}_streaming"),
            "state_topic": self.state(info.device),
            "payload_on": ON,
            "payload_off": OFF,
            "availability_topic": self.status(),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "json_attributes_topic": self.attributes(info.device),
            "device_class": "sound",
            "icon": "mdi:microphone-message",
            "device": device,
            "origin": {
                "name": super::SOURCE,
                "sw_version": super::VERSION,
                "support_url": "https://github.com/leakypick/leakypick",
            },
        })
    }
}

/// One message to publish.
#[derive(Debug, Clone)]
struct Pub {
    topic: String,
    payload: String,
    retain: bool,
    /// An alert's event message (counted in the stats; kept across reconnections).
    event: bool,
}

/// What MQTT knows of a device, and what is still to be published.
#[derive(Debug)]
struct Dev {
    info: DeviceInfo,
    streaming: bool,
    attributes: Option<String>,
    config_dirty: bool,
    state_dirty: bool,
    attrs_dirty: bool,
}

#[derive(Debug, Default)]
struct State {
    devices: BTreeMap<DeviceKey, Dev>,
    /// Devices with something to publish.
    dirty: BTreeSet<DeviceKey>,
    /// Event messages not yet handed to the publisher.
    events: VecDeque<Pub>,
    /// The poller's view: a connection is up.
    connected: bool,
    /// A (re)connection happened: publish everything again.
    resync: bool,
    /// The DISCONNECT went out (the end of a graceful shutdown).
    disconnect_sent: bool,
    /// Shutting down: finish by then.
    shutdown: Option<Instant>,
    /// The publisher thread has returned.
    publisher_done: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Stop both threads now (drop, or after the shutdown).
    stop: AtomicBool,
    stats: Arc<Mutex<AlertStats>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

/// The handle of the MQTT threads.
pub(super) struct Mqtt {
    shared: Arc<Shared>,
    topics: Topics,
    capacity: usize,
    publisher: Option<JoinHandle<()>>,
    poller: Option<JoinHandle<()>>,
    broker: String,
}

impl Mqtt {
    pub(super) fn start(
        s: Settings,
        options: &AlerterOptions,
        stats: Arc<Mutex<AlertStats>>,
    ) -> Result<Mqtt, AlertError> {
        let mut mo = MqttOptions::new(s.client_id.clone(), s.host.clone(), s.port);
        mo.set_keep_alive(options.keep_alive.max(Duration::from_secs(1)))
            .set_clean_session(true)
            .set_max_packet_size(1 << 20, 1 << 20)
            .set_last_will(LastWill::new(
                s.topics.status(),
                OFFLINE,
                QoS::AtLeastOnce,
                true,
            ));
        if let Some((user, password)) = &s.credentials {
            mo.set_credentials(user.clone(), password.clone());
        }
        let (client, connection) = Client::new(mo, CLIENT_CHANNEL);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            stats,
        });
        let broker = format!("{}:{}", s.host, s.port);
        let poller = Poller {
            connection,
            shared: Arc::clone(&shared),
            broker: broker.clone(),
            min: options.reconnect_min,
            max: options.reconnect_max.max(options.reconnect_min),
        };
        let publisher = Publisher {
            client,
            shared: Arc::clone(&shared),
            topics: s.topics.clone(),
        };
        let spawn_err = |source| AlertError::Thread {
            what: "MQTT",
            source,
        };
        let poller = std::thread::Builder::new()
            .name("leakypick-mqtt-conn".into())
            .spawn(move || poller.run())
            .map_err(spawn_err)?;
        let publisher_thread = std::thread::Builder::new()
            .name("leakypick-mqtt-pub".into())
            .spawn(move || {
                let shared = Arc::clone(&publisher.shared);
                publisher.run();
                shared.lock().publisher_done = true;
                shared.wake.notify_all();
            });
        let publisher_thread = match publisher_thread {
            Ok(t) => t,
            Err(e) => {
                shared.stop.store(true, Ordering::SeqCst);
                return Err(spawn_err(e));
            }
        };
        Ok(Mqtt {
            shared,
            topics: s.topics,
            capacity: options.queue_capacity.max(1),
            publisher: Some(publisher_thread),
            poller: Some(poller),
            broker,
        })
    }

    /// Records a device (new, or with a new name or vendor: its discovery config is
    /// published again).
    pub(super) fn device(&self, info: &DeviceInfo) {
        let mut st = self.shared.lock();
        if upsert(&mut st, info) {
            drop(st);
            self.shared.wake.notify_all();
        }
    }

    /// Records a device's state and attributes and queues its event message (`None`:
    /// rate-limited). False when the event queue was full.
    pub(super) fn alert(
        &self,
        info: &DeviceInfo,
        streaming: bool,
        attributes: String,
        event: Option<String>,
    ) -> bool {
        let mut st = self.shared.lock();
        upsert(&mut st, info);
        if let Some(d) = st.devices.get_mut(&info.device) {
            d.streaming = streaming;
            d.attributes = Some(attributes);
            d.state_dirty = true;
            d.attrs_dirty = true;
        }
        st.dirty.insert(info.device);
        let mut queued = true;
        if let Some(payload) = event {
            if st.events.len() >= self.capacity {
                queued = false;
                lock(&self.shared.stats).mqtt.dropped += 1;
                log::warn!(
                    "MQTT {}: {} event messages are waiting for the broker; the event of {} is dropped",
                    self.broker,
                    st.events.len(),
                    info.device
                );
            } else {
                st.events.push_back(Pub {
                    topic: self.topics.event(info.device),
                    payload,
                    retain: false,
                    event: true,
                });
            }
        }
        drop(st);
        self.shared.wake.notify_all();
        queued
    }

    pub(super) fn connected(&self) -> bool {
        self.shared.lock().connected
    }

    /// Every device OFF, then (by the publisher) "offline" and DISCONNECT.
    pub(super) fn begin_shutdown(&self, end: Instant) {
        let mut st = self.shared.lock();
        let streaming: Vec<DeviceKey> = st
            .devices
            .iter()
            .filter(|(_, d)| d.streaming)
            .map(|(m, _)| *m)
            .collect();
        for mac in streaming {
            if let Some(d) = st.devices.get_mut(&mac) {
                d.streaming = false;
                d.state_dirty = true;
            }
            st.dirty.insert(mac);
        }
        st.shutdown = Some(end);
        drop(st);
        self.shared.wake.notify_all();
    }

    /// Waits until the publisher is done or `end`, then stops both threads.
    pub(super) fn finish_shutdown(mut self, end: Instant) {
        let mut st = self.shared.lock();
        let grace = end + Duration::from_millis(200);
        while !st.publisher_done {
            let now = Instant::now();
            if now >= grace {
                break;
            }
            st = self
                .shared
                .wake
                .wait_timeout(st, grace - now)
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
        let done = st.publisher_done;
        let disconnected = st.disconnect_sent;
        drop(st);
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if done {
            if let Some(t) = self.publisher.take() {
                let _ = t.join();
            }
        }
        if disconnected {
            // The poller returns right after the DISCONNECT went out.
            if let Some(t) = self.poller.take() {
                let _ = t.join();
            }
        } else {
            log::warn!(
                "MQTT {}: not connected at the shutdown deadline; the broker will publish \
                 \"offline\" (last will) when it notices",
                self.broker
            );
        }
    }
}

impl Drop for Mqtt {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
    }
}

/// Adds or updates a device; true when something is to be published.
fn upsert(st: &mut State, info: &DeviceInfo) -> bool {
    match st.devices.get_mut(&info.device) {
        Some(d) if d.info == *info => return false,
        Some(d) => {
            d.info = info.clone();
            d.config_dirty = true;
        }
        None => {
            st.devices.insert(
                info.device,
                Dev {
                    info: info.clone(),
                    streaming: false,
                    attributes: None,
                    config_dirty: true,
                    state_dirty: true,
                    attrs_dirty: false,
                },
            );
        }
    }
    st.dirty.insert(info.device);
    true
}

/// Drives the connection: rumqttc reconnects on the next poll after an error; we wait
/// with exponential backoff in between.
struct Poller {
    connection: Connection,
    shared: Arc<Shared>,
    broker: String,
    min: Duration,
    max: Duration,
}

impl Poller {
    fn run(mut self) {
        let mut backoff = self.min;
        let mut connected = false;
        let mut failures: u64 = 0;
        while !self.shared.stop.load(Ordering::SeqCst) {
            // Short polls while connected, so a stop is noticed; a connection attempt
            // gets its own time (rumqttc gives up on it after 5 s).
            let wait = if connected {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(10)
            };
            match self.connection.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                    connected = true;
                    backoff = self.min;
                    if failures > 0 {
                        log::info!(
                            "MQTT {}: connected (after {})",
                            self.broker,
                            crate::render::count_of(failures, "failed attempt", "failed attempts")
                        );
                    } else {
                        log::info!("MQTT {}: connected", self.broker);
                    }
                    failures = 0;
                    let mut st = self.shared.lock();
                    st.connected = true;
                    st.resync = true;
                    drop(st);
                    self.shared.wake.notify_all();
                }
                Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => {
                    log::debug!("MQTT {}: disconnected", self.broker);
                    let mut st = self.shared.lock();
                    st.connected = false;
                    st.disconnect_sent = true;
                    drop(st);
                    self.shared.wake.notify_all();
                    return;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    {
                        let mut st = self.shared.lock();
                        st.connected = false;
                        st.resync = false;
                    }
                    self.shared.wake.notify_all();
                    if connected {
                        log::warn!(
                            "MQTT {}: connection lost ({e}); reconnecting in the background",
                            self.broker
                        );
                    } else if failures == 0 {
                        log::warn!(
                            "MQTT {}: cannot connect ({e}); retrying in the background",
                            self.broker
                        );
                    } else {
                        log::debug!("MQTT {}: cannot connect ({e})", self.broker);
                    }
                    connected = false;
                    failures += 1;
                    self.sleep(backoff);
                    backoff = (backoff * 2).min(self.max);
                }
            }
        }
    }

    /// Sleeps, cut short by a stop.
    fn sleep(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut st = self.shared.lock();
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            st = self
                .shared
                .wake
                .wait_timeout(st, until - now)
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }
}

/// Turns the shared state into messages for the client.
struct Publisher {
    client: Client,
    shared: Arc<Shared>,
    topics: Topics,
}

impl Publisher {
    fn run(self) {
        // Messages taken from the state but not yet accepted by the client.
        let mut outbox: VecDeque<Pub> = VecDeque::new();
        // Shutting down: "offline" is in the outbox / DISCONNECT was handed over.
        let mut offline_queued = false;
        let mut disconnect_queued = false;
        let mut was_connected = false;
        'outer: loop {
            let mut st = self.shared.lock();
            // Wait for something to do.
            loop {
                if self.shared.stop.load(Ordering::SeqCst) || st.disconnect_sent {
                    return self.give_up(&st, &outbox);
                }
                let now = Instant::now();
                if st.shutdown.is_some_and(|d| now >= d) {
                    return self.give_up(&st, &outbox);
                }
                if st.resync || (!st.connected && was_connected) {
                    break;
                }
                if st.connected {
                    if !st.dirty.is_empty()
                        || !st.events.is_empty()
                        || (st.shutdown.is_some() && !offline_queued)
                    {
                        break;
                    }
                    if !outbox.is_empty() || (offline_queued && !disconnect_queued) {
                        // The client's channel was full: try again soon.
                        drop(st);
                        std::thread::sleep(Duration::from_millis(20));
                        self.flush(&mut outbox);
                        if offline_queued && outbox.is_empty() && !disconnect_queued {
                            disconnect_queued = self.client.try_disconnect().is_ok();
                        }
                        continue 'outer;
                    }
                }
                let mut wait = Duration::from_secs(1);
                if let Some(d) = st.shutdown {
                    wait = wait.min(d.saturating_duration_since(now));
                }
                st = self
                    .shared
                    .wake
                    .wait_timeout(st, wait)
                    .map_or_else(|e| e.into_inner().0, |r| r.0);
            }
            if !st.connected {
                // Lost: what was not handed over is re-published after reconnecting,
                // except events, which wait.
                was_connected = false;
                outbox.retain(|p| p.event);
                offline_queued = false;
                disconnect_queued = false;
                continue;
            }
            was_connected = true;
            if st.resync {
                st.resync = false;
                offline_queued = false;
                disconnect_queued = false;
                outbox.retain(|p| p.event);
                outbox.push_front(self.status(ONLINE));
                let macs: Vec<DeviceKey> = st.devices.keys().copied().collect();
                for mac in macs {
                    if let Some(d) = st.devices.get_mut(&mac) {
                        d.config_dirty = true;
                        d.state_dirty = true;
                        d.attrs_dirty = d.attributes.is_some();
                    }
                    st.dirty.insert(mac);
                }
            }
            let dirty = std::mem::take(&mut st.dirty);
            for mac in dirty {
                let Some(d) = st.devices.get_mut(&mac) else {
                    continue;
                };
                if std::mem::take(&mut d.config_dirty) {
                    outbox.push_back(Pub {
                        topic: self.topics.config(mac),
                        payload: self.topics.discovery_config(&d.info).to_string(),
                        retain: true,
                        event: false,
                    });
                }
                if std::mem::take(&mut d.attrs_dirty) {
                    if let Some(a) = &d.attributes {
                        outbox.push_back(Pub {
                            topic: self.topics.attributes(mac),
                            payload: a.clone(),
                            retain: true,
                            event: false,
                        });
                    }
                }
                if std::mem::take(&mut d.state_dirty) {
                    outbox.push_back(Pub {
                        topic: self.topics.state(mac),
                        payload: if d.streaming { ON } else { OFF }.to_string(),
                        retain: true,
                        event: false,
                    });
                }
            }
            outbox.extend(st.events.drain(..));
            if st.shutdown.is_some() && !offline_queued {
                outbox.push_back(self.status(OFFLINE));
                offline_queued = true;
            }
            drop(st);
            self.flush(&mut outbox);
            if offline_queued && outbox.is_empty() && !disconnect_queued {
                disconnect_queued = self.client.try_disconnect().is_ok();
            }
        }
    }

    fn status(&self, payload: &str) -> Pub {
        Pub {
            topic: self.topics.status(),
            payload: payload.to_string(),
            retain: true,
            event: false,
        }
    }

    /// Hands messages to the client until its channel is full.
    fn flush(&self, outbox: &mut VecDeque<Pub>) {
        while let Some(p) = outbox.front() {
            if !rumqttc::valid_topic(&p.topic) {
                log::warn!("MQTT: invalid topic {:?}; message dropped", p.topic);
                outbox.pop_front();
                continue;
            }
            match self.client.try_publish(
                p.topic.clone(),
                QoS::AtLeastOnce,
                p.retain,
                p.payload.clone().into_bytes(),
            ) {
                Ok(()) => {
                    if p.event {
                        lock(&self.shared.stats).mqtt.sent += 1;
                    }
                    outbox.pop_front();
                }
                Err(_) => break,
            }
        }
    }

    /// Stopping with events undelivered: count and log them.
    fn give_up(&self, st: &State, outbox: &VecDeque<Pub>) {
        let left = (st.events.len() + outbox.iter().filter(|p| p.event).count()) as u64;
        if left > 0 {
            lock(&self.shared.stats).mqtt.failed += left;
            log::warn!(
                "MQTT: {} not delivered before stopping",
                crate::render::count_of(left, "event message", "event messages")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_known_by_ip_get_topic_safe_ids_and_no_mac_connection() {
        let topics = Topics {
            prefix: "leakypick".into(),
            discovery: "homeassistant".into(),
        };
        let v4 = DeviceKey::Ip(std::net::IpAddr::from([192, 168, 12, 112]));
        let v6: DeviceKey = "fe80::1".parse().unwrap_or(v4);
        assert_eq!(node(v4), "ip_192_168_12_112");
        assert_eq!(node(v6), "ip6_fe800000000000000000000000000001");
        assert_eq!(topics.state(v4), "leakypick/ip_192_168_12_112/streaming");
        let config = topics.discovery_config(&DeviceInfo::new(v4));
        assert_eq!(config["device"]["name"], "192.168.12.112");
        assert!(config["device"].get("connections").is_none(), "{config}");
        let mac = DeviceKey::Mac(leakypick_core::Mac([0x68, 0xdb, 0xf5, 0x90, 0x19, 0x64]));
        assert_eq!(node(mac), "68dbf5901964");
        let config = topics.discovery_config(&DeviceInfo::new(mac));
        assert_eq!(
            config["device"]["connections"],
            serde_json::json!([["mac", "68:db:f5:90:19:64"]])
        );
    }
}
