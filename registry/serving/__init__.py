"""The one serving path: resolve a model name to a ready version, load it once, predict.

    served = serving.resolve("churn", alias="production")
    result = serving.predict(served, body, user=user, source="api")

resolve.py   name + version or alias -> ServedVersion (cached per process for about a second);
             MLflow's model URIs (models:/name/3, models:/name@alias) -> ModelRef
cache.py     loaded pipelines, by version id, in an LRU bounded by bytes (MLSERVE_MODEL_CACHE_MB)
plan.py      each loaded pipeline's single-row plan: one row -> the estimator's input, bit for
             bit the pipeline's, without the preprocessing's numpy calls
bodies.py    request bodies (every JSON format and CSV) -> typed table, through one normaliser
predict.py   THE entry: body -> table -> row and cost limits -> predictions, observed and logged
batch.py     an uploaded CSV predicted whole, returned with its prediction columns
             (background batch jobs, registry/batchjobs/, score theirs a chunk at a time)

Pages, the JSON API, the admin and batch CSV all predict through `predict`.
"""

from registry.serving.batch import predict_csv, predict_csv_columns
from registry.serving.bodies import (
    CsvUpload,
    PredictionError,
    columns_to_table,
    convert_columns,
    load_json,
    rows_to_table,
    rows_to_table_in_slices,
)
from registry.serving.cache import (
    ArtifactError,
    PipelineCache,
    load_pipeline,
    loaded_bytes,
    model_budget_bytes,
    pipeline_cache,
    too_large_message,
)
from registry.serving.predict import (
    check_cost,
    predict,
    predict_rows,
    predict_table,
    result_json,
    row_cost,
)
from registry.serving.resolve import (
    DEFAULT_ALIAS,
    MODEL_URI_PREFIX,
    RESOLVE_TTL_S,
    ModelRef,
    ServedVersion,
    forget_resolutions,
    model_name,
    parse_model_uri,
    resolve,
)

__all__ = [
    "DEFAULT_ALIAS",
    "MODEL_URI_PREFIX",
    "RESOLVE_TTL_S",
    "ArtifactError",
    "CsvUpload",
    "ModelRef",
    "PipelineCache",
    "PredictionError",
    "ServedVersion",
    "check_cost",
    "columns_to_table",
    "convert_columns",
    "forget_resolutions",
    "load_json",
    "load_pipeline",
    "loaded_bytes",
    "model_budget_bytes",
    "model_name",
    "parse_model_uri",
    "pipeline_cache",
    "predict",
    "predict_csv",
    "predict_csv_columns",
    "predict_rows",
    "predict_table",
    "resolve",
    "result_json",
    "row_cost",
    "rows_to_table",
    "rows_to_table_in_slices",
    "too_large_message",
]
