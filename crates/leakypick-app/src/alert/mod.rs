//! Alerts: the terminal/log, a webhook, MQTT with Home Assistant discovery.
//! (Being written: see docs/status.md.)
