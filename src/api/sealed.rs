//! Passwords sealed for the wire, as Authing's browser SDKs send them: RSA PKCS#1 v1.5
//! (RFC 8017 §7.2.1) with the server's published key, base64. The hydrated reset page runs
//! this in the browser; the server opens it with `server::crypto::password_cipher`.
//!
//! Why not the `rsa` crate, as on the server: in the browser it cost 21 KiB of the gzipped
//! WASM (arbitrary-precision arithmetic, PKCS#1/PKCS#8/SPKI/DER) for a single public-key
//! operation. Encrypting needs no secret key, so what is left is small: read one key shape
//! from its PEM, pad, and raise to the public exponent (Montgomery multiplication, below).
//! The tests open everything sealed here with the `rsa` crate.
//!
//! Nothing here needs to run in constant time: the only secrets are the password and the
//! padding, inside the user's own browser, and the exponent is public.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Encrypts `password` for the holder of `public_key_pem` (an RSA SubjectPublicKeyInfo PEM,
/// as `/api/v3/system` publishes it). `None` when the key cannot be read, the password is
/// too long for it (more than the key's length in bytes less 11), or the platform has no
/// random number generator to pad with.
pub fn seal_password(public_key_pem: &str, password: &str) -> Option<String> {
    let key = RsaPublicKey::from_pem(public_key_pem)?;
    let block = encryption_block(key.len(), password.as_bytes(), fill_nonzero_random)?;
    Some(STANDARD.encode(key.raise(&block)))
}

/// EME-PKCS1-v1_5: `00 02 PS 00 M`, PS at least 8 non-zero random bytes, `len` bytes in all.
/// `random` fills PS, or answers `None` when it cannot.
fn encryption_block(
    len: usize,
    message: &[u8],
    random: impl FnOnce(&mut [u8]) -> Option<()>,
) -> Option<Vec<u8>> {
    let padding = len.checked_sub(message.len() + 3).filter(|&p| p >= 8)?;
    let mut block = vec![0u8; len];
    block[1] = 2;
    random(&mut block[2..2 + padding])?;
    block[len - message.len()..].copy_from_slice(message);
    Some(block)
}

/// Fills `bytes` from the platform's CSPRNG (the browser's `crypto.getRandomValues` in
/// WASM), none of them zero. Without a CSPRNG there is nothing safe to pad with: `None`, and
/// the page says the password could not be protected (a panic would abort the whole app).
fn fill_nonzero_random(bytes: &mut [u8]) -> Option<()> {
    getrandom::getrandom(bytes).ok()?;
    for byte in bytes {
        while *byte == 0 {
            getrandom::getrandom(std::slice::from_mut(byte)).ok()?;
        }
    }
    Some(())
}

/// An RSA public key: the modulus as 32-bit limbs, least significant first, and the public
/// exponent as big-endian bytes.
struct RsaPublicKey {
    modulus: Modulus,
    exponent: Vec<u8>,
    /// The modulus' length in bytes (the length of every ciphertext).
    len: usize,
}

/// DER tags of the elements in an RSA SubjectPublicKeyInfo.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OBJECT_IDENTIFIER: u8 = 0x06;
const NULL: u8 = 0x05;
/// 1.2.840.113549.1.1.1, rsaEncryption.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

impl RsaPublicKey {
    fn from_pem(pem: &str) -> Option<Self> {
        let body = pem
            .trim()
            .strip_prefix("-----BEGIN PUBLIC KEY-----")?
            .strip_suffix("-----END PUBLIC KEY-----")?;
        let body: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        Self::from_der(&STANDARD.decode(body).ok()?)
    }

    /// SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { SEQUENCE { n, e } } }
    fn from_der(der: &[u8]) -> Option<Self> {
        let mut info = Der(Der(der).only(SEQUENCE)?);
        let mut algorithm = Der(info.next(SEQUENCE)?);
        if algorithm.next(OBJECT_IDENTIFIER)? != RSA_ENCRYPTION {
            return None;
        }
        // The parameters are NULL; some encoders leave them out.
        if !algorithm.0.is_empty() && !algorithm.only(NULL)?.is_empty() {
            return None;
        }
        let (&0, key) = info.only(BIT_STRING)?.split_first()? else {
            return None;
        };
        let mut numbers = Der(Der(key).only(SEQUENCE)?);
        let modulus = unsigned(numbers.next(INTEGER)?)?;
        let exponent = unsigned(numbers.only(INTEGER)?)?;
        // An even or tiny modulus is not an RSA key (and Montgomery needs it odd).
        if modulus.len() < 64 || modulus.last()? & 1 == 0 || exponent.is_empty() {
            return None;
        }
        Some(Self {
            len: modulus.len(),
            modulus: Modulus::new(limbs_from_be(modulus)),
            exponent: exponent.to_vec(),
        })
    }

    fn len(&self) -> usize {
        self.len
    }

