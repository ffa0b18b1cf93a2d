//! The one layout of the pipeline map, drawn by `koaljac graph --format
//! svg` and sent to the editor's graph panel (so both show the same
//! picture). A layered layout in the manner of Sugiyama and of Graphviz
//! `dot`:
//!
//! 1. cycles are broken by a depth-first search; edges going back are laid
//!    out reversed and drawn with their arrow at the right end;
//! 2. layers that keep edges short: the longest path from a source, then
//!    network simplex (`rank`), so a pipeline input sits just before its
//!    first task and a join's inputs line up;
//! 3. an edge spanning several layers gets a dummy node in each layer it
//!    crosses, so it is routed through a slot of its own;
//! 4. crossings are reduced by median sweeps, sifting and transposition of
//!    neighbours from several starting orders, keeping the best (`order`);
//! 5. positions across the layers are weighted means of neighbours under
//!    the separation constraints, solved exactly per layer (`place`);
//! 6. each edge is drawn through its slots: straight within a layer,
//!    a curve inside the gap between two layers, so it never passes
//!    through a node that is not one of its ends.
//!
//! Regions stay contiguous within each layer and are drawn as boxes around
//! their nodes. Integer coordinates and a fixed order of work make the
//! output deterministic.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{GraphView, NodeKind};

mod order;
mod place;
mod rank;

pub const NODE_HEIGHT: i64 = 36;
pub const MARGIN: i64 = 40;
/// Room above the drawing for the pipeline's name.
pub const TITLE: i64 = 24;
const CHAR_WIDTH: i64 = 7;
const LABEL_CHAR_WIDTH: i64 = 6;
const MIN_NODE_WIDTH: i64 = 72;
/// The least gap between two layers, and the room around an edge's label.
const LAYER_GAP: i64 = 70;
const LAYER_GAP_DOWN: i64 = 64;
const LABEL_ROOM: i64 = 30;

/// Which way the layers run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Layers left to right (the default, as the language reads).
    #[default]
    Right,
    /// Layers top to bottom.
    Down,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EdgeRoute {
    /// SVG path data (`M`, `L` and `C` commands in absolute coordinates),
    /// always from the edge's `from` to its `to`, so the arrow goes at the
    /// path's end.
    pub path: String,
    /// Laid out against the layers: a back edge of a cycle, which runs
    /// from a later layer to an earlier one.
    pub reversed: bool,
    /// Where the wire's label goes; only the first edge of each producer's
    /// wire carries one (a fan-out shares its label).
    pub label: Option<LabelPlace>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LabelPlace {
    pub x: i64,
    pub y: i64,
    /// SVG `text-anchor`: `start` or `end`.
    pub anchor: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegionBox {
    pub name: String,
    #[serde(flatten)]
    pub rect: Rect,
}

/// Where everything goes; `nodes[i]` is the box of view node `i`, `edges[i]`
/// the route of view edge `i`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layout {
    pub direction: Direction,
    pub width: i64,
    pub height: i64,
    pub nodes: Vec<Rect>,
    pub edges: Vec<EdgeRoute>,
    pub regions: Vec<RegionBox>,
}

/// The text a node shows.
pub fn display_label(view: &GraphView, id: usize) -> &str {
    let node = &view.nodes[id];
    match node.kind {
        NodeKind::Error => "error",
        _ => &node.label,
    }
}

pub fn node_width(label: &str) -> i64 {
    (label.chars().count() as i64 * CHAR_WIDTH + 28).max(MIN_NODE_WIDTH)
}

/// One thing placed in a layer: a node of the view, or a dummy an edge
/// passes through.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub layer: usize,
    /// Extent along the layers (a node's width when they run right).
    pub along: i64,
    /// Extent across the layers.
    pub across: i64,
    pub dummy: bool,
    /// The region this item keeps contiguous with, as an index.
    pub group: Option<usize>,
}

/// The layered graph the ordering and placement work on.
pub(crate) struct Layered {
    pub items: Vec<Item>,
    /// For each item, the items it links to in the layer after, and before.
    pub down: Vec<Vec<usize>>,
    pub up: Vec<Vec<usize>>,
    pub layer_count: usize,
}

/// One layering with its items ordered.
struct Arranged {
    layer: Vec<usize>,
    graph: Layered,
    chains: Vec<Option<Chain>>,
    rows: Vec<Vec<usize>>,
    crossings: usize,
}

/// A view edge as laid out: the items it passes, from its layout source
/// (its `from`, or its `to` when reversed) to its layout target.
struct Chain {
    items: Vec<usize>,
    reversed: bool,
}

