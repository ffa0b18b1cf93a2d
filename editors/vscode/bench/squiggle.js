// Keystroke → squiggle through a real VS Code (code-server, with the
// packaged extension and the koalja-lsp named by KOALJA_LSP), on generated
// pipelines: a character typed into a wire name makes it unproduced, and the
// time from the key's `keydown` in the page to the error squiggle in the DOM
// is taken by the page's own clock; then Backspace, and the time until the
// squiggle is gone. Medians over RUNS keystrokes each way, per file.
//
//   CODE_SERVER=… KOALJA_LSP=… node bench/squiggle.js RUNS FILE...
//
// bench/vscode.sh builds the files and the release server, and prints the
// server-side figure (bench/lsp.sh's) in the same run.
'use strict';
const fs = require('fs');
const path = require('path');
const { start, waitFor, where, root } = require('../test/code-server');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Types `key` and returns ms from its keydown to `appears` squiggles being in the DOM (or gone). */
async function timed(page, key, appears) {
  await page.evaluate((wanted) => {
    window.__koalja = { down: null, seen: null };
    const present = () => document.querySelector('.monaco-editor .squiggly-error') !== null;
    window.addEventListener('keydown', () => { window.__koalja.down = performance.now(); }, { capture: true, once: true });
    const observer = new MutationObserver(() => {
      if (window.__koalja.down !== null && present() === wanted) {
        window.__koalja.seen = performance.now();
        observer.disconnect();
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
  }, appears);
  await page.keyboard.press(key);
  await waitFor(appears ? 'the squiggle' : 'the squiggle to go', () => page.evaluate(() => window.__koalja.seen !== null), 30000);
  return page.evaluate(() => window.__koalja.seen - window.__koalja.down);
}

async function main() {
  const [runs, ...files] = process.argv.slice(2);
  const count = Number(runs);
  const out = path.join(root, 'target', 'vscode-bench');
  fs.rmSync(out, { recursive: true, force: true });
  const workspace = path.join(out, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  for (const file of files) fs.copyFileSync(file, path.join(workspace, path.basename(file)));
  const vscode = await start({ dir: out, workspace, lsp: process.env.KOALJA_LSP, koaljac: process.env.KOALJAC || 'koaljac' });
  await vscode.session(out, async () => {
    for (const file of files) {
      const name = path.basename(file);
      const text = fs.readFileSync(file, 'utf8');
      await vscode.open(name);
      // Let the first analysis land: the status bar's problem count shows 0.
      await waitFor('the first diagnostics', async () => (await vscode.page.locator('.monaco-editor .squiggly-error').count()) === 0, 60000);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      // A wire in a statement halfway down: typing after its first letter
      // makes it a wire nothing produces.
      const lines = text.split('\n');
      const statements = lines.filter((line) => /^\([a-z]/.test(line));
      const at = where(text, statements[Math.floor(statements.length / 2)]);
      await vscode.goto({ line: at.line, column: 3 });
      const appear = [];
      const vanish = [];
      for (let i = 0; i < count; i++) {
        appear.push(await timed(vscode.page, 'q', true));
        vanish.push(await timed(vscode.page, 'Backspace', false));
      }
      console.log(
        `${name}: ${lines.length} lines, keystroke → squiggle median ${median(appear).toFixed(1)} ms (min ${Math.min(...appear).toFixed(1)}, max ${Math.max(...appear).toFixed(1)}); ` +
          `the fix → squiggle gone median ${median(vanish).toFixed(1)} ms, over ${count} keystrokes each`,
      );
    }
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
