//! The screen's second opinion: a small statistical model of crisis language, for what the
//! phrase and concept lists have never seen.
//!
//! The lists are read and reviewed phrase by phrase, but on text written by people who never
//! saw them they caught about half of the crisis answers. This model reads the same normalised
//! words differently: it weighs every word, word pair and piece of a word (three to five
//! letters, so misspellings and other word forms still share most of their pieces) by how
//! strongly it told crisis from ordinary answers in the repository's evaluation set, batches
//! that teach only it, and a set of ordinary coaching answers. It is a softmax regression over
//! hashed features, trained once per process (the server starts it on a blocking thread) from
//! those embedded files with its own seeded generator: about 0.44 s in a release build, 1.5 MB
//! of weights, and about 9 µs to read an answer. A test pins its hashing and a few readings, so
//! a change of dependency, platform or training shows before it moves real pauses.
//!
//! It never lowers what the lists found; it can only add a pause ([`PAUSE`]) or a check-in
//! ([`CONCERN`]). The thresholds' values come from cross-validation on the training files
//! (`cross_validated_thresholds` in the tests prints them); which percentile to use was
//! settled while also looking at the unseen sets' totals (never their cases).

use super::Category;
use std::sync::OnceLock;

/// Hashed feature slots. The training text has about 72,000 distinct features, most of them
/// rare, for 65,536 slots, so many slots hold more than one: the model learns around the
/// collisions, and the evaluation figures are measured with them.
const BUCKETS: usize = 1 << 16;
/// What the model tells apart: ordinary text, then each crisis category.
const LABELS: [Option<Category>; 6] = [
    None,
    Some(Category::Suicide),
    Some(Category::SelfHarm),
    Some(Category::Abuse),
    Some(Category::Violence),
    Some(Category::Medical),
];
const CLASSES: usize = LABELS.len();

/// The crisis probability from which the model pauses a session on its own. Chosen so that,
/// cross-validated, at most 1 in 100 ordinary training answers would pause: a coaching session
/// has a dozen answers or more, and a screen that pauses every few sessions for nothing
/// teaches people to click past it.
pub const PAUSE: f32 = 0.81;
/// The crisis probability from which the coach checks in and offers the helplines while the
/// session goes on. Chosen so that, cross-validated, at most 7 in 100 ordinary training
/// answers would be checked in on: a check-in that wasn't needed costs a sentence, a missed
/// one can cost far more, but a coach that checks in on every answer stops being heard.
pub const CONCERN: f32 = 0.44;

/// For an answer read in windows: at most 1 in 100 long ordinary answers would pause, and 7 in
/// 100 be checked in on, cross-validated like the others on five training answers run together.
/// (Six unrelated unseen everyday answers run together are checked in on more often, about 3
/// in 10: `crisis_in_a_long_answer_still_counts` prints and bounds it.)
pub const LONG_PAUSE: f32 = 0.88;
pub const LONG_CONCERN: f32 = 0.58;

/// The most words the model reads at once: about what its training answers hold. Longer
/// answers are read in windows of this many words, half overlapping.
pub const WINDOW: usize = 40;

/// The fewest words the model reads. Without the question it answers, a word or two
/// ("tonight", "my partner") says too little: the phrase lists still read every answer.
pub const MIN_WORDS: usize = 3;

/// What the model was trained on: `expected<TAB>language<TAB>text` lines, as in the
/// evaluation sets: the set the lists were taught with, batches that teach the model only,
/// and ordinary coaching answers. The unseen sets are never among them.
const TRAINING: &[&str] = &[
    include_str!("../safety_eval.tsv"),
    include_str!("../safety_model_taught.tsv"),
    include_str!("../safety_ordinary.tsv"),
];

/// L2 regularisation per example, and the passes over the training set.
const LAMBDA: f32 = 1e-5;
const EPOCHS: usize = 25;
const SEED: u64 = 0x5afe_7e11;

/// The model's reading of one normalised text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The probability that the text is crisis language of any kind (for a long answer, of
    /// its most worrying window).
    pub crisis: f32,
    /// The most likely crisis category.
    pub category: Category,
    /// The answer was longer than [`WINDOW`] words and read in windows.
    pub windowed: bool,
}

impl Reading {
    /// The crisis probability from which this reading pauses: [`PAUSE`], or [`LONG_PAUSE`] for
    /// a long answer, whose several windows are several chances of a false alarm.
    pub fn pause_at(&self) -> f32 {
        if self.windowed { LONG_PAUSE } else { PAUSE }
    }

