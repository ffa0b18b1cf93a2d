#!/usr/bin/env bash
# The grammar suites: the TextMate grammar against its assertion files
# (vscode-tmgrammar-test), and the tree-sitter grammar: generated, its
# corpus (test/corpus), its queries, and every example and clean corpus file
# of the compiler parsed without an ERROR node. Expects `npm ci` done in
# grammar/ and the tree-sitter CLI installed (scripts/test.sh does both).
set -euo pipefail
cd "$(dirname "$0")/../grammar"

echo "-- TextMate grammar"
npx --no-install vscode-tmgrammar-test -g textmate/koalja.tmLanguage.json 'textmate/tests/*.kja'

echo "-- tree-sitter grammar"
cd tree-sitter-koalja
tree-sitter generate
# src/ is committed (editors build the parser from it): it must be current.
if ! git diff --quiet -- src; then
  echo "grammar/tree-sitter-koalja/src is stale: run 'tree-sitter generate' there and commit it" >&2
  exit 1
fi
tree-sitter test
# Valid programs parse without ERROR or MISSING nodes (`parse` exits 1 if any does).
files=(../../examples/*.kja ../../compiler/test_data/check/ok/*.kja ../../compiler/test_data/parser/ok/*.kja)
tree-sitter parse --quiet "${files[@]}"
tree-sitter query queries/highlights.scm "${files[@]}" > /dev/null
echo "tree-sitter: ${#files[@]} valid files parsed without errors"
