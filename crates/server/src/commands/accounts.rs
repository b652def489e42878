//! Operator tasks on one account: `admin set-role`, `admin reset-2fa`, `admin erase-user` and
//! `export-user`. Each goes through the application's services, with their transaction, audit
//! row and email.

use super::boot;
use crate::startup::StartupError;
use coachflux_app::AppError;
use coachflux_app::config::Config;
use coachflux_app::services::{operator, privacy};
use coachflux_domain::account::Role;

/// One line for the operator: the message a person would read, or what went wrong.
fn say(e: AppError) -> StartupError {
    match e {
        AppError::Invalid(errors) => StartupError(
            errors
                .into_iter()
                .map(|e| e.message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => StartupError(other.to_string()),
    }
}

pub async fn set_role(config: Config, email: &str, role: &str) -> Result<(), StartupError> {
    let role = Role::parse(role)
        .ok_or_else(|| StartupError(format!("--role: {role:?} must be member, staff or admin")))?;
    let booted = boot(config).await?;
    let result = operator::set_role(&booted.state, email, role).await;
    booted.close().await;
    let user = result.map_err(say)?;
    println!("{} is now {role}", user.email);
    if role.is_staff() && !user.totp_enabled {
        println!(
            "they must turn on two-factor authentication (Settings) before opening the staff pages"
        );
    }
    Ok(())
}

pub async fn reset_two_factor(config: Config, email: &str) -> Result<(), StartupError> {
    let booted = boot(config).await?;
    let result = operator::reset_two_factor(&booted.state, email).await;
    booted.close().await;
    let user = result.map_err(say)?;
    println!(
        "two-factor authentication is off for {} and every device is signed out; ask them to set it up again",
        user.email
    );
    Ok(())
}

pub async fn erase(config: Config, email: &str, yes: bool) -> Result<(), StartupError> {
    if !yes {
        return Err(StartupError(format!(
            "erasing {email} cannot be undone: add --yes to confirm"
        )));
    }
    let booted = boot(config).await?;
    let result = async {
        let user = operator::account_by_email(&booted.state, email)
            .await
            .map_err(say)?
            .ok_or_else(|| StartupError(format!("no account has the email {email}")))?;
        let (_, emailed) = privacy::erase_one(
            &booted.state,
            &user.id,
            &user.email,
            user.name.as_deref(),
            None,
            booted.clock.now_ms(),
        )
        .await
        .map_err(|e| StartupError(format!("the erasure failed: {e}")))?
        .ok_or_else(|| StartupError(format!("no account has the email {email}")))?;
        println!(
            "{} is erased{}",
            user.email,
            if emailed {
                "; the final email went out"
            } else {
                " (the final email could not be sent)"
            }
        );
        Ok(())
    }
    .await;
    booted.close().await;
    result
}

pub async fn export(
    config: Config,
    email: &str,
    out: Option<std::path::PathBuf>,
) -> Result<(), StartupError> {
    let booted = boot(config).await?;
    let result = async {
        let user = operator::account_by_email(&booted.state, email)
            .await
            .map_err(say)?
            .ok_or_else(|| StartupError(format!("no account has the email address {email:?}")))?;
        let doc = privacy::export(&booted.state, &user.id)
            .await
            .map_err(|e| StartupError(format!("the export failed: {e}")))?;
        let text = serde_json::to_string_pretty(&doc).map_err(|e| StartupError(e.to_string()))?;
        match out {
            Some(path) => {
                std::fs::write(&path, text + "\n")
                    .map_err(|e| StartupError(format!("cannot write {}: {e}", path.display())))?;
                eprintln!("wrote the export of {email} to {}", path.display());
            }
            None => println!("{text}"),
        }
        Ok(())
    }
    .await;
    booted.close().await;
    result
}
