//! The crate's only source of randomness, defined down to the bit so a seed means the same
//! data everywhere.
//!
//! A seed `s` keys ChaCha8 with the 32-byte key `s.to_le_bytes() ++ domain.to_le_bytes() ++
//! [0; 16]`, where `domain` separates independent uses of one seed (the adding problem's train
//! and test sets, a permutation, a shuffle). Integers below `n` come from 64-bit words by
//! rejection (unbiased), floats in [0, 1) from the top 24 bits of a 32-bit word. Nothing here
//! depends on `rand`'s distribution code, whose exact output may change between releases.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Domain for [`permutation`] of pixel orders.
pub const DOMAIN_PERMUTATION: u64 = 1;
/// Domain for [`shuffled`] sample orders.
pub const DOMAIN_SHUFFLE: u64 = 2;
/// Domain of the adding problem's training set (and of `AddingProblem::new`).
pub const DOMAIN_ADDING_TRAIN: u64 = 3;
/// Domain of the adding problem's test set.
pub const DOMAIN_ADDING_TEST: u64 = 4;

/// ChaCha8 keyed by `seed` within `domain` (see the module docs for the exact key layout).
pub fn chacha(seed: u64, domain: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&domain.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// Uniform integer in `0..n` (`n > 0`), by rejection on 64-bit words so it has no modulo bias.
pub fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    // Callers draw from non-empty ranges (shuffles of non-empty datasets, positions in
    // sequences of at least 2 steps, checked at parse time); a 0 is a programming error.
    assert!(n > 0, "below(0) has no value");
    // Largest multiple of n that fits; words at or above it are redrawn.
    let zone = u64::MAX - (u64::MAX % n + 1) % n;
    loop {
        let word = rng.next_u64();
        if word <= zone {
            return word % n;
        }
    }
}

/// Uniform f32 in [0, 1) from one 32-bit word (its top 24 bits, exactly representable).
pub fn unit_f32(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Fisher-Yates shuffle (from the last element down, swapping with `below(i + 1)`).
pub fn shuffle<T>(items: &mut [T], rng: &mut impl RngCore) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// The permutation of `0..n` that `seed` stands for: a pure function of `(n, seed)`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, &mut chacha(seed, DOMAIN_PERMUTATION));
    order
}

/// `items` in the order `seed` stands for (a different domain than [`permutation`]).
pub fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    shuffle(&mut out, &mut chacha(seed, DOMAIN_SHUFFLE));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut rng = chacha(7, 0);
        let mut seen = [0usize; 5];
        for _ in 0..5000 {
            seen[below(&mut rng, 5) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        assert_eq!(below(&mut rng, 1), 0);
    }

    #[test]
    fn permutation_is_a_pure_function_of_the_seed() {
        let a = permutation(784, 42);
        assert_eq!(a, permutation(784, 42));
        assert_ne!(a, permutation(784, 43));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..784).collect::<Vec<_>>());
        // Pinned: these values define "permutation 42"; if they change, every permuted-MNIST
        // result recorded so far refers to a different task.
        assert_eq!(&a[..8], &PINNED_PERMUTATION_42);
    }

    const PINNED_PERMUTATION_42: [usize; 8] = [19, 564, 763, 764, 22, 114, 553, 305];

    #[test]
    fn unit_f32_spans_zero_to_below_one() {
        assert_eq!(unit_f32(0), 0.0);
        assert!(unit_f32(u32::MAX) < 1.0);
        assert!(unit_f32(u32::MAX) > 0.9999);
    }
}