pub fn layout(view: &GraphView, direction: Direction) -> Layout {
    let count = view.nodes.len();
    let forward = forward_edges(view);
    let ends: Vec<Option<(usize, usize)>> = view
        .edges
        .iter()
        .zip(&forward)
        .map(|(edge, &forward)| match (edge.from == edge.to, forward) {
            (true, _) => None,
            (false, true) => Some((edge.from, edge.to)),
            (false, false) => Some((edge.to, edge.from)),
        })
        .collect();
    let edges_laid_out: Vec<(usize, usize)> = ends.iter().flatten().copied().collect();
    let regions = view.regions();
    let group_of: BTreeMap<usize, usize> =
        regions.iter().enumerate().flat_map(|(group, (_, ids))| ids.iter().map(move |&id| (id, group))).collect();
    // Each candidate layering ordered; the one crossing least is drawn
    // (the first on a tie).
    let mut best: Option<Arranged> = None;
    for layer in rank::layerings(count, &edges_laid_out) {
        let (graph, chains) = layered(view, direction, &layer, &ends, &forward, &group_of);
        let (rows, crossings) = order::order(&graph);
        if best.as_ref().is_none_or(|found| crossings < found.crossings) {
            best = Some(Arranged { layer, graph, chains, rows, crossings });
        }
    }
    let Arranged { layer, graph, chains, rows, .. } = best.expect("at least one layering");
    let layer_count = graph.layer_count;
    let across_centre = place::place(&graph, &rows);

    // Along the layers: each layer as thick as its thickest node, the gap
    // after it wide enough for the labels of the wires that leave it.
    let mut thickness = vec![0i64; layer_count];
    for item in graph.items.iter().filter(|item| !item.dummy) {
        thickness[item.layer] = thickness[item.layer].max(item.along);
    }
    let mut gap = vec![if direction == Direction::Right { LAYER_GAP } else { LAYER_GAP_DOWN }; layer_count];
    if direction == Direction::Right {
        for (index, edge) in view.edges.iter().enumerate() {
            let Some(chain) = &chains[index] else { continue };
            // The label sits at the drawn start: in the gap after a forward
            // edge's producer, in the gap before a reversed one's.
            let producer_layer = layer[edge.from];
            let gap_layer = if chain.reversed { producer_layer.checked_sub(1) } else { Some(producer_layer) };
            if let Some(gap_layer) = gap_layer {
                let room = edge.label.chars().count() as i64 * LABEL_CHAR_WIDTH + LABEL_ROOM;
                gap[gap_layer] = gap[gap_layer].max(room);
            }
        }
    }
    let mut layer_start = Vec::with_capacity(layer_count);
    let mut along = MARGIN + if direction == Direction::Down { TITLE } else { 0 };
    for l in 0..layer_count {
        layer_start.push(along);
        along += thickness[l] + gap[l];
    }
    let along_end = along - gap.last().copied().unwrap_or(0);

    // Across: the placement's centres, shifted to start at the margin.
    let across_origin = MARGIN + if direction == Direction::Right { TITLE } else { 0 };
    let lowest =
        graph.items.iter().zip(&across_centre).map(|(item, c)| c - item.across as f64 / 2.0).fold(f64::MAX, f64::min);
    let shift = if lowest == f64::MAX { 0.0 } else { across_origin as f64 - lowest };
    let centre: Vec<i64> = across_centre.iter().map(|c| (c + shift).round() as i64).collect();
    let across_end =
        graph.items.iter().zip(&centre).map(|(item, c)| c + item.across / 2).max().unwrap_or(across_origin);

    let frame = Frame { direction, layer_start: &layer_start, thickness: &thickness };
    let nodes: Vec<Rect> = (0..count)
        .map(|id| {
            let item = &graph.items[id];
            let along = layer_start[item.layer] + (thickness[item.layer] - item.along) / 2;
            frame.rect(along, centre[id] - item.across / 2, item.along, item.across)
        })
        .collect();

    let ports = Ports::assign(view.edges.len(), &chains, &graph, &centre);
    let mut labelled: std::collections::BTreeSet<(usize, &str)> = Default::default();
    let edges: Vec<EdgeRoute> = view
        .edges
        .iter()
        .enumerate()
        .map(|(index, edge)| {
            let (path, start, reversed) = match &chains[index] {
                None => (frame.self_loop(&nodes[edge.from]), None, false),
                Some(chain) => {
                    let mut points = frame.waypoints(chain, &graph, &centre, &nodes, &ports, index);
                    if chain.reversed {
                        points.reverse();
                    }
                    (frame.path(&points), Some((points[0], points[1])), chain.reversed)
                }
            };
            let first_of_wire = labelled.insert((edge.from, edge.wire.as_str()));
            let label = match (first_of_wire, start) {
                (true, Some((from, next))) => Some(frame.label_at(from, next)),
                (true, None) => {
                    let node = &nodes[edge.from];
                    Some(LabelPlace { x: node.x + node.width + 30, y: node.y + 4, anchor: "start" })
                }
                (false, _) => None,
            };
            EdgeRoute { path, reversed, label }
        })
        .collect();

    let region_boxes = regions
        .iter()
        .map(|(name, ids)| {
            let left = ids.iter().map(|&id| nodes[id].x).min().unwrap_or(0) - 14;
            let right = ids.iter().map(|&id| nodes[id].x + nodes[id].width).max().unwrap_or(0) + 14;
            let top = ids.iter().map(|&id| nodes[id].y).min().unwrap_or(0) - 26;
            let bottom = ids.iter().map(|&id| nodes[id].y + nodes[id].height).max().unwrap_or(0) + 12;
            RegionBox {
                name: (*name).to_owned(),
                rect: Rect { x: left, y: top, width: right - left, height: bottom - top },
            }
        })
        .collect();

    let (far_x, far_y) = match direction {
        Direction::Right => (along_end, across_end),
        Direction::Down => (across_end, along_end),
    };
    Layout {
        direction,
        width: (far_x + MARGIN).max(200),
        height: far_y + MARGIN + 16,
        nodes,
        edges,
        regions: region_boxes,
    }
}

