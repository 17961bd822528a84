//! Where the site may send a browser that told it where to go (`?next=…` after a sign-in or a
//! language switch, a form's page to come back to): one rule, for the pages and the server
//! alike, so no copy of it can forget a case.

/// True for a page on this site in its plain form: `/x…`, not `//host…`, no backslash or
/// control characters, no `.` or `..` segment (URL parsers fold `/.//x` into `//x`, which is no
/// longer a path here, so such a page would not come back as itself), and not a server
/// function (`/rpc/…`), which is no page to land on.
pub fn is_site_page(page: &str) -> bool {
    let path = page.split(['?', '#']).next().unwrap_or_default();
    page.starts_with('/')
        && !page.starts_with("//")
        && !page.contains('\\')
        && !page.chars().any(char::is_control)
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        && !path.starts_with("/rpc/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_accepted() {
        assert!(is_site_page("/reset-password?token=abc"));
        assert!(is_site_page("/verify-email/alice/abc"));
        assert!(
            is_site_page("/login?next=/./x"),
            "dots in the query are not segments"
        );
        for hostile in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a\nLocation: x",
            "/.//evil.example/x",
            "/./login",
            "/account/../login",
            "/..",
            "/rpc/login",
        ] {
            assert!(!is_site_page(hostile), "{hostile:?}");
        }
    }
}
