// The graph webview's code in Debian's headless Chromium (through
// playwright-core, never a browser download), fed with real `koalja/graph`
// answers from the koalja-lsp binary, which carry the layout `koaljac graph
// --format svg` draws: nodes where the layout puts them, regions as groups,
// error nodes marked; the graph fitted on open and on resize; zoom and pan by
// wheel, buttons, keys and drag; the direction switch; upstream and
// downstream highlighted on a click, which also posts the node's range back;
// export posts the SVG. Screenshots are kept in target/ as test artefacts.
'use strict';
const assert = require('assert');
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..', '..', '..');
const out = path.join(root, 'target', 'vscode-graph-test');
const server = process.env.KOALJA_LSP || path.join(root, 'target', 'debug', 'koalja-lsp');

/** Asks the real language server for `koalja/graph` of `text`. */
function graphFromServer(uri, text, direction = 'right') {
  return new Promise((resolve, reject) => {
    const lsp = childProcess.spawn(server, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    lsp.on('error', reject);
    let buffer = Buffer.alloc(0);
    const send = (message) => {
      const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...message }));
      lsp.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
      lsp.stdin.write(body);
    };
    lsp.stdout.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const headerEnd = buffer.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const length = Number(/Content-Length: (\d+)/.exec(buffer.slice(0, headerEnd).toString())[1]);
        if (buffer.length < headerEnd + 4 + length) return;
        const message = JSON.parse(buffer.slice(headerEnd + 4, headerEnd + 4 + length).toString());
        buffer = buffer.slice(headerEnd + 4 + length);
        if (message.id === 1) {
          // Only after the answer to initialize may the rest follow.
          send({ method: 'initialized', params: {} });
          send({ method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'koalja', version: 1, text } } });
          send({ id: 2, method: 'koalja/graph', params: { textDocument: { uri }, direction } });
        } else if (message.id === 2) {
          send({ id: 3, method: 'shutdown' });
          send({ method: 'exit' });
          if (message.error) reject(new Error(message.error.message));
          else resolve(message.result);
        }
      }
    });
    send({ id: 1, method: 'initialize', params: { capabilities: {} } });
  });
}

/** graph.html as the extension fills it, with file: URLs and a recording stub for the VS Code API. */
function pageFile() {
  fs.mkdirSync(out, { recursive: true });
  const stub = path.join(out, 'stub.js');
  fs.writeFileSync(
    stub,
    'window.__posted = []; let state; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => state, setState: (s) => { state = s; } });\n',
  );
  const media = 'file://' + path.join(__dirname, '..', 'media');
  const html = fs
    .readFileSync(path.join(__dirname, '..', 'media', 'graph.html'), 'utf8')
    .replaceAll('{{cspSource}}', 'file:')
    .replace('<script src="{{media}}/graph.js">', `<script src="file://${stub}"></script>\n  <script src="{{media}}/graph.js">`)
    .replaceAll('{{media}}', media);
  const file = path.join(out, 'graph.html');
  fs.writeFileSync(file, html);
  return 'file://' + file;
}

async function render(page, graph, ticket) {
  await page.evaluate((g) => window.postMessage({ type: 'graph', graph: g }, '*'), graph);
  await page.waitForSelector(`body[data-rendered="${ticket}"]`, { state: 'attached', timeout: 10000 });
  // Every node and edge where the server's layout puts them: each edge
  // starts at its source's box and ends at its target's (a cycle's back
  // edge too: its path runs from its source).
  const misplaced = await page.evaluate((layout) => {
    const box = (id) => document.querySelector(`g.node[data-id="${id}"] rect`).getBBox();
    const near = (point, b) => point[0] >= b.x - 3 && point[0] <= b.x + b.width + 3 && point[1] >= b.y - 3 && point[1] <= b.y + b.height + 3;
    const wrong = [];
    document.querySelectorAll('g.node').forEach((node) => {
      const b = box(node.dataset.id);
      const expected = layout.nodes[Number(node.dataset.id)];
      if (b.x !== expected.x || b.y !== expected.y || b.width !== expected.width) wrong.push('node ' + node.dataset.id);
    });
    document.querySelectorAll('g.edge').forEach((edge) => {
      const numbers = edge.querySelector('path').getAttribute('d').match(/-?[0-9.]+/g).map(Number);
      const start = numbers.slice(0, 2);
      const end = numbers.slice(-2);
      if (!near(start, box(edge.dataset.from)) || !near(end, box(edge.dataset.to))) wrong.push(edge.dataset.wire);
    });
    return wrong;
  }, graph.layout);
  assert.deepStrictEqual(misplaced, [], 'nodes and edges where the layout says');
}

