//! The webhook: one background thread POSTing JSON bodies from a bounded queue.
//!
//! A failed POST (no connection, a timeout, HTTP 5xx, 408 or 429) is retried with
//! exponential backoff; other answers outside 2xx (a 4xx, a redirect) will not get
//! better and fail at once. Failures are counted and logged with the URL and status.

use super::{lock, Alert, AlertError, AlertStats, AlerterOptions};
use crate::monitor::config::WebhookConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The checked webhook settings.
pub(super) struct Settings {
    url: String,
    timeout: Duration,
    headers: Vec<(String, String)>,
}

impl Settings {
    pub(super) fn new(c: &WebhookConfig) -> Result<Settings, AlertError> {
        let invalid = |key: &str, message: String| AlertError::Invalid {
            key: format!("alerts.webhook.{key}"),
            message,
        };
        let uri: ureq::http::Uri = c
            .url
            .parse()
            .map_err(|e| invalid("url", format!("invalid URL {:?}: {e}", c.url)))?;
        if !matches!(uri.scheme_str(), Some("http" | "https"))
            || uri.host().is_none_or(str::is_empty)
        {
            return Err(invalid(
                "url",
                format!(
                    "expected a URL starting with http:// or https://, found {:?}",
                    c.url
                ),
            ));
        }
        let timeout = Duration::try_from_secs_f64(c.timeout_s)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                invalid(
                    "timeout_s",
                    format!(
                        "expected a positive number of seconds, found {}",
                        c.timeout_s
                    ),
                )
            })?;
        for (name, value) in &c.headers {
            if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(invalid(
                    &format!("headers.{name:?}"),
                    format!("expected an HTTP header name, found {name:?}"),
                ));
            }
            if ureq::http::HeaderValue::from_str(value).is_err() {
                return Err(invalid(
                    &format!("headers.{name:?}"),
                    "the value has characters not allowed in an HTTP header".to_string(),
                ));
            }
        }
        Ok(Settings {
            url: c.url.clone(),
            timeout,
            headers: c
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }
}

/// One queued POST.
struct Job {
    body: String,
    /// For logs: `streaming_started of aa:bb:..`.
    what: String,
}

struct Shared {
    stats: Arc<Mutex<AlertStats>>,
    /// Set by `begin_shutdown`: deliver until then, then give up.
    deadline: Mutex<Option<Instant>>,
    /// Set on drop: stop as soon as possible.
    stop: AtomicBool,
}

/// The handle of the webhook thread.
pub(super) struct Webhook {
    tx: Option<SyncSender<Job>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
    url: String,
}

