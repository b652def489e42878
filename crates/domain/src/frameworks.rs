//! The coaching frameworks catalogue: typed data, embedded in the binary from
//! `frameworks.toml`, validated before use.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

const BUILTIN_TOML: &str = include_str!("../frameworks.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    #[serde(rename = "framework")]
    pub frameworks: Vec<Framework>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub expansion: String,
    pub emoji: String,
    pub tagline: String,
    pub description: String,
    pub origin: String,
    pub best_for: Vec<String>,
    pub estimated_time: String,
    pub difficulty: Difficulty,
    pub category: Category,
    pub tags: Vec<String>,
    pub is_available: bool,
    pub coming_soon: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Beginner,
    Intermediate,
    Advanced,
}

impl Difficulty {
    /// As a person reads it, in sentence case.
    pub fn label(self) -> &'static str {
        match self {
            Self::Beginner => "Beginner",
            Self::Intermediate => "Intermediate",
            Self::Advanced => "Advanced",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beginner => "beginner",
            Self::Intermediate => "intermediate",
            Self::Advanced => "advanced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "beginner" => Some(Self::Beginner),
            "intermediate" => Some(Self::Intermediate),
            "advanced" => Some(Self::Advanced),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    General,
    Specialist,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Specialist => "specialist",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "general" => Some(Self::General),
            "specialist" => Some(Self::Specialist),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub description: String,
    pub questions: Vec<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub label: String,
    pub required: bool,
    /// The one question a coach asks to capture exactly this field.
    pub prompt: String,
    /// Asked only of someone who has finished a session of this framework before ("what's
    /// better since last time?" means nothing in a first session).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub returning_only: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// What a field captures, with its limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        max_len: u32,
    },
    List {
        #[serde(default)]
        min_items: u32,
        max_items: u32,
        #[serde(default = "default_item_max_len")]
        item_max_len: u32,
    },
    Scale {
        min: i32,
        max: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_label: Option<String>,
    },
    Choice {
        options: Vec<String>,
    },
    Date,
    /// Action items: title, due date phrase, owner, support.
    Actions {
        #[serde(default)]
        min_items: u32,
        max_items: u32,
    },
    /// Options to weigh: label, pros, cons.
    Options {
        #[serde(default)]
        min_items: u32,
        max_items: u32,
    },
}

fn default_item_max_len() -> u32 {
    200
}

