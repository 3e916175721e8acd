pub(crate) mod rng;
pub(crate) mod sim_fs;
