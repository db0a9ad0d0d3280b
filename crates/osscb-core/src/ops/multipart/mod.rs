//! Multipart upload: initiate, upload parts, complete (optionally with a
//! callback), abort; and the part-size rules. The steps are
//! [`crate::flow::Multipart`]'s business; users see the final answer,
//! [`CompleteMultipartUploadOutput`], and may abort a kept upload with
//! [`AbortMultipartUpload`].

mod abort;
mod complete;
mod initiate;
mod upload_part;

pub use abort::{AbortMultipartUpload, AbortMultipartUploadOutput};
pub use complete::CompleteMultipartUploadOutput;
pub(crate) use complete::{CompleteMultipartUpload, CompletedPart};
pub(crate) use initiate::InitiateMultipartUpload;
pub(crate) use upload_part::UploadPart;

use crate::Error;

/// Parts are numbered 1 to 10,000.
pub(crate) const MAX_PARTS: u32 = 10_000;
/// Every part but the last is at least 100 KiB.
pub(crate) const MIN_PART_SIZE: u64 = 100 * 1024;
/// No part is over 5 GiB.
pub(crate) const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The default part size osscb uses: 8 MiB.
pub(crate) const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

/// How a file of a given size is cut into parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartPlan {
    /// Size of every part but the last.
    pub(crate) part_size: u64,
    /// Number of parts (at least 1, even for an empty file).
    pub(crate) part_count: u32,
    /// The file size.
    pub(crate) total_size: u64,
}

impl PartPlan {
    /// Cuts `total_size` bytes into parts of `preferred_part_size`, grown (in
    /// whole MiB... rounded up) so that there are at most 10,000 parts.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if the preferred size is under 100 KiB or
    /// over 5 GiB, or the file cannot fit in 10,000 parts of 5 GiB.
    pub(crate) fn new(total_size: u64, preferred_part_size: u64) -> Result<Self, Error> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&preferred_part_size) {
            return Err(Error::InvalidArgument(format!(
                "part size {preferred_part_size} is outside {MIN_PART_SIZE}..={MAX_PART_SIZE} bytes"
            )));
        }
        let min_for_count = total_size.div_ceil(u64::from(MAX_PARTS));
        // Grown only when the preferred size would need over 10,000 parts.
        let part_size = if preferred_part_size >= min_for_count {
            preferred_part_size
        } else {
            min_for_count
                .next_multiple_of(1024 * 1024)
                .min(MAX_PART_SIZE)
        };
        if part_size.saturating_mul(u64::from(MAX_PARTS)) < total_size {
            return Err(Error::InvalidArgument(format!(
                "{total_size} bytes do not fit in {MAX_PARTS} parts of at most {MAX_PART_SIZE} bytes"
            )));
        }
        let part_count = u32::try_from(total_size.div_ceil(part_size).max(1)).unwrap_or(MAX_PARTS);
        Ok(Self {
            part_size,
            part_count,
            total_size,
        })
    }

    /// Byte offset and length of part `number` (1-based).
    pub(crate) fn part(&self, number: u32) -> Option<(u64, u64)> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let offset = u64::from(number - 1) * self.part_size;
        Some((offset, self.part_size.min(self.total_size - offset)))
    }
}

pub(crate) fn check_part_number(n: u32) -> Result<(), Error> {
    if (1..=MAX_PARTS).contains(&n) {
        Ok(())
    } else {
        Err(Error::InvalidPartNumber(n))
    }
}

#[cfg(test)]
mod tests;
