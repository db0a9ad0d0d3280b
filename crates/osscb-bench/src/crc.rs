//! CRC-64 (osscb's, SIMD `crc-fast`) over a buffer in memory, beside a
//! copy of the same buffer (`memcpy`, the floor: no checksum reads memory
//! faster than a copy moves it), interleaved.

use std::hint::black_box;

use serde_json::json;

use crate::Result;
use crate::timing::interleaved;

/// The figure: GB/s (10^9 bytes) of osscb's CRC-64 and of `memcpy` over
/// the contents of `file`, and the checksum (to compare with the other
/// implementations over the same file).
pub(crate) fn run(file: &str, rounds: usize) -> Result {
    let data = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    // Written once up front, so that no round pays the pages' first touch.
    let mut copy = vec![1u8; data.len()];
    let crc = osscb_core::crc64::checksum(&data);
    let times = interleaved(
        rounds,
        1,
        &mut [
            &mut || {
                black_box(osscb_core::crc64::checksum(black_box(&data)));
            },
            &mut || {
                copy.copy_from_slice(black_box(&data));
                black_box(&mut copy);
            },
        ],
    );
    let gb_s = |ns: f64| data.len() as f64 / ns;
    crate::emit(&json!({
        "figure": "crc",
        "bytes": data.len(),
        "crc64": crc.to_string(),
        "osscb_gb_s": times.first().map(|&t| gb_s(t)),
        "memcpy_gb_s": times.get(1).map(|&t| gb_s(t)),
    }));
    Ok(())
}
