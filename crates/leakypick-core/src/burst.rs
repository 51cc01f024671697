//! Burst detection (LeakyPick paper, section 4.1.1).
