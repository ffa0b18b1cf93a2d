//! The order of items within each layer, chosen to cross few edges. As
//! `dot` does (Gansner et al., "A Technique for Drawing Directed Graphs",
//! 1993): initial orders by searches from the sources and from the sinks
//! (in statement order, so a file's order shows), improved by sweeps that
//! sort each layer by the weighted median of its neighbours' positions,
//! each followed by transposition of adjacent items while that removes
//! crossings. Beyond `dot`: sifting (each item moved to its best place in
//! its layer) in every sweep, shuffled starts and kicks (a few items of the
//! best order shuffled and improved again), then sifting alone until it
//! finds nothing. The best order seen is kept; items of one region stay
//! together. Random numbers come from a fixed seed, so a graph always gets
//! the same order.

use super::Layered;

/// Sweeps before giving up; fewer on big graphs, whose drawing nobody reads
/// crossing by crossing but which the editor redraws on every change.
const SWEEPS: usize = 24;
const SWEEPS_BIG: usize = 4;
/// Sweeps in a row without a better order before stopping.
const PATIENCE: usize = 6;
const POLISH_ROUNDS: usize = 16;
/// Above this many items, one start and a few sweeps without sifting.
const BIG: usize = 3_000;

/// How hard to look, by the number of items (nodes and dummies). Measured
/// with bench/graph.sh on 200 random 50-task pipelines (about 160 items):
/// without sifting, 24 shuffled starts and 24 kicks crossed more than `dot`
/// on 8; with sifting after each start and 32 starts and 48 kicks, on 1, in
/// about 50 ms. Bigger graphs get less, so that the editor's graph panel
/// keeps up with typing.
struct Effort {
    restarts: usize,
    kicks: usize,
    /// Sift (and polish) after each start's sweeps.
    sift_after_sweeps: bool,
}

fn effort(items: usize) -> Effort {
    match items {
        0..=250 => Effort { restarts: 32, kicks: 48, sift_after_sweeps: true },
        251..=600 => Effort { restarts: 8, kicks: 12, sift_after_sweeps: true },
        _ => Effort { restarts: 4, kicks: 4, sift_after_sweeps: false },
    }
}

/// The order of each layer, and the crossings it leaves.
pub(crate) fn order(graph: &Layered) -> (Vec<Vec<usize>>, usize) {
    if graph.items.len() > BIG {
        return improve(graph, initial(graph, Start::DepthFromSources), SWEEPS_BIG, false, false, false);
    }
    let effort = effort(graph.items.len());
    let sift = effort.sift_after_sweeps;
    // As dot does: start from orders found from the top and from the
    // bottom, keep the better, then go on from it letting transposition
    // swap ties too (which leaves plateaus).
    let mut best: Option<(Vec<Vec<usize>>, usize)> = None;
    for start in [Start::DepthFromSources, Start::DepthFromSinks, Start::BreadthFromSources] {
        for upward_first in [false, true] {
            let found = improve(graph, initial(graph, start), SWEEPS, upward_first, false, sift);
            if best.as_ref().is_none_or(|(_, crossings)| found.1 < *crossings) {
                best = Some(found);
            }
        }
    }
    // Shuffled starts (a fixed seed: the same graph gets the same order).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..effort.restarts {
        let mut rows = initial(graph, Start::DepthFromSources);
        for row in &mut rows {
            for i in (1..row.len()).rev() {
                row.swap(i, (next(&mut state) % (i as u64 + 1)) as usize);
            }
            keep_groups_together(graph, row);
        }
        let found = improve(graph, rows, SWEEPS, false, false, sift);
        if best.as_ref().is_none_or(|(_, crossings)| found.1 < *crossings) {
            best = Some(found);
        }
    }
    let (mut rows, mut crossings) = best.expect("at least one start");
    // Then kicks: the best order with a few items of two layers shuffled,
    // improved again, kept when no worse (so plateaus are crossed).
    for _ in 0..effort.kicks {
        if crossings == 0 {
            return (rows, crossings);
        }
        let mut kicked = rows.clone();
        for _ in 0..2 {
            let layer = (next(&mut state) % kicked.len() as u64) as usize;
            let row = &mut kicked[layer];
            if row.len() < 2 {
                continue;
            }
            let start = (next(&mut state) % row.len() as u64) as usize;
            let end = (start + 2 + (next(&mut state) % 4) as usize).min(row.len());
            for i in (start + 1..end).rev() {
                let j = start + (next(&mut state) % (i - start + 1) as u64) as usize;
                row.swap(i, j);
            }
            keep_groups_together(graph, row);
        }
        let found = improve(graph, kicked, SWEEPS, false, false, sift);
        if found.1 <= crossings {
            (rows, crossings) = found;
        }
    }
    if crossings == 0 {
        return (rows, crossings);
    }
    let further = improve(graph, rows.clone(), SWEEPS, false, true, sift);
    let (rows, crossings) = if further.1 < crossings { further } else { (rows, crossings) };
    polish(graph, rows, crossings)
}

