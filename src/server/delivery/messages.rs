//! What each message says, in English and Simplified Chinese. The wording lives in the
//! templates beside this file (askama checks them at compile time); this module picks the
//! language and fills in the values.

use askama::Template;

pub use crate::i18n::Language;

/// "Now" as a notice shows it: `2026-11-23 17:25` (UTC, to the minute).
pub fn now_for_people() -> String {
    let now = crate::server::store::now();
    now.get(..16).unwrap_or(&now).replace('T', " ")
}

/// A composed e-mail, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "verify_email.txt")]
struct VerifyText<'a> {
    lang: Language,
    username: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "password_changed.txt")]
struct PasswordChangedText<'a> {
    lang: Language,
    /// The reset removed the phone number of an account whose address was never verified.
    phone_removed: bool,
    /// The reset removed second factors added shortly before it.
    factors_removed: bool,
    username: &'a str,
    when: &'a str,
    recover_link: &'a str,
}

#[derive(Template)]
#[template(path = "password_changed.html")]
struct PasswordChangedHtml<'a> {
    lang: Language,
    /// The reset removed the phone number of an account whose address was never verified.
    phone_removed: bool,
    /// The reset removed second factors added shortly before it.
    factors_removed: bool,
    subject: &'a str,
    username: &'a str,
    when: &'a str,
    recover_link: &'a str,
}

#[derive(Template)]
#[template(path = "upgraded.txt")]
struct UpgradedText<'a> {
    lang: Language,
    username: &'a str,
    when: &'a str,
    account_link: &'a str,
}

#[derive(Template)]
#[template(path = "upgraded.html")]
struct UpgradedHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    when: &'a str,
    account_link: &'a str,
}

fn render(template: &impl Template) -> String {
    // The templates only interpolate strings; rendering cannot fail.
    template.render().expect("message templates render")
}

pub fn verify_email(lang: Language, to: &str, username: &str, link: &str) -> Email {
    let subject = match lang {
        Language::English => "Confirm your e-mail address",
        Language::SimplifiedChinese => "请确认您的电子邮件地址",
    };
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: render(&VerifyText {
            lang,
            username,
            link,
        }),
        html: render(&VerifyHtml {
            lang,
            subject,
            username,
            link,
        }),
    }
}

/// `phone_removed`: the change (a reset of an account whose address was never verified) took
/// the account's phone number off, and the mail says so.
/// What a reset removed besides the password, for its mail to say.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlsoRemoved {
    /// The phone of an account whose address was never verified.
    pub phone: bool,
    /// Second factors added shortly before the reset.
    pub recent_second_factors: bool,
}

pub fn password_changed(
    lang: Language,
    to: &str,
    username: &str,
    when: &str,
    recover_link: &str,
    removed: AlsoRemoved,
) -> Email {
    let (phone_removed, factors_removed) = (removed.phone, removed.recent_second_factors);
    let subject = match lang {
        Language::English => "Your password was changed",
        Language::SimplifiedChinese => "您的密码已更改",
    };
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: render(&PasswordChangedText {
            lang,
            phone_removed,
            factors_removed,
            username,
            when,
            recover_link,
        }),
        html: render(&PasswordChangedHtml {
            lang,
            phone_removed,
            factors_removed,
            subject,
            username,
            when,
            recover_link,
        }),
    }
}

pub fn upgraded(lang: Language, to: &str, username: &str, when: &str, account_link: &str) -> Email {
    let subject = match lang {
        Language::English => "Your account is upgraded",
        Language::SimplifiedChinese => "您的账户已升级",
    };
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: render(&UpgradedText {
            lang,
            username,
            when,
            account_link,
        }),
        html: render(&UpgradedHtml {
            lang,
            subject,
            username,
            when,
            account_link,
        }),
    }
}

#[derive(Template)]
#[template(path = "reset_password.txt")]
struct ResetText<'a> {
    lang: Language,
    username: &'a str,
    code: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    code: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "username_reminder.txt")]
struct UsernameText<'a> {
    lang: Language,
    username: &'a str,
    login_link: &'a str,
}

#[derive(Template)]
#[template(path = "username_reminder.html")]
struct UsernameHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    login_link: &'a str,
}

