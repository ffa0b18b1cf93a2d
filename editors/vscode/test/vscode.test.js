// The extension in a real VS Code: code-server (VS Code in a browser, from
// npm) with the packaged target/koalja.vsix installed, driven by Playwright
// through Debian's headless Chromium as a user would: open an example with a
// typo, the Problems panel lists exactly `koaljac check`'s diagnostics; hover
// on a wire; go to definition; rename across the statement and `{wire}`
// placeholders; completion after `(`; the quick fix; Format Document; Show
// Graph with every node, an error node within a second of breaking a line and
// gone after the fix, a click moving the cursor; the last run's code lens;
// Build Manifests and Run Locally. Screenshots go to target/vscode-real/.
//
//   CODE_SERVER=/path/to/code-server node test/vscode.test.js
//
// scripts/test.sh installs code-server (with the Node 24 it needs) and sets
// CODE_SERVER; KOALJA_LSP and KOALJAC name the binaries (target/debug).
'use strict';
const assert = require('assert');
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const { start, waitFor, where, root } = require('./code-server');

const out = path.join(root, 'target', 'vscode-real');
const lsp = process.env.KOALJA_LSP || path.join(root, 'target', 'debug', 'koalja-lsp');
const koaljac = process.env.KOALJAC || path.join(root, 'target', 'debug', 'koaljac');

