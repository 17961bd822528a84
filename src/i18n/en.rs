//! English. Refusals of a whole request (`AlreadyUpgraded` …) read as the REST answers of the
//! seeds word them, lower case; pages make sentences of them.

#[cfg(feature = "ssr")]
use super::Text;
use super::{IslandText, Problem};

pub fn problem(problem: &Problem) -> String {
    match problem {
        Problem::UsernameLength { min, max } => {
            format!("A username is {min} to {max} characters long.")
        }
        Problem::UsernameHasAt => {
            "A username cannot contain @ (that is for e-mail addresses).".into()
        }
        Problem::UsernameCharacter(c) => {
            format!("A username may use letters a–z, digits and . _ - only, not {c:?}.")
        }
        Problem::UsernameTaken => "That username is taken. Choose another.".into(),
        Problem::EmailMissing => "Enter an e-mail address.".into(),
        Problem::EmailTooLong => "That e-mail address is too long.".into(),
        Problem::EmailMalformed => {
            "That does not look like an e-mail address (name@example.com).".into()
        }
        Problem::EmailTaken => "An account with that e-mail address exists already. Sign in, \
                                or recover its password."
            .into(),
        Problem::PasswordTooShort(n) => format!("Use at least {n} characters for the password."),
        Problem::PasswordTooLong(n) => format!("Use at most {n} characters for the password."),
        Problem::PasswordIsUsernameOrEmail => {
            "The password cannot be your username or e-mail address.".into()
        }
        Problem::PasswordCommon => {
            "That password is one of the most common ones and easy to guess. Choose another.".into()
        }
        Problem::PasswordsDiffer => "The two new passwords are not the same.".into(),
        Problem::CurrentPasswordWrong => "The current password is not correct.".into(),
        Problem::PasswordUnchanged => "The new password is the same as the current one.".into(),
        Problem::PhoneMalformed => "That is not a valid phone number. Include the country \
                                    code, e.g. +86 138 0013 8000."
            .into(),
        Problem::CreditsMalformed(input) => {
            format!("{input:?} is not an amount of credits (at most six decimals).")
        }
        Problem::NoSuchAccount(username) => format!("There is no account named {username:?}."),
        Problem::UpgradeNotConfirmed => {
            "Tick the box to confirm that the upgrade cannot be undone.".into()
        }
        Problem::AlreadyUpgraded => "account is already upgraded".into(),
        Problem::AlreadyVerified => "the e-mail address is already verified".into(),
        Problem::VerifyBeforeUpgrading => "verify your e-mail address before upgrading".into(),
        Problem::VerifyBeforeAddingPhone => {
            "verify your e-mail address before adding a phone number".into()
        }
        Problem::NoPhoneToConfirm => "add a phone number first".into(),
        Problem::BalanceOutOfRange => "the balance would go below zero or above the maximum".into(),
        Problem::SecondFactorCodeWrong => {
            "That code is not right, or was used already. Enter the code your app shows now, \
             or an unused recovery code."
                .into()
        }
        Problem::TotpAlreadyOn => "two-step sign-in is on already".into(),
        Problem::TotpNotBegun => "set up an authenticator app first".into(),
        Problem::PasskeysNeedDomain => {
            "passkeys need the site to be reached by a domain name, not an IP address".into()
        }
        Problem::PasskeyNameLength { max } => {
            format!("Give the passkey a name of 1 to {max} characters.")
        }
        Problem::NoSuchPasskey => "the account has no such passkey".into(),
        Problem::StepUpRequired => {
            "confirm with your second factor first: changes need a check made in the last \
             ten minutes"
                .into()
        }
        Problem::ReadOnlyToken => "this API token may only read".into(),
        Problem::ReasonRequired => "give a reason (1 to 500 characters)".into(),
        Problem::NotOnYourOwnAccount => {
            "an admin cannot do this to their own account from the console".into()
        }
        Problem::NothingToChange => "the account is like that already".into(),
        Problem::OwnerIsDeletingIt => {
            "its owner asked for this account's deletion: only they can keep it, by signing in \
             on the \"Keep my account\" page"
                .into()
        }
        Problem::DeletionNotConfirmed => "Tick the box to confirm the deletion.".into(),
        Problem::EmailUnchanged => "that is the account's address already".into(),
        Problem::OldAddressTaken => {
            "the old address belongs to another account now: contact the site's operators".into()
        }
        Problem::DeletionAlreadyAsked => "the account's deletion was asked for already".into(),
        Problem::AccountBeingDeleted => {
            "this account is being deleted: to keep it, sign in on the \"Keep my account\" page \
             (/account/keep)"
                .into()
        }
        Problem::ClientRefused(why) => format!("The app cannot be registered so: {why}."),
        Problem::TokenNameLength { max } => {
            format!("Give the token a name of 1 to {max} characters that says what it is for.")
        }
    }
}

