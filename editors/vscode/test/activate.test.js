// extension.js against a recording stand-in for the `vscode` module (no VS
// Code runs here): activation registers the three commands, and a missing
// language server gives a clear message naming the command and the setting.
'use strict';
const assert = require('assert');
const Module = require('module');

const recorded = { commands: [], errors: [] };
const fakeVscode = {
  workspace: { getConfiguration: () => ({ get: (key) => (key === 'server.path' ? '/nowhere/koalja-lsp' : undefined) }) },
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
  assert.deepStrictEqual(recorded.commands.sort(), ['koalja.buildManifests', 'koalja.runLocally', 'koalja.showGraph']);
  assert.strictEqual(recorded.errors.length, 1);
  assert.ok(recorded.errors[0].includes('/nowhere/koalja-lsp') && recorded.errors[0].includes('koalja.server.path'), recorded.errors[0]);
  console.log('extension: activation registers its commands and reports a missing server clearly');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
