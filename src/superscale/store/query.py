"""`Store.query`: read-only DuckDB SQL over a store's tables, in a sandbox.

The views are Arrow datasets over the store's Parquet files, scanned by Arrow; DuckDB itself gets no file
system (`enable_external_access = false`, then the configuration is locked), so COPY, ATTACH, EXPORT,
read_csv/read_text of other files and INSTALL/LOAD of extensions are refused. `runs` and `curves` are
always views, empty with their columns when nothing finished (a sweep whose runs all failed still has its
failure reasons to read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from superscale.store.tables import DamagedTable, arrow_schema, file_problem

if TYPE_CHECKING:
    from superscale.store.reader import Store

__all__ = ["query_store"]

# DuckDB settings of `query_store`: no files, no extensions, no Python variables as tables, locked
_SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "python_enable_replacements": False,
    "lock_configuration": True,
}


def _statements(sql: str) -> str:
    """`sql` without surrounding blanks and semicolons; ValueError when nothing is left to run."""
    text = sql.strip().strip(";").strip()
    if not text:
        raise ValueError("query: the SQL is empty; e.g. superscale query DIR 'select * from runs limit 5'")
    return text


def query_store(store: Store, sql: str) -> pd.DataFrame:
    """Run `sql` over the views of `store` (runs, curves, metrics, fits, the extra tables present)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    text = _statements(sql)
    con = duckdb.connect(config=_SANDBOX)
    try:
        for view, files in store.view_files().items():
            for file in files:
                problem = file_problem(file, view)
                if problem:
                    raise DamagedTable(file, problem)
            schemas = [pq.read_schema(f) for f in files]
            with_columns = [(f, s) for f, s in zip(files, schemas, strict=True) if s.names]
            if not with_columns:  # no rows yet, or a table written with no columns: empty, typed
                empty = arrow_schema(view)
                if empty.names:
                    con.register(view, pa.Table.from_batches([], schema=empty))
                continue
            unified = pa.unify_schemas([s for _, s in with_columns], promote_options="permissive")
            paths = [str(f) for f, _ in with_columns]
            con.register(view, ds.dataset(paths, schema=unified, format="parquet"))
        result = con.execute(text)
        if result.description is None:  # a statement that returns no table
            raise ValueError("query: the SQL returned no table; use a SELECT (queries are read-only)")
        return result.df()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"query failed (queries are read-only over the store's tables): {first}") from None
    finally:
        con.close()
