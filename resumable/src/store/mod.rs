pub(crate) mod files;
pub(crate) mod fs;
pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod syncer;
