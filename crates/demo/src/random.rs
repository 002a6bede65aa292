//! Seeded randomness: one ChaCha stream per table, so that changing how one table is
//! generated leaves the others byte-identical, plus the few distributions the generator
//! draws from.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// The generator's random source: ChaCha8, reproducible on every platform.
pub(crate) type DemoRng = ChaCha8Rng;

/// The ChaCha stream numbers of the parts of the warehouse.
pub(crate) mod streams {
    pub(crate) const CALENDAR: u64 = 1;
    pub(crate) const ACCOUNTS: u64 = 2;
    pub(crate) const SUBSCRIPTIONS: u64 = 3;
    pub(crate) const USERS: u64 = 4;
    pub(crate) const LIFECYCLES: u64 = 5;
    pub(crate) const EXPERIMENTS: u64 = 6;
    pub(crate) const EVENTS: u64 = 7;
    pub(crate) const TICKETS: u64 = 8;
    pub(crate) const INVOICES: u64 = 9;
}

/// The random stream `stream` of `seed`.
pub(crate) fn stream(seed: u64, stream: u64) -> DemoRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A draw from N(0, 1).
pub(crate) fn standard_normal(rng: &mut DemoRng) -> f64 {
    rng.sample(StandardNormal)
}

/// A log-normal draw with the given median: `median * e^(sigma * z)`.
pub(crate) fn log_normal(rng: &mut DemoRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * standard_normal(rng)).exp()
}

/// An exponential draw with the given mean.
pub(crate) fn exponential(rng: &mut DemoRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

/// A Poisson count with mean `lambda` (0 for a non-positive mean).
pub(crate) fn poisson(rng: &mut DemoRng, lambda: f64) -> u32 {
    if !(lambda > 0.0 && lambda.is_finite()) {
        return 0;
    }
    match Poisson::new(lambda) {
        Ok(distribution) => {
            let n: f64 = distribution.sample(rng);
            n.min(f64::from(u32::MAX)) as u32
        }
        Err(_) => 0,
    }
}

/// Failures before the first success of a trial with success probability `p`, capped.
pub(crate) fn geometric(rng: &mut DemoRng, p: f64, cap: u32) -> u32 {
    let mut n = 0;
    while n < cap && rng.random::<f64>() >= p {
        n += 1;
    }
    n
}

/// One of `items`, drawn in proportion to its weight. Weights must not all be zero.
pub(crate) fn pick<T: Copy>(rng: &mut DemoRng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, w)| w.max(0.0)).sum();
    let mut u = rng.random::<f64>() * total;
    for &(item, weight) in items {
        let weight = weight.max(0.0);
        if u < weight {
            return item;
        }
        u -= weight;
    }
    // Rounding can leave `u` a hair above the last weight: take the last positive item.
    items.iter().rev().find(|(_, w)| *w > 0.0).map_or(items[0].0, |&(item, _)| item)
}

/// `true` with probability `p` (clamped to [0, 1]).
pub(crate) fn chance(rng: &mut DemoRng, p: f64) -> bool {
    rng.random::<f64>() < p.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_of_one_seed_differ_and_repeat() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = stream(42, 1);
                move |_| r.random()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = stream(42, 1);
                move |_| r.random()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = stream(42, 2);
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn pick_follows_weights_and_skips_zero_weights() {
        let mut rng = stream(1, 1);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[pick(&mut rng, &[(0usize, 1.0), (1, 0.0), (2, 3.0)])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((2_200..2_800).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn poisson_mean_is_close_to_lambda() {
        let mut rng = stream(3, 1);
        let total: u32 = (0..20_000).map(|_| poisson(&mut rng, 2.5)).sum();
        let mean = f64::from(total) / 20_000.0;
        assert!((mean - 2.5).abs() < 0.1, "{mean}");
        assert_eq!(poisson(&mut rng, 0.0), 0);
        assert_eq!(poisson(&mut rng, f64::NAN), 0);
    }
}
