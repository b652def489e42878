//! The `coachflux` subcommands, one module each, over one bootstrap: configuration, then the
//! data directory and server key, then the migrated store, then the application context.

mod accounts;
mod backups;
mod coach;
mod dev;
mod jobs;
mod migrate;
mod serve;

use crate::cli::{AdminCommand, Command};
use crate::startup::{self, StartupError};
use coachflux_app::AppState;
use coachflux_app::config::Config;
use coachflux_domain::{SharedClock, SystemClock};
use coachflux_store::Store;
use std::sync::Arc;

/// Runs one command (serving when none was given).
pub async fn run(config: Config, command: Option<Command>) -> Result<(), StartupError> {
    match command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(config).await,
        Command::Migrate => migrate::run(config).await,
        Command::Config { markdown: true } => {
            print!("{}", Config::reference_markdown());
            Ok(())
        }
        Command::Config { markdown: false } => {
            for (key, value) in config.redacted_lines() {
                println!("{key} = {value}");
            }
            Ok(())
        }
        Command::Admin(AdminCommand::SetRole { email, role }) => {
            accounts::set_role(config, &email, &role).await
        }
        Command::Admin(AdminCommand::Reset2fa { email }) => {
            accounts::reset_two_factor(config, &email).await
        }
        Command::Admin(AdminCommand::EraseUser { email, yes }) => {
            accounts::erase(config, &email, yes).await
        }
        Command::ExportUser { email, out } => accounts::export(config, &email, out).await,
        Command::Coach(crate::cli::CoachCommand::Check) => coach::check(config).await,
        Command::Jobs(cmd) => jobs::run(config, cmd).await,
        Command::Dev(cmd) => dev::run(config, cmd).await,
        Command::Backup { to } => backups::backup(config, to).await,
        Command::Restore {
            file,
            force,
            ledger_from,
        } => backups::restore(config, &file, force, ledger_from.as_deref()).await,
    }
}

/// What a command works with: the application context and the store beneath it (for the
/// operations only an operator runs on the database itself: migrations, backups).
pub(crate) struct Booted {
    pub state: AppState,
    pub store: Store,
    pub clock: SharedClock,
}

impl Booted {
    /// Closes the database pool (commands end with it).
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// Prepares the data directory, opens and migrates the store, and builds the context.
pub(crate) async fn boot(mut config: Config) -> Result<Booted, StartupError> {
    startup::prepare_data_dir(&mut config)?;
    let clock: SharedClock = Arc::new(SystemClock);
    let store = startup::open_store(&config, &clock).await?;
    let state = AppState::new(config, store.clone(), clock.clone()).map_err(StartupError)?;
    Ok(Booted {
        state,
        store,
        clock,
    })
}
