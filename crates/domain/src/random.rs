//! Randomness that is not security-sensitive (retry jitter, phrasing variety). It can be seeded
//! so that tests are deterministic. Secrets and tokens never come from here: they use the OS
//! CSPRNG directly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Entropy(Arc<Mutex<StdRng>>);

impl Entropy {
    pub fn from_os() -> Self {
        Self(Arc::new(Mutex::new(StdRng::from_os_rng())))
    }

    pub fn seeded(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(StdRng::seed_from_u64(seed))))
    }

    /// A number in `0..upper` (0 when `upper` is 0).
    pub fn below(&self, upper: u64) -> u64 {
        if upper == 0 {
            return 0;
        }
        let mut rng = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        rng.random_range(0..upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_entropy_repeats() {
        let a = Entropy::seeded(7);
        let b = Entropy::seeded(7);
        let xs: Vec<u64> = (0..8).map(|_| a.below(1000)).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.below(1000)).collect();
        assert_eq!(xs, ys);
        assert_eq!(a.below(0), 0);
    }
}
