//! The one integration-test binary. Each module tests one capability on real captures.

mod capture;
mod util;
