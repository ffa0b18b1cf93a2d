//! Every rule of LANGUAGE.md §3 by example, then the invariants as property
//! tests over random arrival orders.

use proptest::prelude::*;

use super::*;

fn count(min: u64, max: u64) -> Rule {
    Rule::Count { min, max }
}

fn window(size: u64, slide: u64) -> Rule {
    Rule::Window { size, slide }
}

/// Drains every ready snapshot.
fn drain(engine: &mut Engine) -> Vec<Snapshot> {
    std::iter::from_fn(|| engine.fire()).collect()
}

fn values(snapshot: &Snapshot) -> Vec<Vec<ValueId>> {
    snapshot.inputs.clone()
}

#[test]
fn all_new_single_input_fires_once_per_value() {
    let mut engine = Engine::new(Policy::AllNew, &[count(1, 1)]);
    assert_eq!(engine.fire(), None);
    engine.push(0, 1);
    engine.push(0, 2);
    let fired: Vec<_> = drain(&mut engine).iter().map(values).collect();
    assert_eq!(fired, vec![vec![vec![1]], vec![vec![2]]]);
}

#[test]
fn all_new_waits_for_every_input() {
    let mut engine = Engine::new(Policy::AllNew, &[count(1, 1), count(1, 1)]);
    engine.push(0, 1);
    engine.push(0, 2);
    assert_eq!(engine.fire(), None, "b has nothing yet");
    engine.push(1, 3);
    let snapshot = engine.fire().expect("both inputs have a value");
    assert_eq!(snapshot.inputs, vec![vec![1], vec![3]]);
    assert_eq!(snapshot.advanced, vec![true, true]);
    assert_eq!(engine.fire(), None, "a's second value waits for a new b");
    assert_eq!(engine.waiting(), vec![vec![2], vec![]]);
}

#[test]
fn all_new_buffer_of_n_takes_exactly_n() {
    let mut engine = Engine::new(Policy::AllNew, &[count(3, 3)]);
    for value in 1..=7 {
        engine.push(0, value);
    }
    let fired: Vec<_> = drain(&mut engine).iter().map(values).collect();
    assert_eq!(fired, vec![vec![vec![1, 2, 3]], vec![vec![4, 5, 6]]]);
    assert_eq!(engine.waiting(), vec![vec![7]]);
}

#[test]
fn all_new_range_takes_up_to_the_maximum() {
    let mut engine = Engine::new(Policy::AllNew, &[count(2, 4)]);
    engine.push(0, 1);
    assert_eq!(engine.fire(), None, "below the minimum");
    engine.push(0, 2);
    assert_eq!(engine.fire().map(|s| s.inputs), Some(vec![vec![1, 2]]));
    for value in 3..=8 {
        engine.push(0, value);
    }
    let fired: Vec<_> = drain(&mut engine).iter().map(values).collect();
    assert_eq!(fired, vec![vec![vec![3, 4, 5, 6]], vec![vec![7, 8]]]);
}

#[test]
fn swap_waits_until_every_input_has_a_value_then_fires_on_each_new_one() {
    let mut engine = Engine::new(Policy::SwapNewForOld, &[count(1, 1), count(1, 1)]);
    engine.push(0, 1);
    assert_eq!(engine.fire(), None);
    engine.push(1, 2);
    let first = engine.fire().expect("both seen");
    assert_eq!(first.inputs, vec![vec![1], vec![2]]);
    assert_eq!(engine.fire(), None, "nothing new");
    engine.push(1, 3);
    let second = engine.fire().expect("a new b");
    assert_eq!(second.inputs, vec![vec![1], vec![3]], "a's newest value is reused");
    assert_eq!(second.advanced, vec![false, true]);
}

#[test]
fn swap_takes_the_newest_of_a_burst_and_supersedes_the_rest() {
    let mut engine = Engine::new(Policy::SwapNewForOld, &[count(1, 1)]);
    engine.push(0, 1);
    engine.push(0, 2);
    engine.push(0, 3);
    let snapshot = engine.fire().expect("fires");
    assert_eq!(snapshot.inputs, vec![vec![3]]);
    assert_eq!(snapshot.superseded, vec![1, 2]);
    assert_eq!(engine.fire(), None);
}

#[test]
fn window_first_fires_when_full_then_slides() {
    let mut engine = Engine::new(Policy::SlidingWindow, &[window(4, 2)]);
    for value in 1..=3 {
        engine.push(0, value);
    }
    assert_eq!(engine.fire(), None, "the window is not full");
    engine.push(0, 4);
    assert_eq!(engine.fire().map(|s| s.inputs), Some(vec![vec![1, 2, 3, 4]]));
    engine.push(0, 5);
    assert_eq!(engine.fire(), None, "one new value is not a slide of two");
    engine.push(0, 6);
    assert_eq!(engine.fire().map(|s| s.inputs), Some(vec![vec![3, 4, 5, 6]]));
}

