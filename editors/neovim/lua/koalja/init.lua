-- Koalja for Neovim 0.7 or later, with its built-in LSP client: `.kja` files
-- get the `koalja` filetype and `koalja-lsp` as their language server (one
-- server for all of them), and tree-sitter highlighting when a Koalja parser
-- is given (grammar/tree-sitter-koalja; editors/neovim/README.md says how to
-- build it). In init.lua:
--
--   require('koalja').setup({ cmd = { 'koalja-lsp' }, parser = '/path/to/koalja.so' })
local M = {}

local function start(cmd)
  if M.client_id and vim.lsp.get_client_by_id(M.client_id) then
    return M.client_id
  end
  M.client_id = vim.lsp.start_client({ name = 'koalja', cmd = cmd, root_dir = vim.fn.getcwd() })
  return M.client_id
end

--- Whether the Koalja parser loaded; highlighting needs it and the
--- queries (queries/koalja/*.scm on 'runtimepath').
function M.has_parser()
  return M.parser_loaded == true
end

function M.setup(opts)
  opts = opts or {}
  local cmd = opts.cmd or { 'koalja-lsp' }
  if opts.parser then
    -- Neovim 0.7 to 0.8 call it require_language; later ones language.add.
    local ok = false
    if vim.treesitter.language and vim.treesitter.language.add then
      ok = pcall(vim.treesitter.language.add, 'koalja', { path = opts.parser })
    elseif vim.treesitter.require_language then
      ok = pcall(vim.treesitter.require_language, 'koalja', opts.parser)
    end
    M.parser_loaded = ok
  end
  local group = vim.api.nvim_create_augroup('koalja', { clear = true })
  vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
    group = group,
    pattern = '*.kja',
    callback = function() vim.bo.filetype = 'koalja' end,
  })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'koalja',
    callback = function(args)
      vim.bo[args.buf].commentstring = '# %s'
      local client = start(cmd)
      if client then
        vim.lsp.buf_attach_client(args.buf, client)
      end
      if M.parser_loaded then
        vim.treesitter.highlighter.new(vim.treesitter.get_parser(args.buf, 'koalja'))
      end
    end,
  })
end

return M