/** Whether every node of the drawing is inside the canvas on screen. */
async function allVisible(page) {
  return page.evaluate(() => {
    const canvas = document.getElementById('canvas').getBoundingClientRect();
    return [...document.querySelectorAll('g.node')].every((node) => {
      const r = node.getBoundingClientRect();
      return r.left >= canvas.left - 1 && r.right <= canvas.right + 1 && r.top >= canvas.top - 1 && r.bottom <= canvas.bottom + 1;
    });
  });
}

const scale = (page) => page.evaluate(() => Number(document.body.dataset.scale));
const sceneAt = (page) => page.evaluate(() => document.querySelector('g.scene').getAttribute('transform'));
const lastPosted = (page) => page.evaluate(() => window.__posted.at(-1));

/** What lies upstream (against the edges) or downstream of `id`. */
function reachable(graph, id, forward) {
  const seen = new Set([id]);
  const pending = [id];
  while (pending.length) {
    const at = pending.pop();
    for (const edge of graph.edges) {
      const [from, to] = forward ? [edge.from, edge.to] : [edge.to, edge.from];
      if (from === at && !seen.has(to)) {
        seen.add(to);
        pending.push(to);
      }
    }
  }
  seen.delete(id);
  return [...seen].sort((a, b) => a - b);
}

