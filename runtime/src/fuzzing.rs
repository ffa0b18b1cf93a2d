//! What the agent's fuzz target (`runtime/fuzz`) checks, in the library so
//! `tests/fuzz_failures.rs` replays every saved crash with a normal test.
//! Any bytes are tried three ways: as IR JSON (`Plan::from_ir_json` must
//! answer, never panic), as a name from outside (`safe_file_name` must give
//! one plain path component or nothing), and as a program for the snapshot
//! engine (a policy, rules and a sequence of arrivals and firings), whose
//! invariants are asserted after every step.

use crate::plan::{Plan, Policy};
use crate::record::safe_file_name;
use crate::snapshot::{Engine, Rule};

pub fn exercise(data: &[u8]) {
    let _ = Plan::from_ir_json(data);

    let name = String::from_utf8_lossy(data);
    if let Some(safe) = safe_file_name(&name) {
        assert!(!safe.is_empty() && safe.len() <= 200);
        assert!(!safe.contains('/') && !safe.contains('\\') && !safe.contains('\0'));
        assert!(!safe.starts_with('.'), "{safe:?}");
    }

    engine_program(data);
}

/// Byte 0 picks the policy, byte 1 the number of inputs (1–3), the next
/// two bytes per input its rule; every later byte is an arrival on input
/// `b % inputs`, or a firing when `b >= 0xf0`.
fn engine_program(data: &[u8]) {
    let [policy, inputs, rest @ ..] = data else { return };
    let policy = match policy % 3 {
        0 => Policy::AllNew,
        1 => Policy::SwapNewForOld,
        _ => Policy::SlidingWindow,
    };
    let inputs = usize::from(inputs % 3) + 1;
    if rest.len() < inputs * 2 {
        return;
    }
    let (rule_bytes, steps) = rest.split_at(inputs * 2);
    let rules: Vec<Rule> = rule_bytes
        .chunks(2)
        .map(|pair| {
            let (a, b) = (u64::from(pair[0] % 5) + 1, u64::from(pair[1] % 5));
            match policy {
                Policy::AllNew => Rule::Count { min: a, max: a + b },
                Policy::SwapNewForOld => Rule::Count { min: 1, max: 1 },
                Policy::SlidingWindow => Rule::Window { size: a, slide: (b % a) + 1 },
            }
        })
        .collect();
    let mut engine = Engine::new(policy, &rules);
    let mut next = 1;
    let mut last_seen = vec![0u64; inputs];
    for &step in steps {
        if step >= 0xf0 {
            while let Some(snapshot) = engine.fire() {
                assert_eq!(snapshot.inputs.len(), inputs);
                for (input, values) in snapshot.inputs.iter().enumerate() {
                    match rules[input] {
                        Rule::Count { min, max } if policy == Policy::AllNew => {
                            assert!(values.len() as u64 >= min && values.len() as u64 <= max);
                            // No value is used twice: ids only grow per input.
                            assert!(values.iter().all(|&v| v > last_seen[input]));
                            last_seen[input] = values.last().copied().unwrap_or(last_seen[input]);
                        }
                        Rule::Window { size, .. } => assert_eq!(values.len() as u64, size),
                        _ => assert_eq!(values.len(), 1),
                    }
                    assert!(values.windows(2).all(|pair| pair[0] < pair[1]), "order kept per input");
                }
            }
        } else {
            engine.push(usize::from(step) % inputs, next);
            next += 1;
        }
    }
}
