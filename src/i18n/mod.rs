//! The interface's words in each language Latchkey speaks: English and Simplified Chinese.
//!
//! One catalogue per language (`en.rs`, `zh_cn.rs`), each a value of [`Text`] and a `problem`
//! function over every [`Problem`]: a catalogue that leaves out a string, or a problem, does
//! not compile. Pages take their words from `Language::text()`; what a check or a service
//! refuses is a [`Problem`], put into words only where the answer is made (a page, an Authing
//! answer, a Temporal answer), in the language of whoever reads it.
//!
//! Adding a language: a variant of [`Language`] (its tags and how `Accept-Language` names it),
//! a catalogue module like `zh_cn.rs`, and the mail templates' branches
//! (`server/delivery/templates`).

mod en;
mod zh_cn;

/// A language of the interface and of mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    English,
    SimplifiedChinese,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::English, Language::SimplifiedChinese];

    /// From a stored or chosen tag (`en`, `en-US`, `zh`, `zh-CN`…); English when unknown.
    pub fn from_tag(tag: &str) -> Self {
        Self::recognise(tag).unwrap_or_default()
    }

    /// The language a tag names, if Latchkey speaks it. Chinese in traditional script (`zh-TW`,
    /// `zh-HK`, `zh-Hant`) is not Simplified Chinese, and is not taken for it.
    pub fn recognise(tag: &str) -> Option<Self> {
        let mut subtags = tag.trim().split(['-', '_']);
        let primary = subtags.next().unwrap_or("");
        if primary.eq_ignore_ascii_case("en") {
            Some(Language::English)
        } else if primary.eq_ignore_ascii_case("zh") {
            let traditional = subtags.any(|s| {
                ["tw", "hk", "mo", "hant"]
                    .iter()
                    .any(|t| s.eq_ignore_ascii_case(t))
            });
            (!traditional).then_some(Language::SimplifiedChinese)
        } else {
            None
        }
    }

    /// The first language of an `Accept-Language` header that Latchkey speaks, by the
    /// header's weights (`q=`); English when none.
    /// Every request that carries the header pays for this, so it allocates nothing: the
    /// heaviest language wins, the earlier of equal weights.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Language)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(language) = pieces.next().and_then(Self::recognise) else {
                continue;
            };
            let weight = match pieces.find_map(|p| p.trim().strip_prefix("q=")) {
                None => 1.0,
                Some(q) => match q.trim().parse::<f32>() {
                    Ok(q) => q,
                    Err(_) => continue,
                },
            };
            if weight > 0.0 && best.is_none_or(|(heaviest, _)| weight > heaviest) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, language)| language).unwrap_or_default()
    }

    /// The tag stored on an account and in the language cookie.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh",
        }
    }

    /// The tag for `<html lang>` and `Content-Language` (BCP 47).
    pub fn html_tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh-CN",
        }
    }

    pub fn is_zh(self) -> bool {
        self == Language::SimplifiedChinese
    }

    /// The language's name in itself, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::SimplifiedChinese => "简体中文",
        }
    }

    /// Every string the pages render, in this language. In the browser's build the strings
    /// are empty: there they are already on the page (hydration keeps the server's text), and
    /// carrying both catalogues would weigh on every island page.
    pub fn text(self) -> &'static Text {
        #[cfg(feature = "ssr")]
        {
            match self {
                Language::English => &en::TEXT,
                Language::SimplifiedChinese => &zh_cn::TEXT,
            }
        }
        #[cfg(not(feature = "ssr"))]
        {
            const { &Text::EMPTY }
        }
    }

    /// The strings an island changes in the browser, in this language.
    pub fn island_text(self) -> &'static IslandText {
        match self {
            Language::English => &en::ISLAND_TEXT,
            Language::SimplifiedChinese => &zh_cn::ISLAND_TEXT,
        }
    }

    /// What is wrong, in this language.
    pub fn problem(self, problem: &Problem) -> String {
        match self {
            Language::English => en::problem(problem),
            Language::SimplifiedChinese => zh_cn::problem(problem),
        }
    }

    /// A count of credits as this language writes numbers: digit groups, and no trailing
    /// zeros after the point (the stored form is a plain decimal such as `1234.500000`).
    pub fn credits(self, amount: &str) -> String {
        let (sign, digits) = match amount.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", amount),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let fraction = fraction.trim_end_matches('0');
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if fraction.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}.{fraction}")
        }
    }

    /// A moment in UTC as this language writes dates.
    pub fn moment(self, year: i32, month: u8, day: u8, hour: u8, minute: u8) -> String {
        match self {
            Language::English => {
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let name = MONTHS[usize::from(month.clamp(1, 12)) - 1];
                format!("{day} {name} {year}, {hour:02}:{minute:02} UTC")
            }
            Language::SimplifiedChinese => {
                format!("{year}年{month}月{day}日 {hour:02}:{minute:02}(UTC)")
            }
        }
    }

    /// "`n` devices" with the plural this language uses.
    pub fn devices(self, n: usize) -> String {
        match (self, n) {
            (Language::English, 1) => "1 device".into(),
            (Language::English, n) => format!("{n} devices"),
            (Language::SimplifiedChinese, n) => format!("{n} 台设备"),
        }
    }

    /// A wait as this language says it: seconds up to a minute and a half, else minutes.
    pub fn wait(self, seconds: i64) -> String {
        let minutes = (seconds + 59) / 60;
        match (self, seconds <= 90) {
            (Language::English, true) if seconds == 1 => "1 second".into(),
            (Language::English, true) => format!("{seconds} seconds"),
            (Language::English, false) => format!("{minutes} minutes"),
            (Language::SimplifiedChinese, true) => format!("{seconds} 秒"),
            (Language::SimplifiedChinese, false) => format!("{minutes} 分钟"),
        }
    }
}

