//! A bounded fuzz run: random mutations of the repository's specs and of the invalid corpus
//! must never panic the parser, the checker or the formatter, and whatever parses must format
//! to text that parses again and formats to itself.

use std::path::PathBuf;

/// A small deterministic generator (SplitMix64), so every run tries the same inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "..",
    ".",
    "+",
    "-",
    "*",
    "/",
    "**",
    "as",
    "for",
    "in",
    "let",
    "input",
    "output",
    "block",
    "network",
    "0",
    "99999999999",
    "1e400",
    "-3",
    "\"s\"",
    "x",
    "conv2d",
    "concat",
    "//",
    "\n",
    " ",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        if s.is_empty() {
            break;
        }
        let at = rng.below(s.len());
        match rng.below(4) {
            0 => {
                s.remove(at);
            }
            1 => {
                let tok = TOKENS[rng.below(TOKENS.len())];
                for (i, c) in tok.chars().enumerate() {
                    s.insert(at + i, c);
                }
            }
            2 => {
                let b = rng.below(s.len());
                s.swap(at, b);
            }
            _ => {
                let len = rng.below(20).min(s.len() - at);
                s.drain(at..at + len);
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn mutated_specs_never_panic_and_formatting_round_trips() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = vec![std::fs::read_to_string(root.join("../papers/baselines/unet.mcmr")).unwrap()];
    for e in std::fs::read_dir(root.join("tests/invalid")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "mcmr") {
            seeds.push(std::fs::read_to_string(e.path()).unwrap());
        }
    }
    let mut rng = Rng(20261121);
    let (mut parsed, mut checked) = (0, 0);
    for i in 0..1500 {
        let seed = if i % 2 == 0 { &seeds[0] } else { &seeds[i % seeds.len()] };
        let text = mutate(seed, &mut rng);
        let result = std::panic::catch_unwind(|| {
            let Ok(spec) = mcmr_dsl::parse(&text) else { return (false, false) };
            let ok = mcmr_dsl::check::elaborate(&spec, None, None, &[]).is_ok();
            let once = mcmr_dsl::fmt::format(&spec, &text);
            let again = mcmr_dsl::parse(&once)
                .unwrap_or_else(|d| panic!("formatted text does not parse: {}\n{once}", d.message));
            assert_eq!(mcmr_dsl::fmt::format(&again, &once), once, "formatting is not idempotent");
            (true, ok)
        });
        match result {
            Ok((p, c)) => {
                parsed += p as usize;
                checked += c as usize;
            }
            Err(_) => panic!("input {i} panicked:\n{text}"),
        }
    }
    // The mutations must exercise all three stages, not only the parser's error path.
    assert!(parsed > 100 && checked > 20, "parsed {parsed}, checked {checked}");
}
