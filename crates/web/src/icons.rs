//! The icon set, drawn for CoachFlux and shipped in the binary as inline SVG: emoji depend on
//! the reader's fonts (a machine without an emoji font shows empty boxes), these don't. Each
//! icon is a 24-unit line drawing in `currentColor`, hidden from screen readers (the text next
//! to it says what it is).

/// The opening of every icon: size and colour come from the `.icon` rules in the stylesheet.
macro_rules! icon {
    ($class:literal, $body:literal) => {
        concat!(
            r#"<svg class="icon "#,
            $class,
            r#"" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round">"#,
            $body,
            "</svg>"
        )
    };
}

/// A sprout: goals that grow (GROW).
const SPROUT: &str = icon!(
    "icon-grow",
    r#"<path d="M12 21v-9"/><path d="M12 12C12 8 9 6 5 6c0 4 3 6 7 6z"/><path d="M12 10c0-3 2.5-5 6-5 0 3-2.5 5-6 5z"/>"#
);
/// A speech bubble: a conversation about a relationship (CLEAR).
const BUBBLE: &str = icon!(
    "icon-clear",
    r#"<path d="M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/><path d="M8 9h8"/><path d="M8 12.5h5"/>"#
);
/// A compass (COMPASS).
const COMPASS: &str = icon!(
    "icon-compass",
    r#"<circle cx="12" cy="12" r="9"/><path d="M15.5 8.5l-2 5-5 2 2-5z"/>"#
);
/// Two sparkles: what is already working, scaled up (OSKAR).
const SPARKLE: &str = icon!(
    "icon-oskar",
    r#"<path d="M11 3l1.8 5.2L18 10l-5.2 1.8L11 17l-1.8-5.2L4 10l5.2-1.8z"/><path d="M18.5 15l.8 1.7 1.7.8-1.7.8-.8 1.7-.8-1.7-1.7-.8 1.7-.8z"/>"#
);
/// A flame: energy for a conversation that moves someone forward (FUEL).
const FLAME: &str = icon!(
    "icon-fuel",
    r#"<path d="M12 21c-3.5 0-6-2.4-6-5.6 0-3.2 2.4-5 3.5-8.4 1.9 1.4 2.5 3 2.5 4.5 1-.8 1.6-2 1.8-3.3 2.6 1.8 4.2 4.4 4.2 7.2 0 3.2-2.5 5.6-6 5.6z"/>"#
);
/// A target: a wish, its outcome and the plan that hits it (WOOP).
const TARGET: &str = icon!(
    "icon-woop",
    r#"<circle cx="12" cy="12" r="9"/><circle cx="12" cy="12" r="5"/><circle cx="12" cy="12" r="1.5"/>"#
);
/// The brand's diamond, for a framework an operator added.
const DIAMOND: &str = icon!("icon-framework", r#"<path d="M12 3l9 9-9 9-9-9z"/>"#);

/// A padlock: something that needs an account or a plan.
pub const LOCK: &str = icon!(
    "icon-lock",
    r#"<rect x="5" y="11" width="14" height="10" rx="2"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/>"#
);

/// A clock: how long something takes.
pub const CLOCK: &str = icon!(
    "icon-clock",
    r#"<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>"#
);

/// The icon of a framework, by its catalogue id.
pub fn framework(id: &str) -> &'static str {
    match id {
        "GROW" => SPROUT,
        "CLEAR" => BUBBLE,
        "COMPASS" => COMPASS,
        "OSKAR" => SPARKLE,
        "FUEL" => FLAME,
        "WOOP" => TARGET,
        _ => DIAMOND,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_built_in_framework_has_its_own_icon() {
        let catalogue = coachflux_domain::Catalogue::builtin().unwrap();
        let mut seen = std::collections::HashSet::new();
        for fw in &catalogue.frameworks {
            let svg = super::framework(&fw.id);
            assert!(svg.starts_with("<svg class=\"icon ") && svg.ends_with("</svg>"));
            assert!(svg.contains(r#"aria-hidden="true""#));
            assert!(seen.insert(svg), "{} shares an icon", fw.id);
        }
        assert_eq!(super::framework("CUSTOM"), super::DIAMOND);
    }
}