function check(file) {
  const run = childProcess.spawnSync(koaljac, ['check', '--message-format', 'json', file], { encoding: 'utf8' });
  return run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function formatted(text) {
  const scratch = path.join(out, 'fmt.kja');
  fs.writeFileSync(scratch, text);
  const run = childProcess.spawnSync(koaljac, ['fmt', scratch], { encoding: 'utf8' });
  assert.strictEqual(run.status, 0, run.stderr);
  return fs.readFileSync(scratch, 'utf8');
}

async function main() {
  fs.rmSync(out, { recursive: true, force: true });
  const workspace = path.join(out, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  // linecount with a typo: `stripd` is consumed but never produced.
  const original = fs.readFileSync(path.join(root, 'examples', 'linecount.kja'), 'utf8').replace('(stripped)  count-lines (out)', '(stripd)  count-lines (out)');
  const file = path.join(workspace, 'linecount.kja');
  fs.writeFileSync(file, original);
  fs.writeFileSync(path.join(workspace, 'words.txt'), 'b\na\nb\n');
  const expected = check(file);
  assert.ok(expected.some((d) => d.code === 'K0016'), JSON.stringify(expected));

  const vscode = await start({ dir: out, workspace, lsp, koaljac });
  const { page } = vscode;
  const keys = (...presses) => vscode.keys(...presses);
  const goto = (at) => vscode.goto(at);
  const cursor = () => vscode.cursor();
  const palette = (command) => vscode.palette(command);
  const shot = (name) => vscode.screenshot(out, name);
  await vscode.session(out, async () => {
    const onDisk = () => fs.readFileSync(file, 'utf8');
    const save = async () => {
      const before = fs.statSync(file).mtimeMs;
      await keys('Control+S');
      await waitFor('the save', () => fs.statSync(file).mtimeMs !== before, 5000);
    };

    // Open the file: the server's diagnostics reach the Problems panel.
    await vscode.open('linecount.kja');
    await page.waitForSelector('.squiggly-error', { timeout: 30000 });
    await keys('Control+Shift+M');
    const problems = await waitFor('the Problems panel', async () => {
      const rows = await page.locator('.markers-panel .monaco-list-row').allTextContents();
      return rows.length > expected.length ? rows : null;
    });
    const listed = problems.slice(1);
    assert.strictEqual(listed.length, expected.length, `Problems lists ${JSON.stringify(problems)}; koaljac check gives ${JSON.stringify(expected)}`);
    for (const diagnostic of expected) {
      const line = diagnostic.line;
      const row = listed.find((text) => text.includes(diagnostic.code) && text.includes(diagnostic.message.split('\n')[0]) && text.includes(`[Ln ${line},`));
      assert.ok(row, `${diagnostic.code} at line ${line} in Problems: ${JSON.stringify(listed)}`);
    }
    await shot('problems');

    // Hover on `stripped`: its type and producer.
    await goto(where(original, 'stripped'));
    await keys('Control+K', 'Control+I');
    const hover = await waitFor('the hover', async () => (await page.locator('.monaco-hover-content').allTextContents()).join(' '));
    assert.ok(hover.includes('stripped') && hover.includes('produced by uniq-lines'), hover);
    await shot('hover');
    await keys('Escape');

    // Go to definition on `count-lines` in its statement: its task block.
    await goto(where(original, 'count-lines ('));
    await keys('F12');
    const block = where(original, 'task count-lines');
    await waitFor('the jump to the task block', async () => (await cursor()).startsWith(`Ln ${block.line},`), 10000);

    // Rename `out` → `lines`: the statement and the {out} placeholder.
    await goto(where(original, 'out)'));
    await keys('F2');
    // The rename box takes the focus with the old name selected.
    await page.waitForFunction(() => document.activeElement && document.activeElement.closest('.rename-box'), null, { timeout: 10000 });
    await page.keyboard.type('lines');
    await keys('Enter');
    await waitFor('the rename', async () => (await page.locator('.view-lines').first().innerText()).includes('{lines}'), 10000);
    await save();
    const renamed = original.replace('(out)', '(lines)').replace('{out}', '{lines}');
    assert.strictEqual(onDisk(), renamed);

    // Completion after `(` on a new line offers the wires.
    await keys('Control+End', 'Enter');
    await page.keyboard.type('(');
    const suggestions = await waitFor('completion', async () => {
      const rows = await page.locator('.suggest-widget .monaco-list-row').allTextContents();
      return rows.length ? rows : null;
    });
    assert.ok(suggestions.some((row) => row.startsWith('stripped')) && suggestions.some((row) => row.startsWith('in')), JSON.stringify(suggestions));
    await shot('completion');
    await keys('Escape', 'Control+Shift+K');
    await save();
    assert.strictEqual(onDisk().trimEnd(), renamed.trimEnd(), 'the completion line is gone again');
    const edited = onDisk();

    // The quick fix for `stripd`: `stripped`, and the error goes.
    await goto(where(edited, 'stripd)'));
    await keys('Control+.');
    await page.waitForSelector('.action-widget .monaco-list-row, .context-view .action-widget', { timeout: 10000 });
    await shot('quick-fix');
    await keys('Enter');
    await waitFor('the fixed file to have no error', async () => (await page.locator('.squiggly-error').count()) === 0, 10000);
    await save();
    const fixed = edited.replace('(stripd)', '(stripped)');
    assert.strictEqual(onDisk(), fixed);

    // Format Document: what `koaljac fmt` writes.
    const want = formatted(fixed);
    assert.notStrictEqual(want, fixed, 'there is something to format');
    await palette('Format Document');
    await waitFor('the formatting', async () => {
      await keys('Control+S');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return onDisk() === want;
    }, 10000);
    const text = onDisk();

    // Show Graph: every node; an error node within a second of breaking a
    // line, gone after the fix; a click moves the cursor to the statement.
    await palette('Koalja: Show Graph');
    const graphFrame = await waitFor('the graph webview', async () => {
      for (const frame of page.frames()) {
        if ((await frame.locator('body[data-rendered]').count().catch(() => 0)) > 0) return frame;
      }
      return null;
    }, 30000);
    const graph = JSON.parse(childProcess.spawnSync(koaljac, ['graph', '--format', 'json', file], { encoding: 'utf8' }).stdout);
    await waitFor('every node drawn', async () => (await graphFrame.locator('g.node').count()) === graph.nodes.length);
    await shot('graph');
    await page.locator('.monaco-editor .view-lines').first().click();
    await keys('Control+End');
    await page.keyboard.type('\n)) broken');
    const broken = Date.now();
    await waitFor('the error node', async () => (await graphFrame.locator('g.node-error').count()) === 1, 5000);
    const errorNodeMs = Date.now() - broken;
    await shot('graph-error');
    await keys('Control+Shift+K');
    await waitFor('the error node gone', async () => (await graphFrame.locator('g.node-error').count()) === 0, 5000);
    await save();
    assert.strictEqual(onDisk().trimEnd(), text.trimEnd(), 'the broken line is gone again');
    const task = graph.nodes.find((node) => node.kind === 'task' && node.label === 'count-lines');
    await graphFrame.locator(`g.node[data-id="${task.id}"]`).click();
    const statement = where(text, '(stripped)  count-lines');
    await waitFor('the cursor at the clicked task', async () => (await cursor()).startsWith(`Ln ${statement.line},`), 5000);
    assert.ok(errorNodeMs < 1000, `the error node appeared after ${errorNodeMs} ms`);

    // A local run (with a drop) gives each task a code lens with its runs.
    const run = childProcess.spawnSync(koaljac, ['run', file, '--drop', `in=${path.join(workspace, 'words.txt')}`], { encoding: 'utf8' });
    assert.strictEqual(run.status, 0, run.stderr);
    const lenses = await waitFor('the code lenses', async () => {
      const titles = await page.locator('.codelens-decoration').allTextContents();
      return titles.filter((title) => title.includes('1 run · last ok')).length === 2 ? titles : null;
    });
    await shot('code-lens');

    // Build Manifests (a terminal) writes the manifests beside the file.
    await palette('Koalja: Build Manifests');
    const manifests = path.join(workspace, 'manifests');
    await waitFor('the manifests', () => fs.existsSync(manifests) && fs.readdirSync(manifests).some((name) => name.endsWith('.yaml')), 30000);
    const yaml = fs.readFileSync(path.join(manifests, fs.readdirSync(manifests).find((name) => name.endsWith('.yaml'))), 'utf8');
    assert.ok(yaml.includes('kind: StatefulSet'), 'the manifests hold the tasks');

    // Run Locally: a progress notification, then koaljac's summary.
    await palette('Koalja: Run Locally');
    const summary = await waitFor('the run summary', async () => {
      const toasts = await page.locator('.notifications-toasts').allTextContents();
      return toasts.find((toast) => toast.includes('run(s) succeeded'));
    }, 30000);
    assert.ok(summary.includes('0 failed'), summary);
    await shot('run-locally');
    console.log(
      `real VS Code (code-server): Problems = koaljac check (${expected.length}), hover, definition, rename, completion (${suggestions.length}), quick fix, format, graph (${graph.nodes.length} nodes, error node in ${errorNodeMs} ms), code lenses (${lenses.length}), Build Manifests, Run Locally; screenshots in ${out}`,
    );
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
