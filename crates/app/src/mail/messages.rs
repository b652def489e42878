//! The emails CoachFlux sends, written once here.

use super::{Email, List};

fn hello(name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("Hi {n},"),
        None => "Hi,".to_owned(),
    }
}

pub struct To<'a> {
    pub email: &'a str,
    pub user_id: Option<&'a str>,
    pub name: Option<&'a str>,
}

fn base(to: &To<'_>, template: &'static str, subject: &str) -> Email {
    Email {
        to: to.email.to_owned(),
        user_id: to.user_id.map(str::to_owned),
        template,
        subject: subject.to_owned(),
        greeting: hello(to.name),
        paragraphs: Vec::new(),
        action: None,
        after: Vec::new(),
        list: None,
    }
}

/// Which list a template's mail belongs to (`None`: transactional).
pub fn list_for_template(template: &str) -> Option<List> {
    match template {
        "action_reminder" => Some(List::ActionReminders),
        "product_update" => Some(List::ProductUpdates),
        "newsletter" => Some(List::Newsletter),
        "marketing" => Some(List::MarketingEmails),
        _ => None,
    }
}

pub fn verify_email(to: &To<'_>, link: &str) -> Email {
    let mut e = base(
        to,
        "verify_email",
        "Confirm your email address for CoachFlux",
    );
    e.paragraphs.push(
        "Welcome to CoachFlux. Please confirm that this is your email address so we can reach you about your account."
            .into(),
    );
    e.action = Some(("Confirm my email".into(), link.to_owned()));
    e.after.push(
        "The link works for 24 hours. If you didn't create an account, ignore this email.".into(),
    );
    e
}

pub fn email_change(to: &To<'_>, link: &str) -> Email {
    let mut e = base(to, "email_change", "Confirm your new email address");
    e.paragraphs.push(format!(
        "You asked to use {} for your CoachFlux account. Confirm it to make the change.",
        to.email
    ));
    e.action = Some(("Use this address".into(), link.to_owned()));
    e.after.push(
        "The link works for 24 hours. If you didn't ask for this, ignore this email and nothing changes."
            .into(),
    );
    e
}

pub fn email_changed_notice(to: &To<'_>, new_email: &str) -> Email {
    let mut e = base(
        to,
        "email_changed",
        "Your CoachFlux email address was changed",
    );
    e.paragraphs.push(format!(
        "The email address of your CoachFlux account is now {new_email}. We're telling you at your old address in case this wasn't you."
    ));
    e.after.push(
        "If you didn't make this change, reply to this email or contact support right away.".into(),
    );
    e
}

pub fn signup_attempt(to: &To<'_>, login_url: &str, reset_url: &str) -> Email {
    let mut e = base(
        to,
        "signup_existing",
        "Someone tried to sign up with your email",
    );
    e.paragraphs.push(
        "Someone (maybe you) tried to create a CoachFlux account with this email address, but you already have one."
            .into(),
    );
    e.action = Some(("Log in".into(), login_url.to_owned()));
    e.after.push(format!(
        "Forgot your password? Reset it here: {reset_url}. If this wasn't you, you can ignore this email."
    ));
    e
}

pub fn provider_sign_in_attempt(to: &To<'_>, provider: &str, login_url: &str) -> Email {
    let mut e = base(
        to,
        "provider_sign_in_existing",
        &format!("Someone tried to sign in with {provider} using your email"),
    );
    e.paragraphs.push(format!(
        "Someone (maybe you) tried to sign in to CoachFlux with a {provider} account that uses this email address. You already have a CoachFlux account, and that {provider} account isn't connected to it, so nothing happened."
    ));
    e.paragraphs.push(format!(
        "If it was you: log in as usual, then connect {provider} under Settings → Connected accounts, and it will work next time."
    ));
    e.action = Some(("Log in".into(), login_url.to_owned()));
    e.after
        .push("If this wasn't you, you can ignore this email: your account is unchanged.".into());
    e
}

pub fn password_reset(to: &To<'_>, link: &str) -> Email {
    let mut e = base(to, "password_reset", "Reset your CoachFlux password");
    e.paragraphs
        .push("We got a request to reset the password of your CoachFlux account.".into());
    e.action = Some(("Choose a new password".into(), link.to_owned()));
    e.after.push(
        "The link works once, for 1 hour. If you didn't ask for this, ignore this email: your password stays the same."
            .into(),
    );
    e
}

pub fn password_changed(to: &To<'_>) -> Email {
    let mut e = base(
        to,
        "password_changed",
        "Your CoachFlux password was changed",
    );
    e.paragraphs.push(
        "The password of your CoachFlux account was just changed, and every other device was signed out."
            .into(),
    );
    e.after
        .push("If this wasn't you, reset your password now and contact support.".into());
    e
}

pub fn magic_link(to: &To<'_>, link: &str) -> Email {
    let mut e = base(to, "magic_link", "Your CoachFlux sign-in link");
    e.paragraphs
        .push("Use this link to sign in to CoachFlux. It works once, for 10 minutes, in the browser where you asked for it.".into());
    e.action = Some(("Sign in to CoachFlux".into(), link.to_owned()));
    e.after
        .push("If you didn't ask for this link, you can ignore this email.".into());
    e
}