/// Step 1 of a reset by e-mail: the passcode, and a link that does step 2 by itself.
pub fn reset_password(lang: Language, to: &str, username: &str, code: &str, link: &str) -> Email {
    let subject = match lang {
        Language::English => "Your password reset passcode",
        Language::SimplifiedChinese => "您的密码重设验证码",
    };
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: render(&ResetText {
            lang,
            username,
            code,
            link,
        }),
        html: render(&ResetHtml {
            lang,
            subject,
            username,
            code,
            link,
        }),
    }
}

pub fn username_reminder(lang: Language, to: &str, username: &str, login_link: &str) -> Email {
    let subject = match lang {
        Language::English => "Your Latchkey username",
        Language::SimplifiedChinese => "您的 Latchkey 用户名",
    };
    Email {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: render(&UsernameText {
            lang,
            username,
            login_link,
        }),
        html: render(&UsernameHtml {
            lang,
            subject,
            username,
            login_link,
        }),
    }
}

#[derive(Template)]
#[template(path = "second_factor.txt")]
struct SecondFactorText<'a> {
    lang: Language,
    username: &'a str,
    what: &'a str,
    when: &'a str,
    security_link: &'a str,
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    what: &'a str,
    when: &'a str,
    security_link: &'a str,
}

/// A change to an account's second factors, which its owner hears of every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorChange {
    TotpOn,
    TotpOff,
    RecoveryCodesRenewed,
    /// A recovery code signed somebody in; `left` unused ones remain.
    RecoveryCodeUsed {
        left: i64,
    },
    PasskeyAdded,
    PasskeyRemoved,
}

pub fn second_factor_changed(
    lang: Language,
    to: &str,
    username: &str,
    change: FactorChange,
    when: &str,
    security_link: &str,
) -> Email {
    let zh = lang.is_zh();
    let (subject, what) = match change {
        FactorChange::TotpOn if zh => (
            "两步登录已开启".to_owned(),
            "您的 Latchkey 账户已开启两步登录：今后登录时除密码外还需输入身份验证器应用中的验证码。".to_owned(),
        ),
        FactorChange::TotpOn => (
            "Two-step sign-in is on".to_owned(),
            "Two-step sign-in is now on for your Latchkey account: signing in takes a code from your authenticator app as well as the password.".to_owned(),
        ),
        FactorChange::TotpOff if zh => (
            "两步登录已关闭".to_owned(),
            "您的 Latchkey 账户已关闭两步登录，恢复码也已全部作废：今后仅凭密码即可登录。".to_owned(),
        ),
        FactorChange::TotpOff => (
            "Two-step sign-in is off".to_owned(),
            "Two-step sign-in was turned off for your Latchkey account, and its recovery codes no longer work: the password alone now signs in.".to_owned(),
        ),
        FactorChange::RecoveryCodesRenewed if zh => (
            "已生成新的恢复码".to_owned(),
            "您的 Latchkey 账户已生成一组新的恢复码，旧的恢复码全部作废。".to_owned(),
        ),
        FactorChange::RecoveryCodesRenewed => (
            "New recovery codes were made".to_owned(),
            "New recovery codes were made for your Latchkey account; the old ones no longer work.".to_owned(),
        ),
        FactorChange::PasskeyAdded if zh => (
            "已添加通行密钥".to_owned(),
            "您的 Latchkey 账户已添加一个通行密钥：它可以无需密码登录，也可以作为两步登录的第二步。".to_owned(),
        ),
        FactorChange::PasskeyAdded => (
            "A passkey was added".to_owned(),
            "A passkey was added to your Latchkey account: it signs in without a password, and serves as the second step after one.".to_owned(),
        ),
        FactorChange::PasskeyRemoved if zh => (
            "已移除通行密钥".to_owned(),
            "您的 Latchkey 账户已移除一个通行密钥，它不能再用于登录。".to_owned(),
        ),
        FactorChange::PasskeyRemoved => (
            "A passkey was removed".to_owned(),
            "A passkey was removed from your Latchkey account; it no longer signs in.".to_owned(),
        ),
        FactorChange::RecoveryCodeUsed { left } if zh => (
            "恢复码已被使用".to_owned(),
            format!("有人使用一个恢复码登录了您的 Latchkey 账户，还剩 {left} 个未使用的恢复码。"),
        ),
        FactorChange::RecoveryCodeUsed { left } => (
            "A recovery code was used".to_owned(),
            format!(
                "A recovery code was used to sign in to your Latchkey account; {left} unused {} left.",
                if left == 1 { "code is" } else { "codes are" }
            ),
        ),
    };
    Email {
        to: to.to_owned(),
        text: render(&SecondFactorText {
            lang,
            username,
            what: &what,
            when,
            security_link,
        }),
        html: render(&SecondFactorHtml {
            lang,
            subject: &subject,
            username,
            what: &what,
            when,
            security_link,
        }),
        subject,
    }
}

