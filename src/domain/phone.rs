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
        let invalid = || Invalid::new("phone", crate::domain::Problem::PhoneMalformed);
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

/// The country calling code (`+49`) a browser's `Accept-Language` suggests: the region of the
/// first language that names one (`de-AT` → `+43`), else the country most speakers of the first
/// language with a usual one live in (`ja` → `+81`). `None` when nothing suggests one: the
/// person then types it.
pub fn calling_code_for_languages(accept_language: &str) -> Option<String> {
    let tags: Vec<&str> = accept_language
        .split(',')
        .map(|item| item.split(';').next().unwrap_or("").trim())
        .filter(|tag| !tag.is_empty() && *tag != "*")
        .collect();
    let region_of = |tag: &str| {
        tag.split(['-', '_'])
            .skip(1)
            .find(|part| part.len() == 2 && part.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_ascii_uppercase)
    };
    let region = tags.iter().find_map(|tag| region_of(tag)).or_else(|| {
        let language = tags.first()?.split(['-', '_']).next()?.to_ascii_lowercase();
        USUAL_REGION
            .iter()
            .find(|(lang, _)| *lang == language)
            .map(|(_, region)| (*region).to_owned())
    })?;
    let metadata = phonenumber::metadata::DATABASE.by_id(region.as_str())?;
    Some(format!("+{}", metadata.country_code()))
}

/// Languages spoken mostly in one country, for a browser that names no region.
const USUAL_REGION: &[(&str, &str)] = &[
    ("zh", "CN"),
    ("ja", "JP"),
    ("ko", "KR"),
    ("de", "DE"),
    ("fr", "FR"),
    ("it", "IT"),
    ("nl", "NL"),
    ("pl", "PL"),
    ("ru", "RU"),
    ("uk", "UA"),
    ("tr", "TR"),
    ("sv", "SE"),
    ("da", "DK"),
    ("nb", "NO"),
    ("fi", "FI"),
    ("cs", "CZ"),
    ("el", "GR"),
    ("he", "IL"),
    ("hu", "HU"),
    ("th", "TH"),
    ("vi", "VN"),
    ("id", "ID"),
];

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

    #[test]
    fn the_browser_language_suggests_a_calling_code() {
        let code = |header: &str| calling_code_for_languages(header);
        assert_eq!(code("zh-CN,zh;q=0.9,en;q=0.8").as_deref(), Some("+86"));
        assert_eq!(code("en-US").as_deref(), Some("+1"));
        assert_eq!(code("en-GB,en;q=0.9").as_deref(), Some("+44"));
        assert_eq!(code("de-AT").as_deref(), Some("+43"));
        assert_eq!(code("zh-Hant-TW").as_deref(), Some("+886"));
        assert_eq!(code("fr;q=0.9, en-CA;q=0.8").as_deref(), Some("+1"));
        assert_eq!(code("ja").as_deref(), Some("+81"));
        assert_eq!(code("en"), None, "English alone names no country");
        assert_eq!(code(""), None);
        assert_eq!(code("*"), None);
        assert_eq!(code("xx-ZZ"), None, "an unknown region suggests nothing");
    }
}
