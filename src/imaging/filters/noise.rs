//! `noise(amount[,seed])`: the same random offset added to R, G and B of each pixel, drawn
//! from a generator that reproduces glibc's `random()` after `srandom(seed)`, so a given seed
//! gives Thumbor's exact noise pattern.

use super::super::{Image, ImagingError};
use super::params::Params;
use super::{AssetLoader, FilterCall, PostTransformContext};
use std::hash::{BuildHasher, Hasher};

/// glibc's default `random()` generator (TYPE_3: an additive lagged Fibonacci generator with
/// lags 31 and 3, seeded through a Park–Miller sequence, first 310 outputs discarded).
pub struct GlibcRandom {
    state: [u32; 31],
    front: usize,
    rear: usize,
}

impl GlibcRandom {
    pub fn new(seed: u32) -> GlibcRandom {
        let mut state = [0u32; 31];
        let seed = if seed == 0 { 1 } else { seed };
        state[0] = seed;
        let mut word = i64::from(seed as i32);
        for slot in state.iter_mut().skip(1) {
            // 16807 * word mod (2^31 - 1), computed without overflow (Schrage's method).
            let high = word / 127_773;
            let low = word % 127_773;
            word = 16_807 * low - 2_836 * high;
            if word < 0 {
                word += 2_147_483_647;
            }
            *slot = word as u32;
        }
        let mut generator = GlibcRandom {
            state,
            front: 3,
            rear: 0,
        };
        for _ in 0..310 {
            generator.next_value();
        }
        generator
    }

    /// The next value in 0..2^31.
    pub fn next_value(&mut self) -> u32 {
        let sum = self.state[self.front].wrapping_add(self.state[self.rear]);
        self.state[self.front] = sum;
        self.front = (self.front + 1) % 31;
        self.rear = (self.rear + 1) % 31;
        sum >> 1
    }
}

/// Adds `random() % amount - amount/2` to R, G and B of each pixel, frames in order, one draw
/// per pixel. A seed of 0 means "not seeded": a fresh random seed.
pub fn noise(image: &mut Image, amount: i64, seed: i64) {
    // The C extension receives both as C ints.
    let amount = amount.min(i64::from(i32::MAX));
    if amount <= 0 {
        return;
    }
    let seed = seed.min(i64::from(i32::MAX));
    let seeded = seed > 0;
    let mut generator = GlibcRandom::new(if seeded {
        seed as u32
    } else {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(0);
        hasher.finish() as u32
    });
    let half = amount >> 1;
    let channels = image.layout.channels();
    for frame in &mut image.frames {
        // Thumbor runs the filter once per frame and re-seeds each time: every frame of an
        // animation gets the same pattern.
        if seeded {
            generator = GlibcRandom::new(seed as u32);
        }
        for pixel in frame.pixels.chunks_exact_mut(channels) {
            let offset = i64::from(generator.next_value()) % amount - half;
            for value in &mut pixel[..3] {
                *value = (i64::from(*value) + offset).clamp(0, 255) as u8;
            }
        }
    }
}

/// `noise(amount[,seed])`; the seed defaults to 0.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Noise {
    pub(super) amount: i64,
    pub(super) seed: i64,
}

impl FilterCall for Noise {
    fn build(params: &Params<'_>) -> Option<Self> {
        Some(Noise {
            amount: params.int(0)?,
            seed: params.int_or(1, 0)?,
        })
    }

    fn post_transform(
        &self,
        image: &mut Image,
        _ctx: &PostTransformContext<'_>,
        _load: &AssetLoader<'_>,
    ) -> Result<(), ImagingError> {
        noise(image, self.amount, self.seed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_glibc_random_sequence() {
        // glibc: srandom(1); random() x5.
        let mut generator = GlibcRandom::new(1);
        let values: Vec<u32> = (0..5).map(|_| generator.next_value()).collect();
        assert_eq!(
            values,
            vec![
                1_804_289_383,
                846_930_886,
                1_681_692_777,
                1_714_636_915,
                1_957_747_793
            ]
        );
    }
}