#[derive(Template)]
#[template(path = "admin_change.txt")]
struct AdminChangeText<'a> {
    lang: Language,
    username: &'a str,
    what: &'a str,
    when: &'a str,
}

#[derive(Template)]
#[template(path = "admin_change.html")]
struct AdminChangeHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    what: &'a str,
    when: &'a str,
}

/// A change an operator made to an account in the console, which its owner hears of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    Disabled,
    Enabled,
    TotpRemoved,
    PasskeyRemoved,
    Deleted,
}

pub fn changed_by_admin(
    lang: Language,
    to: &str,
    username: &str,
    change: AdminChange,
    when: &str,
) -> Email {
    let zh = lang.is_zh();
    let (subject, what) = match change {
        AdminChange::Disabled if zh => ("您的账户已被停用", "管理员停用了您的 Latchkey 账户：它的所有会话都已结束，在重新启用之前无法登录。"),
        AdminChange::Disabled => ("Your account was disabled", "An administrator disabled your Latchkey account: every session of it has ended, and it cannot sign in until it is enabled again."),
        AdminChange::Enabled if zh => ("您的账户已重新启用", "管理员重新启用了您的 Latchkey 账户，您可以再次登录。"),
        AdminChange::Enabled => ("Your account was enabled", "An administrator enabled your Latchkey account again: you can sign in."),
        AdminChange::TotpRemoved if zh => ("身份验证器已被移除", "管理员移除了您账户的身份验证器应用，恢复码也已作废（若没有其他第二重验证）。"),
        AdminChange::TotpRemoved => ("Your authenticator was removed", "An administrator removed the authenticator app from your Latchkey account (and its recovery codes, unless another second factor remains)."),
        AdminChange::PasskeyRemoved if zh => ("通行密钥已被移除", "管理员移除了您账户的一个通行密钥，它不能再用于登录。"),
        AdminChange::PasskeyRemoved => ("A passkey was removed", "An administrator removed a passkey from your Latchkey account; it no longer signs in."),
        AdminChange::Deleted if zh => ("您的账户已被删除", "管理员删除了您的 Latchkey 账户：它的数据已被抹除，用户名和地址已被释放。"),
        AdminChange::Deleted => ("Your account was deleted", "An administrator deleted your Latchkey account: its data is erased, and its username and address are free again."),
    };
    Email {
        to: to.to_owned(),
        text: render(&AdminChangeText {
            lang,
            username,
            what,
            when,
        }),
        html: render(&AdminChangeHtml {
            lang,
            subject,
            username,
            what,
            when,
        }),
        subject: subject.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "notice.txt")]
struct NoticeText<'a> {
    lang: Language,
    username: &'a str,
    lines: &'a [String],
    code: Option<&'a str>,
    link: Option<&'a str>,
    after: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeHtml<'a> {
    lang: Language,
    subject: &'a str,
    username: &'a str,
    lines: &'a [String],
    code: Option<&'a str>,
    link: Option<&'a str>,
    link_label: &'a str,
    after: Option<&'a str>,
}

/// A mail of a few sentences, with a code and a link where it carries them.
struct Notice<'a> {
    subject: &'a str,
    lines: Vec<String>,
    code: Option<&'a str>,
    link: Option<(&'a str, &'a str)>,
    after: Option<&'a str>,
}

