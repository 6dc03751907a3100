//! A Mersenne Twister (MT19937) that draws exactly what numpy's legacy `np.random.RandomState`
//! draws for the same seed.
//!
//! fastMRI's masks are defined by numpy's draws, so bit-exact masks need numpy's generator, its
//! seeding paths and its conversion of 32-bit words into doubles and bounded integers:
//!
//! * an integer seed (`RandomState(1337)`) goes through `init_genrand`;
//! * an array seed (`RandomState((102, 105, ...))`, fastMRI's per-file seed made of the character
//!   codes of the file's basename) goes through `init_by_array` — a different state than the
//!   integer path even for a one-element array;
//! * `random_sample`/`uniform` build a 53-bit double from two words: `((a >> 5)·2²⁶ + (b >> 6)) / 2⁵³`;
//! * `randint(0, n)` draws 32-bit words masked to the smallest all-ones mask covering `n − 1` and
//!   rejects values above `n − 1`; when `n == 1` it draws nothing.
//!
//! ```
//! use mcmr::rng::{NumpyRng, Seed};
//! let mut rng = NumpyRng::new(&Seed::Int(1337));
//! let u = rng.random_sample();
//! assert!((0.0..1.0).contains(&u));
//! ```

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// How a generator is seeded. Every random choice in the kit takes one explicitly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seed {
    /// numpy `RandomState(n)`: `init_genrand(n)`.
    Int(u32),
    /// numpy `RandomState(array)`: `init_by_array(words)`.
    Array(Vec<u32>),
}

impl Seed {
    /// fastMRI's per-file seed: the character codes of a file's basename
    /// (`tuple(ord(c) for c in fname)`), so that every slice of a volume gets the same mask.
    pub fn from_name(name: &str) -> Seed {
        Seed::Array(name.chars().map(|c| c as u32).collect())
    }

    /// A short human-readable description for manifests and reports.
    pub fn describe(&self) -> String {
        match self {
            Seed::Int(n) => format!("int:{n}"),
            Seed::Array(words) => {
                let text: Option<String> = words.iter().map(|&w| char::from_u32(w)).collect();
                match text {
                    Some(t) => format!("name:{t}"),
                    None => format!("array:{words:?}"),
                }
            }
        }
    }
}

/// numpy-compatible MT19937 with numpy's legacy sampling methods.
#[derive(Clone)]
pub struct NumpyRng {
    state: [u32; N],
    index: usize,
    /// Cached second value of the polar Box–Muller method (numpy's `has_gauss`/`gauss`).
    gauss: Option<f64>,
}

impl NumpyRng {
    /// A generator seeded as numpy seeds `RandomState(seed)`.
    pub fn new(seed: &Seed) -> Self {
        let mut rng = NumpyRng { state: [0; N], index: N, gauss: None };
        match seed {
            Seed::Int(s) => rng.init_genrand(*s),
            Seed::Array(key) => rng.init_by_array(key),
        }
        rng
    }

    fn init_genrand(&mut self, s: u32) {
        self.state[0] = s;
        for i in 1..N {
            let prev = self.state[i - 1];
            self.state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        self.index = N;
        self.gauss = None;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let mut i = 1usize;
        let mut j = 0usize;
        let key_len = key.len().max(1);
        for _ in 0..N.max(key.len()) {
            let prev = self.state[i - 1];
            let k = key.get(j).copied().unwrap_or(0);
            self.state[i] =
                (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525)).wrapping_add(k).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
            if j >= key_len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
        }
        self.state[0] = 0x8000_0000;
        self.index = N;
        self.gauss = None;
    }

    fn twist(&mut self) {
        for k in 0..N {
            let y = (self.state[k] & UPPER_MASK) | (self.state[(k + 1) % N] & LOWER_MASK);
            let mut v = self.state[(k + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                v ^= MATRIX_A;
            }
            self.state[k] = v;
        }
        self.index = 0;
    }

    /// The next raw 32-bit word (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// numpy `random_sample()`: a double in [0, 1) with 53 random bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// numpy `uniform(size=n)` on [0, 1).
    pub fn uniform_vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.random_sample()).collect()
    }

    /// numpy legacy `randint(0, high)` for `high ≥ 1`: masked rejection sampling of 32-bit words.
    /// `randint(0, 1)` returns 0 without drawing, as numpy does.
    pub fn randint(&mut self, high: u64) -> u64 {
        assert!(high >= 1, "randint needs high >= 1");
        let max = high - 1;
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        if max <= u32::MAX as u64 {
            loop {
                let v = (self.next_u32() as u64) & mask;
                if v <= max {
                    return v;
                }
            }
        }
        loop {
            let hi = self.next_u32() as u64;
            let lo = self.next_u32() as u64;
            let v = ((hi << 32) | lo) & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// numpy legacy `standard_normal()`: the polar Box–Muller method with one cached value.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_genrand_matches_the_reference_first_outputs() {
        // First outputs of the reference mt19937ar.c for init_genrand(5489) (its default seed).
        let mut rng = NumpyRng::new(&Seed::Int(5489));
        let got: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(got, vec![3_499_211_612, 581_869_302, 3_890_346_734]);
    }

    #[test]
    fn init_by_array_matches_the_reference_first_outputs() {
        // mt19937ar.c's own test program seeds init_by_array({0x123, 0x234, 0x345, 0x456}) and
        // prints 1067595299 955945823 477289528 ... first.
        let mut rng = NumpyRng::new(&Seed::Array(vec![0x123, 0x234, 0x345, 0x456]));
        let got: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(got, vec![1_067_595_299, 955_945_823, 477_289_528]);
    }

    #[test]
    fn randint_of_one_draws_nothing() {
        let mut a = NumpyRng::new(&Seed::Int(7));
        let mut b = a.clone();
        assert_eq!(a.randint(1), 0);
        assert_eq!(a.next_u32(), b.next_u32());
    }

    #[test]
    fn seed_from_name_uses_character_codes() {
        assert_eq!(Seed::from_name("ab"), Seed::Array(vec![97, 98]));
        assert_eq!(Seed::from_name("ab").describe(), "name:ab");
    }
}