/// Sifting and transposition alone, repeated while they find a better
/// order: the median sweeps that led here would undo some of it.
fn polish(graph: &Layered, mut rows: Vec<Vec<usize>>, mut crossings_now: usize) -> (Vec<Vec<usize>>, usize) {
    let mut position = vec![0usize; graph.items.len()];
    index(&rows, &mut position);
    for _ in 0..POLISH_ROUNDS {
        if crossings_now == 0 {
            break;
        }
        let mut next = rows.clone();
        let mut next_position = position.clone();
        sift(graph, &mut next, &mut next_position);
        transpose(graph, &mut next, &mut next_position, false);
        let found = crossings(graph, &next, &next_position);
        if found >= crossings_now {
            break;
        }
        (rows, position, crossings_now) = (next, next_position, found);
    }
    (rows, crossings_now)
}

/// xorshift64: the shuffles' random numbers, from a fixed seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Median sweeps from `rows`, alternating direction, each followed by
/// transposition; the best order seen and its crossings.
fn improve(
    graph: &Layered,
    mut rows: Vec<Vec<usize>>,
    sweeps: usize,
    upward_first: bool,
    swap_ties: bool,
    sift_after_sweeps: bool,
) -> (Vec<Vec<usize>>, usize) {
    let big = graph.items.len() > BIG;
    let mut position = vec![0usize; graph.items.len()];
    index(&rows, &mut position);
    if !big {
        transpose(graph, &mut rows, &mut position, false);
    }
    let mut best = rows.clone();
    let mut best_crossings = crossings(graph, &rows, &position);
    let mut since_better = 0;
    for sweep in 0..sweeps {
        if best_crossings == 0 || since_better >= PATIENCE {
            break;
        }
        let downward = (sweep % 2 == 0) != upward_first;
        let layers: Vec<usize> = if downward {
            (1..graph.layer_count).collect()
        } else {
            (0..graph.layer_count.saturating_sub(1)).rev().collect()
        };
        for layer in layers {
            sort_by_median(graph, &mut rows[layer], &position, downward);
            for (slot, &item) in rows[layer].iter().enumerate() {
                position[item] = slot;
            }
        }
        if !big {
            transpose(graph, &mut rows, &mut position, swap_ties && sweep % 2 == 1);
        }
        let now = crossings(graph, &rows, &position);
        if now < best_crossings {
            best_crossings = now;
            best = rows.clone();
            since_better = 0;
        } else {
            since_better += 1;
        }
    }
    if sift_after_sweeps && best_crossings > 0 {
        return polish(graph, best, best_crossings);
    }
    (best, best_crossings)
}

fn index(rows: &[Vec<usize>], position: &mut [usize]) {
    for row in rows {
        for (slot, &item) in row.iter().enumerate() {
            position[item] = slot;
        }
    }
}

#[derive(Clone, Copy)]
enum Start {
    DepthFromSources,
    DepthFromSinks,
    BreadthFromSources,
}

