//! Streaming AES-128-CBC decryption of HLS segments (`METHOD=AES-128`):
//! whole-segment CBC with PKCS#7 padding, restarted for every segment
//! (RFC 8216 §5.2), fed chunk by chunk as the body arrives.
//!
//! Built on RustCrypto's `aes` 0.8 + `cbc` 0.1 (the `cipher` 0.4 line; `aes`
//! picks AES-NI or ARMv8 AES at run time and falls back to a constant-time
//! software implementation).

use aes::Aes128;
use cbc::cipher::generic_array::typenum::U16;
use cbc::cipher::inout::InOutBuf;
use cbc::cipher::{
    block_padding::{Padding, Pkcs7},
    BlockDecryptMut, KeyIvInit,
};

/// The AES block size in bytes.
const BLOCK: usize = 16;

/// Why a segment's ciphertext could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// CBC ciphertext is whole blocks and at least one (the padding): a body
    /// of another length was cut short or is not AES-128-CBC.
    #[error("encrypted segment is {0} bytes, not a positive multiple of 16 (truncated?)")]
    NotBlockAligned(u64),
    /// The last block does not end in valid PKCS#7 padding; almost always the
    /// wrong key or IV.
    #[error("bad PKCS#7 padding after decryption (wrong key or IV?)")]
    BadPadding,
}

/// Decrypts one AES-128-CBC, PKCS#7-padded stream incrementally.
///
/// Holds back at most one block between calls: the last full block might be
/// the padding block, which only [`finish`](Self::finish) can strip, plus any
/// partial block still waiting for its remaining bytes. Everything else is
/// decrypted straight into the caller's buffer, so memory use is bounded by
/// the chunk being fed, never by the segment.
pub struct Aes128CbcDecryptor {
    cipher: cbc::Decryptor<Aes128>,
    /// Ciphertext not yet decrypted: a partial block, or the last full block
    /// (1..=16 bytes) when more input has been seen; never more than 16 bytes.
    pending: Vec<u8>,
    /// Ciphertext bytes seen so far, for the error message.
    total: u64,
}

impl std::fmt::Debug for Aes128CbcDecryptor {
    // By hand: the cipher state holds the key schedule, which must not end
    // up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aes128CbcDecryptor")
            .field("pending", &self.pending.len())
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Aes128CbcDecryptor {
    /// A decryptor for one segment encrypted with `key` and `iv`.
    pub fn new(key: &[u8; 16], iv: &[u8; 16]) -> Self {
        Aes128CbcDecryptor {
            cipher: cbc::Decryptor::<Aes128>::new(&(*key).into(), &(*iv).into()),
            pending: Vec::with_capacity(BLOCK),
            total: 0,
        }
    }

    /// Decrypts what it can of `input` (keeps the last full block back for
    /// unpadding, and any partial block), appends plaintext to `out`.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.total = self.total.saturating_add(input.len() as u64);
        let available = self.pending.len() + input.len();
        // Keep back the trailing partial block, or a whole block when the
        // data so far ends on a block boundary (it may be the last one).
        let keep = match available % BLOCK {
            0 => available.min(BLOCK),
            partial => partial,
        };
        let mut ready = available - keep;
        if ready == 0 {
            self.pending.extend_from_slice(input);
            return;
        }
        out.reserve(ready);
        let mut input = input;
        if !self.pending.is_empty() {
            // Complete the held-back block from the new input. `ready > 0`
            // means at least `keep + 16` bytes are available and `pending`
            // holds at most 16, so `input` has the missing bytes.
            let (head, rest) = input.split_at(BLOCK - self.pending.len());
            let start = out.len();
            out.extend_from_slice(&self.pending);
            out.extend_from_slice(head);
            self.decrypt_in_place(&mut out[start..]);
            self.pending.clear();
            input = rest;
            ready -= BLOCK;
        }
        // `ready` is a multiple of 16 and at most `input.len()` (the kept
        // bytes come from the end of the input).
        let (body, rest) = input.split_at(ready);
        let start = out.len();
        out.extend_from_slice(body);
        self.decrypt_in_place(&mut out[start..]);
        self.pending.extend_from_slice(rest);
    }

