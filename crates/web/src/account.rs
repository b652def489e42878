//! Sign-up, sign-in (password, magic link, second factor), sign-out, password reset, email
//! verification and unsubscribe pages.

use super::flash::{Flash, redirect_with};
use super::forms::{
    FormErrors, SIGNED_IN_HOME, checked, clear_cookie, form_errors, rotate_csrf, set_cookie,
    set_session_cookies, sign_in_next,
};
use super::{Layout, PageCtx};
use crate::who::MaybeUser;
use crate::who::RequireUser;
use crate::who::{PageError, PageResult};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use coachflux_app::AppError;
use coachflux_app::AppState;
use coachflux_app::services::accounts::{self, LoginOutcome, SignupInput, Started};
use coachflux_app::services::oidc;
use coachflux_http::Meta;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup_submit))
        .route("/signup/sent", get(signup_sent))
        .route("/login", get(login_page).post(login_submit))
        .route("/login/2fa", get(two_factor_page).post(two_factor_submit))
        .route("/account/keep", post(keep_account_submit))
        .route("/login/magic", get(magic_page).post(magic_submit))
        .route(
            "/login/magic/confirm",
            get(magic_confirm_page).post(magic_confirm_submit),
        )
        .route("/logout", post(logout))
        .route("/forgot-password", get(forgot_page).post(forgot_submit))
        .route("/reset-password", get(reset_page).post(reset_submit))
        .route("/verify-email", get(verify_page).post(verify_submit))
        .route("/verify-email/resend", post(resend_verification))
        .route(
            "/unsubscribe",
            get(unsubscribe_page).post(unsubscribe_submit),
        )
        .route("/auth/oidc/{provider}/start", get(oidc_start))
        .route("/auth/oidc/{provider}/callback", get(oidc_callback))
}

/// The configured sign-in providers, as (name, label) for buttons.
fn providers(state: &AppState) -> Vec<(String, String)> {
    state
        .config
        .oidc
        .iter()
        .map(|p| (p.name.clone(), p.label.clone()))
        .collect()
}

/// A page with a heading and a few sentences ("Check your email").
#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
struct Notice {
    l: Layout,
    heading: String,
    paragraphs: Vec<String>,
    link: Option<(String, String)>,
}

fn notice(
    ctx: &PageCtx,
    heading: &str,
    paragraphs: Vec<String>,
    link: Option<(&str, &str)>,
) -> Notice {
    Notice {
        l: ctx.layout(format!("{heading} — CoachFlux"), "account"),
        heading: heading.to_owned(),
        paragraphs,
        link: link.map(|(a, b)| (a.to_owned(), b.to_owned())),
    }
}

fn with_status(status: StatusCode, page: impl IntoResponse) -> Response {
    let mut r = page.into_response();
    *r.status_mut() = status;
    r
}

/// After any successful sign-in: cookies, clear pending state, go on. Signs the browser in and goes `to` where the person was going; a visitor whose session the
/// sign-in saved, going nowhere in particular, lands on it (its report once closed), told so.
fn signed_in(state: &AppState, started: &Started, to: &str, flash: Flash) -> Response {
    let mut r = match &started.saved {
        // Going nowhere in particular: to the session they just saved.
        Some(saved) if to == "/" || to == SIGNED_IN_HOME => {
            let told = if flash == Flash::Welcome {
                Flash::WelcomeSaved
            } else {
                Flash::SavedToAccount
            };
            redirect_with(state, &saved.path(), told)
        }
        _ => redirect_with(state, to, flash),
    };
    set_session_cookies(state, &mut r, started);
    clear_cookie(state, &mut r, state.cookies.two_factor);
    r
}

/// Where a sign-in that needs a second factor goes.
fn to_two_factor(state: &AppState, pending: String, next: &str) -> Response {
    let mut r = Redirect::to(&format!(
        "/login/2fa?next={}",
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    ))
    .into_response();
    set_cookie(
        state,
        &mut r,
        state.cookies.two_factor,
        pending,
        accounts::TWO_FACTOR_PENDING_MS,
    );
    r
}

// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
struct SignupPage {
    l: Layout,
    providers: Vec<(String, String)>,
    email: String,
    name: String,
    /// The terms box stays as the person left it when the form comes back with an error.
    accept_terms: bool,
    errors: FormErrors,
}

