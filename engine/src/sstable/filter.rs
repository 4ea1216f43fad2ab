//! Bloom filters over user keys, one per table.
//!
//! ```text
//! +-------------------------+--------------+
//! | bit array (m/8 bytes)   | k: u8        |
//! +-------------------------+--------------+
//! ```
//!
//! Probe `i` (of `k`) tests bit `(h1 + i * h2) mod m`, with `h1`, `h2` derived from the key's
//! xxh3 hash (Kirsch–Mitzenmacher double hashing). With 10 bits per key, k = 7 and the
//! false-positive rate is about 0.8%.

/// Collects key hashes and builds a filter.
pub(crate) struct BloomBuilder {
    hashes: Vec<u64>,
    bits_per_key: usize,
}

/// The hash a filter stores for a key.
pub(crate) fn hash(user_key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(user_key)
}

fn probes(h: u64) -> (u64, u64) {
    let h1 = h;
    // An odd step, so probes cycle through distinct bits.
    let h2 = h.rotate_left(32) | 1;
    (h1, h2)
}

impl BloomBuilder {
    pub(crate) fn new(bits_per_key: usize) -> Self {
        BloomBuilder {
            hashes: Vec::new(),
            bits_per_key,
        }
    }

    /// Adds a key (adding the same key twice in a row is cheap and harmless).
    pub(crate) fn add(&mut self, user_key: &[u8]) {
        let h = hash(user_key);
        if self.hashes.last() != Some(&h) {
            self.hashes.push(h);
        }
    }

    /// The encoded filter.
    pub(crate) fn finish(&self) -> Vec<u8> {
        let k = ((self.bits_per_key as f64) * std::f64::consts::LN_2).round() as u64;
        let k = k.clamp(1, 30);
        let bits = (self.hashes.len() * self.bits_per_key).max(64);
        let bytes = bits.div_ceil(8);
        let m = (bytes * 8) as u64;
        let mut out = vec![0u8; bytes + 1];
        for &h in &self.hashes {
            let (h1, h2) = probes(h);
            for i in 0..k {
                let bit = h1.wrapping_add(i.wrapping_mul(h2)) % m;
                out[(bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        out[bytes] = k as u8;
        out
    }
}

/// A decoded filter.
pub(crate) struct Bloom {
    bits: Vec<u8>,
    k: u64,
}

impl Bloom {
    /// Decodes a filter; `None` if malformed.
    pub(crate) fn decode(mut data: Vec<u8>) -> Option<Bloom> {
        let k = u64::from(data.pop()?);
        if data.is_empty() || !(1..=30).contains(&k) {
            return None;
        }
        Some(Bloom { bits: data, k })
    }

    /// Whether the key may be present (false means certainly absent).
    #[cfg(test)]
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        self.may_contain_hash(hash(user_key))
    }

    /// [`Self::may_contain`] for a precomputed [`hash`].
    pub(crate) fn may_contain_hash(&self, h: u64) -> bool {
        let m = (self.bits.len() * 8) as u64;
        let (h1, h2) = probes(h);
        (0..self.k).all(|i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % m;
            self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0
        })
    }

    /// Bytes of memory held.
    pub(crate) fn size(&self) -> usize {
        self.bits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_false_positive_rate_below_two_percent_at_10_bits() {
        let n = 100_000u32;
        let mut b = BloomBuilder::new(10);
        for i in 0..n {
            b.add(format!("present-{i}").as_bytes());
        }
        let bloom = Bloom::decode(b.finish()).unwrap();
        for i in 0..n {
            assert!(bloom.may_contain(format!("present-{i}").as_bytes()));
        }
        let probes = 200_000u32;
        let fp = (0..probes)
            .filter(|i| bloom.may_contain(format!("absent-{i}").as_bytes()))
            .count();
        let rate = fp as f64 / f64::from(probes);
        println!(
            "bloom false-positive rate at 10 bits/key: {:.3}%",
            rate * 100.0
        );
        assert!(rate < 0.02, "false-positive rate {rate}");
    }

    #[test]
    fn malformed_filters_are_rejected() {
        assert!(Bloom::decode(vec![]).is_none());
        assert!(Bloom::decode(vec![7]).is_none());
        assert!(Bloom::decode(vec![0, 0, 0, 31]).is_none());
    }
}
