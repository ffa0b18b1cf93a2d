// Copies the TextMate grammar from grammar/ (its one home, tested there)
// into the extension, which can only package files under its own folder.
const fs = require('fs');
const path = require('path');
const source = path.join(__dirname, '..', '..', '..', 'grammar', 'textmate', 'koalja.tmLanguage.json');
const target = path.join(__dirname, '..', 'syntaxes', 'koalja.tmLanguage.json');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(source, target);