/// A first order: each item joins its layer when a search first reaches
/// it, from the items with nothing above (or below) them in id order (real
/// nodes first, in statement order), so a chain's items line up.
fn initial(graph: &Layered, start: Start) -> Vec<Vec<usize>> {
    let (forth, back) = match start {
        Start::DepthFromSinks => (&graph.up, &graph.down),
        _ => (&graph.down, &graph.up),
    };
    let mut rows = vec![Vec::new(); graph.layer_count];
    let mut seen = vec![false; graph.items.len()];
    let mut pending = std::collections::VecDeque::new();
    let roots = (0..graph.items.len()).filter(|&item| back[item].is_empty());
    for root in roots.chain(0..graph.items.len()) {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        pending.push_back(root);
        while let Some(item) = match start {
            Start::BreadthFromSources => pending.pop_front(),
            _ => pending.pop_back(),
        } {
            rows[graph.items[item].layer].push(item);
            let next: Box<dyn Iterator<Item = &usize>> = match start {
                Start::BreadthFromSources => Box::new(forth[item].iter()),
                _ => Box::new(forth[item].iter().rev()),
            };
            for &next in next {
                if !seen[next] {
                    seen[next] = true;
                    pending.push_back(next);
                }
            }
        }
    }
    for row in &mut rows {
        keep_groups_together(graph, row);
    }
    rows
}

/// Sorts a layer by the weighted median position of each item's neighbours
/// in the layer before (downward) or after; an item without neighbours
/// there keeps its place.
fn sort_by_median(graph: &Layered, row: &mut Vec<usize>, position: &[usize], downward: bool) {
    let keys: Vec<(usize, f64)> = row
        .iter()
        .map(|&item| {
            let neighbours = if downward { &graph.up[item] } else { &graph.down[item] };
            let mut near: Vec<usize> = neighbours.iter().map(|&other| position[other]).collect();
            near.sort_unstable();
            (item, median(&near).unwrap_or(-1.0))
        })
        .collect();
    // Items with a median are sorted among the slots such items hold;
    // the others stay where they are.
    let mut movable: Vec<(f64, usize, usize)> =
        keys.iter().filter(|(_, key)| *key >= 0.0).map(|&(item, key)| (key, position[item], item)).collect();
    movable.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut sorted = movable.into_iter().map(|(_, _, item)| item);
    let fixed: Vec<bool> = keys.iter().map(|(_, key)| *key < 0.0).collect();
    let mut next = Vec::with_capacity(row.len());
    for (slot, &item) in row.iter().enumerate() {
        if fixed[slot] {
            next.push(item);
        } else if let Some(moved) = sorted.next() {
            next.push(moved);
        }
    }
    keep_groups_together(graph, &mut next);
    *row = next;
}

/// The weighted median of sorted positions: the middle one, or between the
/// two middle ones weighted towards the side where positions lie closer.
fn median(sorted: &[usize]) -> Option<f64> {
    let n = sorted.len();
    let at = |i: usize| sorted[i] as f64;
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(at(n / 2)),
        2 => Some((at(0) + at(1)) / 2.0),
        _ => {
            let m = n / 2;
            let left = at(m - 1) - at(0);
            let right = at(n - 1) - at(m);
            if left + right == 0.0 {
                Some((at(m - 1) + at(m)) / 2.0)
            } else {
                Some((at(m - 1) * right + at(m) * left) / (left + right))
            }
        }
    }
}

/// Gathers each region's items where the first of them stands, in their
/// order (a stable regrouping, so that a region is one block per layer).
fn keep_groups_together(graph: &Layered, row: &mut Vec<usize>) {
    if row.iter().all(|&item| graph.items[item].group.is_none()) {
        return;
    }
    let mut placed = vec![false; row.len()];
    let mut next = Vec::with_capacity(row.len());
    for slot in 0..row.len() {
        if placed[slot] {
            continue;
        }
        let group = graph.items[row[slot]].group;
        match group {
            None => {
                placed[slot] = true;
                next.push(row[slot]);
            }
            Some(_) => {
                for later in slot..row.len() {
                    if !placed[later] && graph.items[row[later]].group == group {
                        placed[later] = true;
                        next.push(row[later]);
                    }
                }
            }
        }
    }
    *row = next;
}

