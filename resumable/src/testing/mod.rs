//! Test support, compiled for the unit tests only: the simulated disk that loses what was not
//! synced, the store's crash tests on it (`store_crashes`), and the seeded random generator
//! the tests draw their cases from.

pub(crate) mod rng;
pub(crate) mod sim_fs;
mod store_crashes;
