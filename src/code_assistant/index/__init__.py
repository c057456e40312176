"""The code index: one SQLite file of symbols, chunks, full text and vectors (.ca/index.db).

Public entry points: `build.update_index`, `retrieve.search`, `retrieve.context_block`,
`symbols.find_symbols`, `symbol_map.render_symbol_map` and `walk.iter_project_files`.
Heavy imports (tree-sitter, numpy) happen inside the functions that need them.
"""

from __future__ import annotations
