//! Each node's layer. Edges should be short: every layer an edge skips
//! costs a dummy, and dummies are where crossings happen. For graphs of
//! the size people read, the layers minimise the total edge length exactly
//! by the network simplex method (Gansner et al. 1993, §2, as `dot` does):
//! on random 50-task pipelines that crossed a quarter fewer edges than the
//! longest path with local moves, but not on every one, so both are tried
//! there. Bigger graphs, whose drawing is an overview and which the editor
//! lays out on every change, get the longest path with local moves only.

/// Up to this many nodes, network simplex; its simple form recomputes every
/// cut value per exchange, which is quadratic in the graph's size.
const SIMPLEX_LIMIT: usize = 400;
const SIMPLEX_EXCHANGES: usize = 1_000;

/// Candidate layerings, `edges` being (from, to) with `to` on a later
/// layer, acyclic. Small graphs get two: network simplex, and the longest
/// path with local moves, which has longer edges but on some random
/// pipelines lets the ordering cross fewer (the caller keeps the better;
/// of 12 that crossed more than `dot` with simplex alone, it mended 7).
pub(crate) fn layerings(count: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let (longest, topological) = longest_path(count, edges);
    let mut moved = longest.clone();
    local_moves(count, edges, &topological, &mut moved);
    let mut found = Vec::new();
    if count <= SIMPLEX_LIMIT {
        let mut simplex = longest;
        network_simplex(count, edges, &mut simplex);
        found.push(simplex);
    }
    found.push(moved);
    for layer in &mut found {
        let lowest = layer.iter().copied().min().unwrap_or(0);
        layer.iter_mut().for_each(|l| *l -= lowest);
    }
    found.dedup();
    found
}

/// Layers by the longest path from a source, and a topological order.
fn longest_path(count: usize, edges: &[(usize, usize)]) -> (Vec<usize>, Vec<usize>) {
    let mut indegree = vec![0usize; count];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(from, to) in edges {
        indegree[to] += 1;
        outgoing[from].push(to);
    }
    let mut layer = vec![0usize; count];
    let mut topological = Vec::with_capacity(count);
    let mut ready: std::collections::VecDeque<usize> = (0..count).filter(|&n| indegree[n] == 0).collect();
    while let Some(node) = ready.pop_front() {
        topological.push(node);
        for &next in &outgoing[node] {
            layer[next] = layer[next].max(layer[node] + 1);
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.push_back(next);
            }
        }
    }
    (layer, topological)
}

/// A node with more edges out than in moves to just before its nearest
/// consumer, one with more in than out to just after its latest producer,
/// until nothing moves; each move shortens the edges in total, so it ends.
fn local_moves(count: usize, edges: &[(usize, usize)], topological: &[usize], layer: &mut [usize]) {
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut predecessors: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(from, to) in edges {
        successors[from].push(to);
        predecessors[to].push(from);
    }
    loop {
        let mut moved = false;
        for &node in topological.iter().rev() {
            if successors[node].len() > predecessors[node].len() {
                if let Some(nearest) = successors[node].iter().map(|&next| layer[next]).min() {
                    if nearest - 1 > layer[node] {
                        layer[node] = nearest - 1;
                        moved = true;
                    }
                }
            }
        }
        for &node in topological {
            if predecessors[node].len() > successors[node].len() {
                if let Some(latest) = predecessors[node].iter().map(|&before| layer[before]).max() {
                    if latest + 1 < layer[node] {
                        layer[node] = latest + 1;
                        moved = true;
                    }
                }
            }
        }
        if !moved {
            break;
        }
    }
}

struct Arc {
    tail: usize,
    head: usize,
    minimum: i64,
    weight: i64,
}