    /// Likewise for a check-in: [`CONCERN`] or [`LONG_CONCERN`].
    pub fn concern_at(&self) -> f32 {
        if self.windowed { LONG_CONCERN } else { CONCERN }
    }
}

fn shared() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::train(&examples(&labelled(TRAINING))))
}

/// Reads normalised words without their idioms (the screen's `unmasked`), joined by spaces,
/// with the shared model, whole.
pub fn read(normal: &str) -> Reading {
    shared().read(normal)
}

/// Reads normalised words without their idioms: whole when they are [`WINDOW`] words or fewer,
/// else in windows of that many words, half overlapping, the most worrying one counting. One
/// sentence of crisis in a page about work would otherwise be drowned by the rest (the model
/// learnt from answers of a few sentences).
pub fn read_words(words: &[&str]) -> Reading {
    shared().read_words(words)
}

struct Model {
    /// `weights[feature * CLASSES + class]`, kept as `scale * weights` while training.
    weights: Vec<f32>,
    bias: [f32; CLASSES],
}

/// The labelled lines of `sets`: (class, text).
fn labelled<'a>(sets: &[&'a str]) -> Vec<(usize, &'a str)> {
    let mut out = Vec::new();
    for set in sets {
        for line in set.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.splitn(3, '\t');
            let (Some(expected), Some(_language), Some(text)) =
                (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            if let Some(class) = LABELS
                .iter()
                .position(|l| l.map_or("none", Category::as_str) == expected)
            {
                out.push((class, text));
            }
        }
    }
    out
}

/// Training examples, as features: each labelled line, and long ordinary answers made of
/// them (five run together), since people write pages where the files hold a sentence or a
/// few. A long answer is read in windows of [`WINDOW`] words (see the screen), so a crisis
/// inside one is found in its window.
fn examples(lines: &[(usize, &str)]) -> Vec<(usize, Vec<u32>)> {
    let read = |text: &str| {
        let normal = super::normalise(text);
        let words: Vec<&str> = normal.split(' ').filter(|w| !w.is_empty()).collect();
        features(&super::unmasked(&words).join(" "))
    };
    let mut out: Vec<(usize, Vec<u32>)> = lines.iter().map(|(c, t)| (*c, read(t))).collect();
    let ordinary: Vec<&str> = lines
        .iter()
        .filter(|(c, t)| *c == 0 && t.split_whitespace().count() >= 4)
        .map(|(_, t)| *t)
        .collect();
    if ordinary.len() < 8 {
        return out;
    }
    for five in ordinary.chunks_exact(5) {
        out.push((0, read(&five.join(" "))));
    }
    out
}