async fn signup_page(State(state): State<AppState>, ctx: PageCtx) -> Response {
    if ctx.user.is_some() {
        return Redirect::to("/settings").into_response();
    }
    SignupPage {
        providers: providers(&state),
        l: ctx.layout("Create your account — CoachFlux", "signup"),
        email: String::new(),
        name: String::new(),
        accept_terms: false,
        errors: FormErrors::default(),
    }
    .into_response()
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    name: Option<String>,
    accept_terms: Option<String>,
}

async fn signup_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    Form(f): Form<SignupForm>,
) -> PageResult {
    let input = SignupInput {
        email: f.email.clone(),
        password: f.password,
        name: f.name.clone(),
        accept_terms: checked(&f.accept_terms),
    };
    match accounts::signup(&state, &meta, input).await {
        // The same answer for a new address and a taken one.
        Ok(accounts::SignupSent { binding }) => {
            let mut r = Redirect::to("/signup/sent").into_response();
            set_cookie(
                &state,
                &mut r,
                state.cookies.signup,
                binding,
                accounts::VERIFY_TTL_MS,
            );
            Ok(r)
        }
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                SignupPage {
                    providers: providers(&state),
                    l: ctx.layout("Create your account — CoachFlux", "signup"),
                    email: f.email,
                    name: f.name.unwrap_or_default(),
                    accept_terms: checked(&f.accept_terms),
                    errors,
                },
            ))
        }
    }
}

async fn signup_sent(ctx: PageCtx) -> Response {
    notice(
        &ctx,
        "Check your email",
        vec![
            "We've sent a message to the address you gave, with what to do next. Open the link in it in this browser and you'll be signed in.".into(),
            "It can take a minute to arrive. Check your spam folder if you don't see it.".into(),
        ],
        Some(("Back to sign in", "/login")),
    )
    .into_response()
}

// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    l: Layout,
    providers: Vec<(String, String)>,
    email: String,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = sign_in_next(q.next.as_deref());
    if ctx.user.is_some() {
        return Redirect::to(&next).into_response();
    }
    LoginPage {
        providers: providers(&state),
        l: ctx.layout("Sign in — CoachFlux", "login"),
        email: String::new(),
        next,
        errors: FormErrors::default(),
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "keep_account.html")]
struct KeepAccountPage {
    l: Layout,
    restore: String,
    erase_on: String,
    errors: FormErrors,
}

/// After a full sign-in to an account waiting for deletion: offer to keep it.
fn keep_account_page(state: &AppState, ctx: &PageCtx, restore: String, erase_at: i64) -> Response {
    let mut r = KeepAccountPage {
        l: ctx.layout("Keep your account? — CoachFlux", "login"),
        restore,
        erase_on: coachflux_domain::dates::moment(erase_at, ctx.zone),
        errors: FormErrors::default(),
    }
    .into_response();
    clear_cookie(state, &mut r, state.cookies.two_factor);
    r
}

#[derive(Deserialize)]
struct KeepForm {
    #[serde(default)]
    restore: String,
}

