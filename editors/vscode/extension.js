// The Koalja extension: starts koalja-lsp for .kja files, and adds the live
// graph preview and two terminal commands. Plain CommonJS (no build step).
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

/** Runs koaljac on the active .kja file in a terminal. */
function inTerminal(name, args) {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'koalja') {
    vscode.window.showWarningMessage('Koalja: open a .kja file first.');
    return;
  }
  const compiler = vscode.workspace.getConfiguration('koalja').get('compiler.path') || 'koaljac';
  const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;
  const terminal = vscode.window.createTerminal(`Koalja: ${name}`);
  terminal.show();
  terminal.sendText([compiler, ...args(editor.document.uri.fsPath)].map(quote).join(' '));
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
    vscode.commands.registerCommand('koalja.runLocally', () => inTerminal('run', (file) => ['run', file])),
  );
  await startServer(context);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