impl Webhook {
    pub(super) fn start(
        settings: Settings,
        options: &AlerterOptions,
        stats: Arc<Mutex<AlertStats>>,
    ) -> Result<Webhook, AlertError> {
        let (tx, rx) = mpsc::sync_channel(options.queue_capacity.max(1));
        let (done_tx, done) = mpsc::channel();
        let shared = Arc::new(Shared {
            stats,
            deadline: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("{}/{}", super::SOURCE, super::VERSION))
            .timeout_global(Some(settings.timeout))
            .build()
            .into();
        let url = settings.url.clone();
        let worker = Worker {
            settings,
            agent,
            shared: Arc::clone(&shared),
            retries: options.webhook_retries,
            backoff: options.retry_backoff,
        };
        let thread = std::thread::Builder::new()
            .name("leakypick-webhook".into())
            .spawn(move || {
                worker.run(rx);
                let _ = done_tx.send(());
            })
            .map_err(|source| AlertError::Thread {
                what: "webhook",
                source,
            })?;
        Ok(Webhook {
            tx: Some(tx),
            shared,
            thread: Some(thread),
            done,
            url,
        })
    }

    /// Queues a body; false when the queue is full (counted as dropped, logged).
    pub(super) fn send(&self, body: String, alert: &Alert) -> bool {
        let Some(tx) = &self.tx else {
            return false;
        };
        let what = format!("{} of {}", alert.kind.event_name(), alert.device.device);
        match tx.try_send(Job { body, what }) {
            Ok(()) => true,
            Err(TrySendError::Full(job)) | Err(TrySendError::Disconnected(job)) => {
                lock(&self.shared.stats).webhook.dropped += 1;
                log::warn!(
                    "webhook {}: queue full, alert {} dropped (the server is slow or down)",
                    self.url,
                    job.what
                );
                false
            }
        }
    }

    /// Tells the thread to deliver what is queued until `end`, then stop.
    pub(super) fn begin_shutdown(&mut self, end: Instant) {
        *lock(&self.shared.deadline) = Some(end);
        // Closing the queue ends the thread's loop once it is empty.
        self.tx = None;
    }

    /// Waits for the thread until `end` (plus a moment for it to count what is left).
    pub(super) fn finish_shutdown(mut self, end: Instant) {
        let wait = end.saturating_duration_since(Instant::now()) + Duration::from_millis(200);
        if self.done.recv_timeout(wait).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        } else {
            log::warn!(
                "webhook {}: still busy at the shutdown deadline; not waiting",
                self.url
            );
        }
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

struct Worker {
    settings: Settings,
    agent: ureq::Agent,
    shared: Arc<Shared>,
    retries: u32,
    backoff: Duration,
}

/// The result of one POST.
enum Attempt {
    Delivered,
    Retry(String),
    Fail(String),
}

impl Worker {
    fn run(&self, rx: Receiver<Job>) {
        while let Ok(job) = rx.recv() {
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            if self.deadline().is_some_and(|d| Instant::now() >= d) {
                // Shutting down and out of time: count what is left.
                let left = 1 + rx.try_iter().count() as u64;
                lock(&self.shared.stats).webhook.failed += left;
                log::warn!(
                    "webhook {}: {} not delivered before the shutdown deadline",
                    self.settings.url,
                    crate::render::count(left, "alert")
                );
                return;
            }
            self.deliver(&job);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        *lock(&self.shared.deadline)
    }

    fn deliver(&self, job: &Job) {
        let mut attempt: u32 = 0;
        loop {
            let timeout = match self.deadline() {
                Some(d) => self
                    .settings
                    .timeout
                    .min(d.saturating_duration_since(Instant::now())),
                None => self.settings.timeout,
            };
            let result = if timeout.is_zero() {
                Attempt::Fail("the shutdown deadline passed".to_string())
            } else {
                self.post(job, timeout)
            };
            let error = match result {
                Attempt::Delivered => {
                    lock(&self.shared.stats).webhook.sent += 1;
                    log::debug!("webhook {}: delivered {}", self.settings.url, job.what);
                    return;
                }
                Attempt::Retry(e) if attempt < self.retries => {
                    let wait = self.backoff.saturating_mul(1 << attempt.min(16));
                    log::debug!(
                        "webhook {}: {e}; retrying {} in {:.1} s",
                        self.settings.url,
                        job.what,
                        wait.as_secs_f64()
                    );
                    if self.sleep(wait) {
                        attempt += 1;
                        continue;
                    }
                    format!("{e} (then stopped)")
                }
                Attempt::Retry(e) | Attempt::Fail(e) => e,
            };
            lock(&self.shared.stats).webhook.failed += 1;
            log::warn!(
                "webhook {}: could not deliver {} after {}: {error}",
                self.settings.url,
                job.what,
                crate::render::count(attempt + 1, "attempt")
            );
            return;
        }
    }

    fn post(&self, job: &Job, timeout: Duration) -> Attempt {
        let has_content_type = self
            .settings
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let mut req = self.agent.post(&self.settings.url);
        if !has_content_type {
            req = req.header("Content-Type", "application/json");
        }
        for (k, v) in &self.settings.headers {
            req = req.header(k, v);
        }
        let req = req.config().timeout_global(Some(timeout)).build();
        match req.send(job.body.as_bytes()) {
            Ok(resp) => {
                let status = resp.status();
                let code = status.as_u16();
                if status.is_success() {
                    Attempt::Delivered
                } else if status.is_server_error() || code == 408 || code == 429 {
                    Attempt::Retry(format!("HTTP status {status}"))
                } else {
                    Attempt::Fail(format!("HTTP status {status}"))
                }
            }
            Err(e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
                Attempt::Fail(e.to_string())
            }
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }

    /// Sleeps up to `wait`, cut short by the shutdown deadline; false when stopped or
    /// out of time.
    fn sleep(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return false;
            }
            let now = Instant::now();
            if self.deadline().is_some_and(|d| now >= d) {
                return false;
            }
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
    }
}