/// `template` with each `{}` replaced by the next of `values`, in order.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(values.next().copied().unwrap_or(""));
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// Something wrong with what was sent, or a thing the account may not do (yet): what checks
/// and services answer, before it is put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    UsernameLength {
        min: usize,
        max: usize,
    },
    UsernameHasAt,
    UsernameCharacter(char),
    UsernameTaken,
    EmailMissing,
    EmailTooLong,
    EmailMalformed,
    EmailTaken,
    PasswordTooShort(usize),
    PasswordTooLong(usize),
    PasswordIsUsernameOrEmail,
    PasswordCommon,
    PasswordsDiffer,
    CurrentPasswordWrong,
    PasswordUnchanged,
    PhoneMalformed,
    CreditsMalformed(String),
    NoSuchAccount(String),
    UpgradeNotConfirmed,
    /// Refusals of a whole request rather than of a field.
    AlreadyUpgraded,
    AlreadyVerified,
    VerifyBeforeUpgrading,
    VerifyBeforeAddingPhone,
    NoPhoneToConfirm,
    BalanceOutOfRange,
    /// A second-factor code that is wrong, used, or of a step too far away.
    SecondFactorCodeWrong,
    TotpAlreadyOn,
    TotpNotBegun,
    /// The site's public URL is an IP address, where browsers refuse passkeys.
    PasskeysNeedDomain,
    PasskeyNameLength {
        max: usize,
    },
    NoSuchPasskey,
    /// The operators' console: a change needs a second-factor check of the last ten minutes.
    StepUpRequired,
    /// An admin API token made to read only was used for a change.
    ReadOnlyToken,
    /// An operator's action without the reason every action must give.
    ReasonRequired,
    /// An admin acting on their own account where the console refuses it (disabling it,
    /// removing its second factor).
    NotOnYourOwnAccount,
    /// An admin's action that would change nothing (disabling a disabled account).
    NothingToChange,
    /// An admin API token's name, which says what it is for.
    TokenNameLength {
        max: usize,
    },
    /// An app's registration that the registry refused, with its reason (in English: the
    /// registry's rules name URIs and schemes, which read the same in both languages).
    ClientRefused(String),
    /// A change of e-mail address to the address the account has.
    EmailUnchanged,
    /// "This wasn't me" after another account took the old address meanwhile.
    OldAddressTaken,
    /// The account's deletion was asked for already.
    DeletionAlreadyAsked,
    /// A right password for an account waiting for its deletion: kept on its own page.
    AccountBeingDeleted,
    /// The deletion form's "I understand" left unticked.
    DeletionNotConfirmed,
    /// An admin enabling an account its owner asked to delete.
    OwnerIsDeletingIt,
}

