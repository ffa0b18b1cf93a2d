// The Koalja extension: starts koalja-lsp for .kja files, and adds the live
// graph preview, Build Manifests (in a terminal), Run Locally (with progress;
// the server's code lenses show each task's last runs), a drop of an
// explorer file into a pipeline input, and the code lenses' run view. Plain
// CommonJS (no build step).
'use strict';
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');

/** @type {import('vscode-languageclient/node').LanguageClient | undefined} */
let client;

/** Whether `command --version` runs: a clear message beats a silent failure. */
function canRun(command) {
  const probe = childProcess.spawnSync(command, ['--version'], { timeout: 5000 });
  return !probe.error && probe.status === 0;
}

async function startServer(context) {
  const command = vscode.workspace.getConfiguration('koalja').get('server.path') || 'koalja-lsp';
  if (!canRun(command)) {
    const choice = await vscode.window.showErrorMessage(
      `Koalja: the language server \`${command}\` cannot be started. Install it (\`cargo install --path lsp\` in the Koalja repository) or set "koalja.server.path".`,
      'Open Settings',
    );
    if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'koalja.server.path');
    }
    return;
  }
  // Loaded only when there is a server to talk to.
  const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
  client = new LanguageClient(
    'koalja',
    'Koalja',
    { command, transport: TransportKind.stdio },
    { documentSelector: [{ scheme: 'file', language: 'koalja' }, { scheme: 'untitled', language: 'koalja' }] },
  );
  context.subscriptions.push(client);
  await client.start();
}

/** One graph panel per document, redrawn on every change. */
class GraphPanel {
  static panels = new Map();

