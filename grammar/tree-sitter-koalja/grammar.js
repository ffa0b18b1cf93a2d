/**
 * tree-sitter grammar for the Koalja wiring language (`.kja`), following
 * LANGUAGE.md §1–§2 and grammar/reference.md. For editors (Neovim, Helix,
 * Zed): highlighting, folding and selection. The compiler's own parser
 * (chumsky, compiler/src/syntax) remains the authority on what is valid.
 */

/** `rule`, one or more times, separated by commas or whitespace alone. */
function items(rule) {
  return seq(rule, repeat(seq(optional(','), rule)), optional(','));
}

module.exports = grammar({
  name: 'koalja',

  extras: $ => [/\s/, $.comment],

  word: $ => $.identifier,

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice($.header, $.wiring, $.task_block, $.type_declaration, $.defaults_block),

    comment: _ => token(seq('#', /.*/)),

    // [name], [namespace/name] or [namespace:name]
    header: $ => seq(
      '[',
      optional(seq(field('namespace', $.identifier), choice('/', ':'))),
      field('name', $.identifier),
      ']',
    ),

    // ( inputs ) task ( outputs )
    wiring: $ => seq(
      field('inputs', $.input_list),
      field('task', $.identifier),
      field('outputs', $.output_list),
    ),

    input_list: $ => seq('(', optional(items($.input)), ')'),

    input: $ => seq(
      $.merge_member,
      repeat(seq('+', $.merge_member)),
      optional($.implicit),
      optional(seq(':', field('type', $.identifier))),
    ),

    merge_member: $ => seq(field('wire', $.identifier), optional($.buffer)),

    // [N], [M-N] or [N/S]
    buffer: $ => seq('[', $.integer, optional(seq(choice('-', '/'), $.integer)), ']'),

    output_list: $ => seq('(', optional(items($.output)), ')'),

    output: $ => seq(
      field('wire', $.identifier),
      optional($.implicit),
      optional(seq(':', field('type', $.identifier))),
    ),

    task_block: $ => seq('task', field('name', $.identifier), field('body', $.block)),

    defaults_block: $ => seq('defaults', field('body', $.block)),

    block: $ => seq('{', repeat(seq($.entry, optional(','))), '}'),

    entry: $ => seq(field('key', $.identifier), ':', field('value', $._value)),

    _value: $ => choice($.string, $.integer, $.identifier, $.list, $.map),

    list: $ => seq('[', optional(items(choice($.string, $.integer, $.identifier))), ']'),

    map: $ => seq('{', repeat(seq($.entry, optional(','))), '}'),

    // type name = base "mime/type" export
    type_declaration: $ => seq(
      'type',
      field('name', $.identifier),
      '=',
      field('base', $.identifier),
      optional(field('mime', $.string)),
      optional($.export),
    ),

    // Named, so trees and queries show them.
    implicit: _ => 'implicit',

    export: _ => 'export',

    identifier: _ => /[A-Za-z_][A-Za-z0-9_-]*/,

    integer: _ => /[0-9]+/,

    // Raw newlines are not allowed in strings (LANGUAGE.md §1).
    string: _ => token(seq('"', repeat(choice(/[^"\\\n]/, /\\[^\n]/)), '"')),
  },
});
