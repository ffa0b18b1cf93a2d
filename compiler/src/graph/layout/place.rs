//! Positions across the layers (y when layers run right). Each sweep moves
//! every item of a layer towards the weighted mean of its neighbours in the
//! layer before (or after), keeping the layer's order and the gaps between
//! items: per layer that is a weighted isotonic regression, solved exactly
//! by pooling adjacent violators. Edges between dummies weigh most, so a
//! long edge runs straight, as `dot`'s priority method has it.

use super::Layered;

const SWEEPS: usize = 8;
const GAP: f64 = 24.0;
const GAP_DUMMY: f64 = 12.0;
/// Between items of different regions (or a region and none): room for the
/// region boxes and their titles.
const GAP_REGION: f64 = 48.0;

/// The centre of each item across the layers (any origin).
pub(crate) fn place(graph: &Layered, rows: &[Vec<usize>]) -> Vec<f64> {
    let mut centre = vec![0.0; graph.items.len()];
    for row in rows {
        let mut at = 0.0;
        for (slot, &item) in row.iter().enumerate() {
            if slot > 0 {
                at += separation(graph, row[slot - 1], item);
            }
            centre[item] = at;
        }
        for &item in row {
            centre[item] -= at / 2.0;
        }
    }
    for sweep in 0..SWEEPS * 2 + 1 {
        let last = sweep == SWEEPS * 2;
        let downward = sweep % 2 == 0;
        let order: Vec<usize> = if downward { (0..rows.len()).collect() } else { (0..rows.len()).rev().collect() };
        for layer in order {
            // The last sweep looks both ways; the others one way each.
            settle(graph, &rows[layer], &mut centre, |item| {
                let (up, down) = (graph.up[item].as_slice(), graph.down[item].as_slice());
                match (last, downward) {
                    (true, _) => (up, down),
                    (false, true) => (up, &[][..]),
                    (false, false) => (down, &[][..]),
                }
            });
        }
    }
    centre
}

fn separation(graph: &Layered, a: usize, b: usize) -> f64 {
    let (first, second) = (&graph.items[a], &graph.items[b]);
    let gap = if first.group != second.group {
        GAP_REGION
    } else if first.dummy || second.dummy {
        GAP_DUMMY
    } else {
        GAP
    };
    (first.across + second.across) as f64 / 2.0 + gap
}

fn weight(graph: &Layered, a: usize, b: usize) -> f64 {
    match (graph.items[a].dummy, graph.items[b].dummy) {
        (true, true) => 8.0,
        (false, false) => 1.0,
        _ => 2.0,
    }
}

/// Moves one layer's items as near as the gaps allow to the weighted mean
/// of `neighbours` (two lists, either may be empty); an item without any
/// stays as near as it can to where it is.
fn settle<'a>(
    graph: &Layered,
    row: &[usize],
    centre: &mut [f64],
    neighbours: impl Fn(usize) -> (&'a [usize], &'a [usize]),
) {
    if row.is_empty() {
        return;
    }
    // Offsets that turn the gap constraints into plain order: with
    // y = centre - offset, the constraint is y[i] <= y[i + 1].
    let mut offset = Vec::with_capacity(row.len());
    let mut at = 0.0;
    for (slot, &item) in row.iter().enumerate() {
        if slot > 0 {
            at += separation(graph, row[slot - 1], item);
        }
        offset.push(at);
    }
    // Pool adjacent violators: blocks of (total weight, weighted sum, length).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(row.len());
    for (slot, &item) in row.iter().enumerate() {
        let (near, also) = neighbours(item);
        let (mut total, mut sum) = (0.0, 0.0);
        for &other in near.iter().chain(also) {
            let w = weight(graph, item, other);
            total += w;
            sum += w * centre[other];
        }
        let (w, target) = if total > 0.0 { (total, sum / total) } else { (0.01, centre[item]) };
        blocks.push((w, w * (target - offset[slot]), 1));
        while blocks.len() >= 2 {
            let (w2, s2, n2) = blocks[blocks.len() - 1];
            let (w1, s1, n1) = blocks[blocks.len() - 2];
            if s1 / w1 <= s2 / w2 {
                break;
            }
            blocks.pop();
            *blocks.last_mut().expect("two blocks") = (w1 + w2, s1 + s2, n1 + n2);
        }
    }
    let mut slot = 0;
    for (w, s, n) in blocks {
        for _ in 0..n {
            centre[row[slot]] = s / w + offset[slot];
            slot += 1;
        }
    }
}