#[test]
fn window_advances_by_exactly_the_slide_even_when_more_wait() {
    let mut engine = Engine::new(Policy::SlidingWindow, &[window(3, 1)]);
    for value in 1..=5 {
        engine.push(0, value);
    }
    let fired: Vec<_> = drain(&mut engine).iter().map(values).collect();
    assert_eq!(fired, vec![vec![vec![1, 2, 3]], vec![vec![2, 3, 4]], vec![vec![3, 4, 5]]]);
}

#[test]
fn plain_buffer_under_sliding_window_is_a_tumbling_window() {
    assert_eq!(Rule::for_input(Policy::SlidingWindow, Firing::Count { min: 3, max: 3 }), Some(window(3, 3)));
    assert_eq!(Rule::for_input(Policy::AllNew, Firing::Service), None);
    let mut engine = Engine::new(Policy::SlidingWindow, &[window(3, 3)]);
    for value in 1..=6 {
        engine.push(0, value);
    }
    let fired: Vec<_> = drain(&mut engine).iter().map(values).collect();
    assert_eq!(fired, vec![vec![vec![1, 2, 3]], vec![vec![4, 5, 6]]]);
}

/// The seed's example: `(in_temp[10/2], in_scale)` recomputes on every two
/// new readings with the current scale, and on every new scale with the
/// current readings.
#[test]
fn seed_example_partial_swap_of_new_for_old() {
    let temp = Rule::for_input(Policy::SlidingWindow, Firing::Window { size: 10, slide: 2 }).unwrap();
    let scale = Rule::for_input(Policy::SlidingWindow, Firing::Count { min: 1, max: 1 }).unwrap();
    let mut engine = Engine::new(Policy::SlidingWindow, &[temp, scale]);
    for reading in 1..=10 {
        engine.push(0, reading);
    }
    assert_eq!(engine.fire(), None, "no scale yet");
    engine.push(1, 100);
    let first = engine.fire().expect("ten readings and a scale");
    assert_eq!(first.inputs, vec![(1..=10).collect::<Vec<_>>(), vec![100]]);

    engine.push(0, 11);
    assert_eq!(engine.fire(), None, "one reading is not a slide of two");
    engine.push(0, 12);
    let second = engine.fire().expect("two new readings");
    assert_eq!(second.inputs, vec![(3..=12).collect::<Vec<_>>(), vec![100]]);
    assert_eq!(second.advanced, vec![true, false], "the scale is reused");

    engine.push(1, 101);
    let third = engine.fire().expect("a new scale");
    assert_eq!(third.inputs, vec![(3..=12).collect::<Vec<_>>(), vec![101]]);
    assert_eq!(third.advanced, vec![false, true], "the readings are reused");
}

#[test]
fn window_inputs_that_can_advance_together_advance_in_one_snapshot() {
    let mut engine = Engine::new(Policy::SlidingWindow, &[window(2, 1), window(1, 1)]);
    engine.push(0, 1);
    engine.push(0, 2);
    engine.push(1, 3);
    assert!(engine.fire().is_some());
    engine.push(0, 4);
    engine.push(1, 5);
    let snapshot = engine.fire().expect("both advance");
    assert_eq!(snapshot.inputs, vec![vec![2, 4], vec![5]]);
    assert_eq!(snapshot.advanced, vec![true, true]);
    assert_eq!(engine.fire(), None);
}

#[test]
fn a_source_task_fires_one_empty_snapshot() {
    let mut engine = Engine::new(Policy::AllNew, &[]);
    assert_eq!(engine.fire().map(|s| s.inputs.len()), Some(0));
    assert_eq!(engine.fire(), None);
}

#[test]
fn state_survives_a_serde_round_trip() {
    let mut engine = Engine::new(Policy::SlidingWindow, &[window(3, 1), window(1, 1)]);
    for value in 1..=4 {
        engine.push(0, value);
    }
    engine.push(1, 9);
    engine.fire();
    let restored: Engine = serde_json::from_str(&serde_json::to_string(&engine).unwrap()).unwrap();
    assert_eq!(restored, engine);
    let mut a = restored;
    let mut b = engine;
    assert_eq!(drain(&mut a), drain(&mut b));
}

/// A random arrival order: (input, how many values arrive) steps.
fn arrivals(inputs: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
    proptest::collection::vec((0..inputs, 1usize..4), 0..40)
}

/// Feeds arrivals with increasing ids, draining after each step as an agent
/// does after each commit; returns every snapshot and what was pushed where.
fn feed(engine: &mut Engine, steps: &[(usize, usize)]) -> (Vec<Snapshot>, Vec<Vec<ValueId>>) {
    let mut pushed = vec![Vec::new(); engine.input_count()];
    let mut snapshots = Vec::new();
    let mut next_id = 1;
    for &(input, n) in steps {
        for _ in 0..n {
            engine.push(input, next_id);
            pushed[input].push(next_id);
            next_id += 1;
        }
        snapshots.extend(drain(engine));
    }
    (snapshots, pushed)
}

