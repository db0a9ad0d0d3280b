//! Benchmarks (filled later).

pub(crate) fn run(_args: &[String]) -> crate::Result {
    Ok(())
}