    /// `block`^e mod n, as big-endian bytes of the modulus' length. `block` is shorter than
    /// or as long as the modulus and starts with a zero byte, so it is below it.
    fn raise(&self, block: &[u8]) -> Vec<u8> {
        let power = self.modulus.pow(&limbs_from_be(block), &self.exponent);
        let mut bytes: Vec<u8> = power.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        bytes.drain(..bytes.len() - self.len);
        bytes
    }
}

/// A cursor over DER elements.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The contents of the next element, which must carry `tag`.
    fn next(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.0.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            // Long forms of one or two bytes: enough for keys up to 16384 bits.
            0x81 => rest
                .split_first()
                .map(|(&len, rest)| (usize::from(len), rest))?,
            0x82 => {
                let (len, rest) = rest.split_at_checked(2)?;
                (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
            }
            _ => return None,
        };
        let (contents, rest) = rest.split_at_checked(len)?;
        if found != tag {
            return None;
        }
        self.0 = rest;
        Some(contents)
    }

    /// The contents of the last element, which must carry `tag`.
    fn only(&mut self, tag: u8) -> Option<&'a [u8]> {
        self.next(tag).filter(|_| self.0.is_empty())
    }
}

/// A non-negative DER INTEGER's magnitude, without leading zeros.
fn unsigned(integer: &[u8]) -> Option<&[u8]> {
    if integer.first()? & 0x80 != 0 {
        return None;
    }
    let zeros = integer.iter().take_while(|&&b| b == 0).count();
    Some(&integer[zeros..])
}

/// Big-endian bytes as 32-bit limbs, least significant first.
fn limbs_from_be(bytes: &[u8]) -> Vec<u32> {
    bytes
        .rchunks(4)
        .map(|chunk| chunk.iter().fold(0u32, |limb, &b| limb << 8 | u32::from(b)))
        .collect()
}

/// An odd modulus prepared for Montgomery multiplication (R = 2^(32 × limbs)).
struct Modulus {
    limbs: Vec<u32>,
    /// -n⁻¹ mod 2^32.
    n0_inverse: u32,
    /// R² mod n: multiplying by it moves a number into Montgomery form.
    r_squared: Vec<u32>,
}

impl Modulus {
    fn new(limbs: Vec<u32>) -> Self {
        // Newton's iteration for n⁻¹ mod 2^32: n is its own inverse mod 8 (3 bits right),
        // and each step doubles the correct bits.
        let n0 = limbs[0];
        let mut inverse = n0;
        for _ in 0..4 {
            inverse = inverse.wrapping_mul(2u32.wrapping_sub(n0.wrapping_mul(inverse)));
        }
        // R² mod n by doubling 1, reduced each time: 2 × 32 × limbs steps, all cheap.
        let mut r_squared = vec![0u32; limbs.len()];
        r_squared[0] = 1;
        for _ in 0..64 * limbs.len() {
            let carry = shift_left_one(&mut r_squared);
            if carry || !less_than(&r_squared, &limbs) {
                subtract(&mut r_squared, &limbs);
            }
        }
        Self {
            n0_inverse: inverse.wrapping_neg(),
            r_squared,
            limbs,
        }
    }

    /// base^exponent mod n, for base < n (limbs, least significant first; the exponent
    /// big-endian bytes). Left to right, square and multiply.
    fn pow(&self, base: &[u32], exponent: &[u8]) -> Vec<u32> {
        let mut base = base.to_vec();
        base.resize(self.limbs.len(), 0);
        let base = self.multiply(&base, &self.r_squared);
        let mut one = vec![0u32; self.limbs.len()];
        one[0] = 1;
        let mut power = self.multiply(&one, &self.r_squared);
        for byte in exponent {
            for bit in (0..8).rev() {
                power = self.multiply(&power, &power);
                if byte >> bit & 1 == 1 {
                    power = self.multiply(&power, &base);
                }
            }
        }
        self.multiply(&power, &one)
    }

    /// Montgomery product a × b × R⁻¹ mod n, for a, b < n (CIOS: each round adds a[i] × b,
    /// then the multiple of n that clears the lowest limb, and drops that limb).
    fn multiply(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
        let n = &self.limbs;
        let s = n.len();
        // s limbs plus two for the carries: the running total stays below 2n.
        let mut t = vec![0u32; s + 2];
        for &a_i in a {
            let mut carry = 0u64;
            for j in 0..s {
                let sum = u64::from(t[j]) + u64::from(a_i) * u64::from(b[j]) + carry;
                t[j] = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t[s]) + carry;
            t[s] = sum as u32;
            t[s + 1] = (sum >> 32) as u32;

            let m = t[0].wrapping_mul(self.n0_inverse);
            let mut carry = (u64::from(t[0]) + u64::from(m) * u64::from(n[0])) >> 32;
            for j in 1..s {
                let sum = u64::from(t[j]) + u64::from(m) * u64::from(n[j]) + carry;
                t[j - 1] = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t[s]) + carry;
            t[s - 1] = sum as u32;
            t[s] = t[s + 1] + (sum >> 32) as u32;
            t[s + 1] = 0;
        }
        let overflow = t[s] != 0;
        t.truncate(s);
        if overflow || !less_than(&t, n) {
            subtract(&mut t, n);
        }
        t
    }
}

