// The graph webview's rendering code in Debian's headless Chromium (through
// playwright-core, never a browser download), fed with real `koalja/graph`
// answers from the koalja-lsp binary: nodes drawn, regions as groups, error
// nodes marked, a click posts the node's range back, export posts the SVG.
// Screenshots are kept in target/ as test artefacts.
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
function graphFromServer(uri, text) {
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
          send({ id: 2, method: 'koalja/graph', params: { textDocument: { uri } } });
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
  fs.writeFileSync(stub, 'window.__posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m) });\n');
  const media = 'file://' + path.join(__dirname, '..', 'media');
  const elk = 'file://' + require.resolve('elkjs/lib/elk.bundled.js');
  const html = fs
    .readFileSync(path.join(__dirname, '..', 'media', 'graph.html'), 'utf8')
    .replaceAll('{{cspSource}}', 'file:')
    .replaceAll('{{media}}', media)
    .replace('<script src="{{elk}}"></script>', `<script src="file://${stub}"></script>\n  <script src="${elk}"></script>`);
  const file = path.join(out, 'graph.html');
  fs.writeFileSync(file, html);
  return 'file://' + file;
}

async function render(page, graph, ticket) {
  await page.evaluate((g) => window.postMessage({ type: 'graph', graph: g }, '*'), graph);
  await page.waitForSelector(`body[data-rendered="${ticket}"]`, { timeout: 10000 });
  // Every edge starts at its source's box and ends at its target's.
  const misplaced = await page.evaluate(() => {
    const box = (id) => document.querySelector(`g.node[data-id="${id}"] rect`).getBBox();
    const near = (point, b) => point[0] >= b.x - 3 && point[0] <= b.x + b.width + 3 && point[1] >= b.y - 3 && point[1] <= b.y + b.height + 3;
    return [...document.querySelectorAll('path.edge')]
      .filter((path) => {
        const points = path.getAttribute('d').match(/-?[0-9.]+,-?[0-9.]+/g).map((p) => p.split(',').map(Number));
        return !near(points[0], box(path.dataset.from)) || !near(points.at(-1), box(path.dataset.to));
      })
      .map((path) => path.dataset.wire);
  });
  assert.deepStrictEqual(misplaced, [], 'edges meet their nodes');
}

async function main() {
  const examples = path.join(root, 'examples');
  const tfmodel = fs.readFileSync(path.join(examples, 'tfmodel.kja'), 'utf8') + '\n)) a broken statement\n';
  const sovereign = fs.readFileSync(path.join(examples, 'sovereign.kja'), 'utf8');
  const first = await graphFromServer('file:///work/tfmodel.kja', tfmodel);
  const second = await graphFromServer('file:///work/sovereign.kja', sovereign);

  const browser = await chromium.launch({
    executablePath: process.env.KOALJA_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--allow-file-access-from-files'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pageFile());
    assert.deepStrictEqual(await page.evaluate(() => window.__posted), [{ type: 'ready' }], 'the webview says it is ready');

    // tfmodel, with a broken statement: every node drawn, the error one marked.
    await render(page, first, 1);
    assert.strictEqual(await page.locator('g.node').count(), first.nodes.length);
    const labels = await page.locator('g.node text').allTextContents();
    for (const node of first.nodes) assert.ok(labels.includes(node.label), `label ${node.label} drawn`);
    assert.strictEqual(await page.locator('g.node-error').count(), 1, 'the broken statement is an error node');
    assert.ok((await page.locator('path.edge.implicit').count()) >= 1, 'the service edge is dashed');
    assert.strictEqual(await page.locator('path.edge').count(), first.edges.length);
    await page.screenshot({ path: path.join(out, 'tfmodel.png') });

    // Clicking a task posts its source range back to the extension.
    const convert = first.nodes.find((node) => node.label === 'convert');
    await page.locator(`g.node[data-id="${convert.id}"]`).click();
    const reveal = (await page.evaluate(() => window.__posted)).at(-1);
    assert.deepStrictEqual(reveal, { type: 'reveal', range: convert.range, id: convert.id });

    // Export posts the drawing as SVG text.
    await page.locator('#export').click();
    const exported = (await page.evaluate(() => window.__posted)).at(-1);
    assert.strictEqual(exported.type, 'exportSvg');
    assert.ok(exported.svg.startsWith('<svg') && exported.svg.includes('convert'));

    // A redraw with another pipeline: regions become groups holding their tasks.
    await render(page, second, 2);
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
  console.log(`graph webview: 2 graphs drawn and checked; screenshots in ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
