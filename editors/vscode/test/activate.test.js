// extension.js against a recording stand-in for the `vscode` module (no VS
// Code runs here): activation registers its commands, and a missing
// language server gives a clear message naming the command and the setting;
// Run Locally runs the real koaljac (target/debug) with a progress
// notification and reports its summary; a code lens's run view shows the
// run's status and output.
'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Module = require('module');

const root = path.resolve(__dirname, '..', '..', '..');
const koaljac = process.env.KOALJAC || path.join(root, 'target', 'debug', 'koaljac');
const recorded = { commands: [], errors: [], infos: [], warnings: [], progress: [], output: [], opened: [] };
const fakeVscode = {
  workspace: {
    getConfiguration: () => ({
      get: (key) => ({ 'server.path': '/nowhere/koalja-lsp', 'compiler.path': koaljac })[key],
    }),
    openTextDocument: async (what) => {
      recorded.opened.push(what);
      return what;
    },
  },
  ProgressLocation: { Notification: 15 },
  ViewColumn: { Beside: -2, One: 1 },
  commands: {
    registerCommand: (name) => {
      recorded.commands.push(name);
      return { dispose() {} };
    },
    executeCommand: () => undefined,
  },
  window: {
    showErrorMessage: async (message) => {
      recorded.errors.push(message);
      return undefined;
    },
    showInformationMessage: async (message) => recorded.infos.push(message),
    showWarningMessage: async (message) => recorded.warnings.push(message),
    createOutputChannel: () => ({ append: (text) => recorded.output.push(text), appendLine: (text) => recorded.output.push(text + '\n') }),
    withProgress: async (options, task) => {
      recorded.progress.push(options.title);
      return task({ report: () => {} }, { onCancellationRequested: () => {} });
    },
    showTextDocument: async () => undefined,
  },
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest);
};
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: fakeVscode };

const extension = require('../extension.js');
(async () => {
  const context = { subscriptions: [], extensionPath: '', extensionUri: {} };
  await extension.activate(context);
  assert.deepStrictEqual(recorded.commands.sort(), [
    'koalja.buildManifests',
    'koalja.dropFile',
    'koalja.runLocally',
    'koalja.showGraph',
    'koalja.showRun',
  ]);
  assert.strictEqual(recorded.errors.length, 1);
  assert.ok(recorded.errors[0].includes('/nowhere/koalja-lsp') && recorded.errors[0].includes('koalja.server.path'), recorded.errors[0]);
  const manifest = require('../package.json');
  const declared = manifest.contributes.commands.map((command) => command.command).sort();
  assert.deepStrictEqual(declared, recorded.commands, 'every registered command is declared in package.json');

  // Run Locally: the real koaljac on a copy of linecount with one drop.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koalja-extension-'));
  const file = path.join(dir, 'linecount.kja');
  fs.copyFileSync(path.join(root, 'examples', 'linecount.kja'), file);
  fs.writeFileSync(path.join(dir, 'words.txt'), 'b\na\nb\n');
  const code = await extension.runLocally(file, { wire: 'in', path: path.join(dir, 'words.txt') });
  assert.strictEqual(code, 0, recorded.output.join(''));
  assert.deepStrictEqual(recorded.progress, ['Koalja: running linecount.kja']);
  assert.ok(recorded.output[0].includes('run ' + file + ' --drop in='), recorded.output[0]);
  assert.ok(recorded.infos.at(-1).includes('2 run(s) succeeded, 0 failed'), recorded.infos.join('; '));
  assert.ok(fs.existsSync(path.join(dir, '.koalja', 'agents')), 'the store lies beside the file');

  // The code lens's command shows a run's status and output.
  await extension.showRun({ task: 'judge', run: 2, status: 'failed', exitStatus: 3, state: '/s', stderrTail: 'too big: 20\n', stdoutTail: null });
  const shown = recorded.opened.at(-1);
  assert.strictEqual(shown.language, 'log');
  assert.ok(shown.content.startsWith('task judge, run 2: failed (exit 3)') && shown.content.includes('too big: 20'), shown.content);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log('extension: activation registers its commands and reports a missing server clearly; Run Locally runs koaljac with progress; a run view opens');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
