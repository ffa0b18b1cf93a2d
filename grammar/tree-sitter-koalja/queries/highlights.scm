; Highlights for Koalja (.kja). Capture names follow the nvim-treesitter /
; Helix conventions.

(comment) @comment
(string) @string
(integer) @number

["task" "type" "defaults"] @keyword
[(implicit) (export)] @keyword.modifier

(header namespace: (identifier) @module)
(header name: (identifier) @module)

(wiring task: (identifier) @function)
(task_block name: (identifier) @function)

(type_declaration name: (identifier) @type.definition)
(type_declaration base: (identifier) @type.builtin)
(input type: (identifier) @type)
(output type: (identifier) @type)

(merge_member wire: (identifier) @variable)
(output wire: (identifier) @variable)
(list (identifier) @variable)

(entry key: (identifier) @property)
(entry value: (identifier) @constant)

["(" ")" "[" "]" "{" "}"] @punctuation.bracket
["," ":"] @punctuation.delimiter
["+" "=" "/" "-"] @operator