  static show(context, document) {
    const key = document.uri.toString();
    const existing = GraphPanel.panels.get(key);
    if (existing) {
      existing.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    GraphPanel.panels.set(key, new GraphPanel(context, document));
  }

  constructor(context, document) {
    this.document = document;
    this.direction = 'right';
    const media = vscode.Uri.joinPath(context.extensionUri, 'media');
    this.panel = vscode.window.createWebviewPanel(
      'koaljaGraph',
      `Graph: ${path.basename(document.uri.fsPath || document.uri.path)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [media], retainContextWhenHidden: true },
    );
    const webview = this.panel.webview;
    const template = fs.readFileSync(path.join(context.extensionPath, 'media', 'graph.html'), 'utf8');
    webview.html = template
      .replaceAll('{{cspSource}}', webview.cspSource)
      .replaceAll('{{media}}', webview.asWebviewUri(media).toString());
    this.disposables = [
      webview.onDidReceiveMessage((message) => this.onMessage(message)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document === this.document) this.scheduleRefresh();
      }),
      this.panel.onDidDispose(() => this.dispose()),
    ];
  }

  scheduleRefresh() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 150);
  }

  async refresh() {
    if (!client) return;
    try {
      const graph = await client.sendRequest('koalja/graph', {
        textDocument: { uri: this.document.uri.toString() },
        direction: this.direction,
      });
      this.panel.webview.postMessage({ type: 'graph', graph });
    } catch (error) {
      vscode.window.setStatusBarMessage(`Koalja graph: ${error.message || error}`, 5000);
    }
  }

  async onMessage(message) {
    if (message.type === 'ready' || message.type === 'direction') {
      // The panel remembers its direction (webview state) across reloads.
      this.direction = message.direction === 'down' ? 'down' : 'right';
      this.refresh();
    } else if (message.type === 'reveal') {
      const { start, end } = message.range;
      const range = new vscode.Range(start.line, start.character, end.line, end.character);
      const editor = await vscode.window.showTextDocument(this.document, { viewColumn: vscode.ViewColumn.One, selection: range });
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    } else if (message.type === 'exportSvg') {
      const target = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(this.document.uri.fsPath.replace(/\.kja$/, '') + '.svg'),
        filters: { SVG: ['svg'] },
      });
      if (target) await vscode.workspace.fs.writeFile(target, Buffer.from(message.svg, 'utf8'));
    }
  }

  dispose() {
    clearTimeout(this.timer);
    GraphPanel.panels.delete(this.document.uri.toString());
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}

function compilerPath() {
  return vscode.workspace.getConfiguration('koalja').get('compiler.path') || 'koaljac';
}

/** Runs koaljac on the active .kja file in a terminal. */
function inTerminal(name, args) {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'koalja') {
    vscode.window.showWarningMessage('Koalja: open a .kja file first.');
    return;
  }
  const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;
  const terminal = vscode.window.createTerminal(`Koalja: ${name}`);
  terminal.show();
  terminal.sendText([compilerPath(), ...args(editor.document.uri.fsPath)].map(quote).join(' '));
}

let output;
function outputChannel() {
  output = output || vscode.window.createOutputChannel('Koalja');
  return output;
}

/**
 * `koaljac run FILE [--drop WIRE=PATH]` as a child process, with a progress
 * notification while it runs (the code lenses follow it live: the language
 * server watches the store) and its output in the Koalja channel. Resolves
 * to the exit code.
 */
function runLocally(file, drop) {
  const args = ['run', file, ...(drop ? ['--drop', `${drop.wire}=${drop.path}`] : [])];
  const channel = outputChannel();
  channel.appendLine(`$ ${compilerPath()} ${args.join(' ')}`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Koalja: running ${path.basename(file)}`, cancellable: true },
    (progress, cancel) =>
      new Promise((resolve) => {
        const child = childProcess.spawn(compilerPath(), args, { cwd: path.dirname(file) });
        const started = Date.now();
        const ticker = setInterval(() => progress.report({ message: `${Math.round((Date.now() - started) / 1000)} s` }), 1000);
        // The last line koaljac writes is its summary; chunks may split lines.
        let written = '';
        const take = (chunk) => {
          const text = chunk.toString();
          channel.append(text);
          written = (written + text).slice(-4096);
        };
        child.stdout.on('data', take);
        child.stderr.on('data', take);
        cancel.onCancellationRequested(() => child.kill('SIGINT'));
        child.on('error', (error) => {
          clearInterval(ticker);
          vscode.window.showErrorMessage(`Koalja: cannot run \`${compilerPath()}\` (${error.message}). Install it or set "koalja.compiler.path".`);
          resolve(-1);
        });
        child.on('close', (code) => {
          clearInterval(ticker);
          const last = written.split('\n').filter((line) => line.trim()).at(-1);
          const say = code === 0 ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
          say(`Koalja: ${last || `koaljac run exited with ${code}`}`);
          resolve(code);
        });
      }),
  );
}

/** The code lens command: a task's newest run, with its output tails, beside the code. */
async function showRun(run) {
  const status = run.status === 'failed' && run.exitStatus !== null && run.exitStatus !== undefined ? `failed (exit ${run.exitStatus})` : run.status;
  const parts = [`task ${run.task}, run ${run.run}: ${status}`, `state: ${run.state}`, ''];
  if (run.stderrTail) parts.push('--- standard error (its end)', run.stderrTail, '');
  if (run.stdoutTail) parts.push('--- standard output (its end)', run.stdoutTail, '');
  if (!run.stderrTail && !run.stdoutTail) parts.push('(the run wrote nothing)');
  const document = await vscode.workspace.openTextDocument({ content: parts.join('\n'), language: 'log' });
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  return document;
}

/** Drops a file from the explorer into one of a pipeline's inputs, and runs it. */
async function dropFile(uri) {
  const target = uri || (vscode.window.activeTextEditor && vscode.window.activeTextEditor.document.uri);
  if (!target || !client) {
    vscode.window.showWarningMessage('Koalja: choose a file in the explorer, with the language server running.');
    return;
  }
  const pipelines = await vscode.workspace.findFiles('**/*.kja', '**/node_modules/**', 200);
  if (!pipelines.length) {
    vscode.window.showWarningMessage('Koalja: no .kja pipeline in this workspace.');
    return;
  }
  const picked = pipelines.length === 1
    ? pipelines[0]
    : (await vscode.window.showQuickPick(pipelines.map((p) => ({ label: vscode.workspace.asRelativePath(p), uri: p })), { placeHolder: 'Into which pipeline?' }) || {}).uri;
  if (!picked) return;
  const document = await vscode.workspace.openTextDocument(picked);
  const graph = await client.sendRequest('koalja/graph', { textDocument: { uri: document.uri.toString() } });
  const inputs = graph.nodes.filter((node) => node.kind === 'input').map((node) => node.label);
  if (!inputs.length) {
    vscode.window.showWarningMessage(`Koalja: ${path.basename(picked.fsPath)} has no pipeline input.`);
    return;
  }
  const wire = inputs.length === 1 ? inputs[0] : await vscode.window.showQuickPick(inputs, { placeHolder: 'Into which input?' });
  if (!wire) return;
  return runLocally(picked.fsPath, { wire, path: target.fsPath });
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('koalja.showGraph', () => {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document.languageId === 'koalja') GraphPanel.show(context, editor.document);
    }),
    vscode.commands.registerCommand('koalja.buildManifests', () =>
      inTerminal('build', (file) => ['build', file, '-o', path.join(path.dirname(file), 'manifests')]),
    ),
    vscode.commands.registerCommand('koalja.runLocally', () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== 'koalja') {
        vscode.window.showWarningMessage('Koalja: open a .kja file first.');
        return undefined;
      }
      return runLocally(editor.document.uri.fsPath);
    }),
    vscode.commands.registerCommand('koalja.showRun', showRun),
    vscode.commands.registerCommand('koalja.dropFile', dropFile),
  );
  await startServer(context);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, showRun, runLocally };
