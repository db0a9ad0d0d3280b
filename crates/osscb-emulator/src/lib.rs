//! A local OSS (filled by the emulator issue).