impl FieldKind {
    /// A short human name for the kind, used in pages and prompts.
    pub fn describe(&self) -> String {
        match self {
            Self::Text { max_len } => format!("text, up to {max_len} characters"),
            Self::List { max_items, .. } => format!("a list of up to {max_items} items"),
            Self::Scale { min, max, .. } => format!("a number from {min} to {max}"),
            Self::Choice { options } => format!("one of: {}", options.join(", ")),
            Self::Date => "a date or a phrase like \"by Friday\"".to_owned(),
            Self::Actions { max_items, .. } => format!("up to {max_items} actions with due dates"),
            Self::Options { max_items, .. } => format!("up to {max_items} options to weigh"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueError {
    #[error("frameworks catalogue is not valid TOML: {0}")]
    Parse(String),
    #[error("frameworks catalogue: {0}")]
    Invalid(String),
}

impl Catalogue {
    /// The catalogue shipped inside the binary.
    pub fn builtin() -> Result<Self, CatalogueError> {
        Self::from_toml(BUILTIN_TOML)
    }

    pub fn from_toml(text: &str) -> Result<Self, CatalogueError> {
        let catalogue: Catalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Parse(e.to_string()))?;
        catalogue.validate()?;
        Ok(catalogue)
    }

    pub fn get(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.id == id)
    }

    /// Checks the rules a catalogue must hold for the engine to be able to run it.
    pub fn validate(&self) -> Result<(), CatalogueError> {
        let bad = |msg: String| Err(CatalogueError::Invalid(msg));
        if self.frameworks.is_empty() {
            return bad("no frameworks".into());
        }
        let mut ids = HashSet::new();
        for fw in &self.frameworks {
            let at = &fw.id;
            if fw.id.is_empty()
                || !fw
                    .id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                return bad(format!(
                    "framework id {at:?} must be upper-case letters/digits"
                ));
            }
            if !ids.insert(fw.id.as_str()) {
                return bad(format!("framework {at} appears twice"));
            }
            for (what, value) in [
                ("name", &fw.name),
                ("emoji", &fw.emoji),
                ("tagline", &fw.tagline),
                ("description", &fw.description),
                ("estimated_time", &fw.estimated_time),
            ] {
                if value.trim().is_empty() {
                    return bad(format!("{at}: {what} is empty"));
                }
            }
            if fw.best_for.is_empty() {
                return bad(format!("{at}: best_for is empty"));
            }
            if fw.steps.is_empty() {
                return bad(format!("{at}: no steps"));
            }
            let mut step_ids = HashSet::new();
            let mut field_ids = HashSet::new();
            for step in &fw.steps {
                let at = format!("{at}/{}", step.id);
                if !step_ids.insert(step.id.as_str()) {
                    return bad(format!("{at}: step id appears twice"));
                }
                if !(2..=4).contains(&step.questions.len()) {
                    return bad(format!(
                        "{at}: has {} questions, expected 2 to 4",
                        step.questions.len()
                    ));
                }
                if step.fields.is_empty() {
                    return bad(format!("{at}: captures no field"));
                }
                for field in &step.fields {
                    let at = format!("{at}/{}", field.id);
                    if !field_ids.insert(field.id.as_str()) {
                        return bad(format!("{at}: field id appears twice in the framework"));
                    }
                    if field.prompt.trim().is_empty() || field.label.trim().is_empty() {
                        return bad(format!("{at}: label and prompt are required"));
                    }
                    match &field.kind {
                        FieldKind::Text { max_len } if *max_len == 0 => {
                            return bad(format!("{at}: max_len must be positive"));
                        }
                        FieldKind::List {
                            min_items,
                            max_items,
                            ..
                        }
                        | FieldKind::Actions {
                            min_items,
                            max_items,
                        }
                        | FieldKind::Options {
                            min_items,
                            max_items,
                        } if max_items < min_items || *max_items == 0 => {
                            return bad(format!("{at}: item limits are inconsistent"));
                        }
                        FieldKind::Scale { min, max, .. } if min >= max => {
                            return bad(format!("{at}: scale min must be below max"));
                        }
                        FieldKind::Choice { options } if options.len() < 2 => {
                            return bad(format!("{at}: a choice needs at least two options"));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> Catalogue {
        Catalogue::builtin().expect("the shipped catalogue is valid")
    }

    #[test]
    fn ships_the_six_frameworks_in_order() {
        let ids: Vec<_> = builtin().frameworks.into_iter().map(|f| f.id).collect();
        assert_eq!(ids, ["GROW", "CLEAR", "COMPASS", "OSKAR", "FUEL", "WOOP"]);
    }

    #[test]
    fn steps_follow_each_model() {
        let cat = builtin();
        let names = |id: &str| -> Vec<String> {
            cat.get(id)
                .unwrap()
                .steps
                .iter()
                .map(|s| s.name.clone())
                .collect()
        };
        assert_eq!(
            names("GROW"),
            ["Goal", "Reality", "Options", "Will", "Review"]
        );
        assert_eq!(names("COMPASS").len(), 4);
        assert_eq!(names("WOOP"), ["Wish", "Outcome", "Obstacle", "Plan"]);
        assert_eq!(names("CLEAR").len(), 5);
        assert_eq!(names("OSKAR").len(), 5);
        assert_eq!(names("FUEL").len(), 4);
    }

    #[test]
    fn typed_fields_match_the_brief() {
        let cat = builtin();
        let field = |fw: &str, id: &str| -> Field {
            cat.get(fw)
                .unwrap()
                .steps
                .iter()
                .flat_map(|s| s.fields.iter())
                .find(|f| f.id == id)
                .unwrap_or_else(|| panic!("{fw} has no field {id}"))
                .clone()
        };
        assert!(field("GROW", "goal").required);
        assert!(matches!(
            field("GROW", "commitment").kind,
            FieldKind::Scale {
                min: 1,
                max: 10,
                ..
            }
        ));
        assert!(matches!(
            field("GROW", "actions").kind,
            FieldKind::Actions { .. }
        ));
        assert!(matches!(
            field("OSKAR", "current_scale").kind,
            FieldKind::Scale {
                min: 0,
                max: 10,
                ..
            }
        ));
        match field("COMPASS", "final_mindset").kind {
            FieldKind::Choice { options } => {
                assert_eq!(options, ["resistant", "neutral", "open", "engaged"])
            }
            other => panic!("final_mindset should be a choice, got {other:?}"),
        }
    }

    #[test]
    fn rejects_a_step_with_one_question() {
        let mut cat = builtin();
        cat.frameworks[0].steps[0].questions.truncate(1);
        let err = cat.validate().unwrap_err();
        assert!(err.to_string().contains("expected 2 to 4"), "{err}");
    }

    #[test]
    fn rejects_duplicate_framework_ids() {
        let mut cat = builtin();
        let copy = cat.frameworks[0].clone();
        cat.frameworks.push(copy);
        assert!(cat.validate().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn malformed_toml_is_a_parse_error() {
        assert!(matches!(
            Catalogue::from_toml("[[framework]]\nid = 3"),
            Err(CatalogueError::Parse(_))
        ));
    }

    #[test]
    fn field_kinds_round_trip_through_json() {
        let cat = builtin();
        let json = serde_json::to_string(&cat.frameworks[0].steps).unwrap();
        let back: Vec<Step> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cat.frameworks[0].steps);
    }
}
