//! Account values that are valid by construction.
//!
//! Everything here compiles for the server and for the browser, so a form can check its input
//! before it is sent, and the server checks it again with the very same rules. A value of one of
//! these types has passed its rules; the only way to get one is `parse`.

use crate::i18n::Language;
pub use crate::i18n::Problem;
use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg(feature = "ssr")]
mod common_passwords;
#[cfg(feature = "ssr")]
pub mod phone;
mod site_page;
pub use site_page::is_site_page;

/// Why a value was refused: the field, and what is wrong with it, put into words in the
/// reader's language where the answer is made (`i18n`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Invalid {
    /// The form field the message belongs to (`username`, `email`, `password`, …).
    pub field: &'static str,
    pub problem: Problem,
}

impl Invalid {
    pub fn new(field: &'static str, problem: Problem) -> Self {
        Self { field, problem }
    }

    /// The message in English, as the REST answers of the seeds give it.
    pub fn message(&self) -> String {
        self.message_in(Language::English)
    }

    pub fn message_in(&self, language: Language) -> String {
        language.problem(&self.problem)
    }
}

/// A username: 3–32 ASCII letters, digits, `.`, `_` or `-`, compared case-insensitively.
///
/// ASCII only on purpose: look-alike letters from other scripts would let one person register a
/// name that reads as somebody else's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let name = input.trim();
        let len = name.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(Invalid::new(
                "username",
                Problem::UsernameLength {
                    min: Self::MIN_LEN,
                    max: Self::MAX_LEN,
                },
            ));
        }
        if name.contains('@') {
            return Err(Invalid::new("username", Problem::UsernameHasAt));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(Invalid::new("username", Problem::UsernameCharacter(bad)));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, stored as entered and compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// RFC 5321 caps a forward path at 256 octets including the brackets.
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let address = input.trim();
        if address.is_empty() {
            return Err(Invalid::new("email", Problem::EmailMissing));
        }
        if address.len() > Self::MAX_LEN {
            return Err(Invalid::new("email", Problem::EmailTooLong));
        }
        // `email_address` follows RFC 5322 closely, including forms (quoted local parts,
        // IP literals, display names) that mail systems in practice refuse; keep the plain
        // `local@domain.tld` shape people actually use.
        let plain_shape = address
            .rsplit_once('@')
            .map(|(local, domain)| {
                !local.is_empty()
                    && !local.contains('"')
                    && domain.contains('.')
                    && !domain.starts_with('[')
                    && !domain.ends_with('.')
            })
            .unwrap_or(false);
        if !plain_shape
            || address.chars().any(|c| c.is_whitespace() || c == '<')
            || !email_address::EmailAddress::is_valid(address)
        {
            return Err(Invalid::new("email", Problem::EmailMalformed));
        }
        Ok(Self(address.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a person typed to sign in: a username or an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    Username(Username),
    Email(Email),
}

impl LoginIdentifier {
    /// Anything that cannot be a username or an address is refused before any look-up, with
    /// the same words as a wrong password, so the answer says nothing about who exists.
    pub fn parse(input: &str) -> Option<Self> {
        if input.contains('@') {
            Email::parse(input).ok().map(Self::Email)
        } else {
            Username::parse(input).ok().map(Self::Username)
        }
    }
}

/// A password someone wants to set, checked against the password policy.
///
/// Deliberately not `Serialize`, and its `Debug` prints nothing of it.
#[derive(Clone)]
pub struct NewPassword(String);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    /// Checks the rules a browser can check on its own: length, and not the username or
    /// address itself. [`NewPassword::parse`] adds the common-password list on the server
    /// (kept out of the WASM bundle: it is 80 KB of text).
    pub fn parse_basic(
        input: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, Invalid> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Invalid::new(
                "password",
                Problem::PasswordTooShort(Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(Invalid::new(
                "password",
                Problem::PasswordTooLong(Self::MAX_CHARS),
            ));
        }
        let lowered = input.to_lowercase();
        let same_as = |other: Option<&str>| {
            other
                .map(|o| !o.trim().is_empty() && lowered == o.trim().to_lowercase())
                .unwrap_or(false)
        };
        if same_as(username) || same_as(email) {
            return Err(Invalid::new("password", Problem::PasswordIsUsernameOrEmail));
        }
        Ok(Self(input.to_owned()))
    }

    /// The whole policy: [`NewPassword::parse_basic`] plus the 10,000 most common passwords.
    #[cfg(feature = "ssr")]
    pub fn parse(
        input: &str,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, Invalid> {
        let password = Self::parse_basic(input, username, email)?;
        if common_passwords::is_common(input) {
            return Err(Invalid::new("password", Problem::PasswordCommon));
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An amount of credits, held exactly as millionths and shown as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Credits(i64);

impl Credits {
    pub const SCALE: i64 = 1_000_000;

    pub fn from_micro(micro: i64) -> Self {
        Self(micro)
    }

    pub fn micro(self) -> i64 {
        self.0
    }

    /// Parses a decimal like `12`, `-3.5` or `0.000001`; more than six decimals is refused
    /// rather than rounded, so nothing is silently lost.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("credits", Problem::CreditsMalformed(input.to_owned()));
        let text = input.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || fraction.len() > 6
            || !whole
                .chars()
                .chain(fraction.chars())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| bad())?;
        let micro = whole
            .checked_mul(Self::SCALE)
            .and_then(|w| w.checked_add(fraction))
            .ok_or_else(bad)?;
        Ok(Self(if negative { -micro } else { micro }))
    }

    /// The value as the APIs show it: a JSON number (double).
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }
}

impl fmt::Display for Credits {
    /// Exact decimal, trailing zeros trimmed: `12`, `0.5`, `-3.000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / Self::SCALE as u64;
        let fraction = abs % Self::SCALE as u64;
        if fraction == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let digits = format!("{fraction:06}");
            write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_parse_exactly_and_print_back() {
        for (text, micro, shown) in [
            ("0", 0, "0"),
            ("12", 12_000_000, "12"),
            ("0.5", 500_000, "0.5"),
            ("-3.000001", -3_000_001, "-3.000001"),
            (".25", 250_000, "0.25"),
            ("10000464.996296", 10_000_464_996_296, "10000464.996296"),
        ] {
            let credits = Credits::parse(text).unwrap();
            assert_eq!(credits.micro(), micro, "{text}");
            assert_eq!(credits.to_string(), shown, "{text}");
        }
        assert_eq!(Credits::parse("2.5").unwrap().as_f64(), 2.5);
    }

    #[test]
    fn credits_refuse_what_they_cannot_hold_exactly() {
        for bad in [
            "",
            "-",
            ".",
            "1.0000001",
            "1e3",
            "abc",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(Credits::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames_are_trimmed_and_keyed_case_insensitively() {
        let name = Username::parse("  Alice_01 ").unwrap();
        assert_eq!(name.as_str(), "Alice_01");
        assert_eq!(name.key(), "alice_01");
    }

    #[test]
    fn usernames_outside_the_length_bounds_are_refused() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn usernames_with_at_signs_spaces_or_foreign_letters_are_refused() {
        for bad in [
            "a@b.c",
            "two words",
            "pаypal",
            "semi;colon",
            "tab\tname",
            "ümlaut",
        ] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.field, "username", "{bad}");
        }
        for good in ["a.b-c_d", "123", "UPPER"] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn emails_keep_their_case_but_compare_lower_cased() {
        let email = Email::parse(" Bob@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Bob@Example.ORG");
        assert_eq!(email.key(), "bob@example.org");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "bob@",
            "bob@localhost",
            "bob@example.com.",
            "bob smith@example.com",
            "\"bob\"@example.com",
            "bob@[127.0.0.1]",
            "Bob <bob@example.com>",
            "a@b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let too_long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&too_long).is_err());
    }

    #[test]
    fn login_identifier_tells_addresses_from_usernames() {
        assert!(matches!(
            LoginIdentifier::parse("bob@example.com"),
            Some(LoginIdentifier::Email(_))
        ));
        assert!(matches!(
            LoginIdentifier::parse("bob"),
            Some(LoginIdentifier::Username(_))
        ));
        assert_eq!(LoginIdentifier::parse("b"), None);
        assert_eq!(LoginIdentifier::parse("x@y"), None);
    }

    #[test]
    fn passwords_are_counted_in_characters_not_bytes() {
        // 8 characters, 24 bytes: long enough.
        assert!(NewPassword::parse_basic("密码密码密码密码", None, None).is_ok());
        // 7 characters: too short, whatever the byte length.
        assert!(NewPassword::parse_basic("密码密码密码密", None, None).is_err());
        assert!(NewPassword::parse_basic(&"x".repeat(128), None, None).is_ok());
        assert!(NewPassword::parse_basic(&"x".repeat(129), None, None).is_err());
    }

    #[test]
    fn passwords_are_never_truncated() {
        let long = format!("{}tail", "p".repeat(120));
        assert_eq!(
            NewPassword::parse_basic(&long, None, None)
                .unwrap()
                .expose(),
            long
        );
    }

    #[test]
    fn password_equal_to_username_or_email_is_refused() {
        let err = NewPassword::parse_basic("Alice.Smith", Some("alice.smith"), None).unwrap_err();
        assert_eq!(err.field, "password");
        assert!(NewPassword::parse_basic("a@example.com", None, Some("A@Example.com")).is_err());
        assert!(NewPassword::parse_basic("alice.smith2", Some("alice.smith"), None).is_ok());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn common_passwords_are_refused_on_the_server() {
        for common in ["password", "12345678", "iloveyou", "PASSWORD"] {
            let err = NewPassword::parse(common, None, None).unwrap_err();
            assert!(err.message().contains("common"), "{common}");
        }
        assert!(NewPassword::parse("correct horse battery staple", None, None).is_ok());
    }

    #[test]
    fn a_new_password_never_shows_in_debug_output() {
        let password = NewPassword::parse_basic("hunter2hunter2", None, None).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
