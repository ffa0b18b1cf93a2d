// The pipeline graph in the webview. It receives `{ type: 'graph', graph }`
// messages (the koalja/graph answer, lsp/README.md) and draws the layout the
// language server computed, the one `koaljac graph --format svg` draws, so
// the panel and the file show one picture and no layout code lives here.
//
// - The view fits the graph on the first drawing and on every resize until
//   the user zooms or pans; then it stays where the user put it, across
//   redraws, until Fit (or 0) is pressed.
// - Zoom: the wheel (at the pointer), the + and − buttons, the + - 0 keys.
//   Pan: drag, or the arrow keys.
// - The direction button asks for the layers left to right or top to
//   bottom (`{ type: 'direction', direction }`; the answer is a new graph).
// - Clicking a task selects it: what lies upstream and downstream of it is
//   highlighted, the rest dimmed, and `{ type: 'reveal', range, id }` moves
//   the editor's cursor to its statement. Escape or a click on the
//   background clears the selection.
// - Export posts `{ type: 'exportSvg', svg }`: the drawing without the
//   view's zoom.
/* global acquireVsCodeApi */
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const MIN_SCALE = 0.05;
  const MAX_SCALE = 4;
  const ZOOM_STEP = 1.25;
  const PAN_STEP = 60;

  const canvas = document.getElementById('canvas');
  const status = document.getElementById('status');
  const saved = vscode.getState() || {};
  let direction = saved.direction === 'down' ? 'down' : 'right';
  let graph = null;
  // Each node's successors (true) and predecessors (false) in `graph`.
  let neighbours = null;
  let size = { width: 1, height: 1 };
  // The view: screen = graph * scale + (x, y). `fitted` while the user has
  // not moved it.
  const view = { scale: 1, x: 0, y: 0, fitted: true };
  let selected = null;

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function draw() {
    const layout = graph.layout;
    size = { width: layout.width, height: layout.height };
    const svg = element('svg', { xmlns: SVG, class: 'koalja-graph', width: '100%', height: '100%' });
    const defs = element('defs', {}, svg);
    const marker = element('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, defs);
    element('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }, marker);
    const scene = element('g', { class: 'scene' }, svg);
    for (const region of layout.regions) {
      const group = element('g', { class: 'region', 'data-region': region.name }, scene);
      element('rect', { x: region.x, y: region.y, width: region.width, height: region.height, rx: 8 }, group);
      element('text', { x: region.x + 10, y: region.y + 17, class: 'region-label' }, group).textContent = region.name;
    }
    graph.edges.forEach((edge, index) => {
      const route = layout.edges[index];
      const group = element('g', { class: edge.implicit ? 'edge implicit' : 'edge', 'data-from': edge.from, 'data-to': edge.to, 'data-wire': edge.wire }, scene);
      element('title', {}, group).textContent = edge.label;
      element('path', { d: route.path, 'marker-end': 'url(#arrow)' }, group);
      if (route.label) {
        element('text', { x: route.label.x, y: route.label.y, 'text-anchor': route.label.anchor, class: 'edge-label' }, group).textContent = edge.label;
      }
    });
    for (const node of graph.nodes) {
      const box = layout.nodes[node.id];
      const classes = ['node', 'node-' + node.kind];
      if (node.hasErrors) classes.push('has-errors');
      const group = element('g', { class: classes.join(' '), 'data-id': node.id, tabindex: 0, role: 'button', 'aria-label': node.label }, scene);
      const rounded = node.kind === 'input' || node.kind === 'output' ? box.height / 2 : 6;
      element('rect', { x: box.x, y: box.y, width: box.width, height: box.height, rx: Math.min(rounded, box.width / 2) }, group);
      const label = element('text', { x: box.x + box.width / 2, y: box.y + box.height / 2 + 4, 'text-anchor': 'middle' }, group);
      label.textContent = node.kind === 'error' ? 'error' : node.label;
      if (node.message) element('title', {}, group).textContent = node.message;
      group.addEventListener('click', (event) => {
        event.stopPropagation();
        select(node.id);
        vscode.postMessage({ type: 'reveal', range: node.range, id: node.id });
      });
      group.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          group.dispatchEvent(new MouseEvent('click'));
        }
      });
    }
    canvas.replaceChildren(svg);
    if (view.fitted) fit();
    else apply();
    // The selection survives a redraw while its node does.
    if (selected !== null && selected < graph.nodes.length) select(selected);
    else selected = null;
  }

  /** Everything reachable from `id` along the edges, one way. */
  function reachable(id, forward) {
    // Who follows whom, made once per graph: a click on a big graph walks
    // each edge once, not every edge at every step.
    if (!neighbours) {
      neighbours = { true: new Map(), false: new Map() };
      for (const edge of graph.edges) {
        for (const [way, from, to] of [[true, edge.from, edge.to], [false, edge.to, edge.from]]) {
          if (!neighbours[way].has(from)) neighbours[way].set(from, []);
          neighbours[way].get(from).push(to);
        }
      }
    }
    const seen = new Set([id]);
    const pending = [id];
    while (pending.length) {
      for (const to of neighbours[forward].get(pending.pop()) || []) {
        if (!seen.has(to)) {
          seen.add(to);
          pending.push(to);
        }
      }
    }
    seen.delete(id);
    return seen;
  }

  function select(id) {
    selected = id;
    const upstream = id === null ? new Set() : reachable(id, false);
    const downstream = id === null ? new Set() : reachable(id, true);
    const svg = canvas.querySelector('svg');
    svg.classList.toggle('has-selection', id !== null);
    for (const node of svg.querySelectorAll('g.node')) {
      const nodeId = Number(node.dataset.id);
      node.classList.toggle('selected', nodeId === id);
      node.classList.toggle('upstream', upstream.has(nodeId));
      node.classList.toggle('downstream', downstream.has(nodeId));
    }
    for (const edge of svg.querySelectorAll('g.edge')) {
      const from = Number(edge.dataset.from);
      const to = Number(edge.dataset.to);
      edge.classList.toggle('upstream', to === id || upstream.has(to));
      edge.classList.toggle('downstream', from === id || downstream.has(from));
    }
    status.textContent = summary() + (id === null ? '' : ` · ${graph.nodes[id].label}: ${upstream.size} upstream, ${downstream.size} downstream`);
  }

  function summary() {
    const tasks = graph.nodes.filter((node) => node.kind === 'task').length;
    const errors = graph.nodes.filter((node) => node.kind === 'error').length;
    return `${tasks} tasks` + (errors ? `, ${errors} broken statement${errors > 1 ? 's' : ''}` : '');
  }

  function apply() {
    const scene = canvas.querySelector('g.scene');
    if (scene) scene.setAttribute('transform', `translate(${view.x} ${view.y}) scale(${view.scale})`);
    document.body.dataset.scale = view.scale.toFixed(4);
  }

  /** The whole graph in the panel, centred, never enlarged past 1:1. */
  function fit() {
    const width = Math.max(canvas.clientWidth, 1);
    const height = Math.max(canvas.clientHeight, 1);
    view.scale = Math.min(1, width / size.width, height / size.height);
    view.x = (width - size.width * view.scale) / 2;
    view.y = (height - size.height * view.scale) / 2;
    view.fitted = true;
    apply();
  }

  /** Zooms by `factor` keeping the graph point under (px, py) in place. */
  function zoom(factor, px = canvas.clientWidth / 2, py = canvas.clientHeight / 2) {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
    view.x = px - ((px - view.x) * scale) / view.scale;
    view.y = py - ((py - view.y) * scale) / view.scale;
    view.scale = scale;
    view.fitted = false;
    apply();
  }

  function pan(dx, dy) {
    view.x += dx;
    view.y += dy;
    view.fitted = false;
    apply();
  }

  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const bounds = canvas.getBoundingClientRect();
    zoom(Math.exp(-event.deltaY / 300), event.clientX - bounds.left, event.clientY - bounds.top);
  }, { passive: false });

  let drag = null;
  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || event.target.closest('g.node')) return;
    drag = { x: event.clientX, y: event.clientY, moved: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 3) return;
    drag.moved = true;
    drag.x = event.clientX;
    drag.y = event.clientY;
    canvas.classList.add('panning');
    pan(dx, dy);
  });
  canvas.addEventListener('pointerup', (event) => {
    if (drag && !drag.moved && graph) select(null);
    drag = null;
    canvas.classList.remove('panning');
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  });

  document.addEventListener('keydown', (event) => {
    if (!graph || event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = {
      '+': () => zoom(ZOOM_STEP),
      '=': () => zoom(ZOOM_STEP),
      '-': () => zoom(1 / ZOOM_STEP),
      0: fit,
      ArrowLeft: () => pan(PAN_STEP, 0),
      ArrowRight: () => pan(-PAN_STEP, 0),
      ArrowUp: () => pan(0, PAN_STEP),
      ArrowDown: () => pan(0, -PAN_STEP),
      Escape: () => select(null),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  new ResizeObserver(() => {
    if (graph && view.fitted) fit();
  }).observe(canvas);

  document.getElementById('zoom-in').addEventListener('click', () => zoom(ZOOM_STEP));
  document.getElementById('zoom-out').addEventListener('click', () => zoom(1 / ZOOM_STEP));
  document.getElementById('fit').addEventListener('click', fit);
  const turn = document.getElementById('direction');
  function showDirection() {
    turn.textContent = direction === 'right' ? 'Top to bottom' : 'Left to right';
    turn.title = 'Lay the layers out ' + (direction === 'right' ? 'top to bottom' : 'left to right');
  }
  showDirection();
  turn.addEventListener('click', () => {
    direction = direction === 'right' ? 'down' : 'right';
    vscode.setState({ ...(vscode.getState() || {}), direction });
    showDirection();
    view.fitted = true; // a new shape: fit it
    vscode.postMessage({ type: 'direction', direction });
  });

  document.getElementById('export').addEventListener('click', () => {
    if (!graph) return;
    const copy = canvas.querySelector('svg').cloneNode(true);
    copy.querySelector('g.scene').removeAttribute('transform');
    copy.setAttribute('width', size.width);
    copy.setAttribute('height', size.height);
    copy.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
    vscode.postMessage({ type: 'exportSvg', svg: new XMLSerializer().serializeToString(copy) });
  });

  let drawn = 0;
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || message.type !== 'graph') return;
    try {
      graph = message.graph;
      neighbours = null;
      draw();
      if (selected === null) status.textContent = summary();
      document.body.dataset.direction = graph.layout.direction;
      document.body.dataset.rendered = String(++drawn);
    } catch (error) {
      status.textContent = 'cannot draw: ' + error;
    }
  });

  vscode.postMessage({ type: 'ready', direction });
})();
