; Fold task and defaults blocks.
(block) @fold