    /// Ends the stream: checks and strips PKCS#7 padding; an input that is
    /// not a multiple of 16 or has bad padding is an error.
    ///
    /// On error, the plaintext already appended by [`update`](Self::update)
    /// is not trustworthy either; the caller discards the segment.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), DecryptError> {
        // `update` leaves exactly one full block pending when, and only
        // when, the stream so far is a positive number of whole blocks;
        // anything else is a truncated body.
        if self.pending.len() != BLOCK {
            return Err(DecryptError::NotBlockAligned(self.total));
        }
        let mut block = aes::Block::default();
        block.copy_from_slice(&self.pending);
        self.cipher.decrypt_block_mut(&mut block);
        let plain = Pkcs7::unpad(&block).map_err(|_| DecryptError::BadPadding)?;
        out.extend_from_slice(plain);
        Ok(())
    }

    /// Decrypts whole blocks in place; `data.len()` is a multiple of 16.
    fn decrypt_in_place(&mut self, data: &mut [u8]) {
        // Many blocks per call, so `aes` can pipeline them (CBC decryption
        // parallelises; encryption does not).
        let (blocks, tail) = InOutBuf::from(data).into_chunks::<U16>();
        debug_assert!(tail.is_empty(), "only whole blocks are decrypted");
        self.cipher.decrypt_blocks_inout_mut(blocks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockEncryptMut;

    const KEY: [u8; 16] =
        [0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c];
    const IV: [u8; 16] =
        [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    fn encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; (plain.len() / BLOCK + 1) * BLOCK];
        let len = cbc::Encryptor::<Aes128>::new(&(*key).into(), &(*iv).into())
            .encrypt_padded_b2b_mut::<Pkcs7>(plain, &mut buf)
            .expect("buffer fits the padding")
            .len();
        buf.truncate(len);
        buf
    }

    /// Feeds `cipher` in chunks of `chunk` bytes.
    fn decrypt_chunked(key: &[u8; 16], iv: &[u8; 16], cipher: &[u8], chunk: usize) -> Result<Vec<u8>, DecryptError> {
        let mut d = Aes128CbcDecryptor::new(key, iv);
        let mut out = Vec::new();
        for piece in cipher.chunks(chunk) {
            let before = out.len();
            d.update(piece, &mut out);
            // Bounded: never more plaintext than the ciphertext seen, and
            // never more than one block plus the piece held back.
            assert!(out.len() - before <= piece.len() + BLOCK);
            assert!(d.pending.len() <= BLOCK);
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn nist_sp800_38a_cbc_vector_with_its_padding_block() {
        // SP 800-38A F.2.1/F.2.2 (CBC-AES128): the four blocks are the NIST
        // vector; the fifth is the PKCS#7 block (16 × 0x10) that `openssl enc
        // -aes-128-cbc` appends for this 64-byte plaintext.
        let plain = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
             30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
        let cipher = hex("7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
             73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7
             8cb82807230e1321d3fae00d18cc2012");
        assert_eq!(encrypt(&KEY, &IV, &plain), cipher);
        for chunk in [1, 7, 16, 17, 4096] {
            assert_eq!(decrypt_chunked(&KEY, &IV, &cipher, chunk).expect("decrypts"), plain, "chunk {chunk}");
        }
    }

    #[test]
    fn round_trip_in_odd_chunk_sizes() {
        let key = [0x42; 16];
        let iv = [0x24; 16];
        for len in [0, 1, 15, 16, 17, 31, 32, 33, 1000, 10_000] {
            let plain = sample(len);
            let cipher = encrypt(&key, &iv, &plain);
            for chunk in [1, 7, 16, 17, 4096] {
                assert_eq!(
                    decrypt_chunked(&key, &iv, &cipher, chunk).expect("decrypts"),
                    plain,
                    "len {len}, chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn empty_updates_change_nothing() {
        let plain = sample(100);
        let cipher = encrypt(&KEY, &IV, &plain);
        let mut d = Aes128CbcDecryptor::new(&KEY, &IV);
        let mut out = Vec::new();
        d.update(&[], &mut out);
        d.update(&cipher[..48], &mut out);
        d.update(&[], &mut out);
        d.update(&cipher[48..], &mut out);
        d.update(&[], &mut out);
        d.finish(&mut out).expect("valid padding");
        assert_eq!(out, plain);
    }

    #[test]
    fn against_openssl_when_available() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let plain = sample(5000);
        let child = Command::new("openssl")
            .args([
                "enc",
                "-aes-128-cbc",
                "-K",
                "2b7e151628aed2a6abf7158809cf4f3c",
                "-iv",
                "000102030405060708090a0b0c0d0e0f",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("openssl not on PATH; the NIST vector test covers this");
            return;
        };
        child.stdin.take().expect("piped stdin").write_all(&plain).expect("write to openssl");
        let output = child.wait_with_output().expect("openssl runs");
        assert!(output.status.success());
        assert_eq!(output.stdout, encrypt(&KEY, &IV, &plain));
        for chunk in [1, 7, 16, 17, 4096] {
            assert_eq!(decrypt_chunked(&KEY, &IV, &output.stdout, chunk).expect("decrypts"), plain);
        }
    }

    #[test]
    fn bad_padding_is_an_error() {
        // The right length, the wrong key: the last block decrypts to noise.
        let cipher = encrypt(&KEY, &IV, &sample(100));
        let err = decrypt_chunked(&[0x11; 16], &IV, &cipher, 7).expect_err("wrong key");
        assert_eq!(err, DecryptError::BadPadding);

        // A valid-looking last byte with inconsistent padding bytes.
        let mut plain = sample(30);
        plain.extend_from_slice(&[0x01, 0x02]); // "padding" 0x02 preceded by 0x01
        let mut cipher = vec![0u8; plain.len()];
        cbc::Encryptor::<Aes128>::new(&KEY.into(), &IV.into())
            .encrypt_padded_b2b_mut::<cbc::cipher::block_padding::NoPadding>(&plain, &mut cipher)
            .expect("whole blocks");
        assert_eq!(decrypt_chunked(&KEY, &IV, &cipher, 16).expect_err("bad padding"), DecryptError::BadPadding);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let cipher = encrypt(&KEY, &IV, &sample(100)); // 112 bytes
        for cut in [1, 15, 16, 17] {
            let short = &cipher[..cipher.len() - cut];
            let err = decrypt_chunked(&KEY, &IV, short, 7);
            if short.len().is_multiple_of(16) {
                // Whole blocks, but the padding block is gone.
                assert_eq!(err.expect_err("truncated"), DecryptError::BadPadding, "cut {cut}");
            } else {
                assert_eq!(err.expect_err("truncated"), DecryptError::NotBlockAligned(short.len() as u64), "cut {cut}");
            }
        }
        let d = Aes128CbcDecryptor::new(&KEY, &IV);
        assert_eq!(d.finish(&mut Vec::new()), Err(DecryptError::NotBlockAligned(0)));
    }

    proptest::proptest! {
        #[test]
        fn any_chunking_decrypts_the_same(
            plain in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            cuts in proptest::collection::vec(0usize..700, 0..12),
        ) {
            let cipher = encrypt(&KEY, &IV, &plain);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(cipher.len())).collect();
            cuts.sort_unstable();
            let mut d = Aes128CbcDecryptor::new(&KEY, &IV);
            let mut out = Vec::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([cipher.len()]) {
                d.update(&cipher[at..cut], &mut out);
                at = cut;
            }
            d.finish(&mut out).expect("valid padding");
            proptest::prop_assert_eq!(out, plain);
        }
    }
}
