//! Statistical probing (LeakyPick paper, section 4.1.2): idle window versus probe window.
