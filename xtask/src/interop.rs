//! Interop with the official Python SDK (filled by the interop work).

pub(crate) fn run() -> crate::Result {
    Ok(())
}
