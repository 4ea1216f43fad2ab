//! Little helpers for the on-disk encodings: LEB128 varints and fixed-width integers.

/// Appends `v` as an unsigned LEB128 varint (1–10 bytes).
pub(crate) fn put_varint(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(varint_into(&mut [0u8; 10], v));
}

/// Writes `v` as a varint into `buf`, returning the bytes written.
pub(crate) fn varint_into(buf: &mut [u8; 10], mut v: u64) -> &[u8] {
    let mut n = 0;
    while v >= 0x80 {
        buf[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    buf[n] = v as u8;
    &buf[..=n]
}

/// Decodes a varint from the front of `src`, advancing it; `None` if truncated or over 64 bits.
#[inline]
pub(crate) fn get_varint(src: &mut &[u8]) -> Option<u64> {
    // Fast path: most lengths in blocks are below 128 and take one byte.
    if let Some(&b) = src.first() {
        if b < 0x80 {
            *src = &src[1..];
            return Some(u64::from(b));
        }
    }
    get_varint_slow(src)
}

fn get_varint_slow(src: &mut &[u8]) -> Option<u64> {
    let mut result: u64 = 0;
    for (i, &byte) in src.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return None;
        }
        result |= part << (7 * i);
        if byte & 0x80 == 0 {
            *src = &src[i + 1..];
            return Some(result);
        }
    }
    None
}

/// Decodes a varint that must fit a `usize` length.
pub(crate) fn get_len(src: &mut &[u8]) -> Option<usize> {
    get_varint(src).and_then(|v| usize::try_from(v).ok())
}

/// Takes `n` bytes from the front of `src`, advancing it.
pub(crate) fn take<'a>(src: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if src.len() < n {
        return None;
    }
    let (head, tail) = src.split_at(n);
    *src = tail;
    Some(head)
}

/// Appends a varint length followed by the bytes.
pub(crate) fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Decodes a varint-length-prefixed byte string.
pub(crate) fn get_bytes<'a>(src: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = get_len(src)?;
    take(src, n)
}

/// Reads a little-endian u32 at `at`.
pub(crate) fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a little-endian u64 at `at`.
pub(crate) fn u64_at(buf: &[u8], at: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The 64-bit checksum used on every block (xxh3).
pub(crate) fn checksum64(data: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varint_roundtrip(v: u64) {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut src = &buf[..];
            prop_assert_eq!(get_varint(&mut src), Some(v));
            prop_assert!(src.is_empty());
        }

        #[test]
        fn varint_never_panics(bytes: Vec<u8>) {
            let mut src = &bytes[..];
            let _ = get_varint(&mut src);
        }
    }

    #[test]
    fn truncated_and_overlong_varints_are_rejected() {
        assert_eq!(get_varint(&mut &[0x80u8][..]), None);
        assert_eq!(get_varint(&mut &[0xffu8; 11][..]), None);
        assert_eq!(
            get_varint(&mut &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..]),
            None
        );
    }
}
