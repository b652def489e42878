//! The COMPASS composite success score, exactly as FRAMEWORKS.md defines it.
//!
//! A 1-10 value v is normalised as n(v) = (v − 1) / 9 × 100. Parts: confidence growth =
//! clamp(n(final) − n(initial) + 50, 0, 100), action = n(final action clarity), mindset =
//! resistant 25 / neutral 50 / open 75 / engaged 100, satisfaction = n(satisfaction),
//! commitment = n(action commitment). Each part is rounded before weighting 0.3, 0.3, 0.2, 0.1,
//! 0.1, and the total is rounded.
//!
//! One adaptation: on the high-confidence path (starting confidence 8 or more), the growth
//! part is at least n(final) while they stay at 8 or more, so a person who starts confident
//! and stays there is not scored as if nothing happened (9 → 9 gives 89, not 50).
//!
//! The arithmetic is done in integers: parts as ninths and the total as tenths. With floats,
//! 0.3 and 0.1 are inexact, so a total of exactly x.5 can land either side and flip a band.
//! Ninths never end in exactly one half (9 is odd), so "nearest" is never a tie for the parts;
//! the total's ties round up, as they would by hand.

/// Where a total falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Excellent,
    Good,
    Fair,
    Marginal,
    Insufficient,
}

impl Band {
    /// ≥85 excellent, ≥70 good, ≥50 fair, ≥30 marginal, else insufficient.
    pub fn from_total(total: i32) -> Self {
        match total {
            85.. => Band::Excellent,
            70..=84 => Band::Good,
            50..=69 => Band::Fair,
            30..=49 => Band::Marginal,
            _ => Band::Insufficient,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Band::Excellent => "excellent",
            Band::Good => "good",
            Band::Fair => "fair",
            Band::Marginal => "marginal",
            Band::Insufficient => "insufficient",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Band::Excellent => "Excellent",
            Band::Good => "Good",
            Band::Fair => "Fair",
            Band::Marginal => "Marginal",
            Band::Insufficient => "Insufficient",
        }
    }
}

/// The parts (each 0-100) and the total, so pages can show the parts, not only the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompassScore {
    pub confidence_growth: i32,
    pub action: i32,
    pub mindset: i32,
    pub satisfaction: i32,
    pub commitment: i32,
    pub total: i32,
    pub band: Band,
}

/// The COMPASS answers the score needs: 1-10 scales and the final mindset choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompassInputs<'a> {
    pub initial_confidence: i32,
    pub final_confidence: i32,
    pub final_action_clarity: i32,
    pub final_mindset: &'a str,
    pub satisfaction: i32,
    pub action_commitment: i32,
}

/// A starting confidence from which COMPASS takes the high-confidence path.
pub const HIGH_CONFIDENCE: i32 = 8;

/// `None` when a value is out of 1..=10 or the mindset is not one of resistant, neutral, open,
/// engaged (case and surrounding spaces are ignored).
pub fn score(inputs: &CompassInputs<'_>) -> Option<CompassScore> {
    let scales = [
        inputs.initial_confidence,
        inputs.final_confidence,
        inputs.final_action_clarity,
        inputs.satisfaction,
        inputs.action_commitment,
    ];
    if !scales.iter().all(|v| (1..=10).contains(v)) {
        return None;
    }
    let mindset = mindset_part(inputs.final_mindset)?;
    // n(f) − n(i) + 50 = (100 (f − i) + 450) / 9; clamping the numerator to 0..=900 is
    // clamping the part to 0..=100.
    let growth_ninths = 100 * (inputs.final_confidence - inputs.initial_confidence) + 450;
    let mut confidence_growth = round_ninths(growth_ninths.clamp(0, 900));
    // The high-confidence path: someone who starts at 8 or more has little room to grow, and
    // keeping that confidence is the success. While they stay at 8 or more, their growth part
    // is at least where they end; a fall below 8 is scored as written.
    if inputs.initial_confidence >= HIGH_CONFIDENCE && inputs.final_confidence >= HIGH_CONFIDENCE {
        confidence_growth = confidence_growth.max(normalised(inputs.final_confidence));
    }
    let action = normalised(inputs.final_action_clarity);
    let satisfaction = normalised(inputs.satisfaction);
    let commitment = normalised(inputs.action_commitment);
    let weighted_tenths =
        3 * confidence_growth + 3 * action + 2 * mindset + satisfaction + commitment;
    let total = (weighted_tenths + 5) / 10;
    Some(CompassScore {
        confidence_growth,
        action,
        mindset,
        satisfaction,
        commitment,
        total,
        band: Band::from_total(total),
    })
}

