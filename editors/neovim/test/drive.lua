-- Drives Neovim's built-in LSP client against koalja-lsp, headless, as a
-- user's keystrokes would: open a file, wait for its diagnostics, hover,
-- go to definition, rename, format; and highlight with the tree-sitter
-- parser when one is given. Run by lsp/tests/neovim.rs:
--
--   KOALJA_NVIM_SPEC=spec.json nvim --headless -u NONE -i NONE \
--     --cmd 'set rtp+=editors/neovim' -c 'luafile editors/neovim/test/drive.lua'
--
-- spec.json: { "file", "out", "lsp", "parser" (optional), "queries" (a
-- directory holding queries/koalja/, optional), "hover", "definition",
-- "rename": positions as { "line", "character" } (0-based, UTF-16), and
-- "new_name" }. Everything seen is written to "out" as JSON; the Rust test
-- judges it.
local spec = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('KOALJA_NVIM_SPEC')), '\n'))
local seen = { errors = {} }

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(seen) }, spec.out)
  vim.cmd('qa!')
end

local function step(name, body)
  local ok, problem = pcall(body)
  if not ok then
    table.insert(seen.errors, name .. ': ' .. tostring(problem))
  end
end

local function at(position)
  vim.api.nvim_win_set_cursor(0, { position.line + 1, position.character })
  return vim.lsp.util.make_position_params()
end

local function request(method, params)
  local answers = vim.lsp.buf_request_sync(0, method, params, 10000) or {}
  for _, answer in pairs(answers) do
    if answer.result then
      return answer.result
    end
  end
  return nil
end

local function text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n') .. '\n'
end

if spec.queries then
  vim.opt.runtimepath:append(spec.queries)
end
require('koalja').setup({ cmd = { spec.lsp }, parser = spec.parser })
vim.cmd('edit ' .. vim.fn.fnameescape(spec.file))
local buf = vim.api.nvim_get_current_buf()
seen.filetype = vim.bo.filetype

step('diagnostics', function()
  assert(vim.wait(15000, function() return #vim.diagnostic.get(buf) > 0 end, 20), 'no diagnostics within 15 s')
  seen.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
    table.insert(seen.diagnostics, { line = d.lnum, character = d.col, code = code, severity = d.severity, message = d.message })
  end
end)

step('hover', function()
  local result = request('textDocument/hover', at(spec.hover))
  seen.hover = result and result.contents and (result.contents.value or result.contents) or vim.NIL
end)

step('definition', function()
  local result = request('textDocument/definition', at(spec.definition))
  local location = result and (result[1] or result)
  assert(location and location.range, 'no location')
  vim.lsp.util.jump_to_location(location, 'utf-16')
  seen.definition = { line = vim.api.nvim_win_get_cursor(0)[1] - 1 }
end)

step('rename', function()
  local before = text()
  at(spec.rename)
  vim.lsp.buf.rename(spec.new_name)
  assert(vim.wait(10000, function() return text() ~= before end, 20), 'the rename changed nothing')
  seen.renamed = text()
end)

step('formatting', function()
  vim.lsp.buf.formatting_sync(nil, 10000)
  seen.formatted = text()
end)

step('treesitter', function()
  local koalja = require('koalja')
  seen.treesitter = { loaded = koalja.has_parser() }
  if not koalja.has_parser() then
    return
  end
  local parser = vim.treesitter.get_parser(buf, 'koalja')
  local root = parser:parse()[1]:root()
  seen.treesitter.has_error = root:has_error()
  local query = vim.treesitter.get_query('koalja', 'highlights')
  assert(query, 'no highlights query for koalja on the runtimepath')
  local captures = {}
  for id, node in query:iter_captures(root, buf, 0, -1) do
    local name = query.captures[id]
    local row, column = node:range()
    captures[name] = captures[name] or { row = row, character = column, text = vim.treesitter.get_node_text(node, buf) }
  end
  seen.treesitter.captures = captures
  seen.treesitter.highlighter_active = vim.treesitter.highlighter.active[buf] ~= nil
end)

finish()