#[cfg(feature = "ssr")]
pub static TEXT: Text = Text {
    site_title: "Latchkey",
    nav_account: "Account",
    nav_sign_out: "Sign out",
    nav_sign_in: "Sign in",
    nav_register: "Create an account",
    switch_language: "Language",
    loading_account: "Loading your account…",

    home_title: "Welcome",
    home_heading: "Your account, kept simply",
    home_intro: "Sign up, sign in, see your credits, upgrade, and get back in when you forget \
                 a password.",
    not_found_title: "Page not found",
    not_found_text: "There is nothing at this address. If you followed a link, it may be \
                     mistyped or out of date.",
    go_to_start: "Go to the start page",
    your_account_link: "Your account",
    locked_out: "Locked out?",
    reset_your_password_link: "Reset your password",

    register_title: "Create an account",
    have_account: "Already have an account?",
    username: "Username",
    username_hint: "3–32 letters, digits, dots, dashes or underscores.",
    email: "E-mail address",
    password: "Password",
    password_hint: "At least 8 characters. Long phrases are good.",
    sign_in_title: "Sign in",
    notice_password_reset: "Your password is reset. Sign in with the new one.",
    notice_signed_out_everywhere: "You are signed out on every device. Sign in again to \
                                   continue here.",
    notice_session_ended: "Your session has ended. Sign in again to continue.",
    forgot_password_link: "Forgot your password?",
    forgot_username_link: "Forgot your username?",
    new_here: "New here?",
    username_or_email: "Username or e-mail address",

    account_title: "Your account",
    notice_password_changed: "Your password is changed. Other devices have been signed out.",
    notice_upgraded: "Your account is now on the paid plan.",
    notice_verification_sent: "A new verification link is on its way to your inbox.",
    notice_phone_code_sent: "We texted a passcode to your phone. Enter it below to confirm \
                             the number.",
    notice_phone_verified: "Your phone number is confirmed.",
    notice_language_changed: "Pages and mails now come in English.",
    verified: "verified",
    not_verified: "not verified",
    phone: "Phone",
    no_phone: "none",
    plan: "Plan",
    plan_paid: "Paid",
    plan_free: "Free",
    upgrade_link: "Upgrade",
    credits: "Credits",
    check_inbox: "Check your inbox for the verification link, or ask for a new one.",
    send_new_verification: "Send a new verification link",
    phone_code_label: "Passcode from the text message",
    confirm_phone: "Confirm phone number",
    change_phone: "Change phone number",
    add_phone: "Add a phone number",
    phone_hint: "A confirmed number can receive password reset passcodes.",
    country_code: "Country code",
    phone_number: "Phone number",
    text_me_passcode: "Text me a passcode",
    phone_needs_verified_email: "Verify your e-mail address to add a phone number for \
                                 password resets.",
    change_password_link: "Change password",
    sessions_heading: "Where you are signed in",
    sessions_count: "Signed in on {}.",
    this_browser: "this browser",
    client_from: "{} from {}",
    unknown_client: "Unknown client",
    other_client: "Other client",
    session_times: "Signed in {} · last active {}",
    end_every_session: "End every session",

    change_password_title: "Change password",
    current_password: "Current password",
    new_password: "New password",
    new_password_again: "New password, again",
    back_to_account: "Back to your account",
    upgrade_title: "Upgrade",
    upgrade_heading: "Upgrade to the paid plan",
    already_paid: "Your account is already on the paid plan.",
    verify_before_upgrade: "Verify your e-mail address before upgrading: use the link we \
                            sent you, or ask for a new one on {}.",
    your_account_page: "your account page",
    paid_plan_intro: "The paid plan has no limits of the free plan.",
    upgrade_cannot_be_undone: "An upgrade cannot be undone.",
    upgrade_confirm: "I understand that I cannot go back to the free plan.",
    upgrading: "Upgrading…",
    upgrade_to_paid: "Upgrade to paid",

    verify_title: "Verify your e-mail address",
    verify_confirm: "Confirm that this address belongs to {}.",
    verify_button: "Verify my e-mail address",
    verified_title: "E-mail address verified",
    verified_text: "Thank you. Your address is confirmed.",
    go_to_account: "Go to your account",

    forgot_username_title: "Forgot your username",
    forgot_username_heading: "Forgot your username?",
    forgot_username_intro: "Enter the e-mail address of your account. If it is verified, we \
                            mail the username to it.",
    mail_my_username: "Mail me my username",
    username_on_its_way: "If that address belongs to an account with a verified address, the \
                          username is on its way there.",
    back_to_sign_in: "Back to sign in",
    reset_title: "Reset your password",
    step_where: "Where to send a passcode",
    step_passcode: "Enter the passcode",
    step_new_password: "Choose a new password",
    reset_intro: "We send a six-digit passcode to the e-mail address of your account, or to \
                  its confirmed phone number.",
    send_passcode_by: "Send the passcode by",
    by_email: "E-mail",
    by_text: "Text message",
    mail_me_passcode: "Mail me a passcode",
    reset_ran_out: "This reset has run out of time, or was started in another browser.",
    start_again: "Start again",
    passcode_on_its_way: "If {} belongs to an account, a passcode is on its way. It works for \
                          a few minutes.",
    passcode: "Passcode",
    continue_button: "Continue",
    send_new_passcode: "Send a new passcode",
    set_new_password: "Set the new password",
    checking_link: "Checking your link…",
    link_continue: "Continue to choose a new password for your account.",
    dead_link: "This link has expired or was already used: each reset link works once, for a \
                limited time.",
    request_new_passcode: "Request a new passcode",

    second_factor_wrong: "That code is not right, or was used already.",
    second_factor_expired: "This sign-in has expired. Sign in again.",
    second_step_title: "Two-step sign-in",
    second_step_intro: "Enter the six-digit code your authenticator app shows now, or one of your recovery codes.",
    second_factor_code: "Code",
    no_pending_sign_in: "No sign-in is waiting for a code here: it was finished, or it ran out after five minutes.",
    two_step_on: "On",
    two_step_off: "Off",
    two_step_intro: "With two-step sign-in, signing in takes a code from an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, 1Password and the like) as well as your password.",
    set_up_totp: "Set up an authenticator app",
    set_up_totp_hint: "Enter your password to begin.",
    scan_heading: "Scan this code with the app",
    or_type_key: "Or type this key into the app:",
    enter_code_to_finish: "Then enter the six-digit code the app shows:",
    turn_on: "Turn on",
    recovery_codes_heading: "Your recovery codes",
    recovery_codes_intro: "Each of these signs you in once if you lose your phone. Keep them somewhere safe: they are shown only this once.",
    recovery_codes_left: "Recovery codes left: {}",
    renew_codes_heading: "New recovery codes",
    renew_codes_hint: "The old codes stop working. Enter a code from your app.",
    renew_codes_button: "Make new recovery codes",
    turn_off_heading: "Turn two-step sign-in off",
    turn_off_hint: "Enter your password and a code from your app (or a recovery code).",
    turn_off_button: "Turn off",
    notice_totp_on: "Two-step sign-in is on.",
    notice_totp_off: "Two-step sign-in is off.",
    notice_codes_renewed: "New recovery codes are made; the old ones no longer work.",
    manage_two_step: "Manage",
    passkey_refused: "The passkey was not accepted. Try again.",
    passkeys_heading: "Passkeys",
    passkeys_intro: "A passkey signs you in with your device's screen lock (fingerprint, face or PIN) instead of a password, and serves as the second step after one.",
    no_passkeys: "No passkeys yet.",
    passkey_name: "Name for this passkey",
    add_passkey: "Add a passkey",
    passkey_added_on: "Added {}",
    remove_passkey: "Remove",
    remove_passkey_hint: "Enter your password and a code from your authenticator app or a recovery code to remove this passkey.",
    passkeys_need_javascript: "Passkeys need JavaScript in this browser.",
    passkey_browser_failed: "The browser did not finish with the passkey. Try again.",
    sign_in_with_passkey: "Sign in with a passkey",
    use_passkey: "Use a passkey",
    notice_passkey_added: "The passkey is added.",
    notice_passkey_removed: "The passkey is removed.",
    authenticator_heading: "Authenticator app",
    recovery_heading: "Recovery codes",
    passkeys_count: "passkeys: {}",
    wrong_credentials: "Incorrect username, e-mail address or password.",
    session_over: "Your session has ended. Sign in again.",
    too_many_requests: "Too many requests. Try again in {}.",
    passcode_wrong: "That passcode is wrong or has expired.",
    passcode_burned: "Too many wrong passcodes: this one no longer works. Ask for a new one.",
    new_password_refused: "That new password was not accepted. Use 8 to 128 characters, not a \
                           commonly used password, and not your username or e-mail address.",
    reset_expired: "This reset has expired or was already used. Start again to get a new \
                    passcode.",
    link_invalid: "This link is invalid, has been used, or has expired. Ask for a new one.",
    busy: "The service is busy. Try again in a moment.",
    our_fault: "Something went wrong on our side. Try again in a moment.",
    unreachable: "Could not reach the server. Check your connection and try again.",
    form_incomplete: "The form arrived incomplete. Reload the page and try again.",
    sign_in_after_change: "Your password is changed. Sign in again.",
    reset_timed_out: "This reset has run out of time. Start again to get a new passcode.",
    refused_cross_site: "Cross-site request refused: this form must be sent from the site itself.",
    refused_too_slow: "The request took too long to arrive. Try again.",
    refused_too_large: "The request is larger than 64 KiB.",

    consent_title: "Allow access to your account?",
    consent_intro: "{} wants to sign you in with your Latchkey account {}. If you allow it, the app receives:",
    scope_openid: "An identifier for your account, the same each time you sign in",
    scope_profile: "Your username and language",
    scope_email: "Your e-mail address",
    scope_phone: "Your phone number, if you added one",
    scope_offline_access: "Access while you are away, until you revoke it",
    consent_allow: "Allow",
    consent_deny: "Deny",
    consent_where: "You can revoke access at any time on your account page.",
    oauth_problem_title: "This sign-in link cannot be used",
    oauth_problem_unknown_client: "The app that sent you here is not registered with Latchkey.",
    oauth_problem_redirect_uri: "The app asked to send you back to an address it has not registered, so Latchkey will not send you there.",
    oauth_problem_malformed: "The sign-in link is malformed.",
    oauth_problem_unavailable: "Signing in to the app is briefly unavailable. Go back and try again in a moment.",
    oauth_problem_expired: "This sign-in took too long and has expired. Go back to the app and start again.",
    signed_out_title: "You are signed out",
    signed_out_body: "You have signed out of Latchkey. You can close this page.",
    sign_out_confirm_title: "Sign out of Latchkey?",
    sign_out_confirm_body: "An app asked to sign you out. Sign out of Latchkey in this browser?",
    apps_heading: "Apps with access",
    apps_none: "No app signs you in with this account.",
    apps_allowed_on: "Allowed {}",
    revoke_app: "Revoke access",
    notice_app_revoked: "The app's access was revoked: it is signed out and must ask again.",
    api_success: "success",
    api_wrong_credentials: "incorrect username or password",
    api_sign_in_first: "sign in first",
    api_too_many_requests: "too many requests; try again in {} seconds",
    api_link_invalid: "this link is invalid, has been used, or has expired",
    api_passcode_wrong: "the passcode is wrong or has expired",
    api_passcode_burned: "too many wrong passcodes; ask for a new one",
    api_undecryptable: "the password could not be decrypted or was not accepted",
    api_reset_token_invalid: "the password reset token is invalid, used or expired",
    api_busy: "the database is too busy with concurrent changes",
    api_internal: "internal server error",
    api_not_found: "not found",
    api_cross_site: "cross-site request refused: send it from the site itself, or with a bearer token",
    api_too_slow: "the request took too long to arrive",
    api_too_large: "request body is larger than 64 KiB",
    api_no_such_endpoint: "no such endpoint",
    api_method_not_allowed: "method not allowed on this endpoint",
    email_change_title: "Change the e-mail address",
    email_change_link: "Change",
    email_change_current: "Now: {}",
    new_email_label: "New e-mail address",
    email_change_hint: "A code and a link go to the new address; the address changes only when one of them is used. The current address is told, with a way to undo it for 72 hours.",
    code_if_two_step: "Code from your authenticator app or a recovery code (only if two-step sign-in is on)",
    email_change_button: "Send a code to the new address",
    email_change_pending: "A code was sent to {}. Enter it here (or open the link in that mail):",
    email_change_code_label: "Code from the new address",
    email_change_confirm_button: "Change the address",
    notice_code_sent: "If that address can take the account, a code and a link are on their way to it.",
    notice_email_changed: "Your e-mail address is changed.",
    confirm_email_change_title: "Confirm your new e-mail address",
    confirm_email_change_intro: "Press the button to make this the address of your account.",
    confirm_email_change_button: "Confirm the new address",
    restore_email_title: "This wasn't me",
    restore_email_intro: "This puts your old address back on the account, signs everybody out, and mails a password reset to that address.",
    restore_email_button: "Restore my address and sign everybody out",
    notice_email_restored: "Your address is back and everybody was signed out: check your mail to set a new password.",
    data_heading: "Your data",
    export_link: "Download everything Latchkey holds about you (JSON)",
    delete_link: "Delete your account",
    delete_title: "Delete your account",
    delete_hint: "Your account is disabled at once and erased after 14 days: its username, address and phone number are then free. Until then, signing in on the \"Keep my account\" page cancels the deletion.",
    delete_confirm_label: "I understand: delete my account",
    delete_button: "Delete my account",
    notice_deletion_requested: "Your account is disabled and will be erased in 14 days. Changed your mind? Sign in on the \"Keep my account\" page.",
    keep_title: "Keep my account",
    keep_intro: "Your account is waiting to be erased. Sign in to keep it: it is enabled again at once.",
    keep_button: "Keep my account",
    notice_kept: "Your account is kept: its deletion is cancelled.",
    identifier_label: "Username or e-mail address",
    console_title: "Operators' console",
    console_nav_accounts: "Accounts",
    console_nav_audit: "Audit log",
    console_nav_clients: "Apps",
    console_nav_tokens: "API tokens",
    console_link: "Operators' console",
    console_signed_in_as: "Signed in as {}.",
    console_changes_open: "Changes are open until {}.",
    console_changes_closed: "Changes need a check with your second factor first.",
    console_step_up_link: "Confirm it is you",
    step_up_title: "Confirm it is you",
    step_up_intro: "Enter a code from your authenticator app, or use one of your passkeys: changes in the console are then open for ten minutes.",
    step_up_with_passkey: "Confirm with a passkey",
    step_up_button: "Confirm",
    search_label: "Find an account",
    search_hint: "A username or e-mail address (its start will do), a phone number with + and country code, or an account id.",
    search_button: "Search",
    col_username: "Username",
    col_email: "E-mail",
    col_phone: "Phone",
    col_plan: "Plan",
    col_status: "Status",
    col_created: "Created",
    status_enabled: "Enabled",
    status_disabled: "Disabled",
    no_matches: "No account matches.",
    next_page: "Next page",
    previous_page: "Previous page",
    back_to_search: "Back to the accounts",
    profile_heading: "Profile",
    label_id: "Id",
    label_verified: "verified",
    label_unverified: "not verified",
    label_credits: "Credits",
    label_admin: "Admin",
    label_yes: "yes",
    label_no: "no",
    label_updated: "Updated",
    factors_heading: "Second factors",
    factor_totp: "Authenticator app",
    factor_passkey: "Passkey",
    factor_added: "added {}",
    factor_last_used: "last used {}",
    none_listed: "None.",
    codes_left_line: "Recovery codes left: {}",
    console_sessions_heading: "Sessions",
    console_session_times: "since {}, last seen {}",
    locks_heading: "Login locks in force",
    lock_until: "until {}",
    grants_heading: "Apps with access",
    events_heading: "Latest events",
    actions_heading: "Actions",
    reason_label: "Reason (kept in the audit log)",
    action_disable: "Disable the account",
    action_disable_hint: "Ends every session, app grant and refresh token at once; every sign-in is refused until the account is enabled again. The person is told by e-mail.",
    action_enable: "Enable the account",
    action_unlock: "Lift the login locks",
    action_end_sessions: "End every session",
    action_remove_totp: "Remove the authenticator app",
    action_remove_passkey: "Remove this passkey",
    action_send_reset: "Send a password-reset mail",
    action_credits: "Grant or deduct credits",
    amount_label: "Amount (negative to deduct)",
    action_plan: "Change the plan",
    action_delete: "Delete the account now",
    action_delete_hint: "Erases the account at once, without the 14-day grace: sessions, factors, apps, queued mail; the username, address and phone number are free again, and the audit log keeps only its id. The person is told by e-mail first.",
    action_apply: "Apply",
    yourself_hint: "This is your own account: the console does not disable it or remove its second factors.",
    done_notice: "Done.",
    audit_title: "Audit log",
    filter_account: "Account (username)",
    filter_actor: "Admin (username)",
    filter_event: "Event (a name, or a prefix such as admin.)",
    filter_from: "From (UTC, e.g. 2026-12-01)",
    filter_until: "Until",
    filter_button: "Filter",
    export_csv: "Export as CSV",
    col_when: "When",
    col_event: "Event",
    col_account: "Account",
    col_actor: "By",
    col_reason: "Reason",
    col_change: "Change",
    col_from: "From",
    no_events: "No entries.",
    tokens_title: "API tokens",
    tokens_intro: "A token lets a script use the admin API (/admin/api/…, described in /openapi.json). It is shown once: keep it like a password.",
    token_name: "What it is for",
    token_access: "Access",
    access_read: "Read only",
    access_write: "Read and write",
    token_days: "Days until it expires",
    token_create: "Make a token",
    token_shown: "Your new token. Copy it now: it is not shown again.",
    token_revoke: "Revoke",
    token_live: "active",
    token_revoked: "revoked",
    token_expired: "expired",
    col_expires: "Expires",
    col_last_used: "Last used",
    no_tokens: "No tokens yet.",
    clients_title: "Apps (OpenID Connect)",
    clients_intro: "Apps registered here sign their users in with Latchkey. Redirect URIs must match exactly; https, or http on this machine.",
    client_name: "Name (shown on the consent page)",
    client_redirects: "Redirect URIs, one per line",
    client_logout_redirects: "Post-logout redirect URIs, one per line",
    client_backchannel: "Back-channel logout URI",
    client_kind: "Kind",
    client_confidential: "Confidential: a server that keeps a secret",
    client_public: "Public: a single-page or native app (PKCE, no secret)",
    client_first_party: "First party: its users are not asked for consent",
    client_add: "Register the app",
    client_add_heading: "Register an app",
    client_save: "Save",
    client_rotate: "Make a new secret",
    client_remove: "Remove the app",
    client_shown: "The app's id and secret. Copy them now: the secret is not shown again.",
    client_id_label: "Client id",
    client_edit: "Edit",
    no_clients: "No apps yet.",
};

pub static ISLAND_TEXT: IslandText = IslandText {
    creating_account: "Creating your account…",
    create_account: "Create account",
    signing_in: "Signing in…",
    sign_in: "Sign in",
    changing: "Changing…",
    change_password: "Change password",
    correct_marked_fields: "Please correct the marked fields.",
    sealing_failed: "The new password could not be protected for sending. Reload the page and \
                     try again.",
};
