//! The async transport for osscb-core (filled by the transports issue).
