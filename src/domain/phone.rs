//! Phone numbers, parsed and validated as E.164 with libphonenumber's metadata.
//!
//! Server-only, unlike the rest of `domain`: the metadata is hundreds of KiB that the browser's
//! WASM would carry for one form field, and the server checks every number anyway.

use super::Invalid;

/// A number in E.164 (`+8613800138000`) with its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    pub country_code: String,
    pub national: String,
    pub e164: String,
}

impl Phone {
    /// Parses `number`, either already international (`+86 138 0013 8000`) or national with a
    /// country calling code beside it (`86` or `+86`, as Authing's `phoneCountryCode`).
    pub fn parse(number: &str, country_code: Option<&str>) -> Result<Phone, Invalid> {
        let invalid = || {
            Invalid {
        field: "phone",
        message:
            "That is not a valid phone number. Include the country code, e.g. +86 138 0013 8000."
                .into(),
    }
        };
        let number = number.trim();
        let code = country_code
            .map(|c| c.trim().trim_start_matches('+'))
            .filter(|c| !c.is_empty());
        let international = match (number.starts_with('+'), code) {
            (true, _) => number.to_owned(),
            (false, Some(code)) if code.chars().all(|c| c.is_ascii_digit()) => {
                format!("+{code} {number}")
            }
            _ => return Err(invalid()),
        };
        let parsed = phonenumber::parse(None, &international).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid());
        }
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Phone {
            country_code: parsed.code().value().to_string(),
            national: parsed.national().value().to_string(),
            e164,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_to_e164() {
        let cn = Phone::parse("138 0013 8000", Some("+86")).unwrap();
        assert_eq!(cn.e164, "+8613800138000");
        assert_eq!(cn.country_code, "86");
        assert_eq!(Phone::parse("+86 138-0013-8000", None).unwrap(), cn);
        assert_eq!(Phone::parse("13800138000", Some("86")).unwrap(), cn);
        assert_eq!(
            Phone::parse("+1 (650) 253-0000", None).unwrap().e164,
            "+16502530000"
        );
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for (number, code) in [
            ("12345", Some("86")),
            ("138 0013 8000", None),
            ("abc", Some("1")),
            ("", Some("86")),
            ("+999 123", None),
        ] {
            assert!(Phone::parse(number, code).is_err(), "{number} {code:?}");
        }
    }
}
