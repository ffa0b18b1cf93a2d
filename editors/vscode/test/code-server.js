// A real VS Code to drive: code-server (CODE_SERVER, which scripts/code-server.sh
// installs) with the packaged target/koalja.vsix installed into a fresh
// profile under `dir`, serving `workspace`, opened in Debian's headless
// Chromium by Playwright; and the few keyboard paths a user takes, with
// waits on what the workbench shows rather than on time. Used by
// test/vscode.test.js and bench/vscode.sh.
'use strict';
const assert = require('assert');
const childProcess = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..', '..', '..');

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what, test, timeout = 20000) {
  const start = Date.now();
  for (;;) {
    const value = await test();
    if (value) return value;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** 1-based line and column of the first `needle` in `text`. */
function where(text, needle) {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `${needle} in the text`);
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

async function start({ dir, workspace, lsp, koaljac }) {
  const codeServer = process.env.CODE_SERVER;
  assert.ok(codeServer, 'CODE_SERVER names the code-server binary (scripts/code-server.sh installs it)');
  const user = path.join(dir, 'user');
  const extensions = path.join(dir, 'extensions');
  fs.mkdirSync(path.join(user, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(user, 'User', 'settings.json'),
    JSON.stringify({
      'koalja.server.path': lsp,
      'koalja.compiler.path': koaljac,
      'workbench.startupEditor': 'none',
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'update.mode': 'none',
      'chat.disableAIFeatures': true,
    }),
  );
  const vsix = path.join(root, 'target', 'koalja.vsix');
  const installed = childProcess.spawnSync(codeServer, ['--user-data-dir', user, '--extensions-dir', extensions, '--install-extension', vsix], { encoding: 'utf8' });
  assert.strictEqual(installed.status, 0, installed.stdout + installed.stderr);
  assert.ok(installed.stdout.includes('successfully installed'), installed.stdout);

  const port = await freePort();
  const server = childProcess.spawn(
    codeServer,
    ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', user, '--extensions-dir', extensions, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', workspace],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let log = '';
  server.stdout.on('data', (chunk) => (log += chunk));
  server.stderr.on('data', (chunk) => (log += chunk));
  const browser = await chromium.launch({
    executablePath: process.env.KOALJA_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const stop = async () => {
    await browser.close();
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    await waitFor('code-server to listen', () => log.includes('HTTP server listening'));
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await waitFor('the status bar', async () => (await page.locator('.statusbar').count()) > 0);
    return new Workbench(page, stop, () => log);
  } catch (error) {
    console.error(log.split('\n').slice(-20).join('\n'));
    await stop();
    throw error;
  }
}

class Workbench {
  constructor(page, stop, log) {
    this.page = page;
    this.stop = stop;
    this.log = log;
  }

  async keys(...presses) {
    for (const press of presses) await this.page.keyboard.press(press);
  }

  async quickInput() {
    await this.page.waitForSelector('.quick-input-widget:not([style*="display: none"]) input');
  }

  /** The status bar's cursor position, as "Ln 12, Col 3". */
  async cursor() {
    return (await this.page.locator('[id="status.editor.selection"]').textContent().catch(() => '')).trim();
  }

  async goto({ line, column }) {
    await this.keys('Control+G');
    await this.quickInput();
    await this.page.keyboard.type(`${line}:${column}`);
    await this.keys('Enter');
    let seen = '';
    await waitFor(`the cursor at ${line}:${column}`, async () => {
      seen = await this.cursor();
      return seen === `Ln ${line}, Col ${column}`;
    }, 15000).catch((error) => {
      throw new Error(`${error.message}; the status bar shows "${seen}"`);
    });
  }

  /** Runs a command by its title from the command palette. */
  async palette(command) {
    await this.keys('Control+Shift+P');
    await this.quickInput();
    await this.page.keyboard.type(command);
    await this.page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${command}"]`, { timeout: 10000 });
    await this.keys('Enter');
  }

  /** Opens a workspace file by name (Quick Open) and waits for its editor. */
  async open(name) {
    await this.keys('Control+P');
    await this.quickInput();
    await this.page.keyboard.type(name);
    // The row of that file (the list may still show recent files first).
    const row = `.quick-input-list .monaco-list-row[aria-label^="${name},"], .quick-input-list .monaco-list-row[aria-label^="${name} "]`;
    await this.page.waitForSelector(row, { timeout: 10000 });
    await this.page.locator(row).first().click();
    // Its tab active and its own cursor in the status bar (another file's
    // editor may already be on the page).
    await waitFor(`${name}'s editor`, async () => {
      const tab = await this.page.locator('.tabs-container .tab.active').textContent().catch(() => '');
      return tab.includes(name) && (await this.cursor()) === 'Ln 1, Col 1';
    }, 60000);
  }

  screenshot(dir, name) {
    return this.page.screenshot({ path: path.join(dir, `${name}.png`) });
  }

  /**
   * Runs `body`, then stops VS Code; on a failure first keeps a screenshot
   * (`dir/failure.png`) and prints the end of code-server's log.
   */
  async session(dir, body) {
    try {
      return await body();
    } catch (error) {
      await this.screenshot(dir, 'failure').catch(() => {});
      console.error(this.log().split('\n').slice(-20).join('\n'));
      throw error;
    } finally {
      await this.stop();
    }
  }
}

module.exports = { start, waitFor, where, root };