fn count_rules() -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec((1u64..4, 0u64..3).prop_map(|(min, extra)| count(min, min + extra)), 1..4)
}

fn window_rules() -> impl Strategy<Value = Vec<Rule>> {
    proptest::collection::vec((1u64..5).prop_flat_map(|size| (Just(size), 1..=size)), 1..4)
        .prop_map(|rules| rules.into_iter().map(|(size, slide)| window(size, slide)).collect())
}

proptest! {
    /// all-new: no value is used twice, every snapshot takes between min and
    /// max values per input, order is kept per input, and nothing is lost
    /// (taken values followed by the waiting ones are exactly what arrived).
    #[test]
    fn all_new_uses_each_value_once_in_order(rules in count_rules(), steps in arrivals(3)) {
        let steps: Vec<_> = steps.into_iter().filter(|(input, _)| *input < rules.len()).collect();
        let mut engine = Engine::new(Policy::AllNew, &rules);
        let (snapshots, pushed) = feed(&mut engine, &steps);
        let waiting = engine.waiting();
        for (input, rule) in rules.iter().enumerate() {
            let Rule::Count { min, max } = *rule else { unreachable!() };
            let mut seen: Vec<ValueId> = Vec::new();
            for snapshot in &snapshots {
                let taken = &snapshot.inputs[input];
                prop_assert!(taken.len() as u64 >= min && taken.len() as u64 <= max);
                seen.extend(taken);
            }
            seen.extend(&waiting[input]);
            prop_assert_eq!(&seen, &pushed[input]);
        }
        // Nothing that could fire is left unfired.
        prop_assert!(engine.fire().is_none());
    }

    /// sliding-window: every window has exactly its size, each value enters
    /// a window once and in arrival order, an advancing input moves by
    /// exactly its slide, a reused input is unchanged.
    #[test]
    fn windows_are_full_and_slide_exactly(rules in window_rules(), steps in arrivals(3)) {
        let steps: Vec<_> = steps.into_iter().filter(|(input, _)| *input < rules.len()).collect();
        let mut engine = Engine::new(Policy::SlidingWindow, &rules);
        let (snapshots, pushed) = feed(&mut engine, &steps);
        let waiting = engine.waiting();
        for (input, rule) in rules.iter().enumerate() {
            let Rule::Window { size, slide } = *rule else { unreachable!() };
            let mut entered: Vec<ValueId> = Vec::new();
            let mut previous: Option<&Vec<ValueId>> = None;
            for snapshot in &snapshots {
                let now = &snapshot.inputs[input];
                prop_assert_eq!(now.len() as u64, size);
                match previous {
                    None => entered.extend(now),
                    Some(before) if snapshot.advanced[input] => {
                        prop_assert_eq!(&before[slide as usize..], &now[..(size - slide) as usize]);
                        entered.extend(&now[(size - slide) as usize..]);
                    }
                    Some(before) => prop_assert_eq!(before, now),
                }
                previous = Some(now);
            }
            entered.extend(&waiting[input]);
            prop_assert_eq!(&entered, &pushed[input]);
        }
        prop_assert!(engine.fire().is_none());
    }

    /// swap-new-for-old: no snapshot before every input had a value; each
    /// snapshot holds the newest value that had arrived on every input; no
    /// value is both shown and superseded.
    #[test]
    fn swap_shows_the_newest_of_every_input(inputs in 1usize..4, steps in arrivals(3)) {
        let steps: Vec<_> = steps.into_iter().filter(|(input, _)| *input < inputs).collect();
        let mut engine = Engine::new(Policy::SwapNewForOld, &vec![count(1, 1); inputs]);
        let mut newest: Vec<Option<ValueId>> = vec![None; inputs];
        let mut next_id = 1;
        let mut shown_or_superseded = std::collections::BTreeSet::new();
        for (input, n) in steps {
            for _ in 0..n {
                engine.push(input, next_id);
                newest[input] = Some(next_id);
                next_id += 1;
            }
            match engine.fire() {
                Some(snapshot) => {
                    prop_assert!(newest.iter().all(Option::is_some));
                    let expected: Vec<Vec<ValueId>> = newest.iter().map(|v| vec![v.unwrap()]).collect();
                    prop_assert_eq!(&snapshot.inputs, &expected);
                    for value in &snapshot.superseded {
                        prop_assert!(shown_or_superseded.insert(*value));
                    }
                    for (i, advanced) in snapshot.advanced.iter().enumerate() {
                        if *advanced {
                            prop_assert!(shown_or_superseded.insert(snapshot.inputs[i][0]));
                        }
                    }
                }
                None => prop_assert!(newest.iter().any(Option::is_none)),
            }
            prop_assert!(engine.fire().is_none(), "one snapshot per arrival step");
        }
    }
}