async fn keep_account_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    Form(f): Form<KeepForm>,
) -> PageResult {
    match coachflux_app::services::privacy::keep_account(&state, &meta, &f.restore).await {
        Ok(started) => Ok(signed_in(
            &state,
            &started,
            "/dashboard",
            Flash::AccountKept,
        )),
        Err(AppError::Invalid(errors)) => Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            KeepAccountPage {
                l: ctx.layout("Keep your account? — CoachFlux", "login"),
                restore: String::new(),
                erase_on: "the date in your email".into(),
                errors: FormErrors(errors),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let next = sign_in_next(f.next.as_deref());
    match accounts::login(&state, &meta, &f.email, f.password, checked(&f.remember)).await {
        Ok(LoginOutcome::Started(started)) => {
            Ok(signed_in(&state, &started, &next, Flash::SignedIn))
        }
        Ok(LoginOutcome::TwoFactor { pending }) => Ok(to_two_factor(&state, pending, &next)),
        Ok(LoginOutcome::DeletionPending { restore, erase_at }) => {
            Ok(keep_account_page(&state, &ctx, restore, erase_at))
        }
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                LoginPage {
                    providers: providers(&state),
                    l: ctx.layout("Sign in — CoachFlux", "login"),
                    email: f.email,
                    next,
                    errors,
                },
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "login_2fa.html")]
struct TwoFactorPage {
    l: Layout,
    next: String,
    errors: FormErrors,
}

fn pending_cookie(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(state.cookies.two_factor)
        .map(|c| c.value().to_owned())
}

async fn two_factor_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> PageResult {
    let open = match pending_cookie(&state, &jar) {
        Some(p) => accounts::challenge_is_open(&state, &p).await?,
        None => false,
    };
    if !open {
        return Ok(Redirect::to("/login").into_response());
    }
    Ok(TwoFactorPage {
        l: ctx.layout("Two-factor sign-in — CoachFlux", "login"),
        next: sign_in_next(q.next.as_deref()),
        errors: FormErrors::default(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn two_factor_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> PageResult {
    let next = sign_in_next(f.next.as_deref());
    let Some(pending) = pending_cookie(&state, &jar) else {
        return Ok(Redirect::to("/login").into_response());
    };
    match accounts::complete_two_factor(&state, &meta, &pending, &f.code).await {
        Ok(LoginOutcome::Started(started)) => {
            Ok(signed_in(&state, &started, &next, Flash::SignedIn))
        }
        Ok(LoginOutcome::DeletionPending { restore, erase_at }) => {
            Ok(keep_account_page(&state, &ctx, restore, erase_at))
        }
        Ok(LoginOutcome::TwoFactor { pending }) => Ok(to_two_factor(&state, pending, &next)),
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                TwoFactorPage {
                    l: ctx.layout("Two-factor sign-in — CoachFlux", "login"),
                    next,
                    errors,
                },
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "email_form.html")]
struct EmailFormPage {
    l: Layout,
    heading: &'static str,
    intro: &'static str,
    action: &'static str,
    button: &'static str,
    email: String,
    errors: FormErrors,
}

fn magic_form(ctx: &PageCtx, email: String, errors: FormErrors) -> EmailFormPage {
    EmailFormPage {
        l: ctx.layout("Sign in with an email link — CoachFlux", "login"),
        heading: "Sign in with an email link",
        intro: "We'll email you a link that signs you in. It works once, for 10 minutes, in this browser.",
        action: "/login/magic",
        button: "Email me a sign-in link",
        email,
        errors,
    }
}

async fn magic_page(ctx: PageCtx) -> Response {
    magic_form(&ctx, String::new(), FormErrors::default()).into_response()
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

fn check_email(ctx: &PageCtx, what: &str) -> Notice {
    notice(
        ctx,
        "Check your email",
        vec![
            format!("If an account exists for that address, we've sent it {what}."),
            "It can take a minute to arrive. Check your spam folder if you don't see it.".into(),
        ],
        Some(("Back to sign in", "/login")),
    )
}

async fn magic_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    Form(f): Form<EmailForm>,
) -> PageResult {
    match accounts::request_magic_link(&state, &meta, &f.email).await {
        Ok(binding) => {
            let mut r = check_email(&ctx, "a sign-in link").into_response();
            set_cookie(
                &state,
                &mut r,
                state.cookies.magic,
                binding,
                accounts::MAGIC_TTL_MS,
            );
            Ok(r)
        }
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                magic_form(&ctx, f.email, errors),
            ))
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "confirm_token.html")]
struct ConfirmTokenPage {
    l: Layout,
    heading: &'static str,
    intro: &'static str,
    action: &'static str,
    button: &'static str,
    token: String,
}

/// Links in emails open a page with a button: a GET never changes anything (mail scanners
/// follow links), the POST does.
async fn magic_confirm_page(ctx: PageCtx, Query(q): Query<TokenQuery>) -> Response {
    ConfirmTokenPage {
        l: ctx.layout("Sign in — CoachFlux", "login"),
        heading: "Sign in to CoachFlux",
        intro: "Continue to sign in with the link from your email.",
        action: "/login/magic/confirm",
        button: "Sign me in",
        token: q.token,
    }
    .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

async fn magic_confirm_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(f): Form<TokenForm>,
) -> PageResult {
    let binding = jar.get(state.cookies.magic).map(|c| c.value().to_owned());
    let outcome = accounts::consume_magic_link(&state, &meta, &f.token, binding.as_deref()).await?;
    let mut r = match outcome {
        Some(LoginOutcome::Started(started)) => {
            signed_in(&state, &started, SIGNED_IN_HOME, Flash::SignedIn)
        }
        Some(LoginOutcome::TwoFactor { pending }) => to_two_factor(&state, pending, SIGNED_IN_HOME),
        Some(LoginOutcome::DeletionPending { restore, erase_at }) => {
            keep_account_page(&state, &ctx, restore, erase_at)
        }
        None => redirect_with(&state, "/login/magic", Flash::LinkInvalid),
    };
    clear_cookie(&state, &mut r, state.cookies.magic);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------

async fn logout(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Meta(meta): Meta,
) -> PageResult {
    if let Some(current) = user {
        accounts::logout(&state, &meta, &current.user.id, &current.session_id).await?;
    }
    let mut r = redirect_with(&state, "/", Flash::SignedOut);
    clear_cookie(&state, &mut r, state.cookies.session);
    rotate_csrf(&state, &mut r);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------

fn forgot_form(ctx: &PageCtx, email: String, errors: FormErrors) -> EmailFormPage {
    EmailFormPage {
        l: ctx.layout("Reset your password — CoachFlux", "login"),
        heading: "Reset your password",
        intro: "Enter the email address of your account and we'll send you a link to choose a new password.",
        action: "/forgot-password",
        button: "Send me a reset link",
        email,
        errors,
    }
}

async fn forgot_page(ctx: PageCtx) -> Response {
    forgot_form(&ctx, String::new(), FormErrors::default()).into_response()
}

async fn forgot_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    Form(f): Form<EmailForm>,
) -> PageResult {
    match accounts::request_password_reset(&state, &meta, &f.email).await {
        Ok(()) => Ok(check_email(&ctx, "a link to reset the password").into_response()),
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                forgot_form(&ctx, f.email, errors),
            ))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reset.html")]
struct ResetPage {
    l: Layout,
    token: String,
    errors: FormErrors,
}

async fn reset_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<TokenQuery>,
) -> PageResult {
    if !accounts::reset_link_is_valid(&state, &q.token).await? {
        return Ok(redirect_with(
            &state,
            "/forgot-password",
            Flash::LinkInvalid,
        ));
    }
    Ok(ResetPage {
        l: ctx.layout("Choose a new password — CoachFlux", "login"),
        token: q.token,
        errors: FormErrors::default(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn reset_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    Form(f): Form<ResetForm>,
) -> PageResult {
    match accounts::reset_password(&state, &meta, &f.token, f.password).await {
        Ok(true) => {
            let mut r = redirect_with(&state, "/login", Flash::PasswordReset);
            clear_cookie(&state, &mut r, state.cookies.session);
            Ok(r)
        }
        Ok(false) => Ok(redirect_with(
            &state,
            "/forgot-password",
            Flash::LinkInvalid,
        )),
        Err(e) => {
            let errors = form_errors(e)?;
            Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                ResetPage {
                    l: ctx.layout("Choose a new password — CoachFlux", "login"),
                    token: f.token,
                    errors,
                },
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------

async fn verify_page(ctx: PageCtx, Query(q): Query<TokenQuery>) -> Response {
    ConfirmTokenPage {
        l: ctx.layout("Confirm your email — CoachFlux", "account"),
        heading: "Confirm your email address",
        intro: "One click and your address is confirmed.",
        action: "/verify-email",
        button: "Confirm my email",
        token: q.token,
    }
    .into_response()
}

async fn verify_submit(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Meta(meta): Meta,
    jar: CookieJar,
    Form(f): Form<TokenForm>,
) -> PageResult {
    let to = if user.is_some() {
        "/settings"
    } else {
        "/login"
    };
    // The browser that signed up is signed in by its link; one already signed in stays as is.
    let binding = user
        .is_none()
        .then(|| jar.get(state.cookies.signup).map(|c| c.value().to_owned()))
        .flatten();
    let mut r = match accounts::verify_email(&state, &meta, &f.token, binding.as_deref()).await? {
        Some(accounts::Verified::SignedIn(started)) => {
            signed_in(&state, &started, "/", Flash::Welcome)
        }
        Some(accounts::Verified::Email) => redirect_with(&state, to, Flash::EmailVerified),
        Some(accounts::Verified::EmailChanged) => redirect_with(&state, to, Flash::EmailChanged),
        None => redirect_with(&state, to, Flash::LinkInvalid),
    };
    if binding.is_some() {
        clear_cookie(&state, &mut r, state.cookies.signup);
    }
    Ok(r)
}

async fn resend_verification(
    State(state): State<AppState>,
    RequireUser(current): RequireUser,
) -> PageResult {
    accounts::resend_verification(&state, &current.user).await?;
    Ok(redirect_with(&state, "/settings", Flash::VerificationSent))
}

// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct UnsubscribeQuery {
    #[serde(default)]
    u: String,
    #[serde(default)]
    l: String,
    #[serde(default)]
    s: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    l: Layout,
    list_label: &'static str,
    q_u: String,
    q_l: String,
    q_s: String,
    done: bool,
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<UnsubscribeQuery>,
) -> PageResult {
    let list = coachflux_app::mail::List::parse(&q.l).ok_or(AppError::NotFound)?;
    if !state
        .keys
        .verify(&format!("unsubscribe:{}:{}", q.u, q.l), &q.s)
    {
        return Err(AppError::NotFound.into());
    }
    Ok(UnsubscribePage {
        l: ctx.layout("Unsubscribe — CoachFlux", "account"),
        list_label: list.label(),
        q_u: q.u,
        q_l: q.l,
        q_s: q.s,
        done: false,
    }
    .into_response())
}

/// Both the page's button and mail clients' RFC 8058 one-click POST land here. The signed URL
/// (query string) authorises it.
async fn unsubscribe_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<UnsubscribeQuery>,
) -> PageResult {
    let list = accounts::unsubscribe(&state, &q.u, &q.l, &q.s).await?;
    Ok(UnsubscribePage {
        l: ctx.layout("Unsubscribed — CoachFlux", "account"),
        list_label: list.label(),
        q_u: q.u,
        q_l: q.l,
        q_s: q.s,
        done: true,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect

#[derive(Deserialize)]
struct OidcStartQuery {
    next: Option<String>,
    link: Option<String>,
}

async fn oidc_start(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    axum::extract::Path(name): axum::extract::Path<String>,
    Query(q): Query<OidcStartQuery>,
) -> PageResult {
    let linking = checked(&q.link);
    let link = match (&user, linking) {
        (Some(c), true) => Some(c),
        (None, true) => {
            return Err(PageError::SignIn {
                next: "/settings#connected".to_owned(),
            });
        }
        _ => None,
    };
    let next = if linking {
        "/settings#connected".to_owned()
    } else {
        sign_in_next(q.next.as_deref())
    };
    let (url, sealed) = match oidc::start(&state, &name, &next, link).await {
        Ok(started) => started,
        Err(AppError::ReauthRequired) => {
            return Ok(crate::who::confirm_first(&state, "/settings#connected"));
        }
        Err(e) => return Err(e.into()),
    };
    let mut r = Redirect::to(&url).into_response();
    set_cookie(
        &state,
        &mut r,
        state.cookies.oidc,
        sealed,
        oidc::FLOW_TTL_MS,
    );
    Ok(r)
}

async fn oidc_callback(
    State(state): State<AppState>,
    ctx: PageCtx,
    Meta(meta): Meta,
    jar: CookieJar,
    MaybeUser(user): MaybeUser,
    axum::extract::Path(name): axum::extract::Path<String>,
    Query(callback): Query<oidc::Callback>,
) -> PageResult {
    let cookie = jar.get(state.cookies.oidc).map(|c| c.value().to_owned());
    let result = oidc::finish(
        &state,
        &meta,
        &name,
        callback,
        cookie.as_deref(),
        user.as_ref(),
    )
    .await;
    let mut r = match result {
        Ok(oidc::Finished::SignedIn(LoginOutcome::Started(started), next)) => {
            signed_in(&state, &started, &next, Flash::SignedIn)
        }
        Ok(oidc::Finished::SignedIn(LoginOutcome::TwoFactor { pending }, next)) => {
            to_two_factor(&state, pending, &next)
        }
        Ok(oidc::Finished::SignedIn(LoginOutcome::DeletionPending { restore, erase_at }, _)) => {
            keep_account_page(&state, &ctx, restore, erase_at)
        }
        Ok(oidc::Finished::Linked) => {
            redirect_with(&state, "/settings#connected", Flash::IdentityLinked)
        }
        Ok(oidc::Finished::CheckEmail { binding }) => {
            let mut r = notice(
                &ctx,
                "Check your email",
                vec![
                    "We've sent a message to the address your provider shared, with what to do next.".into(),
                    "It can take a minute to arrive. Check your spam folder if you don't see it.".into(),
                ],
                Some(("Back to sign in", "/login")),
            )
            .into_response();
            set_cookie(
                &state,
                &mut r,
                state.cookies.signup,
                binding,
                accounts::VERIFY_TTL_MS,
            );
            r
        }
        Err(AppError::Invalid(errors)) => {
            let text = errors.into_iter().map(|e| e.message).collect::<Vec<_>>();
            with_status(
                StatusCode::BAD_REQUEST,
                notice(
                    &ctx,
                    "Sign-in didn't work",
                    text,
                    Some(("Back to log in", "/login")),
                ),
            )
        }
        Err(e) => return Err(e.into()),
    };
    clear_cookie(&state, &mut r, state.cookies.oidc);
    Ok(r)
}
