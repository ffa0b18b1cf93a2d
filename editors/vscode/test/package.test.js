// The packaged extension holds what it needs at run time (the client, the
// grammar, the webview and its bundled layout library) and none of the
// test tools. Run after `npm run package`.
'use strict';
const assert = require('assert');
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const vsix = path.resolve(__dirname, '..', '..', '..', 'target', 'koalja.vsix');
assert.ok(fs.statSync(vsix).size > 100000, `${vsix} was packaged`);
const listed = childProcess.execFileSync('npx', ['--no-install', 'vsce', 'ls'], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
const files = new Set(listed.split('\n').map((line) => line.trim()).filter(Boolean));
for (const needed of [
  'package.json',
  'extension.js',
  'language-configuration.json',
  'syntaxes/koalja.tmLanguage.json',
  'media/graph.html',
  'media/graph.js',
  'media/graph.css',
  'node_modules/vscode-languageclient/lib/node/main.js',
]) {
  assert.ok(files.has(needed), `the package holds ${needed}`);
}
for (const file of files) {
  assert.ok(!file.startsWith('node_modules/playwright-core/') && !file.startsWith('test/') && !file.startsWith('bench/'), `no test tooling: ${file}`);
}
console.log(`vsix: ${files.size} files, everything needed and no test tooling`);
