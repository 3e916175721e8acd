pub(crate) mod checkpoint;
pub(crate) mod checksum;
pub(crate) mod depth_limit;
pub(crate) mod envelope;
pub(crate) mod log;
pub(crate) mod shape;
