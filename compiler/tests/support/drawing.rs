//! How well a drawing reads, counted from its SVG alone, so that
//! `koaljac graph --format svg` and Graphviz `dot -Tsvg` (laid out from the
//! project's own DOT) are held to one measure: edges that pass through a
//! node that is not one of their ends, and crossings between edges. Shared
//! by compiler/tests/graph.rs and the `graph_quality` example that
//! bench/graph.sh runs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

#[derive(Clone, Copy, Debug)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    fn grown(self, by: f64) -> Rect {
        Rect { left: self.left - by, top: self.top - by, right: self.right + by, bottom: self.bottom + by }
    }

    fn contains(&self, (x, y): (f64, f64)) -> bool {
        x > self.left && x < self.right && y > self.top && y < self.bottom
    }
}

pub struct Edge {
    pub from: String,
    pub to: String,
    /// The edge's path, curves flattened.
    pub points: Vec<(f64, f64)>,
}

/// What a drawing shows, by node name.
pub struct Drawing {
    pub nodes: HashMap<String, Rect>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Quality {
    /// (edge, node) pairs where the edge passes through a node not its own.
    pub through_nodes: usize,
    pub crossings: usize,
}

/// Reads `koaljac graph --format svg`: nodes are `<g class="node …"
/// data-id>` with a rect or polygon, edges `<g class="edge" data-from
/// data-to>` with a path.
pub fn read_koalja(svg: &str) -> Drawing {
    let document = roxmltree::Document::parse(svg).expect("koaljac's SVG parses");
    let mut drawing = Drawing { nodes: HashMap::new(), edges: Vec::new() };
    for group in document.descendants().filter(|n| n.has_tag_name("g")) {
        let class = group.attribute("class").unwrap_or("");
        if class.split(' ').any(|c| c == "node") {
            let id = group.attribute("data-id").expect("node id").to_owned();
            drawing.nodes.insert(id, shape_bounds(group).expect("a node has a shape"));
        } else if class.split(' ').any(|c| c == "edge") {
            let path = group.children().find(|n| n.has_tag_name("path")).expect("an edge has a path");
            drawing.edges.push(Edge {
                from: group.attribute("data-from").expect("edge from").to_owned(),
                to: group.attribute("data-to").expect("edge to").to_owned(),
                points: flatten(path.attribute("d").expect("path data")),
            });
        }
    }
    drawing
}

/// `dot -Tsvg` of DOT `source`; panics with dot's error when it refuses.
pub fn graphviz_svg(source: &str) -> String {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz `dot` runs (apt install graphviz)");
    child.stdin.take().unwrap().write_all(source.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}\n{source}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Reads `dot -Tsvg`: nodes are `<g class="node"><title>NAME</title>`,
/// edges `<g class="edge"><title>A-&gt;B</title><path d>`.
pub fn read_graphviz(svg: &str) -> Drawing {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let document = roxmltree::Document::parse_with_options(svg, options).expect("dot's SVG parses");
    let mut drawing = Drawing { nodes: HashMap::new(), edges: Vec::new() };
    let title = |group: roxmltree::Node| {
        group.children().find(|n| n.has_tag_name("title")).and_then(|t| t.text()).unwrap_or("").to_owned()
    };
    for group in document.descendants().filter(|n| n.has_tag_name("g")) {
        match group.attribute("class") {
            Some("node") => {
                let name = title(group).trim_start_matches('n').to_owned();
                drawing.nodes.insert(name, shape_bounds(group).expect("a node has a shape"));
            }
            Some("edge") => {
                let name = title(group);
                let (from, to) = name.split_once("->").expect("an edge's title is A->B");
                let path = group.descendants().find(|n| n.has_tag_name("path")).expect("an edge has a path");
                drawing.edges.push(Edge {
                    from: from.trim_start_matches('n').to_owned(),
                    to: to.trim_start_matches('n').to_owned(),
                    points: flatten(path.attribute("d").expect("path data")),
                });
            }
            _ => {}
        }
    }
    drawing
}

fn shape_bounds(group: roxmltree::Node) -> Option<Rect> {
    let number = |node: roxmltree::Node, name: &str| node.attribute(name).and_then(|v| v.parse::<f64>().ok());
    for shape in group.descendants() {
        if shape.has_tag_name("rect") {
            let (x, y) = (number(shape, "x")?, number(shape, "y")?);
            let (w, h) = (number(shape, "width")?, number(shape, "height")?);
            return Some(Rect { left: x, top: y, right: x + w, bottom: y + h });
        }
        if shape.has_tag_name("polygon") {
            let values = numbers(shape.attribute("points")?);
            let xs = values.iter().step_by(2);
            let ys = values.iter().skip(1).step_by(2);
            return Some(Rect {
                left: xs.clone().copied().fold(f64::MAX, f64::min),
                right: xs.copied().fold(f64::MIN, f64::max),
                top: ys.clone().copied().fold(f64::MAX, f64::min),
                bottom: ys.copied().fold(f64::MIN, f64::max),
            });
        }
        if shape.has_tag_name("path") {
            // dot draws rounded boxes as paths.
            return Some(bounding(&flatten(shape.attribute("d")?)));
        }
        if shape.has_tag_name("ellipse") {
            let (cx, cy) = (number(shape, "cx")?, number(shape, "cy")?);
            let (rx, ry) = (number(shape, "rx")?, number(shape, "ry")?);
            return Some(Rect { left: cx - rx, top: cy - ry, right: cx + rx, bottom: cy + ry });
        }
    }
    None
}

fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Path data with absolute `M`, `L` and `C` commands (all that either
/// drawing uses) as a polyline; each cubic is sampled at 24 points.
pub fn flatten(d: &str) -> Vec<(f64, f64)> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in d.chars() {
        if c.is_ascii_alphabetic() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            tokens.push(c.to_string());
        } else if c == ',' || c.is_whitespace() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        } else if c == '-' && !current.is_empty() && !current.ends_with('e') {
            tokens.push(std::mem::take(&mut current));
            current.push(c);
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut command = 'M';
    let mut values: Vec<f64> = Vec::new();
    let flush = |command: char, values: &mut Vec<f64>, points: &mut Vec<(f64, f64)>| {
        let arity = if command == 'C' { 6 } else { 2 };
        while values.len() >= arity {
            let taken: Vec<f64> = values.drain(..arity).collect();
            match command {
                'C' => {
                    let start = *points.last().expect("a curve follows a point");
                    let (c1, c2, end) = ((taken[0], taken[1]), (taken[2], taken[3]), (taken[4], taken[5]));
                    for step in 1..=24 {
                        let t = step as f64 / 24.0;
                        let u = 1.0 - t;
                        let x =
                            u * u * u * start.0 + 3.0 * u * u * t * c1.0 + 3.0 * u * t * t * c2.0 + t * t * t * end.0;
                        let y =
                            u * u * u * start.1 + 3.0 * u * u * t * c1.1 + 3.0 * u * t * t * c2.1 + t * t * t * end.1;
                        points.push((x, y));
                    }
                }
                _ => points.push((taken[0], taken[1])),
            }
        }
    };
    for token in tokens {
        match token.as_str() {
            "M" | "L" | "C" => {
                flush(command, &mut values, &mut points);
                command = token.chars().next().unwrap();
            }
            other if other.chars().all(|c| c.is_ascii_alphabetic()) => panic!("path command {other} is not read"),
            number => values.push(number.parse().expect("a number in path data")),
        }
    }
    flush(command, &mut values, &mut points);
    points
}

pub fn measure(drawing: &Drawing) -> Quality {
    let mut quality = Quality::default();
    for edge in &drawing.edges {
        for (name, rect) in &drawing.nodes {
            if *name == edge.from || *name == edge.to {
                continue;
            }
            let inner = rect.grown(-1.0);
            if edge.points.windows(2).any(|s| segment_meets_rect(s[0], s[1], &inner)) {
                quality.through_nodes += 1;
            }
        }
    }
    // Crossings away from the nodes: where edges meet at or next to a node
    // they share, they join, they do not cross.
    let bounds: Vec<Rect> = drawing.edges.iter().map(|e| bounding(&e.points)).collect();
    for (i, a) in drawing.edges.iter().enumerate() {
        for (j, b) in drawing.edges.iter().enumerate().skip(i + 1) {
            if !overlap(&bounds[i], &bounds[j]) {
                continue;
            }
            let ends: Vec<Rect> = [&a.from, &a.to, &b.from, &b.to]
                .iter()
                .filter_map(|name| drawing.nodes.get(*name))
                .map(|r| r.grown(3.0))
                .collect();
            for (i, s) in a.points.windows(2).enumerate() {
                for (j, t) in b.points.windows(2).enumerate() {
                    let Some((point, at_both_starts)) = crossing(s[0], s[1], t[0], t[1]) else { continue };
                    // Two edges that run together and part at a shared
                    // vertex do not cross there; two that only meet at it
                    // (curves swapping places symmetrically) do.
                    let parting = at_both_starts && i > 0 && j > 0 && near(a.points[i - 1], b.points[j - 1]);
                    if !parting && !ends.iter().any(|r| r.contains(point)) {
                        quality.crossings += 1;
                    }
                }
            }
        }
    }
    quality
}

fn bounding(points: &[(f64, f64)]) -> Rect {
    let mut r = Rect { left: f64::MAX, top: f64::MAX, right: f64::MIN, bottom: f64::MIN };
    for &(x, y) in points {
        r.left = r.left.min(x);
        r.right = r.right.max(x);
        r.top = r.top.min(y);
        r.bottom = r.bottom.max(y);
    }
    r
}

fn overlap(a: &Rect, b: &Rect) -> bool {
    a.left <= b.right && b.left <= a.right && a.top <= b.bottom && b.top <= a.bottom
}

/// Where segments p1-p2 and q1-q2 cross, half-open at their ends so that a
/// crossing at a shared polyline vertex counts once; and whether it is at
/// both segments' first points.
fn crossing(p1: (f64, f64), p2: (f64, f64), q1: (f64, f64), q2: (f64, f64)) -> Option<((f64, f64), bool)> {
    let r = (p2.0 - p1.0, p2.1 - p1.1);
    let s = (q2.0 - q1.0, q2.1 - q1.1);
    let denominator = r.0 * s.1 - r.1 * s.0;
    if denominator.abs() < 1e-12 {
        return None;
    }
    let qp = (q1.0 - p1.0, q1.1 - p1.1);
    let t = (qp.0 * s.1 - qp.1 * s.0) / denominator;
    let u = (qp.0 * r.1 - qp.1 * r.0) / denominator;
    let inside = (-1e-9..1.0 - 1e-9).contains(&t) && (-1e-9..1.0 - 1e-9).contains(&u);
    inside.then(|| ((p1.0 + t * r.0, p1.1 + t * r.1), t.abs() < 1e-9 && u.abs() < 1e-9))
}

fn near(a: (f64, f64), b: (f64, f64)) -> bool {
    (a.0 - b.0).abs() < 1e-6 && (a.1 - b.1).abs() < 1e-6
}

/// Does the segment a-b enter the rectangle (Liang–Barsky clipping)?
fn segment_meets_rect(a: (f64, f64), b: (f64, f64), rect: &Rect) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut low: f64 = 0.0;
    let mut high: f64 = 1.0;
    for (p, q) in [(-dx, a.0 - rect.left), (dx, rect.right - a.0), (-dy, a.1 - rect.top), (dy, rect.bottom - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                low = low.max(r);
            } else {
                high = high.min(r);
            }
        }
    }
    low < high
}

