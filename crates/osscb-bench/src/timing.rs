//! Interleaved timing: every subject of a figure runs once per round, in
//! turn, so that a noisy moment of the machine hits them all alike; each
//! subject's figure is its median round.

use std::time::Instant;

/// Runs each of `subjects` `iters` times per round for `rounds` rounds, in
/// turn, and returns each one's median time per call, in nanoseconds.
pub(crate) fn interleaved(
    rounds: usize,
    iters: usize,
    subjects: &mut [&mut dyn FnMut()],
) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(rounds); subjects.len()];
    for _ in 0..rounds.max(1) {
        for (subject, times) in subjects.iter_mut().zip(&mut samples) {
            let started = Instant::now();
            for _ in 0..iters.max(1) {
                subject();
            }
            times.push(started.elapsed().as_secs_f64() * 1e9 / iters.max(1) as f64);
        }
    }
    samples.into_iter().map(median).collect()
}

/// The median of `values` (the upper one of an even count).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