/// n(v) = (v − 1) / 9 × 100, rounded, for v in 1..=10.
fn normalised(v: i32) -> i32 {
    round_ninths(100 * (v - 1))
}

/// The nearest integer to `ninths / 9`, for `ninths >= 0`.
fn round_ninths(ninths: i32) -> i32 {
    (ninths + 4) / 9
}

fn mindset_part(mindset: &str) -> Option<i32> {
    let mindset = mindset.trim();
    [
        ("resistant", 25),
        ("neutral", 50),
        ("open", 75),
        ("engaged", 100),
    ]
    .into_iter()
    .find(|(name, _)| mindset.eq_ignore_ascii_case(name))
    .map(|(_, part)| part)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(
        initial: i32,
        final_: i32,
        clarity: i32,
        mindset: &str,
        satisfaction: i32,
        commitment: i32,
    ) -> CompassInputs<'_> {
        CompassInputs {
            initial_confidence: initial,
            final_confidence: final_,
            final_action_clarity: clarity,
            final_mindset: mindset,
            satisfaction,
            action_commitment: commitment,
        }
    }

    fn parts(s: &CompassScore) -> [i32; 6] {
        [
            s.confidence_growth,
            s.action,
            s.mindset,
            s.satisfaction,
            s.commitment,
            s.total,
        ]
    }

    #[test]
    fn best_case_is_a_perfect_score() {
        let s = score(&inputs(1, 10, 10, "engaged", 10, 10)).unwrap();
        assert_eq!(parts(&s), [100, 100, 100, 100, 100, 100]);
        assert_eq!(s.band, Band::Excellent);
    }

    #[test]
    fn worked_middle_example() {
        // initial 4, final 7, clarity 8, open, satisfaction 9, commitment 6:
        //   growth       n(7) − n(4) + 50 = 66.67 − 33.33 + 50 = 83.33 → 83
        //   action       n(8) = 77.78 → 78
        //   mindset      open → 75
        //   satisfaction n(9) = 88.89 → 89
        //   commitment   n(6) = 55.56 → 56
        //   total  0.3×83 + 0.3×78 + 0.2×75 + 0.1×89 + 0.1×56
        //        = 24.9 + 23.4 + 15 + 8.9 + 5.6 = 77.8 → 78, good.
        let s = score(&inputs(4, 7, 8, "open", 9, 6)).unwrap();
        assert_eq!(parts(&s), [83, 78, 75, 89, 56, 78]);
        assert_eq!(s.band, Band::Good);
    }

    #[test]
    fn starting_confident_is_not_penalised() {
        // 9 → 9 on the usual formula is a growth of 50; on the high-confidence path, n(9).
        let s = score(&inputs(9, 9, 10, "engaged", 7, 9)).unwrap();
        assert_eq!(s.confidence_growth, 89);
        // Losing confidence still shows: 9 → 5 is scored as written, 50 − 44.4 → 6.
        let s = score(&inputs(9, 5, 10, "engaged", 7, 9)).unwrap();
        assert_eq!(s.confidence_growth, 6);
        // 10 → 8 stays on the path: max(50 − 22.2, n(8) = 77.8) → 78.
        let s = score(&inputs(10, 8, 10, "engaged", 7, 9)).unwrap();
        assert_eq!(s.confidence_growth, 78);
        // Below the threshold the formula is as written: 7 → 7 is 50.
        let s = score(&inputs(7, 7, 10, "engaged", 7, 9)).unwrap();
        assert_eq!(s.confidence_growth, 50);
        // And the confident starter now scores like someone who grew into it.
        let confident = score(&inputs(9, 9, 10, "engaged", 7, 9)).unwrap().total;
        let grew = score(&inputs(5, 9, 10, "engaged", 7, 9)).unwrap().total;
        assert!(confident >= grew - 2, "{confident} vs {grew}");
    }

    #[test]
    fn unchanged_confidence_is_a_growth_of_50() {
        let s = score(&inputs(6, 6, 1, "resistant", 1, 1)).unwrap();
        assert_eq!(parts(&s), [50, 0, 25, 0, 0, 20]);
        assert_eq!(s.band, Band::Insufficient);
    }

    #[test]
    fn falling_confidence_clamps_at_zero() {
        // n(3) − n(9) + 50 = 22.2 − 88.9 + 50 = −16.7 → 0.
        let s = score(&inputs(9, 3, 5, "neutral", 5, 5)).unwrap();
        assert_eq!(s.confidence_growth, 0);
        let s = score(&inputs(10, 1, 5, "neutral", 5, 5)).unwrap();
        assert_eq!(s.confidence_growth, 0);
        // A drop of four points is still above zero: 50 − 44.4 = 5.6 → 6.
        let s = score(&inputs(6, 2, 5, "neutral", 5, 5)).unwrap();
        assert_eq!(s.confidence_growth, 6);
        // Growth clamps at 100 too: a rise of five points is 50 + 55.6.
        let s = score(&inputs(2, 7, 5, "neutral", 5, 5)).unwrap();
        assert_eq!(s.confidence_growth, 100);
    }

    #[test]
    fn parts_are_rounded_before_weighting() {
        // initial 1, final 1, clarity 1, engaged, satisfaction 6, commitment 9.
        //   unrounded: 0.3×50 + 0.3×0 + 0.2×100 + 0.1×55.56 + 0.1×88.89 = 49.44 → 49, marginal
        //   rounded:   0.3×50 + 0.3×0 + 0.2×100 + 0.1×56    + 0.1×89    = 49.5  → 50, fair
        // A tie like 49.5 is also why the code counts in tenths rather than trusting 0.1 in floats.
        let s = score(&inputs(1, 1, 1, "engaged", 6, 9)).unwrap();
        assert_eq!(parts(&s), [50, 0, 100, 56, 89, 50]);
        assert_eq!(s.band, Band::Fair);
    }

    #[test]
    fn every_normalised_value() {
        let expected = [0, 11, 22, 33, 44, 56, 67, 78, 89, 100];
        for (v, want) in (1..=10).zip(expected) {
            assert_eq!(normalised(v), want, "n({v})");
        }
    }

    #[test]
    fn out_of_range_or_unknown_mindset_is_none() {
        assert_eq!(score(&inputs(0, 5, 5, "open", 5, 5)), None);
        assert_eq!(score(&inputs(5, 11, 5, "open", 5, 5)), None);
        assert_eq!(score(&inputs(5, 5, -1, "open", 5, 5)), None);
        assert_eq!(score(&inputs(5, 5, 5, "open", 0, 5)), None);
        assert_eq!(score(&inputs(5, 5, 5, "open", 5, 100)), None);
        assert_eq!(score(&inputs(5, 5, 5, "grumpy", 5, 5)), None);
        assert_eq!(score(&inputs(5, 5, 5, "", 5, 5)), None);
        assert_eq!(
            score(&inputs(5, 5, 5, " Engaged ", 5, 5)).map(|s| s.mindset),
            Some(100)
        );
    }

    #[test]
    fn band_boundaries() {
        for (total, band) in [
            (100, Band::Excellent),
            (85, Band::Excellent),
            (84, Band::Good),
            (70, Band::Good),
            (69, Band::Fair),
            (50, Band::Fair),
            (49, Band::Marginal),
            (30, Band::Marginal),
            (29, Band::Insufficient),
            (0, Band::Insufficient),
        ] {
            assert_eq!(Band::from_total(total), band, "total {total}");
        }
        assert_eq!(Band::Excellent.as_str(), "excellent");
        assert_eq!(Band::Insufficient.as_str(), "insufficient");
        assert_eq!(Band::Good.label(), "Good");
        assert_eq!(Band::Marginal.label(), "Marginal");
    }

    #[test]
    fn totals_stay_in_range_and_agree_with_their_bands() {
        let values = 1..=10;
        for i in values.clone() {
            for f in values.clone() {
                for a in values.clone() {
                    for m in ["resistant", "neutral", "open", "engaged"] {
                        let s = score(&inputs(i, f, a, m, a, f)).unwrap();
                        assert!((0..=100).contains(&s.total));
                        assert_eq!(s.band, Band::from_total(s.total));
                    }
                }
            }
        }
    }
}