/// A random pipeline of `tasks` tasks as source text: each task takes one to
/// three wires, mostly from the last few tasks, sometimes from any earlier
/// one or a new pipeline input, and makes one or two. Deterministic per seed.
pub fn random_pipeline(seed: u64, tasks: usize) -> String {
    let mut state = seed;
    let mut next = move |below: usize| {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % below as u64) as usize
    };
    let mut text = format!("[bench/random-{seed}]\n\n");
    let mut wires: Vec<String> = Vec::new();
    let mut sources = 0;
    for task in 0..tasks {
        let mut inputs: Vec<String> = Vec::new();
        for _ in 0..1 + next(3) {
            let wire = if wires.is_empty() || next(100) < 10 {
                sources += 1;
                format!("in_{sources}")
            } else if next(100) < 70 {
                let window = wires.len().min(8);
                wires[wires.len() - 1 - next(window)].clone()
            } else {
                wires[next(wires.len())].clone()
            };
            if !inputs.contains(&wire) {
                inputs.push(wire);
            }
        }
        let outputs: Vec<String> = (0..1 + usize::from(next(4) == 0)).map(|k| format!("w{task}x{k}")).collect();
        text.push_str(&format!("({}) step-{task} ({})\n", inputs.join(", "), outputs.join(", ")));
        wires.extend(outputs);
    }
    text.push_str("\ndefaults { image: \"busybox:1.36\" shell: \"true\" }\n");
    text
}
