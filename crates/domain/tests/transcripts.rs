//! Golden transcripts of the built-in coach: for each framework, two people's answers (in
//! `tests/transcripts/*.txt`) and the exact conversation and report the coach makes of them
//! (`*.golden`), to be read by a person. A change to the coach shows up as a diff here; when it
//! is an improvement, rewrite the goldens with `UPDATE_GOLDEN=1 cargo test -p coachflux-domain
//! --test transcripts` and read the diff before committing it.
//!
//! A script is one answer per `> ` line (`\n` inside an answer is a line break); `> /skip`
//! skips the question asked. Lines starting with `#` describe the person and are copied to the
//! transcript; `# returning: yes` marks someone who has finished this framework before.

use coachflux_domain::Catalogue;
use coachflux_domain::coach;
use coachflux_domain::engine::{Phase, ProposalStatus, SessionState};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// 2026-01-15T10:00:00Z, a Thursday.
const NOW: i64 = 1_768_471_200_000;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts")
}

/// Plays `script` through the built-in coach and writes down what both said.
fn play(script: &str) -> Result<String, String> {
    let catalogue = Catalogue::builtin().map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut framework = None;
    let mut answers = Vec::new();
    for line in script.lines() {
        if let Some(id) = line.strip_prefix("# framework: ") {
            framework = catalogue.get(id.trim());
        }
        if line.starts_with('#') {
            writeln!(out, "{line}").unwrap();
        } else if let Some(a) = line.strip_prefix("> ") {
            answers.push(a.replace("\\n", "\n"));
        }
    }
    let fw = framework.ok_or("the script names no known framework")?;
    let mut s = SessionState::new(fw);
    // "# returning: yes": the person has finished a session of this framework before.
    s.returning = script.lines().any(|l| l.trim() == "# returning: yes");
    s.give_consent().map_err(|e| e.to_string())?;
    writeln!(out, "\nCOACH: {}", coach::opening(fw, &s).text).unwrap();
    let mut answers = answers.into_iter();
    loop {
        match s.phase {
            Phase::Asking => {
                let Some(answer) = answers.next() else {
                    return Err(format!(
                        "the script ran out; the coach asks: {}\n\n{out}",
                        coach::next_prompt(fw, &s)
                    ));
                };
                writeln!(out, "\nPERSON: {answer}").unwrap();
                if answer == "/skip" {
                    s.skip(fw).map_err(|e| e.to_string())?;
                    writeln!(out, "\nCOACH: {}", coach::next_prompt(fw, &s)).unwrap();
                    continue;
                }
                let text = match coach::respond(fw, &mut s, &answer, NOW) {
                    Ok(r) => r.text,
                    Err(e) => format!("{e} {}", coach::next_prompt(fw, &s)),
                };
                writeln!(out, "\nCOACH: {text}").unwrap();
            }
            Phase::Confirming => {
                writeln!(out, "\n[proceeds]").unwrap();
                s.proceed(fw).map_err(|e| e.to_string())?;
                if s.is_complete() {
                    s.propose_actions(fw);
                }
                writeln!(out, "\nCOACH: {}", coach::next_prompt(fw, &s)).unwrap();
            }
            Phase::Complete => break,
            other => return Err(format!("unexpected phase {other:?}")),
        }
    }
    if let Some(extra) = answers.next() {
        return Err(format!("the script has answers left over, from: {extra}"));
    }
    writeln!(out, "\n## Proposed actions (all accepted)").unwrap();
    for p in &mut s.proposals {
        p.status = ProposalStatus::Accepted;
        match p.due_ms {
            Some(ms) => writeln!(
                out,
                "- {} — due {}",
                p.title,
                coachflux_domain::dates::label(ms, coachflux_domain::dates::Zone::UTC)
            ),
            None => writeln!(out, "- {}", p.title),
        }
        .unwrap();
    }
    s.close().map_err(|e| e.to_string())?;
    let summary = coach::summarise(fw, &s);
    writeln!(out, "\n## Report\n\n{}", summary.summary).unwrap();
    for i in &summary.insights {
        writeln!(out, "- insight: {i}").unwrap();
    }
    for r in &summary.risks {
        writeln!(out, "- risk: {r}").unwrap();
    }
    Ok(out)
}

#[test]
fn every_framework_has_two_golden_transcripts_and_the_coach_matches_them() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    scripts.sort();
    let catalogue = Catalogue::builtin().unwrap();
    for fw in &catalogue.frameworks {
        let n = scripts
            .iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .contains(&format!("# framework: {}\n", fw.id))
            })
            .count();
        assert!(n >= 2, "{} has {n} transcripts, not 2", fw.id);
    }
    let mut failures = Vec::new();
    // While writing a script: where each one stands, without failing.
    if std::env::var_os("TRANSCRIPT_DRAFT").is_some() {
        for script in &scripts {
            let played = play(&std::fs::read_to_string(script).unwrap());
            let shown = match &played {
                Ok(_) => "complete".to_owned(),
                Err(e) => e.lines().next().unwrap_or_default().to_owned(),
            };
            println!("{}: {shown}", script.display());
        }
        return;
    }
    for script in &scripts {
        let text = std::fs::read_to_string(script).unwrap();
        let played = play(&text).unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        let golden = script.with_extension("golden");
        if update {
            std::fs::write(&golden, &played).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
            panic!("{} is missing: run with UPDATE_GOLDEN=1", golden.display())
        });
        if want != played {
            let first = want
                .lines()
                .zip(played.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("golden: {a}\n   now: {b}"))
                .unwrap_or_else(|| "the lengths differ".into());
            failures.push(format!("{}:\n{first}", golden.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "the coach no longer says what the golden transcripts say (read the change, then \
         UPDATE_GOLDEN=1 if it is better):\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn transcripts_follow_the_rubric() {
    // docs/coaching.md: one question at a time, no advice, no judgement, no invented feelings.
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "golden") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for turn in text.split("\nCOACH: ").skip(1) {
            let said = turn.split("\n\n").next().unwrap();
            assert!(
                said.matches('?').count() <= 1 || said.contains("Is that the heart of it?"),
                "{}: one question at a time: {said}",
                path.display()
            );
            for advice in [
                "you should",
                "you must",
                "you need to",
                "why didn't you",
                "just do",
            ] {
                assert!(
                    !said.to_lowercase().contains(advice),
                    "{}: no advice or judgement ({advice}): {said}",
                    path.display()
                );
            }
        }
    }
}
