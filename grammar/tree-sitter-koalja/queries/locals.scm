; Wires are defined where a task outputs them and referenced where they are
; consumed; tasks and types likewise.
(source_file) @local.scope
(output wire: (identifier) @local.definition)
(merge_member wire: (identifier) @local.reference)
(list (identifier) @local.reference)
(task_block name: (identifier) @local.definition)
(type_declaration name: (identifier) @local.definition)
(input type: (identifier) @local.reference)
(output type: (identifier) @local.reference)