/// Declares a catalogue's struct: a field per string, so a catalogue that lacks one does not
/// compile. `{}` marks where a value goes ([`fill`]).
macro_rules! catalogue {
    ($(#[$outer:meta])* $name:ident { $($(#[$doc:meta])* $key:ident,)* }) => {
        $(#[$outer])*
        pub struct $name {
            $($(#[$doc])* pub $key: &'static str,)*
        }

        impl $name {
            /// Every string with its key, for the tests that hold the catalogues side by side
            /// and look for words a page left untranslated.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key),)*]
            }

            /// Every string empty: what the browser's build gets for the strings only the
            /// server renders.
            #[allow(dead_code)]
            const EMPTY: $name = $name { $($key: "",)* };
        }
    };
}

catalogue! {
    /// Every string the pages render on the server.
    Text {
    // The frame of every page.
    site_title,
    nav_account,
    nav_sign_out,
    nav_sign_in,
    nav_register,
    switch_language,
    loading_account,
    // Start page and unknown pages.
    home_title,
    home_heading,
    home_intro,
    not_found_title,
    not_found_text,
    go_to_start,
    your_account_link,
    locked_out,
    reset_your_password_link,
    // Signing up and in.
    register_title,
    have_account,
    username,
    username_hint,
    email,
    password,
    password_hint,
    sign_in_title,
    notice_password_reset,
    notice_signed_out_everywhere,
    notice_session_ended,
    forgot_password_link,
    forgot_username_link,
    new_here,
    username_or_email,
    // The account.
    account_title,
    notice_password_changed,
    notice_upgraded,
    notice_verification_sent,
    notice_phone_code_sent,
    notice_phone_verified,
    notice_language_changed,
    verified,
    not_verified,
    phone,
    no_phone,
    plan,
    plan_paid,
    plan_free,
    upgrade_link,
    credits,
    check_inbox,
    send_new_verification,
    phone_code_label,
    confirm_phone,
    change_phone,
    add_phone,
    phone_hint,
    country_code,
    phone_number,
    text_me_passcode,
    phone_needs_verified_email,
    change_password_link,
    sessions_heading,
    /// `{}`: how many devices ([`Language::devices`]).
    sessions_count,
    this_browser,
    /// `{}`: the browser; `{}`: its address.
    client_from,
    unknown_client,
    other_client,
    /// `{}`: when it began; `{}`: when it was last used.
    session_times,
    end_every_session,
    // Password change and upgrade.
    change_password_title,
    current_password,
    new_password,
    new_password_again,
    back_to_account,
    upgrade_title,
    upgrade_heading,
    already_paid,
    verify_before_upgrade,
    your_account_page,
    paid_plan_intro,
    upgrade_cannot_be_undone,
    upgrade_confirm,
    upgrading,
    upgrade_to_paid,
    // E-mail verification.
    verify_title,
    /// `{}`: the username.
    verify_confirm,
    verify_button,
    verified_title,
    verified_text,
    go_to_account,
    // Recovery.
    forgot_username_title,
    forgot_username_heading,
    forgot_username_intro,
    mail_my_username,
    username_on_its_way,
    back_to_sign_in,
    reset_title,
    step_where,
    step_passcode,
    step_new_password,
    reset_intro,
    send_passcode_by,
    by_email,
    by_text,
    mail_me_passcode,
    reset_ran_out,
    start_again,
    /// `{}`: where the passcode went.
    passcode_on_its_way,
    passcode,
    continue_button,
    send_new_passcode,
    set_new_password,
    checking_link,
    link_continue,
    dead_link,
    request_new_passcode,
    // Second factors.
    second_factor_wrong,
    second_factor_expired,
    second_step_title,
    second_step_intro,
    second_factor_code,
    no_pending_sign_in,
    two_step_on,
    two_step_off,
    two_step_intro,
    set_up_totp,
    set_up_totp_hint,
    scan_heading,
    or_type_key,
    enter_code_to_finish,
    turn_on,
    recovery_codes_heading,
    recovery_codes_intro,
    /// `{}`: how many.
    recovery_codes_left,
    renew_codes_heading,
    renew_codes_hint,
    renew_codes_button,
    turn_off_heading,
    turn_off_hint,
    turn_off_button,
    notice_totp_on,
    notice_totp_off,
    notice_codes_renewed,
    manage_two_step,
    passkey_refused,
    passkeys_heading,
    passkeys_intro,
    no_passkeys,
    passkey_name,
    add_passkey,
    /// `{}`: when.
    passkey_added_on,
    remove_passkey,
    remove_passkey_hint,
    passkeys_need_javascript,
    passkey_browser_failed,
    sign_in_with_passkey,
    use_passkey,
    notice_passkey_added,
    notice_passkey_removed,
    authenticator_heading,
    recovery_heading,
    /// `{}`: how many.
    passkeys_count,
    // What a refused form says.
    wrong_credentials,
    session_over,
    /// `{}`: how long to wait ([`Language::wait`]).
    too_many_requests,
    passcode_wrong,
    passcode_burned,
    new_password_refused,
    reset_expired,
    link_invalid,
    busy,
    our_fault,
    unreachable,
    form_incomplete,
    sign_in_after_change,
    reset_timed_out,
    // What the plumbing answers before a page or form is reached.
    refused_cross_site,
    refused_too_slow,
    refused_too_large,
    // Signing in to other apps (OpenID Connect).
    consent_title,
    /// `{}`: the app's name, then the username.
    consent_intro,
    scope_openid,
    scope_profile,
    scope_email,
    scope_phone,
    scope_offline_access,
    consent_allow,
    consent_deny,
    consent_where,
    oauth_problem_title,
    oauth_problem_unknown_client,
    oauth_problem_redirect_uri,
    oauth_problem_malformed,
    oauth_problem_expired,
    oauth_problem_unavailable,
    signed_out_title,
    signed_out_body,
    sign_out_confirm_title,
    sign_out_confirm_body,
    apps_heading,
    apps_none,
    /// `{}`: a date.
    apps_allowed_on,
    revoke_app,
    notice_app_revoked,
    // Authing v3 answers (`x-authing-lang`), in the API's own terse style.
    api_success,
    api_wrong_credentials,
    api_sign_in_first,
    /// `{}`: seconds.
    api_too_many_requests,
    api_link_invalid,
    api_passcode_wrong,
    api_passcode_burned,
    api_undecryptable,
    api_reset_token_invalid,
    api_busy,
    api_internal,
    api_not_found,
    api_cross_site,
    api_too_slow,
    api_too_large,
    api_no_such_endpoint,
    api_method_not_allowed,
    // The account's life: e-mail change, deletion, export.
    email_change_title,
    email_change_link,
    /// `{}`: the address.
    email_change_current,
    new_email_label,
    email_change_hint,
    code_if_two_step,
    email_change_button,
    /// `{}`: the new address.
    email_change_pending,
    email_change_code_label,
    email_change_confirm_button,
    notice_code_sent,
    notice_email_changed,
    confirm_email_change_title,
    confirm_email_change_intro,
    confirm_email_change_button,
    restore_email_title,
    restore_email_intro,
    restore_email_button,
    notice_email_restored,
    data_heading,
    export_link,
    delete_link,
    delete_title,
    delete_hint,
    delete_confirm_label,
    delete_button,
    notice_deletion_requested,
    keep_title,
    keep_intro,
    keep_button,
    notice_kept,
    identifier_label,
    // The operators' console.
    console_title,
    console_nav_accounts,
    console_nav_audit,
    console_nav_clients,
    console_nav_tokens,
    /// The account page's link to the console, for admins.
    console_link,
    /// `{}`: the admin's username.
    console_signed_in_as,
    /// `{}`: a time.
    console_changes_open,
    console_changes_closed,
    console_step_up_link,
    step_up_title,
    step_up_intro,
    step_up_with_passkey,
    step_up_button,
    search_label,
    search_hint,
    search_button,
    col_username,
    col_email,
    col_phone,
    col_plan,
    col_status,
    col_created,
    status_enabled,
    status_disabled,
    no_matches,
    next_page,
    previous_page,
    back_to_search,
    profile_heading,
    label_id,
    label_verified,
    label_unverified,
    label_credits,
    label_admin,
    label_yes,
    label_no,
    label_updated,
    factors_heading,
    factor_totp,
    factor_passkey,
    /// `{}`: a date.
    factor_added,
    /// `{}`: a date.
    factor_last_used,
    none_listed,
    /// `{}`: a number.
    codes_left_line,
    console_sessions_heading,
    /// `{}`: when it began, `{}`: when it was last used.
    console_session_times,
    locks_heading,
    /// `{}`: a time.
    lock_until,
    grants_heading,
    events_heading,
    actions_heading,
    reason_label,
    action_disable,
    action_disable_hint,
    action_enable,
    action_unlock,
    action_end_sessions,
    action_remove_totp,
    action_remove_passkey,
    action_send_reset,
    action_credits,
    amount_label,
    action_plan,
    action_apply,
    action_delete,
    action_delete_hint,
    yourself_hint,
    done_notice,
    audit_title,
    filter_account,
    filter_actor,
    filter_event,
    filter_from,
    filter_until,
    filter_button,
    export_csv,
    col_when,
    col_event,
    col_account,
    col_actor,
    col_reason,
    col_change,
    col_from,
    no_events,
    tokens_title,
    tokens_intro,
    token_name,
    token_access,
    access_read,
    access_write,
    token_days,
    token_create,
    token_shown,
    token_revoke,
    token_live,
    token_revoked,
    token_expired,
    col_expires,
    col_last_used,
    no_tokens,
    clients_title,
    clients_intro,
    client_name,
    client_redirects,
    client_logout_redirects,
    client_backchannel,
    client_kind,
    client_confidential,
    client_public,
    client_first_party,
    client_add,
    client_add_heading,
    client_save,
    client_rotate,
    client_remove,
    client_shown,
    client_id_label,
    client_edit,
    no_clients,
    }
}

catalogue! {
    /// The strings islands change in the browser (pending states, the checks' summary, a
    /// failed sealing): the only ones the WASM carries.
    IslandText {
        creating_account,
        create_account,
        signing_in,
        sign_in,
        changing,
        change_password,
        correct_marked_fields,
        sealing_failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_follows_the_weights_and_skips_what_is_not_spoken() {
        let cases = [
            ("", Language::English),
            ("zh-CN,zh;q=0.9,en;q=0.8", Language::SimplifiedChinese),
            ("en-US,en;q=0.9,zh-CN;q=0.8", Language::English),
            ("fr-FR, zh-CN;q=0.5", Language::SimplifiedChinese),
            ("en;q=0.2, zh;q=0.7", Language::SimplifiedChinese),
            ("zh-TW, en;q=0.5", Language::English),
            ("zh-Hant-HK", Language::English),
            ("zh-Hans-CN", Language::SimplifiedChinese),
            ("de, fr", Language::English),
            ("zh;q=0, en;q=0.1", Language::English),
            ("zh;q=abc", Language::English),
        ];
        for (header, expected) in cases {
            assert_eq!(Language::from_accept_language(header), expected, "{header}");
        }
    }

    #[test]
    fn tags_round_trip() {
        for language in Language::ALL {
            assert_eq!(Language::from_tag(language.tag()), language);
            assert_eq!(Language::from_tag(language.html_tag()), language);
        }
        assert_eq!(Language::from_tag("xx"), Language::English);
    }

    #[test]
    fn credits_are_grouped_and_trimmed() {
        let l = Language::English;
        assert_eq!(l.credits("1234567.500000"), "1,234,567.5");
        assert_eq!(l.credits("100.000000"), "100");
        assert_eq!(l.credits("0"), "0");
        assert_eq!(l.credits("999.000001"), "999.000001");
        assert_eq!(l.credits("-1000"), "-1,000");
    }

    #[test]
    fn plurals_dates_and_waits_per_language() {
        assert_eq!(Language::English.devices(1), "1 device");
        assert_eq!(Language::English.devices(2), "2 devices");
        assert_eq!(Language::SimplifiedChinese.devices(2), "2 台设备");
        assert_eq!(
            Language::English.moment(2026, 12, 1, 9, 5),
            "1 Dec 2026, 09:05 UTC"
        );
        assert_eq!(
            Language::SimplifiedChinese.moment(2026, 12, 1, 9, 5),
            "2026年12月1日 09:05(UTC)"
        );
        assert_eq!(Language::English.wait(1), "1 second");
        assert_eq!(Language::English.wait(120), "2 minutes");
        assert_eq!(Language::SimplifiedChinese.wait(30), "30 秒");
    }

    #[test]
    fn fill_puts_values_in_order() {
        assert_eq!(fill("a {} b {} c", &["1", "2"]), "a 1 b 2 c");
        assert_eq!(fill("{}", &[]), "");
    }

    /// The catalogues hold the same keys (the struct sees to that), none empty, each with as
    /// many places for values as the English, and the Chinese in Chinese but for names.
    #[test]
    fn the_catalogues_match_key_for_key() {
        let both = |l: Language| [l.text().entries(), l.island_text().entries()].concat();
        let english = both(Language::English);
        let chinese = both(Language::SimplifiedChinese);
        assert_eq!(english.len(), chinese.len());
        for ((key, en), (zh_key, zh)) in english.iter().zip(&chinese) {
            assert_eq!(key, zh_key);
            assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "{key}");
            assert_eq!(en.matches("{}").count(), zh.matches("{}").count(), "{key}");
            let names = ["site_title"];
            if !names.contains(key) {
                assert!(
                    zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "{key} is not in Chinese: {zh}"
                );
            }
        }
    }

    /// Every problem has words in every language, and the Chinese ones are Chinese.
    #[test]
    fn every_problem_is_put_into_words_in_each_language() {
        let problems = [
            Problem::UsernameLength { min: 3, max: 32 },
            Problem::UsernameHasAt,
            Problem::UsernameCharacter('!'),
            Problem::UsernameTaken,
            Problem::EmailMissing,
            Problem::EmailTooLong,
            Problem::EmailMalformed,
            Problem::EmailTaken,
            Problem::PasswordTooShort(8),
            Problem::PasswordTooLong(128),
            Problem::PasswordIsUsernameOrEmail,
            Problem::PasswordCommon,
            Problem::PasswordsDiffer,
            Problem::CurrentPasswordWrong,
            Problem::PasswordUnchanged,
            Problem::PhoneMalformed,
            Problem::CreditsMalformed("x".into()),
            Problem::NoSuchAccount("x".into()),
            Problem::UpgradeNotConfirmed,
            Problem::AlreadyUpgraded,
            Problem::AlreadyVerified,
            Problem::VerifyBeforeUpgrading,
            Problem::VerifyBeforeAddingPhone,
            Problem::NoPhoneToConfirm,
            Problem::BalanceOutOfRange,
            Problem::SecondFactorCodeWrong,
            Problem::TotpAlreadyOn,
            Problem::TotpNotBegun,
            Problem::PasskeysNeedDomain,
            Problem::PasskeyNameLength { max: 64 },
            Problem::NoSuchPasskey,
            Problem::StepUpRequired,
            Problem::ReadOnlyToken,
            Problem::ReasonRequired,
            Problem::NotOnYourOwnAccount,
            Problem::NothingToChange,
            Problem::TokenNameLength { max: 100 },
            Problem::ClientRefused("x".into()),
            Problem::EmailUnchanged,
            Problem::OldAddressTaken,
            Problem::DeletionAlreadyAsked,
            Problem::AccountBeingDeleted,
            Problem::DeletionNotConfirmed,
            Problem::OwnerIsDeletingIt,
        ];
        for problem in &problems {
            let english = Language::English.problem(problem);
            let chinese = Language::SimplifiedChinese.problem(problem);
            assert!(!english.is_empty() && !chinese.is_empty(), "{problem:?}");
            assert_ne!(english, chinese, "{problem:?}");
            assert!(
                chinese
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{problem:?}: {chinese}"
            );
        }
    }
}