/// The layered graph for one layering: the view's nodes, and a dummy in
/// every layer an edge skips.
fn layered(
    view: &GraphView,
    direction: Direction,
    layer: &[usize],
    ends: &[Option<(usize, usize)>],
    forward: &[bool],
    group_of: &BTreeMap<usize, usize>,
) -> (Layered, Vec<Option<Chain>>) {
    let count = view.nodes.len();
    let mut items: Vec<Item> = (0..count)
        .map(|id| {
            let width = node_width(display_label(view, id));
            let (along, across) = match direction {
                Direction::Right => (width, NODE_HEIGHT),
                Direction::Down => (NODE_HEIGHT, width),
            };
            Item { layer: layer[id], along, across, dummy: false, group: group_of.get(&id).copied() }
        })
        .collect();
    let mut chains: Vec<Option<Chain>> = Vec::with_capacity(view.edges.len());
    for (index, end) in ends.iter().enumerate() {
        let Some((source, target)) = *end else {
            chains.push(None);
            continue;
        };
        let group = match (items[source].group, items[target].group) {
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        };
        let mut chain = vec![source];
        for dummy_layer in layer[source] + 1..layer[target] {
            chain.push(items.len());
            items.push(Item { layer: dummy_layer, along: 0, across: 12, dummy: true, group });
        }
        chain.push(target);
        chains.push(Some(Chain { items: chain, reversed: !forward[index] }));
    }
    let layer_count = items.iter().map(|item| item.layer + 1).max().unwrap_or(0);
    let mut down = vec![Vec::new(); items.len()];
    let mut up = vec![Vec::new(); items.len()];
    for chain in chains.iter().flatten() {
        for pair in chain.items.windows(2) {
            down[pair[0]].push(pair[1]);
            up[pair[1]].push(pair[0]);
        }
    }
    (Layered { items, down, up, layer_count }, chains)
}

/// Where each edge leaves and enters its nodes: every edge has a port of
/// its own on each side it touches, and the ports of a side are spread over
/// it in the order of what their edges lead to, so that the edges of one
/// node do not cross each other. (A port shared by a wire's fan-out made
/// its edges cross those of the neighbouring ports.)
struct Ports {
    /// Offset across the layers from the item's centre, per (edge, end):
    /// `[source, target]` in layout orientation.
    offset: Vec<[i64; 2]>,
}

impl Ports {
    fn assign(edge_count: usize, chains: &[Option<Chain>], graph: &Layered, centre: &[i64]) -> Ports {
        let mut offset = vec![[0i64; 2]; edge_count];
        // (item, end) → (position of the next item along the edge, edge).
        let mut sides: BTreeMap<(usize, usize), Vec<(i64, usize)>> = BTreeMap::new();
        for (index, chain) in chains.iter().enumerate() {
            let Some(chain) = chain else { continue };
            let (source, target) = (chain.items[0], chain.items[chain.items.len() - 1]);
            let after_source = chain.items[1];
            let before_target = chain.items[chain.items.len() - 2];
            sides.entry((source, 0)).or_default().push((centre[after_source], index));
            sides.entry((target, 1)).or_default().push((centre[before_target], index));
        }
        for ((item, end), mut edges) in sides {
            edges.sort();
            let size = graph.items[item].across;
            let slots = edges.len() as i64;
            for (slot, (_, edge)) in edges.into_iter().enumerate() {
                offset[edge][end] = -size / 2 + size * (slot as i64 + 1) / (slots + 1);
            }
        }
        Ports { offset }
    }
}

/// Turns positions along and across the layers into x and y.
struct Frame<'a> {
    direction: Direction,
    layer_start: &'a [i64],
    thickness: &'a [i64],
}