/// Network simplex over the edges plus a virtual root joined to every
/// source by a weightless edge (so a graph in several pieces is one tree):
/// a feasible tight spanning tree, then exchanges of a tree edge with a
/// negative cut value for the non-tree edge of least slack across the cut.
fn network_simplex(count: usize, edges: &[(usize, usize)], layer: &mut [usize]) {
    let root = count;
    let nodes = count + 1;
    let mut arcs: Vec<Arc> = edges.iter().map(|&(tail, head)| Arc { tail, head, minimum: 1, weight: 1 }).collect();
    let mut has_input = vec![false; count];
    for &(_, to) in edges {
        has_input[to] = true;
    }
    for (node, _) in has_input.iter().enumerate().filter(|(_, has)| !**has) {
        arcs.push(Arc { tail: root, head: node, minimum: 0, weight: 0 });
    }
    let mut rank: Vec<i64> = layer.iter().map(|&l| l as i64).chain([0]).collect();
    let mut incident: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for (index, arc) in arcs.iter().enumerate() {
        incident[arc.tail].push(index);
        incident[arc.head].push(index);
    }
    let slack = |rank: &[i64], arc: &Arc| rank[arc.head] - rank[arc.tail] - arc.minimum;

    // A tight spanning tree: grow along tight arcs; when stuck, shift the
    // tree's ranks so the least slack arc leaving it becomes tight.
    let mut in_tree = vec![false; nodes];
    let mut tree_arc = vec![false; arcs.len()];
    in_tree[root] = true;
    let mut size = 1;
    let mut members = vec![root];
    loop {
        let mut frontier = members.clone();
        while let Some(node) = frontier.pop() {
            for &index in &incident[node] {
                let arc = &arcs[index];
                let other = if arc.tail == node { arc.head } else { arc.tail };
                if !in_tree[other] && slack(&rank, arc) == 0 {
                    in_tree[other] = true;
                    tree_arc[index] = true;
                    size += 1;
                    members.push(other);
                    frontier.push(other);
                }
            }
        }
        if size == nodes {
            break;
        }
        let Some((index, _)) = arcs
            .iter()
            .enumerate()
            .filter(|(_, arc)| in_tree[arc.tail] != in_tree[arc.head])
            .min_by_key(|(index, arc)| (slack(&rank, arc), *index))
        else {
            return; // cannot happen: the root reaches every node
        };
        let arc = &arcs[index];
        let delta = if in_tree[arc.tail] { slack(&rank, arc) } else { -slack(&rank, arc) };
        for &member in &members {
            rank[member] += delta;
        }
    }

    // Which side of tree arc `cut` each node is on: true for the tail's.
    let tail_side = |tree_arc: &[bool], cut: usize| -> Vec<bool> {
        let mut side = vec![false; nodes];
        let start = arcs[cut].tail;
        side[start] = true;
        let mut pending = vec![start];
        while let Some(node) = pending.pop() {
            for &index in &incident[node] {
                if index == cut || !tree_arc[index] {
                    continue;
                }
                let arc = &arcs[index];
                let other = if arc.tail == node { arc.head } else { arc.tail };
                if !side[other] {
                    side[other] = true;
                    pending.push(other);
                }
            }
        }
        side
    };
    for _ in 0..SIMPLEX_EXCHANGES {
        // The first tree arc whose cut value is negative.
        let mut leaving = None;
        for cut in (0..arcs.len()).filter(|&index| tree_arc[index]) {
            let side = tail_side(&tree_arc, cut);
            let value: i64 = arcs
                .iter()
                .map(|arc| match (side[arc.tail], side[arc.head]) {
                    (true, false) => arc.weight,
                    (false, true) => -arc.weight,
                    _ => 0,
                })
                .sum();
            if value < 0 {
                leaving = Some((cut, side));
                break;
            }
        }
        let Some((cut, side)) = leaving else { break };
        // The arc from the head's side to the tail's with the least slack.
        let Some((entering, _)) = arcs
            .iter()
            .enumerate()
            .filter(|(index, arc)| !tree_arc[*index] && !side[arc.tail] && side[arc.head])
            .min_by_key(|(index, arc)| (slack(&rank, arc), *index))
        else {
            break;
        };
        let delta = slack(&rank, &arcs[entering]);
        for node in (0..nodes).filter(|&node| side[node]) {
            rank[node] -= delta;
        }
        tree_arc[cut] = false;
        tree_arc[entering] = true;
    }
    let lowest = rank[..count].iter().copied().min().unwrap_or(0);
    for (node, value) in layer.iter_mut().enumerate() {
        *value = (rank[node] - lowest) as usize;
    }
}
