//! Pure CoachFlux types and rules. Nothing in here touches the network, the disk or the
//! database, so every rule can be unit-tested directly.

pub mod clock;
pub mod frameworks;
pub mod ids;
pub mod random;

pub use clock::{Clock, FixedClock, SharedClock, SystemClock};
pub use frameworks::{Catalogue, CatalogueError, Field, FieldKind, Framework, Step};