impl Notice<'_> {
    fn to(self, lang: Language, to: &str, username: &str) -> Email {
        let (link_label, link) = match self.link {
            Some((label, url)) => (label, Some(url)),
            None => ("", None),
        };
        Email {
            to: to.to_owned(),
            text: render(&NoticeText {
                lang,
                username,
                lines: &self.lines,
                code: self.code,
                link,
                after: self.after,
            }),
            html: render(&NoticeHtml {
                lang,
                subject: self.subject,
                username,
                lines: &self.lines,
                code: self.code,
                link,
                link_label,
                after: self.after,
            }),
            subject: self.subject.to_owned(),
        }
    }
}

/// To the new address of an e-mail change: its code, and a link that does the same.
pub fn email_change_requested(
    lang: Language,
    to: &str,
    username: &str,
    code: &str,
    link: &str,
) -> Email {
    let zh = lang.is_zh();
    Notice {
        subject: if zh { "确认您的新邮箱地址" } else { "Confirm your new e-mail address" },
        lines: vec![if zh {
            "有人请求把 Latchkey 账户的邮箱改为这个地址。请在账户页面输入下面的验证码，或打开下面的链接（24 小时内有效）：".into()
        } else {
            "Someone asked to make this the e-mail address of a Latchkey account. Enter this code on the account page, or open the link below (both work for 24 hours):".into()
        }],
        code: Some(code),
        link: Some((if zh { "确认新地址" } else { "Confirm the new address" }, link)),
        after: Some(if zh {
            "如果这不是您本人的请求，请忽略这封邮件：什么都不会改变。"
        } else {
            "If you did not ask for this, ignore this message: nothing changes."
        }),
    }
    .to(lang, to, username)
}

/// To the new address of an e-mail change, when another account holds it already: nothing
/// changes, and only this mailbox's owner learns why.
pub fn email_change_taken(lang: Language, to: &str) -> Email {
    let zh = lang.is_zh();
    Notice {
        subject: if zh { "确认您的新邮箱地址" } else { "Confirm your new e-mail address" },
        lines: vec![if zh {
            "有人请求把一个 Latchkey 账户的邮箱改为这个地址，但这个地址已经属于另一个账户，因此什么都没有改变。如果这是您本人，请登录使用这个地址的账户，或在登录页面找回用户名。".into()
        } else {
            "Someone asked to make this the e-mail address of a Latchkey account, but this address belongs to another account already, so nothing was changed. If it was you, sign in to the account that has this address, or recover its username from the sign-in page.".into()
        }],
        code: None,
        link: None,
        after: None,
    }
    .to(lang, to, if zh { "您" } else { "there" })
}

/// To the old address after a change: where it went (masked), and the way back for 72 hours.
pub fn email_changed(
    lang: Language,
    to: &str,
    username: &str,
    new_masked: &str,
    restore_link: &str,
) -> Email {
    let zh = lang.is_zh();
    Notice {
        subject: if zh { "您的邮箱地址已更改" } else { "Your e-mail address was changed" },
        lines: vec![if zh {
            format!("您的 Latchkey 账户的邮箱已改为 {new_masked}。")
        } else {
            format!("The e-mail address of your Latchkey account was changed to {new_masked}.")
        }, if zh {
            "如果这不是您本人的操作，请在 72 小时内打开下面的链接：它会恢复这个地址、让所有设备退出登录，并开始重设密码。".into()
        } else {
            "If this wasn't you, open the link below within 72 hours: it puts this address back, signs everybody out, and starts a password reset.".into()
        }],
        code: None,
        link: Some((if zh { "这不是我：恢复这个地址" } else { "This wasn't me: restore this address" }, restore_link)),
        after: None,
    }
    .to(lang, to, username)
}

