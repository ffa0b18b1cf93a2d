// The pipeline graph in the webview: receives `{ type: 'graph', graph }`
// messages (the koalja/graph answer, lsp/README.md), lays the graph out with
// ELK (bundled, offline) and draws it as SVG. Regions become groups, error
// nodes and tasks with errors are red, service (implicit) edges dashed.
// Clicking a node posts `{ type: 'reveal', range }`; the export button posts
// `{ type: 'exportSvg', svg }`. Redraws on every message, keeping the view
// when the layout of what is shown does not change.
/* global ELK, acquireVsCodeApi */
(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const elk = new ELK();
  const SVG = 'http://www.w3.org/2000/svg';
  const CHAR_WIDTH = 7.2;
  const NODE_HEIGHT = 34;
  let drawing = 0;

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  function nodeWidth(label) {
    return Math.max(60, label.length * CHAR_WIDTH + 28);
  }

  /** The ELK graph: regions as compound nodes holding their tasks. */
  function toElk(graph) {
    const regions = new Map();
    const top = [];
    for (const node of graph.nodes) {
      const box = { id: 'n' + node.id, width: nodeWidth(node.label), height: NODE_HEIGHT, koalja: node };
      if (node.region) {
        if (!regions.has(node.region)) {
          regions.set(node.region, {
            id: 'region:' + node.region,
            children: [],
            labels: [{ text: node.region, width: nodeWidth(node.region), height: 16 }],
            layoutOptions: { 'elk.padding': '[top=28,left=12,bottom=12,right=12]' },
            region: node.region,
          });
        }
        regions.get(node.region).children.push(box);
      } else {
        top.push(box);
      }
    }
    const edges = graph.edges.map((edge, index) => ({
      id: 'e' + index,
      sources: ['n' + edge.from],
      targets: ['n' + edge.to],
      labels: [{ text: edge.label, width: edge.label.length * CHAR_WIDTH * 0.9, height: 14 }],
      koalja: edge,
    }));
    return {
      id: 'root',
      layoutOptions: {
        'elk.algorithm': 'layered',
        'elk.direction': 'RIGHT',
        'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
        'elk.layered.spacing.nodeNodeBetweenLayers': '60',
        'elk.spacing.nodeNode': '24',
        'elk.edgeLabels.inline': 'true',
      },
      children: [...regions.values(), ...top],
      edges,
    };
  }

  function draw(layout) {
    const width = Math.ceil(layout.width || 100) + 20;
    const height = Math.ceil(layout.height || 60) + 20;
    const svg = element('svg', { xmlns: SVG, width, height, viewBox: `-10 -10 ${width} ${height}`, class: 'koalja-graph' });
    const defs = element('defs', {}, svg);
    const marker = element('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' }, defs);
    element('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }, marker);
    const edgeLayer = element('g', { class: 'edges' });
    const nodeLayer = element('g', { class: 'nodes' });

    // ELK gives an edge's points relative to its container (the region
    // when both ends are in it): absolute offsets of each container.
    const offsets = new Map([['root', { x: 0, y: 0 }]]);

    function place(children, dx, dy) {
      for (const child of children || []) {
        const x = dx + child.x;
        const y = dy + child.y;
        offsets.set(child.id, { x, y });
        if (child.region) {
          const group = element('g', { class: 'region', 'data-region': child.region }, nodeLayer);
          element('rect', { x, y, width: child.width, height: child.height, rx: 8 }, group);
          const title = element('text', { x: x + 10, y: y + 18, class: 'region-label' }, group);
          title.textContent = child.region;
          place(child.children, x, y);
          continue;
        }
        const node = child.koalja;
        const classes = ['node', 'node-' + node.kind];
        if (node.hasErrors) classes.push('has-errors');
        const group = element('g', { class: classes.join(' '), 'data-id': node.id, tabindex: 0 }, nodeLayer);
        const rounded = node.kind === 'input' || node.kind === 'output' ? NODE_HEIGHT / 2 : 6;
        element('rect', { x, y, width: child.width, height: child.height, rx: rounded }, group);
        const label = element('text', { x: x + child.width / 2, y: y + child.height / 2 + 4, 'text-anchor': 'middle' }, group);
        label.textContent = node.label;
        if (node.message) element('title', {}, group).textContent = node.message;
        group.addEventListener('click', () => vscode.postMessage({ type: 'reveal', range: node.range, id: node.id }));
      }
    }
    place(layout.children, 0, 0);

    for (const edge of layout.edges || []) {
      const data = edge.koalja;
      const offset = offsets.get(edge.container || 'root') || { x: 0, y: 0 };
      for (const section of edge.sections || []) {
        const points = [section.startPoint, ...(section.bendPoints || []), section.endPoint];
        const d = points.map((p, i) => (i === 0 ? 'M' : 'L') + (p.x + offset.x) + ',' + (p.y + offset.y)).join(' ');
        const path = element('path', { d, class: data.implicit ? 'edge implicit' : 'edge', 'marker-end': 'url(#arrow)', 'data-wire': data.wire, 'data-from': data.from, 'data-to': data.to }, edgeLayer);
        element('title', {}, path).textContent = data.label;
      }
      for (const label of edge.labels || []) {
        if (label.x === undefined) continue;
        const text = element('text', { x: label.x + offset.x, y: label.y + offset.y + 11, class: 'edge-label' }, edgeLayer);
        text.textContent = label.text;
      }
    }
    svg.appendChild(edgeLayer);
    svg.appendChild(nodeLayer);
    return svg;
  }

  async function render(graph) {
    const ticket = ++drawing;
    const layout = await elk.layout(toElk(graph));
    if (ticket !== drawing) return; // a newer graph arrived while laying out
    const svg = draw(layout);
    const canvas = document.getElementById('canvas');
    canvas.replaceChildren(svg);
    const errors = graph.nodes.filter((node) => node.kind === 'error').length;
    document.getElementById('status').textContent =
      `${graph.nodes.filter((n) => n.kind === 'task').length} tasks` + (errors ? `, ${errors} broken statement${errors > 1 ? 's' : ''}` : '');
    document.body.dataset.rendered = String(ticket);
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message && message.type === 'graph') {
      render(message.graph).catch((error) => {
        document.getElementById('status').textContent = 'cannot draw: ' + error;
      });
    }
  });

  document.getElementById('export').addEventListener('click', () => {
    const svg = document.querySelector('#canvas svg');
    if (svg) vscode.postMessage({ type: 'exportSvg', svg: new XMLSerializer().serializeToString(svg) });
  });

  vscode.postMessage({ type: 'ready' });
})();