/// a <<= 1 in place; whether a bit fell off the top.
fn shift_left_one(a: &mut [u32]) -> bool {
    let mut carry = 0;
    for limb in a {
        let next = *limb >> 31;
        *limb = *limb << 1 | carry;
        carry = next;
    }
    carry == 1
}

/// a < b, same length.
fn less_than(a: &[u32], b: &[u32]) -> bool {
    a.iter().rev().cmp(b.iter().rev()).is_lt()
}

/// a -= b mod 2^(32 × len), same length (callers know the true result is non-negative, or
/// that it wraps exactly once to cancel a bit that overflowed out of `a`).
fn subtract(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d, b1) = x.overflowing_sub(y);
        let (d, b2) = d.overflowing_sub(u32::from(borrow));
        *x = d;
        borrow = b1 || b2;
    }
}

// The `rsa` crate, the reference these tests check against, is a server-side dependency.
#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};

    fn key(bits: usize) -> (RsaPrivateKey, String) {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        (private, pem)
    }

    fn open(private: &RsaPrivateKey, sealed: &str) -> Vec<u8> {
        private
            .decrypt(Pkcs1v15Encrypt, &STANDARD.decode(sealed).unwrap())
            .unwrap()
    }

    #[test]
    fn the_rsa_crate_opens_what_is_sealed_here() {
        for bits in [1024, 2048] {
            let (private, pem) = key(bits);
            let longest = "p".repeat(bits / 8 - 11);
            for password in [
                "correct horse battery staple",
                "pässwörd 密码 🔑",
                "x",
                &longest,
            ] {
                let sealed = seal_password(&pem, password).unwrap();
                assert_eq!(STANDARD.decode(&sealed).unwrap().len(), bits / 8);
                assert_eq!(open(&private, &sealed), password.as_bytes(), "{bits} bits");
            }
            assert_eq!(seal_password(&pem, &format!("{longest}p")), None);
        }
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let (_, pem) = key(1024);
        assert_ne!(seal_password(&pem, "same"), seal_password(&pem, "same"));
    }

    #[test]
    fn the_padding_is_nonzero_random_between_the_markers() {
        let block = encryption_block(32, b"secret", fill_nonzero_random).unwrap();
        assert_eq!(&block[..2], &[0, 2]);
        assert!(block[2..32 - 7].iter().all(|&b| b != 0));
        assert_eq!(block[32 - 7], 0);
        assert_eq!(&block[32 - 6..], b"secret");
        // Fewer than 8 bytes of padding is not PKCS#1 v1.5.
        assert!(encryption_block(32, &[1; 21], fill_nonzero_random).is_some());
        assert!(encryption_block(32, &[1; 22], fill_nonzero_random).is_none());
        // No randomness, no block.
        assert!(encryption_block(32, b"secret", |_| None).is_none());
    }

    #[test]
    fn montgomery_powers_match_128_bit_arithmetic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let n = next() | 1 | 1 << 63;
            let base = next() % n;
            let exponent = next() % 100_000;
            let mut expected = 1u128;
            let (mut b, mut e) = (u128::from(base), exponent);
            while e > 0 {
                if e & 1 == 1 {
                    expected = expected * b % u128::from(n);
                }
                b = b * b % u128::from(n);
                e >>= 1;
            }
            let modulus = Modulus::new(vec![n as u32, (n >> 32) as u32]);
            let power = modulus.pow(&[base as u32, (base >> 32) as u32], &exponent.to_be_bytes());
            assert_eq!(
                u128::from(power[0]) | u128::from(power[1]) << 32,
                expected,
                "{base}^{exponent} mod {n}"
            );
        }
    }

    #[test]
    fn keys_that_are_not_rsa_public_keys_are_refused() {
        let (private, pem) = key(1024);
        assert!(RsaPublicKey::from_pem(&pem).is_some());
        use rsa::pkcs8::EncodePrivateKey;
        let private_pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(RsaPublicKey::from_pem(&private_pem).is_none());
        assert!(RsaPublicKey::from_pem("").is_none());
        assert!(
            RsaPublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----")
                .is_none()
        );

        let der = private
            .to_public_key()
            .to_public_key_der()
            .unwrap()
            .into_vec();
        assert!(RsaPublicKey::from_der(&der).is_some());
        // Every truncation, and trailing bytes, are refused.
        for end in 0..der.len() {
            assert!(
                RsaPublicKey::from_der(&der[..end]).is_none(),
                "cut at {end}"
            );
        }
        assert!(RsaPublicKey::from_der(&[der.as_slice(), &[0]].concat()).is_none());
        // Another algorithm's OID (the last arc changed).
        let mut other = der.clone();
        let at = der
            .windows(RSA_ENCRYPTION.len())
            .position(|w| w == RSA_ENCRYPTION)
            .unwrap();
        other[at + RSA_ENCRYPTION.len() - 1] = 0x0b;
        assert!(RsaPublicKey::from_der(&other).is_none());
    }
}