pub fn new_device(to: &To<'_>, device: &str, ip: &str, when: &str, settings_url: &str) -> Email {
    let mut e = base(to, "new_device", "New sign-in to your CoachFlux account");
    e.paragraphs.push(format!(
        "Your account was just signed in to from a device we haven't seen before: {device} (IP {ip}) at {when}."
    ));
    e.paragraphs.push(
        "If this was you, there's nothing to do. If not, sign that device out and change your password."
            .into(),
    );
    e.action = Some(("Review your devices".into(), settings_url.to_owned()));
    e
}

pub fn role_changed(to: &To<'_>, role: coachflux_domain::account::Role) -> Email {
    use coachflux_domain::account::Role;
    let mut e = base(to, "role_changed", "Your CoachFlux role changed");
    e.paragraphs.push(match role {
        Role::Member => "Your CoachFlux account is a member account again: the staff pages are closed to it.".into(),
        Role::Staff | Role::Admin => format!(
            "Your CoachFlux account is now {}: it can open the staff pages once two-factor authentication is on and you've signed in with it.",
            if role == Role::Admin { "an admin account" } else { "a staff account" }
        ),
    });
    e.after
        .push("If you didn't expect this, reply to this email or contact support.".into());
    e
}

pub fn two_factor_changed(to: &To<'_>, enabled: bool) -> Email {
    let (subject, text) = if enabled {
        (
            "Two-factor authentication is on",
            "Two-factor authentication was turned on for your CoachFlux account. Keep your recovery codes somewhere safe.",
        )
    } else {
        (
            "Two-factor authentication was turned off",
            "Two-factor authentication was turned off for your CoachFlux account. If this wasn't you, reset your password now.",
        )
    };
    let mut e = base(to, "two_factor_changed", subject);
    e.paragraphs.push(text.into());
    e
}

/// A reminder of an action item due soon (list mail: only with `actionReminders` on).
pub fn action_reminder(to: &To<'_>, title: &str, when: &str, actions_url: &str) -> Email {
    let mut e = base(to, "action_reminder", &format!("Reminder: {title}"));
    e.paragraphs
        .push(format!("\u{201c}{title}\u{201d} is due {when}."));
    e.paragraphs
        .push("A small step today keeps the plan moving. Mark it done when it is.".into());
    e.action = Some(("See your actions".into(), actions_url.to_owned()));
    e.list = list_for_template("action_reminder");
    e
}

pub fn deletion_scheduled(to: &To<'_>, erase_on: &str, login_url: &str) -> Email {
    let mut e = base(
        to,
        "deletion_scheduled",
        "Your CoachFlux account will be deleted",
    );
    e.paragraphs.push(format!(
        "We received your request to delete your CoachFlux account. It is switched off now, every device was signed out, and on {erase_on} we will erase your sessions, reflections, action items and everything else that is yours."
    ));
    e.paragraphs.push(
        "Changed your mind? Sign in before then and choose to keep your account: nothing will be lost."
            .into(),
    );
    e.action = Some(("Keep my account".into(), login_url.to_owned()));
    e.after.push(
        "If you didn't ask for this, sign in now to keep your account and change your password."
            .into(),
    );
    e
}

pub fn deletion_canceled(to: &To<'_>) -> Email {
    let mut e = base(to, "deletion_canceled", "Your CoachFlux account is back");
    e.paragraphs.push(
        "You signed in and chose to keep your account, so it will not be deleted. Everything is where you left it."
            .into(),
    );
    e
}

pub fn account_erased(to: &To<'_>) -> Email {
    let mut e = base(
        to,
        "account_erased",
        "Your CoachFlux account has been deleted",
    );
    e.paragraphs.push(
        "As you asked, your CoachFlux account and everything in it (sessions, reflections, action items, notifications, support requests) have now been erased. Usage statistics we keep no longer say anything about you."
            .into(),
    );
    e.after.push(
        "This is the last email we send you. You are welcome back any time with a new account."
            .into(),
    );
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_mail_is_transactional() {
        let to = To {
            email: "ada@example.com",
            user_id: Some("u1"),
            name: Some("Ada"),
        };
        for e in [
            verify_email(&to, "https://x/verify"),
            password_reset(&to, "https://x/reset"),
            magic_link(&to, "https://x/m"),
            password_changed(&to),
        ] {
            assert!(e.list.is_none(), "{} must always be sent", e.template);
            assert_eq!(e.greeting, "Hi Ada,");
        }
        assert_eq!(
            list_for_template("action_reminder"),
            Some(List::ActionReminders)
        );
        assert_eq!(list_for_template("magic_link"), None);
    }

    #[test]
    fn rendering_escapes_html_but_not_text() {
        let to = To {
            email: "a@example.com",
            user_id: None,
            name: Some("<b>Ada</b>"),
        };
        let e = verify_email(&to, "https://coach.example/verify-email?token=abc");
        let (text, html) = super::super::render(&e, "https://coach.example", None);
        assert!(text.contains("Hi <b>Ada</b>,"));
        assert!(!html.contains("<b>Ada</b>"));
        assert!(html.contains("Hi &lt;b&gt;Ada&lt;/b&gt;,"));
        assert!(html.contains("<a href=\"https://coach.example/verify-email?token=abc\""));
        assert!(text.contains("https://coach.example/verify-email?token=abc"));
        assert!(html.contains("https://coach.example/verify-email?token=abc"));
    }
}
