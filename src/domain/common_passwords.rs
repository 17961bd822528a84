//! The common-password list shipped inside the binary (server only).

use std::collections::HashSet;
use std::sync::OnceLock;

const LIST: &str = include_str!("common_passwords.txt");

fn set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .filter(|line| !line.starts_with("# ") && !line.is_empty())
            .collect()
    })
}

/// True when the password, or its lower-cased form, is on the list: `Password1` is no better
/// than `password1`.
pub fn is_common(password: &str) -> bool {
    let set = set();
    set.contains(password) || set.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_holds_ten_thousand_entries() {
        assert_eq!(super::set().len(), 10_000);
    }
}
