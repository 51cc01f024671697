//! Alerts: webhook to a test HTTP server, MQTT through a real mosquitto on loopback.