/// After a deletion was asked for: when the account goes, and how to keep it.
pub fn deletion_scheduled(
    lang: Language,
    to: &str,
    username: &str,
    due: &str,
    keep_link: &str,
) -> Email {
    let zh = lang.is_zh();
    Notice {
        subject: if zh { "您的账户将被删除" } else { "Your account will be deleted" },
        lines: vec![if zh {
            format!("您的 Latchkey 账户已停用，将于 {due}（UTC）永久删除：删除后用户名、邮箱和手机号都会被释放，无法恢复。")
        } else {
            format!("Your Latchkey account is disabled and will be erased for good on {due} (UTC): its username, address and phone number are then free, and nothing can be recovered.")
        }, if zh {
            "如果想保留账户，请在那之前打开下面的链接并登录确认。".into()
        } else {
            "To keep your account, open the link below and sign in to confirm before then.".into()
        }],
        code: None,
        link: Some((if zh { "保留我的账户" } else { "Keep my account" }, keep_link)),
        after: None,
    }
    .to(lang, to, username)
}

/// An SMS passcode: one short line, as a text message should be.
pub fn sms_passcode(lang: Language, code: &str, minutes: i64, purpose_reset: bool) -> String {
    match (lang, purpose_reset) {
        (Language::English, true) => format!("Latchkey: {code} is your password reset passcode. It works for {minutes} minutes. Ignore this if you did not ask for it."),
        (Language::English, false) => format!("Latchkey: {code} is the passcode that confirms this phone number. It works for {minutes} minutes."),
        (Language::SimplifiedChinese, true) => format!("【Latchkey】您的密码重设验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略。"),
        (Language::SimplifiedChinese, false) => format!("【Latchkey】您的手机号验证码是 {code}，{minutes} 分钟内有效。"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_first_supported_language() {
        assert_eq!(
            Language::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Language::SimplifiedChinese
        );
        assert_eq!(
            Language::from_accept_language("fr-FR, en-GB;q=0.8, zh;q=0.5"),
            Language::English
        );
        assert_eq!(Language::from_accept_language("de"), Language::English);
        assert_eq!(Language::from_accept_language(""), Language::English);
    }

    #[test]
    fn the_verification_mail_carries_the_link_in_both_parts_and_both_languages() {
        let link = "http://127.0.0.1:3000/verify-email/bob/abc_DEF-123";
        for lang in [Language::English, Language::SimplifiedChinese] {
            let mail = verify_email(lang, "bob@example.com", "bob", link);
            assert!(mail.text.contains(link), "{lang:?}");
            assert!(mail.html.contains(&format!("href=\"{link}\"")), "{lang:?}");
            assert_eq!(mail.to, "bob@example.com");
        }
        assert!(
            verify_email(Language::SimplifiedChinese, "b@x.cn", "bob", link)
                .text
                .contains("您好")
        );
        assert!(verify_email(Language::English, "b@x.cn", "bob", link)
            .text
            .starts_with("Hello bob"));
    }

    #[test]
    fn what_a_reset_removed_is_mentioned_only_when_removed() {
        for lang in [Language::English, Language::SimplifiedChinese] {
            let mail =
                |removed| password_changed(lang, "a@x.cn", "ann", "now", "http://x/", removed);
            let phone = AlsoRemoved {
                phone: true,
                ..AlsoRemoved::default()
            };
            let factors = AlsoRemoved {
                recent_second_factors: true,
                ..AlsoRemoved::default()
            };
            let (phone_marker, factors_marker) = match lang {
                Language::English => (
                    "phone number on the account has been removed",
                    "added in the 72 hours before this reset",
                ),
                Language::SimplifiedChinese => ("手机号已被移除", "重设前 72 小时内添加"),
            };
            for (removed, marker) in [(phone, phone_marker), (factors, factors_marker)] {
                let with = mail(removed);
                assert!(
                    with.text.contains(marker) && with.html.contains(marker),
                    "{lang:?} {marker}"
                );
                let without = mail(AlsoRemoved::default());
                assert!(!without.text.contains(marker) && !without.html.contains(marker));
            }
        }
    }

    #[test]
    fn html_parts_escape_what_they_interpolate() {
        let mail = password_changed(
            Language::English,
            "a@example.com",
            "<script>",
            "now",
            "http://x/?a=1&b=2",
            AlsoRemoved::default(),
        );
        assert!(!mail.html.contains("<script>"));
        assert!(
            mail.html.contains("&lt;script&gt;") || mail.html.contains("&#60;script&#62;"),
            "{}",
            mail.html
        );
        // The text part is not HTML and stays literal.
        assert!(mail.text.contains("<script>"));
    }
}
