"""One place for the result store's file names and table columns.

Every module that reads or writes a store (sweep, store, analysis, plots, report) imports the names from
here, so a renamed column is one edit and a typo is an ImportError instead of an empty figure.
"""

from __future__ import annotations

from pathlib import Path

# --- files inside a store directory -------------------------------------------------------------
SWEEP_FILE = "sweep.toml"  # the resolved config, exactly as run
MANIFEST_FILE = "manifest.json"  # shards: id, status, timings, device, versions, git revision
RUNS_FILE = "runs.parquet"  # one row per trained model
CURVES_FILE = "curves.parquet"  # loss every k steps per run
WEIGHTS_DIR = "weights"  # weights/<shard_id>.safetensors, keys "<run_id>/W", "<run_id>/b"
WEIGHTS_ARCHIVE_FILE = "weights/archive.json"  # which runs kept float32, float16 or nothing (store.archive)
ROW_NORMS_FILE = "row_norms.parquet"  # run_id, row_norms: ‖W_i‖ for i = 1..n (float32, before slimming)
METRICS_FILE = "metrics.parquet"  # written by analysis, one row per run
FITS_FILE = "fits.parquet"  # written by analysis, one row per (group, fit kind)
REPORT_DIR = "report"  # report/index.html and figures
LOCK_FILE = ".superscale.lock"  # held by the one process writing a store
SHARDS_DIR = "shards"  # per-shard finished rows before they are merged into the tables
MANIFEST_FORMAT = 1  # manifest.json "format": bumped when its layout changes
# tables `superscale analyze` adds when the store's runs call for them
# (superscale.pipeline.analyze.STUDY_STEPS)
VARIANTS_FILE = "variants.parquet"  # several architectures: one row per run, §3.6 terms for cross-entropy
VARIANTS_FITS_FILE = "variants_fits.parquet"  # one row per (variant, γ, quantity, fit kind)
ASPECT_RUNS_FILE = "aspect_runs.parquet"  # deep models at ≥ 2 depths: one row per run, its shape and kind
ASPECT_LAYERS_FILE = "aspect_layers.parquet"  # one row per (run, layer): represented features
ASPECT_PAIRS_FILE = "aspect_pairs.parquet"  # one row per (pair of runs, layer "first"/"last")
PHASE_TRANSITION_FILE = "phase_transition.parquet"  # uniform data: rel. error per (method, S, m[, seed])
PHASE_DIAGRAM_FILE = "phase_diagram.parquet"  # `superscale variants phase` (no store): density × importance
EXTRA_TABLES = (
    ROW_NORMS_FILE,
    VARIANTS_FILE,
    VARIANTS_FITS_FILE,
    ASPECT_RUNS_FILE,
    ASPECT_LAYERS_FILE,
    ASPECT_PAIRS_FILE,
    PHASE_TRANSITION_FILE,
)

# --- LLM result tables a report directory may hold (file stems; .parquet or .csv) ---------------
# from `superscale llm geometry --out DIR/llm_geometry.parquet --hist-out DIR/llm_norm_histogram.parquet`,
# `superscale llm eval --out DIR/llm_losses.parquet` and `superscale llm freq --out DIR/token_freq.parquet`
LLM_GEOMETRY_FILE = "llm_geometry"  # one row per LM head (superscale.llm.geometry.GEOMETRY_COLUMNS)
LLM_LOSSES_FILE = "llm_losses"  # family, model, m, dataset, loss (nats/token)
LLM_HISTOGRAM_FILE = "llm_norm_histogram"  # model, family, m, bin_low, bin_high, count
TOKEN_FREQ_FILE = "token_freq"  # tokenizer, dataset, rank, count, frequency
TABLE_SUFFIXES = (".parquet", ".csv")  # read in this order: Parquet wins when both exist


def weight_key(run_id: str, name: str) -> str:
    """Tensor name of parameter `name` ("W", "b", ...) of run `run_id` inside a shard's safetensors."""
    return f"{run_id}/{name}"


# --- runs.parquet ------------------------------------------------------------------------------
# identity and grid coordinates
RUN_ID = "run_id"  # stable hash of the run's resolved parameters (and seed)
ROW_NORMS = "row_norms"  # row_norms.parquet: the list ‖W_1‖ … ‖W_n‖ of one run
SHARD_ID = "shard_id"
EXPERIMENT = "experiment"  # the sweep's name (preset name or the TOML's `name`)
ARCHITECTURE = "architecture"  # "tied" (the paper's model), "deep", "cross_entropy", "unit_norm", ...
FAMILY = "family"  # frequency family: "power", "exponential", "linear", "custom"
ALPHA = "alpha"  # data exponent of p_i ∝ i^-alpha (NaN when the family has none)
SCALE = "scale"  # exponential scale tau of p_i ∝ exp(-i/tau) (NaN otherwise)
DENSITY = "density"  # activation density E = sum_i p_i
N_FEATURES = "n"
M_HIDDEN = "m"
GAMMA = "gamma"  # signed weight decay
SEED = "seed"
N_LAYERS = "n_layers"  # 1 for the paper's model
# recipe
BATCH = "batch"
STEPS = "steps"
WARMUP_STEPS = "warmup_steps"
LR_FLOOR = "lr_floor"
LR_W = "lr_W"  # peak learning rate of W
LR_B = "lr_b"  # peak learning rate of b
# results
FINAL_LOSS = "final_loss"  # summed over features (the paper's scale): mean of the last 100 step losses
FINAL_LOSS_STD = "final_loss_std"  # sample std (n − 1) of those step losses (the paper's error bar)
FINAL_LOSS_PER_FEATURE = "final_loss_per_feature"  # final_loss / n (nn.MSELoss scale, as the code logs)
HELDOUT_LOSS = "heldout_loss"  # summed scale on fresh batches with the final weights (NaN if not asked)
TRAIN_SECONDS = "train_seconds"  # wall time of the shard divided by its number of models
DEVICE = "device"
STATUS = "status"  # "done" | "failed"
DENSITY_KNOB = "density_knob"  # E3's s in p_i = i^-α/H · (1 + s(H − 1)) (NaN otherwise)
DATA_INDEX = "data_index"  # which [[data]] table of the config the run came from
LOSS_SCALE = "loss_scale"  # backward multiplier (E1 script: 100)
FINAL_WINDOW = "final_window"  # steps averaged into FINAL_LOSS
PRECISION = "precision"
THREADS = "threads"  # torch threads the shard ran with
SUPERSCALE_VERSION = "superscale_version"
TORCH_VERSION = "torch_version"
PYTHON_VERSION = "python_version"
GIT_REVISION = "git_revision"
FINISHED_AT = "finished_at"
ERROR = "error"  # message of a failed run ("" when done)