type Point = (i64, i64);

impl Frame<'_> {
    fn point(&self, along: i64, across: i64) -> Point {
        match self.direction {
            Direction::Right => (along, across),
            Direction::Down => (across, along),
        }
    }

    fn rect(&self, along: i64, across: i64, along_size: i64, across_size: i64) -> Rect {
        let (x, y) = self.point(along, across);
        let (width, height) = match self.direction {
            Direction::Right => (along_size, across_size),
            Direction::Down => (across_size, along_size),
        };
        Rect { x, y, width, height }
    }

    /// The points an edge passes in layout orientation, in pairs: each pair
    /// is a straight run inside one layer, and between pairs lies a gap.
    fn waypoints(
        &self,
        chain: &Chain,
        graph: &Layered,
        centre: &[i64],
        nodes: &[Rect],
        ports: &Ports,
        edge: usize,
    ) -> Vec<Point> {
        let last = chain.items.len() - 1;
        let mut points = Vec::with_capacity(chain.items.len() * 2);
        for (position, &item) in chain.items.iter().enumerate() {
            let layer = graph.items[item].layer;
            let (start, end) = (self.layer_start[layer], self.layer_start[layer] + self.thickness[layer]);
            let (near, far) = if position == 0 || position == last {
                let rect = &nodes[item];
                match self.direction {
                    Direction::Right => (rect.x, rect.x + rect.width),
                    Direction::Down => (rect.y, rect.y + rect.height),
                }
            } else {
                (start, end)
            };
            if position == 0 {
                let across = centre[item] + ports.offset[edge][0];
                points.push(self.point(far, across));
                points.push(self.point(end, across));
            } else if position == last {
                let across = centre[item] + ports.offset[edge][1];
                points.push(self.point(start, across));
                points.push(self.point(near, across));
            } else {
                points.push(self.point(start, centre[item]));
                points.push(self.point(end, centre[item]));
            }
        }
        points
    }

    /// SVG path data through `points` (pairs of straight runs, curves in
    /// between whose tangents follow the layers, so a curve stays inside
    /// its gap).
    fn path(&self, points: &[Point]) -> String {
        let mut d = String::new();
        let _ = write!(d, "M {} {}", points[0].0, points[0].1);
        for (index, pair) in points.windows(2).enumerate() {
            let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
            if index % 2 == 0 {
                if (x1, y1) != (x2, y2) {
                    let _ = write!(d, " L {x2} {y2}");
                }
                continue;
            }
            let (c1, c2) = match self.direction {
                Direction::Right => {
                    let mid = (x1 + x2) / 2;
                    ((mid, y1), (mid, y2))
                }
                Direction::Down => {
                    let mid = (y1 + y2) / 2;
                    ((x1, mid), (x2, mid))
                }
            };
            let _ = write!(d, " C {} {}, {} {}, {x2} {y2}", c1.0, c1.1, c2.0, c2.1);
        }
        d
    }

    /// A loop from a node back into itself, in the gap after it.
    fn self_loop(&self, node: &Rect) -> String {
        match self.direction {
            Direction::Right => {
                let (x, y) = (node.x + node.width, node.y + node.height / 2);
                format!("M {x} {} C {} {}, {} {}, {x} {}", y - 8, x + 34, y - 30, x + 34, y + 30, y + 8)
            }
            Direction::Down => {
                let (x, y) = (node.x + node.width / 2, node.y + node.height);
                format!("M {} {y} C {} {}, {} {}, {} {y}", x - 8, x - 30, y + 34, x + 30, y + 34, x + 8)
            }
        }
    }

    /// A label beside the first run of an edge, on the side it travels.
    fn label_at(&self, from: Point, next: Point) -> LabelPlace {
        match self.direction {
            Direction::Right if next.0 >= from.0 => LabelPlace { x: from.0 + 6, y: from.1 - 4, anchor: "start" },
            Direction::Right => LabelPlace { x: from.0 - 6, y: from.1 - 4, anchor: "end" },
            Direction::Down if next.1 >= from.1 => LabelPlace { x: from.0 + 5, y: from.1 + 14, anchor: "start" },
            Direction::Down => LabelPlace { x: from.0 + 5, y: from.1 - 6, anchor: "start" },
        }
    }
}

/// Which edges go forward (not back along a cycle): a depth-first search
/// from every node in id order marks edges into a node still on its stack.
fn forward_edges(view: &GraphView) -> Vec<bool> {
    let count = view.nodes.len();
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, edge) in view.edges.iter().enumerate() {
        outgoing[edge.from].push(index);
    }
    let mut forward = vec![true; view.edges.len()];
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; count];
    for root in 0..count {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&edge) = outgoing[node].get(*next) {
                *next += 1;
                let target = view.edges[edge].to;
                match state[target] {
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => forward[edge] = false,
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    forward
}
