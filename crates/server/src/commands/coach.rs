//! `coachflux coach check`: one tiny request to the configured model endpoint.

use crate::startup::{self, StartupError};
use coachflux_app::config::{Config, redact_url};
use coachflux_app::services::llm::{self, CallError};

pub async fn check(config: Config) -> Result<(), StartupError> {
    let Some(openai) = &config.openai else {
        println!("the built-in coach is in use (set COACHFLUX_COACH=openai to use a model)");
        return Ok(());
    };
    startup::install_crypto_provider();
    println!(
        "asking {} at {} ...",
        openai.model,
        redact_url(&openai.base_url)
    );
    let call = llm::check(openai).await;
    match call.result {
        Ok(c) => {
            println!(
                "ok: answered in {} ms ({} prompt + {} completion tokens)",
                call.latency_ms, c.prompt_tokens, c.completion_tokens
            );
            Ok(())
        }
        Err(e) => {
            let hint = match &e {
                CallError::Http {
                    status: 401 | 403, ..
                } => " (check COACHFLUX_OPENAI_API_KEY)",
                CallError::Http { status: 404, .. } => {
                    " (check COACHFLUX_OPENAI_MODEL and COACHFLUX_OPENAI_BASE_URL, which usually ends in /v1)"
                }
                CallError::Unreachable(_) => {
                    " (check COACHFLUX_OPENAI_BASE_URL and that the server is running)"
                }
                _ => "",
            };
            Err(StartupError(format!("{e}{hint}")))
        }
    }
}
