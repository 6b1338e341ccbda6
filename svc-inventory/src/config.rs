//! svc-inventory's configuration. It has no knobs of its own: stock rules come from the
//! contract, not from the environment. It reads only the settings every service shares
//! (addresses, database, bus, telemetry) from platform.

/// What svc-inventory is started with: the shared settings alone.
pub type Config = mart_platform::config::Config;