/// Swaps adjacent items of a layer while that crosses fewer edges, layer
/// after layer, until a pass changes nothing (or with `swap_ties`, also
/// while equal, for at most eight passes). Only items of the same region
/// (or both of none) swap, which keeps regions together.
fn transpose(graph: &Layered, rows: &mut [Vec<usize>], position: &mut [usize], swap_ties: bool) {
    for _pass in 0..8 {
        let mut improved = false;
        for row in rows.iter_mut() {
            for slot in 0..row.len().saturating_sub(1) {
                let (u, v) = (row[slot], row[slot + 1]);
                if graph.items[u].group != graph.items[v].group {
                    continue;
                }
                let now = pair_crossings(graph, u, v, position);
                let swapped = pair_crossings(graph, v, u, position);
                if swapped < now || (swap_ties && now > 0 && swapped == now) {
                    row.swap(slot, slot + 1);
                    position[u] = slot + 1;
                    position[v] = slot;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// Sifting (Matuszewski, Schönfeld and Molitor, 1999): each item in turn
/// is taken out of its layer and put back where it crosses fewest edges
/// with both neighbouring layers, among the places that keep regions
/// together.
fn sift(graph: &Layered, rows: &mut [Vec<usize>], position: &mut [usize]) {
    for row in rows.iter_mut() {
        let width = row.len();
        if width < 2 {
            continue;
        }
        // Crossings of each pair with the first before the second: they
        // depend only on the neighbouring layers, which stay put while
        // this one is sifted. Indexed by slot in the layer as it was.
        let items: Vec<usize> = row.clone();
        let mut before = vec![0u32; width * width];
        for a in 0..width {
            for b in a + 1..width {
                before[a * width + b] = pair_crossings(graph, items[a], items[b], position) as u32;
                before[b * width + a] = pair_crossings(graph, items[b], items[a], position) as u32;
            }
        }
        let group = |local: usize| graph.items[items[local]].group;
        let mut others: Vec<usize> = (0..width).collect();
        for local in 0..width {
            let at = others.iter().position(|&other| other == local).expect("each item once");
            others.remove(at);
            // Crossings with `local` first, then the change as it moves
            // past each other item.
            let mut cost: i64 = others.iter().map(|&other| before[local * width + other] as i64).sum();
            let (mut best_cost, mut best_slot) = (i64::MAX, 0);
            let own = group(local);
            let own_elsewhere = others.iter().any(|&o| group(o) == own);
            for slot in 0..=others.len() {
                if slot > 0 {
                    let passed = others[slot - 1];
                    cost += before[passed * width + local] as i64 - before[local * width + passed] as i64;
                }
                let keeps_groups = {
                    let previous = slot.checked_sub(1).map(|s| group(others[s]));
                    let next = others.get(slot).map(|&o| group(o));
                    let inside_other =
                        matches!((previous, next), (Some(Some(a)), Some(Some(b))) if a == b && Some(a) != own);
                    let joins_own = own.is_none() || previous == Some(own) || next == Some(own) || !own_elsewhere;
                    !inside_other && joins_own
                };
                if keeps_groups && cost < best_cost {
                    best_cost = cost;
                    best_slot = slot;
                }
            }
            others.insert(best_slot, local);
        }
        *row = others.iter().map(|&local| items[local]).collect();
        for (slot, &moved) in row.iter().enumerate() {
            position[moved] = slot;
        }
    }
}

/// Crossings among the edges of `u` and `v` (both layers) with `u` before `v`.
fn pair_crossings(graph: &Layered, u: usize, v: usize, position: &[usize]) -> usize {
    let count = |a: &[usize], b: &[usize]| {
        a.iter().map(|&x| b.iter().filter(|&&y| position[x] > position[y]).count()).sum::<usize>()
    };
    count(&graph.up[u], &graph.up[v]) + count(&graph.down[u], &graph.down[v])
}

/// All crossings between adjacent layers, counted with an accumulator tree
/// in O(E log V) per pair of layers (Barth, Jünger and Mutzel, 2002).
pub(crate) fn crossings(graph: &Layered, rows: &[Vec<usize>], position: &[usize]) -> usize {
    let mut total = 0;
    for layer in 0..rows.len().saturating_sub(1) {
        let below = rows[layer + 1].len();
        if below == 0 {
            continue;
        }
        // The edges between the layers, as (upper slot, lower slot) sorted.
        let mut ends: Vec<(usize, usize)> =
            rows[layer].iter().flat_map(|&u| graph.down[u].iter().map(move |&v| (position[u], position[v]))).collect();
        ends.sort_unstable();
        let mut first = 1;
        while first < below {
            first *= 2;
        }
        let mut tree = vec![0usize; 2 * first - 1];
        let first = first - 1;
        for &(_, lower) in &ends {
            let mut index = lower + first;
            tree[index] += 1;
            while index > 0 {
                if index % 2 == 1 {
                    total += tree[index + 1];
                }
                index = (index - 1) / 2;
                tree[index] += 1;
            }
        }
    }
    total
}
