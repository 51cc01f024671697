//! The application layer of leakypick: everything between the pure core and the
//! command line. It reads capture files, attaches vendors and user-given names to
//! devices, runs the core's detectors over a capture, and renders results as a
//! table, JSON Lines or CSV.

pub mod capture;