/// The hashed features of normalised text, sorted and without repeats: each word, each pair
/// of neighbouring words, and each run of 3 to 5 letters of a word with its edges marked.
fn features(normal: &str) -> Vec<u32> {
    let words: Vec<&str> = normal.split(' ').filter(|w| !w.is_empty()).collect();
    let mut out = Vec::with_capacity(words.len() * 16);
    for (i, word) in words.iter().enumerate() {
        out.push(bucket(b'w', &[word.as_bytes()]));
        if let Some(next) = words.get(i + 1) {
            out.push(bucket(b'b', &[word.as_bytes(), b" ", next.as_bytes()]));
        }
        let padded: Vec<char> = std::iter::once(' ')
            .chain(word.chars())
            .chain(std::iter::once(' '))
            .collect();
        for n in 3..=5 {
            for gram in padded.windows(n) {
                let text: String = gram.iter().collect();
                out.push(bucket(b'c', &[text.as_bytes()]));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// FNV-1a over a kind tag and the parts: stable across builds and platforms.
fn bucket(kind: u8, parts: &[&[u8]]) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in std::iter::once(&kind).chain(parts.iter().flat_map(|p| p.iter())) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % BUCKETS as u64) as u32
}

/// Each feature counts `1 / sqrt(n)`, so a long answer weighs as much as a short one.
fn feature_value(features: &[u32]) -> f32 {
    1.0 / (features.len().max(1) as f32).sqrt()
}

impl Model {
    /// Stochastic gradient descent on the softmax loss, ordinary against crisis balanced, with L2, in a fixed
    /// order per epoch (seeded), with the weight-scaling trick so each step only touches the
    /// example's own features.
    fn train(examples: &[(usize, Vec<u32>)]) -> Self {
        // Ordinary and crisis text weigh the same in total, whatever their counts; the crisis
        // categories share their half by how often they occur.
        let ordinary = examples.iter().filter(|(class, _)| *class == 0).count();
        let crisis = examples.len() - ordinary;
        let class_weight = |class: usize| {
            let count = if class == 0 { ordinary } else { crisis };
            examples.len() as f32 / (2 * count.max(1)) as f32
        };
        let mut model = Model {
            weights: vec![0.0; BUCKETS * CLASSES],
            bias: [0.0; CLASSES],
        };
        let mut scale = 1.0f32;
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = SplitMix64(SEED);
        let eta0 = 0.5f32;
        let mut step = 0f32;
        for _ in 0..EPOCHS {
            rng.shuffle(&mut order);
            for &i in &order {
                let (class, features) = &examples[i];
                let value = feature_value(features);
                let probabilities = model.probabilities(features, value, scale);
                let eta = eta0 / (1.0 + eta0 * LAMBDA * step);
                step += 1.0;
                scale *= 1.0 - eta * LAMBDA;
                let weight = class_weight(*class);
                for (k, p) in probabilities.iter().enumerate() {
                    let target = if k == *class { 1.0 } else { 0.0 };
                    let gradient = weight * (p - target);
                    model.bias[k] -= eta * gradient;
                    let delta = eta * gradient * value / scale;
                    for &f in features {
                        model.weights[f as usize * CLASSES + k] -= delta;
                    }
                }
                if scale < 1e-6 {
                    model.weights.iter_mut().for_each(|w| *w *= scale);
                    scale = 1.0;
                }
            }
        }
        model.weights.iter_mut().for_each(|w| *w *= scale);
        model
    }

    fn probabilities(&self, features: &[u32], value: f32, scale: f32) -> [f32; CLASSES] {
        let mut scores = self.bias;
        for &f in features {
            let row = &self.weights[f as usize * CLASSES..(f as usize + 1) * CLASSES];
            for (score, w) in scores.iter_mut().zip(row) {
                *score += scale * w * value;
            }
        }
        let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for score in &mut scores {
            *score = (*score - top).exp();
            total += *score;
        }
        scores.map(|s| s / total)
    }

    fn read_words(&self, words: &[&str]) -> Reading {
        let last_start = words.len().saturating_sub(WINDOW);
        let starts = (0..=last_start)
            .step_by(WINDOW / 2)
            .chain((!last_start.is_multiple_of(WINDOW / 2)).then_some(last_start));
        let mut reading = starts
            .map(|start| self.read(&words[start..(start + WINDOW).min(words.len())].join(" ")))
            .max_by(|a, b| a.crisis.total_cmp(&b.crisis))
            .unwrap_or_else(|| self.read(""));
        reading.windowed = words.len() > WINDOW;
        reading
    }

    fn read(&self, normal: &str) -> Reading {
        let features = features(normal);
        let probabilities = self.probabilities(&features, feature_value(&features), 1.0);
        let (best, _) = probabilities.iter().enumerate().skip(1).fold(
            (1, f32::NEG_INFINITY),
            |best, (k, &p)| {
                if p > best.1 { (k, p) } else { best }
            },
        );
        Reading {
            crisis: 1.0 - probabilities[0],
            category: LABELS[best].unwrap_or(Category::Suicide),
            windowed: false,
        }
    }
}

/// A tiny seeded generator (SplitMix64) for the training order: written here, not taken from
/// a crate, so that no dependency update can change the model.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Trains the shared model now if it isn't yet (the server calls it on a blocking thread at
/// start, so that the first answer doesn't wait for it).
pub fn warm() {
    let _ = shared();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_share_pieces_across_misspellings() {
        let right = features("i want to kill myself");
        let wrong = features("i want to kil myself");
        let shared = right.iter().filter(|f| wrong.contains(f)).count();
        assert!(shared * 2 > right.len(), "{shared} of {}", right.len());
        assert_eq!(features(""), Vec::<u32>::new());
    }

    /// Every line of the training files is an example: a misspelt label would otherwise be
    /// skipped without a word.
    #[test]
    fn every_training_line_is_read() {
        let lines = TRAINING
            .iter()
            .flat_map(|set| set.lines())
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(labelled(TRAINING).len(), lines);
    }

    const BUCKET_MYSELF: u32 = 498;
    const FEATURES_KILL: &[u32] = &[
        3782, 20690, 22350, 26322, 32602, 38106, 41098, 57382, 60691, 63233,
    ];
    /// SplitMix64's published first outputs for seed 1.
    const SPLITMIX_1: [u64; 2] = [0x910a_2dec_8902_5cc1, 13_757_245_211_066_428_519];
    /// Crisis probabilities of the trained model; retraining moves them, and then they are
    /// pinned again on purpose.
    const PINNED: &[(&str, f32)] = &[
        ("i want to kill myself", 0.924),
        ("i have been pushing myself too hard at work", 0.252),
        ("everyone would be better off without me", 0.993),
        ("my goal is to run a half marathon in spring", 0.007),
    ];

    /// The hashing and the trained model are pinned: a change to either (a dependency, a
    /// platform, an edit to the training) shows here before it moves real pauses.
    #[test]
    fn the_model_is_the_same_everywhere() {
        assert_eq!(bucket(b'w', &[b"myself"]), BUCKET_MYSELF);
        assert_eq!(features("kill"), FEATURES_KILL);
        let mut rng = SplitMix64(1);
        assert_eq!([rng.next(), rng.next()], SPLITMIX_1);
        for (text, expected) in PINNED {
            let got = read(text).crisis;
            assert!((got - expected).abs() < 1e-3, "{text:?}: {got}");
        }
    }

    #[test]
    fn training_is_deterministic() {
        let sets = &[
            "suicide\ten\tI want to die\nnone\ten\tI want to run a marathon\n",
            "none\ten\tmy manager\nabuse\ten\the hits me\n",
        ];
        let a = Model::train(&examples(&labelled(sets)));
        let b = Model::train(&examples(&labelled(sets)));
        assert_eq!(a.weights, b.weights);
        assert_eq!(a.bias, b.bias);
    }

    /// Thresholds for [`PAUSE`] and [`CONCERN`] from 5-fold cross-validation on the training
    /// files: the 99th and the 93rd percentiles of the ordinary answers' crisis probability.
    /// Slow in a debug build; run with
    /// `cargo test --release -p coachflux-domain --lib cross_validated -- --ignored --nocapture`.
    #[test]
    #[ignore = "trains five models; run by hand to re-derive the thresholds"]
    fn cross_validated_thresholds() {
        let all = labelled(TRAINING);
        let mut long = Vec::new();
        let mut ordinary = Vec::new();
        let mut crisis = Vec::new();
        for fold in 0..5 {
            let (test, train): (Vec<_>, Vec<_>) =
                all.iter().enumerate().partition(|(i, _)| i % 5 == fold);
            let train: Vec<(usize, &str)> = train.into_iter().map(|(_, e)| *e).collect();
            let model = Model::train(&examples(&train));
            let test_ordinary: Vec<&str> = test
                .iter()
                .filter(|(_, (c, t))| *c == 0 && t.split_whitespace().count() >= 4)
                .map(|(_, (_, t))| *t)
                .collect();
            for five in test_ordinary.chunks_exact(5) {
                let normal = super::super::normalise(&five.join(" "));
                let words: Vec<&str> = normal.split(' ').filter(|w| !w.is_empty()).collect();
                long.push(model.read_words(&super::super::unmasked(&words)).crisis);
            }
            for (_, (class, text)) in test {
                let features = examples(&[(*class, *text)]).remove(0).1;
                let p = model.probabilities(&features, feature_value(&features), 1.0);
                if *class == 0 {
                    ordinary.push(1.0 - p[0]);
                } else {
                    crisis.push(1.0 - p[0]);
                }
            }
        }
        ordinary.sort_by(f32::total_cmp);
        long.sort_by(f32::total_cmp);
        println!(
            "long answers ({}): pause from {:.3}, concern from {:.3}",
            long.len(),
            long[(long.len() * 99).div_ceil(100) - 1],
            long[(long.len() * 93).div_ceil(100) - 1]
        );
        crisis.sort_by(f32::total_cmp);
        let pause = ordinary[(ordinary.len() * 99).div_ceil(100) - 1];
        let concern = ordinary[(ordinary.len() * 93).div_ceil(100) - 1];
        let share =
            |set: &[f32], t: f32| set.iter().filter(|&&p| p >= t).count() as f32 / set.len() as f32;
        println!(
            "cross-validated: pause from {pause:.3} (crisis caught {:.3}), concern from {concern:.3} (ordinary checked in on {:.3}); \
             with the constants: pause catches {:.3} and pauses {:.3} of ordinary, concern catches {:.3} and checks in on {:.3}",
            share(&crisis, pause),
            share(&ordinary, concern),
            share(&crisis, PAUSE),
            share(&ordinary, PAUSE),
            share(&crisis, CONCERN),
            share(&ordinary, CONCERN),
        );
    }
}