async function main() {
  const examples = path.join(root, 'examples');
  const tfmodel = fs.readFileSync(path.join(examples, 'tfmodel.kja'), 'utf8') + '\n)) a broken statement\n';
  const sovereign = fs.readFileSync(path.join(examples, 'sovereign.kja'), 'utf8');
  const first = await graphFromServer('file:///work/tfmodel.kja', tfmodel);
  const firstDown = await graphFromServer('file:///work/tfmodel.kja', tfmodel, 'down');
  const second = await graphFromServer('file:///work/sovereign.kja', sovereign);
  assert.strictEqual(first.layout.direction, 'right');
  assert.strictEqual(firstDown.layout.direction, 'down');

  const browser = await chromium.launch({
    executablePath: process.env.KOALJA_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--allow-file-access-from-files'],
  });
  try {
    // The size at which the old panel drew tfmodel's tasks off its edge.
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pageFile());
    assert.deepStrictEqual(await page.evaluate(() => window.__posted), [{ type: 'ready', direction: 'right' }], 'the webview says it is ready');

    // tfmodel, with a broken statement: every node drawn, the error one marked.
    await render(page, first, 1);
    assert.strictEqual(await page.locator('g.node').count(), first.nodes.length);
    const labels = await page.locator('g.node text').allTextContents();
    for (const node of first.nodes.filter((n) => n.kind !== 'error')) assert.ok(labels.includes(node.label), `label ${node.label} drawn`);
    assert.strictEqual(await page.locator('g.node-error').count(), 1, 'the broken statement is an error node');
    assert.ok((await page.locator('g.edge.implicit').count()) >= 1, 'the service edge is dashed');
    assert.strictEqual(await page.locator('g.edge').count(), first.edges.length);
    assert.ok(await allVisible(page), 'fitted on open: every node inside the panel');
    await page.screenshot({ path: path.join(out, 'tfmodel.png') });

    // Fitted again on resize, while the user has not moved the view.
    await page.setViewportSize({ width: 500, height: 400 });
    await page.waitForFunction(() => Number(document.body.dataset.scale) < 1);
    assert.ok(await allVisible(page), 'fitted after a resize');
    await page.screenshot({ path: path.join(out, 'tfmodel-small.png') });

    // Zoom: buttons, keys and the wheel; 0 fits again.
    const fitted = await scale(page);
    await page.locator('#zoom-in').click();
    assert.ok((await scale(page)) > fitted * 1.2, 'the + button zooms in');
    await page.locator('#zoom-out').click();
    await page.locator('#zoom-out').click();
    assert.ok((await scale(page)) < fitted, 'the − button zooms out');
    await page.keyboard.press('0');
    assert.strictEqual(await scale(page), fitted, '0 fits again');
    await page.keyboard.press('+');
    assert.ok((await scale(page)) > fitted, 'the + key zooms in');
    await page.keyboard.press('-');
    await page.keyboard.press('-');
    assert.ok((await scale(page)) < fitted, 'the - key zooms out');
    await page.keyboard.press('0');
    await page.mouse.move(250, 200);
    await page.mouse.wheel(0, -300);
    await page.waitForFunction((s) => Number(document.body.dataset.scale) > s, fitted);

    // Pan: arrow keys and a drag on the background move the view.
    let before = await sceneAt(page);
    await page.keyboard.press('ArrowLeft');
    assert.notStrictEqual(await sceneAt(page), before, 'an arrow key pans');
    before = await sceneAt(page);
    const canvasBox = await page.locator('#canvas').boundingBox();
    await page.mouse.move(canvasBox.x + 5, canvasBox.y + 5);
    await page.mouse.down();
    await page.mouse.move(canvasBox.x + 80, canvasBox.y + 60, { steps: 4 });
    await page.mouse.up();
    assert.notStrictEqual(await sceneAt(page), before, 'a drag pans');
    // A redraw keeps the view the user chose.
    before = await sceneAt(page);
    await render(page, first, 2);
    assert.strictEqual(await sceneAt(page), before, 'a redraw keeps the zoom and pan');
    await page.locator('#fit').click();
    assert.ok(await allVisible(page), 'Fit shows everything again');
    const small = await scale(page);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForFunction((s) => Number(document.body.dataset.scale) > s, small);
    assert.ok(await allVisible(page));

    // Clicking a task posts its range and highlights what it depends on and
    // what depends on it.
    const convert = first.nodes.find((node) => node.label === 'convert');
    await page.locator(`g.node[data-id="${convert.id}"]`).click();
    assert.deepStrictEqual(await lastPosted(page), { type: 'reveal', range: convert.range, id: convert.id });
    const marked = (kind) => page.evaluate((k) => [...document.querySelectorAll(`g.node.${k}`)].map((n) => Number(n.dataset.id)).sort((a, b) => a - b), kind);
    assert.deepStrictEqual(await marked('upstream'), reachable(first, convert.id, false), 'upstream of convert');
    assert.deepStrictEqual(await marked('downstream'), reachable(first, convert.id, true), 'downstream of convert');
    assert.ok((await marked('downstream')).length > 0 && (await marked('upstream')).length > 0);
    assert.deepStrictEqual(await marked('selected'), [convert.id]);
    await page.screenshot({ path: path.join(out, 'tfmodel-selected.png') });
    await page.keyboard.press('Escape');
    assert.deepStrictEqual(await marked('selected'), [], 'Escape clears the selection');

    // Export posts the drawing as SVG text, at its own size.
    await page.locator('#export').click();
    const exported = await lastPosted(page);
    assert.strictEqual(exported.type, 'exportSvg');
    assert.ok(exported.svg.startsWith('<svg') && exported.svg.includes('convert'));
    assert.ok(!exported.svg.includes('transform='), 'the export is not zoomed');

    // The direction switch asks for the other way; the answer is drawn so.
    await page.locator('#direction').click();
    assert.deepStrictEqual(await lastPosted(page), { type: 'direction', direction: 'down' });
    await render(page, firstDown, 3);
    assert.strictEqual(await page.evaluate(() => document.body.dataset.direction), 'down');
    assert.ok(await allVisible(page), 'the new shape is fitted');
    await page.screenshot({ path: path.join(out, 'tfmodel-down.png') });
    await page.locator('#direction').click();
    assert.deepStrictEqual(await lastPosted(page), { type: 'direction', direction: 'right' });

    // A redraw with another pipeline: regions become groups holding their tasks.
    await render(page, second, 4);
    const regions = [...new Set(second.nodes.map((node) => node.region).filter(Boolean))];
    assert.ok(regions.length >= 2, 'sovereign.kja has regions');
    assert.strictEqual(await page.locator('g.region').count(), regions.length);
    assert.strictEqual(await page.locator('g.node').count(), second.nodes.length);
    await page.screenshot({ path: path.join(out, 'sovereign.png') });
    assert.deepStrictEqual(errors, [], 'no script errors in the page');
  } finally {
    await browser.close();
  }
  const shot = fs.statSync(path.join(out, 'tfmodel.png')).size;
  assert.ok(shot > 5000, `the screenshot is not blank (${shot} bytes)`);
  console.log(`graph webview: 3 graphs drawn, fitted, zoomed, panned, turned and highlighted; screenshots in ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