# columns that identify a (data, optimiser) group whose loss is fitted across m
FIT_GROUP_COLUMNS = [EXPERIMENT, ARCHITECTURE, FAMILY, ALPHA, SCALE, DENSITY, N_FEATURES, GAMMA, N_LAYERS]

# --- curves.parquet ----------------------------------------------------------------------------
STEP = "step"  # 0-based optimiser step whose pre-update loss is logged
LOSS = "loss"  # summed scale

# --- metrics.parquet (one row per run, keyed by RUN_ID; docs/recipe.md §2) ---------------------------
PHI_HALF = "phi_half"  # fraction of rows with norm > 1/2
PHI_ONE = "phi_one"  # fraction of rows with norm > 1 ("strongly represented")
N_STRONG = "n_strong"  # number of rows with norm > 1
MEAN_NORM = "mean_norm"
MEAN_ABS_COS_ALL = "mean_abs_cos_all"  # mean |cos| over all pairs of rows
MEAN_COS2_ALL = "mean_cos2_all"  # mean cos^2 over all pairs (Fig. 17)
MEAN_COS2_STRONG = "mean_cos2_strong"  # mean cos^2 over pairs of rows with norm > 1 (Figs. 5d, 8d)
VAR_COS2_STRONG = "var_cos2_strong"  # variance of cos^2 over those pairs
VAR_RATIO_STRONG = "var_cos2_strong_ratio"  # divided by the random value 2(m-1)/(m^2(m+2)) (Fig. 5c)
WELCH_KAPPA2_STRONG = "welch_kappa2_strong"  # Welch kappa^2 with nu = n_strong
MAX_ABS_COS = "max_abs_cos"  # coherence over all rows
PREDICTED_WEAK_LOSS = "predicted_weak_loss"  # (4/3) sum_{i > phi_half n} p_i, exact sum (Figs. 4a, 8b)
AMBIGUITY = "ambiguity"  # spectral norm of W W^T - B (Fig. 4b case selection)
DIMENSIONALITY_MEAN = "dimensionality_mean"  # mean feature dimensionality D_i (Elhage et al.)
M_OVER_FROBENIUS2 = "m_over_frobenius2"  # m / ||W||_F^2
# convergence, from curves.parquet (superscale.analysis.quality.loss_convergence): the last 10 % of the steps
LOSS_REL_CHANGE = "loss_rel_change"  # (mean loss, 1st half − 2nd half of that window) / 2nd-half mean
LOSS_REL_CHANGE_SE = "loss_rel_change_se"  # its standard error from the step-to-step noise of the curve
CONVERGED = "converged"  # False: a drift beyond tolerance is visible; NA: too few logged points to tell
# --- fits.parquet (one row per fit group and fit kind) ------------------------------------------
FIT_KIND = "fit_kind"  # "loglog" (OLS of ln L on ln m, the paper's α_m) | "offset" (C m^-a + L0)
EXPONENT = "exponent"  # α_m = -slope
EXPONENT_SE = "exponent_se"
EXPONENT_CI_LOW = "exponent_ci_low"
EXPONENT_CI_HIGH = "exponent_ci_high"
R2 = "r2"
N_POINTS = "n_points"
COEFFICIENT = "coefficient"  # C in L = C m^-α (+ L0)
OFFSET = "offset"  # L0 of the offset fit (NaN for loglog)
OFFSET_SE = "offset_se"
M_MIN = "m_min"  # smallest / largest width the fit used
M_MAX = "m_max"
FIT_WINDOW = "fit_window"  # FitWindow.describe() of the widths used: "skip_first=2", "last=5", "all"
FIT_SCOPE = "fit_scope"  # "all": every width | "recipe": the [analysis] window of the group (= all if none)
FIT_FLAGS = "flags"  # "" when fine, else "; "-joined: "negative exponent; 2 of 6 runs unconverged"
RUNS_SIGNATURE = "runs_signature"  # hash of the group's runs, their convergence, its window: refit on change
LOGLOG = "loglog"  # fit_kind values
OFFSET_KIND = "offset"
SCOPE_ALL = "all"  # fit_scope values
SCOPE_RECIPE = "recipe"


def shard_table_path(store: Path, shard_id: str, table: str) -> Path:
    """shards/<shard>.<table>.parquet: one finished shard's rows of `table` ("runs" or "curves")."""
    return store / SHARDS_DIR / f"{shard_id}.{table}.parquet"
