//! Pure CoachFlux types and rules. Nothing in here touches the network, the disk or the
//! database, so every rule can be unit-tested directly.

pub mod account;
pub mod clock;
pub mod coach;
pub mod compass;
pub mod dates;
pub mod email;
pub mod engine;
pub mod frameworks;
pub mod ical;
pub mod ids;
pub mod jobs;
pub mod listen;
pub mod llm;
pub mod markdown;
pub mod paging;
pub mod password;
pub mod random;
pub mod recommend;
pub mod request;
pub mod safety;
pub mod text;
pub mod totp;

pub use clock::{Clock, FixedClock, SharedClock, SystemClock};
pub use email::{EmailAddress, EmailError};
pub use frameworks::{Catalogue, CatalogueError, Field, FieldKind, Framework, Step};
