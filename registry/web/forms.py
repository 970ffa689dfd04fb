"""Forms of the browser pages. They check what a browser can get wrong (types, bounds, blanks);
the registry's services check the rest, and views show every error next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.forms.boundfield import BoundField

from registry import alerts, csvio
from registry.algorithms import (
    ALGORITHMS,
    CLASSIFIER,
    REGRESSOR,
    Algorithm,
    Param,
    ParamsError,
    clean_params,
)
from registry.cards import is_number
from registry.leaderboard import METRICS
from registry.models import (
    MAX_TAGS,
    TAG_KEY_RE,
    TAG_VALUE_MAX,
    Dataset,
    ModelVersion,
    Visibility,
    name_validator,
    tag_key_validator,
)
from registry.selectors import MAX_SEARCH_TAGS
from registry.services import (
    ALIAS_RE,
    MAX_DESCRIPTION,
    MAX_FOLDS,
    MAX_N_ITER,
    MAX_NOTE,
    MAX_NUMERIC_CLASSES,
    RegistryError,
)
from registry.serving.resolve import MODEL_URI_MAX_CHARS
from registry.web.presenters import metric_label

ALIASES = ("production", "staging")


def apply_registry_error(
    form: forms.Form, exc: RegistryError, fields: dict[str, str] | None = None
) -> None:
    """Show each of the registry's field errors next to its field, the rest at the top.

    `fields` maps the registry's error keys to the form's field names where they differ.
    """
    fields = fields or {}
    unplaced: list[str] = []
    for key, sentence in exc.errors.items():
        name = fields.get(key, key)
        if name in form.fields:
            form.add_error(name, sentence)
        else:
            unplaced.append(sentence)
    if unplaced or not exc.errors:
        form.add_error(None, exc.message)


def _check_size(upload: Any, limit: int | None = None, hint: str = "") -> Any:
    limit = csvio.max_upload_bytes() if limit is None else limit
    if upload is not None and upload.size > limit:
        raise ValidationError(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
            f"{limit // 1024 // 1024} MB.{hint}"
        )
    return upload


class CSVFileField(forms.FileField):
    """A CSV upload: an empty file is left to the strict parser, which explains it better."""

    def __init__(
        self,
        *,
        accept: str = ".csv,text/csv",
        limit_setting: str | None = None,
        too_large_hint: str = "",
        **kwargs: Any,
    ) -> None:
        # limit_setting: the setting in MB that bounds the file (default: the upload limit).
        self.limit_setting, self.too_large_hint = limit_setting, too_large_hint
        kwargs.setdefault("label", "CSV file")
        kwargs.setdefault(
            "error_messages", {"required": "Choose a CSV file (or drop one on the box)."}
        )
        super().__init__(
            allow_empty_file=True,
            widget=forms.FileInput(attrs={"accept": accept}),
            **kwargs,
        )

    def clean(self, data: Any, initial: Any = None) -> Any:
        limit = None
        if self.limit_setting is not None:
            limit = getattr(settings, self.limit_setting) * 1024 * 1024
        return _check_size(super().clean(data, initial), limit, self.too_large_hint)


# Datasets -------------------------------------------------------------------------------


class DatasetUploadForm(forms.Form):
    file = CSVFileField(
        accept=".csv,.tsv,.txt,text/csv,text/tab-separated-values",
        help_text="A header line naming the columns, then at least 2 rows: comma-, semicolon-, "
        "tab- or pipe-separated text (an Excel workbook: save it as CSV first).",
    )
    name = forms.CharField(
        required=False,
        max_length=200,
        help_text="Optional: defaults to the file name.",
    )
    delimiter = forms.ChoiceField(
        required=False,
        initial=csvio.DETECT,
        choices=[
            (csvio.DETECT, "Detect"),
            ("comma", "Comma ( , )"),
            ("semicolon", "Semicolon ( ; )"),
            ("tab", "Tab"),
            ("pipe", "Pipe ( | )"),
        ],
        help_text="What separates the values on a line.",
    )
    decimal = forms.ChoiceField(
        required=False,
        initial=csvio.DETECT,
        choices=[(csvio.DETECT, "Detect"), ("point", "Point (39.1)"), ("comma", "Comma (39,1)")],
        label="Decimal mark",
    )
    encoding = forms.ChoiceField(
        required=False,
        initial=csvio.DETECT,
        choices=[
            (csvio.DETECT, "Detect (UTF-8, else Windows-1252)"),
            ("utf-8", "UTF-8"),
            ("cp1252", "Windows-1252 (cp1252)"),
            ("latin-1", "Latin-1 (ISO-8859-1)"),
        ],
    )

    def cleaned_name(self) -> str | None:
        return self.cleaned_data.get("name", "").strip() or None

    def read_options(self) -> dict[str, str]:
        """The chosen delimiter, decimal mark and encoding (services.dataset_create's names)."""
        return {key: self.cleaned_data.get(key) or csvio.DETECT for key in READ_CHOICES}


READ_CHOICES = ("delimiter", "decimal", "encoding")


# Training -------------------------------------------------------------------------------


def _bound(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:g}"


def _param_help(param: Param) -> str:
    bounds = ""
    if param.type in ("int", "float") and (param.minimum is not None or param.maximum is not None):
        low = "above" if param.exclusive_minimum else "from"
        if param.maximum is None:
            bounds = f" ({low} {_bound(param.minimum)})"
        elif param.minimum is None:
            bounds = f" (at most {_bound(param.maximum)})"
        else:
            bounds = f" ({low} {_bound(param.minimum)} to {_bound(param.maximum)})"
    return param.help + bounds


def param_field(param: Param) -> forms.Field:
    """The form field for one hyperparameter of the algorithms table."""
    common: dict[str, Any] = {
        "label": param.name,
        "help_text": _param_help(param),
        "required": False,
    }
    if param.type == "bool":
        return forms.BooleanField(initial=param.default, **common)
    if param.type == "choice":
        choices = [("" if c is None else c, "all" if c is None else c) for c in param.choices]
        return forms.TypedChoiceField(
            choices=choices,
            coerce=str,
            empty_value=None,
            initial="" if param.default is None else param.default,
            **common,
        )
    bounds: dict[str, Any] = {}
    if param.maximum is not None:
        bounds["max_value"] = param.maximum
    if param.minimum is not None:
        bounds["min_value"] = param.minimum
    attrs = {"placeholder": "no limit"} if param.nullable else {}
    if param.type == "int":
        return forms.IntegerField(
            initial=param.default,
            widget=forms.NumberInput(attrs=attrs),
            **bounds,
            **common,
        )
    return forms.FloatField(
        initial=param.default,
        widget=forms.NumberInput(attrs={**attrs, "step": "any"}),
        **bounds,
        **common,
    )


class ParamsForm(forms.Form):
    """One algorithm's hyperparameters, generated from the algorithms table."""

    def __init__(self, algorithm: Algorithm, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", algorithm.id)
        super().__init__(*args, **kwargs)
        self.algorithm = algorithm
        for param in algorithm.params:
            self.fields[param.name] = param_field(param)

    def clean(self) -> dict[str, Any]:
        # The fields parse what was typed (and give the browser its min/max); the rules are
        # the algorithms table's own (algorithms.clean_params), as for the API.
        cleaned = super().clean()
        typed = {p.name: cleaned.get(p.name) for p in self.algorithm.params}
        try:
            cleaned.update(clean_params(self.algorithm, typed))
        except ParamsError as exc:
            for name, message in exc.errors.items():
                if name not in self.errors:
                    self.add_error(name or None, f"{message[:1].upper()}{message[1:]}.")
        return cleaned

    def params(self) -> dict[str, Any]:
        return {p.name: self.cleaned_data[p.name] for p in self.algorithm.params}


def _default_target(dataset: Dataset) -> str:
    # No guess: the last column is as often a year or a comment as the thing to predict,
    # and a wrong preselected target trains without a word.
    return ""


def _default_algorithm(dataset: Dataset, target: str) -> str:
    column = dataset.column(target) if target else None
    if (
        column is not None
        and column["type"] == "number"
        and column.get("distinct", 0) > MAX_NUMERIC_CLASSES
    ):
        return "linear_regression"
    return "logistic_regression"


def left_out_reason(column: dict[str, Any]) -> str:
    """Why a column is not a feature by default (its role, or the user's ignore), or ""."""
    if column.get("override") == "ignore":
        return "Set to ignore on the dataset page."
    return str(column.get("role_reason") or "") if column.get("role") else ""


class TrainForm(forms.Form):
    """Dataset, model name, algorithm, target, features, test size, and the chosen
    algorithm's hyperparameters (one ParamsForm per algorithm; only the chosen one is bound).
    """

    dataset = forms.IntegerField(widget=forms.HiddenInput)
    name = forms.CharField(
        label="Model name",
        max_length=100,
        validators=[name_validator],
        help_text="A new name creates a model; the name of one of your models trains its "
        "next version.",
        widget=forms.TextInput(
            attrs={"list": "model-names", "autocomplete": "off", "placeholder": "e.g. churn"}
        ),
    )
    description = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional, for a new model.",
    )
    algorithm = forms.ChoiceField(
        choices=[(a.id, a.label) for a in ALGORITHMS.values()], widget=forms.RadioSelect
    )
    target = forms.ChoiceField(
        required=False,
        help_text="The column to predict.",
    )
    features = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one feature column."},
        help_text="The columns the model learns from (the target is never one of them).",
    )
    test_size = forms.FloatField(
        label="Test size",
        min_value=0.05,
        max_value=0.5,
        initial=0.2,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
        help_text="Share of rows held out to measure the model (0.05 to 0.5).",
    )
    allow_schema_change = forms.BooleanField(
        required=False,
        label="Allow a different target, task or input columns than production",
        help_text="For an existing model only: its callers expect production's inputs and "
        "answers, so a version that changes them is usually a new model.",
    )

    def __init__(
        self, *args: Any, dataset: Dataset, initial: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        columns = [c["name"] for c in dataset.schema]
        target = _default_target(dataset)
        defaults = {
            "dataset": dataset.pk,
            "target": target,
            "features": [
                c["name"] for c in dataset.schema if c["name"] != target and not left_out_reason(c)
            ],
            "algorithm": _default_algorithm(dataset, target),
        }
        super().__init__(*args, initial={**defaults, **(initial or {})}, **kwargs)
        self.dataset = dataset
        self.fields["target"].choices = [("", "(none)")] + [
            (c["name"], f"{c['name']} ({c['type']})") for c in dataset.schema
        ]
        self.fields["features"].choices = [(c, c) for c in columns]
        chosen = self.data.get("algorithm") if self.is_bound else self.initial.get("algorithm")
        params = self.initial.get("params") or {}
        self.param_forms = [
            ParamsForm(
                spec,
                data=self.data if self.is_bound and spec.id == chosen else None,
                initial=params if spec.id == chosen else None,
            )
            for spec in ALGORITHMS.values()
        ]

    def feature_boxes(self) -> Iterator[tuple[BoundField, str]]:
        """Each feature checkbox with the reason it starts unticked ("" for none)."""
        reasons = {c["name"]: left_out_reason(c) for c in self.dataset.schema}
        for box in self["features"]:
            yield box, reasons.get(box.data["value"], "")

    def algorithm_options(self) -> Iterator[tuple[BoundField, Algorithm, ParamsForm]]:
        """Each algorithm's radio button with its table entry and its hyperparameter form."""
        radios = {radio.data["value"]: radio for radio in self["algorithm"]}
        for spec, params in zip(ALGORITHMS.values(), self.param_forms, strict=True):
            yield radios[spec.id], spec, params

    def chosen_params_form(self) -> ParamsForm | None:
        chosen = self.cleaned_data.get("algorithm") if hasattr(self, "cleaned_data") else None
        return next((f for f in self.param_forms if f.algorithm.id == chosen), None)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        params = self.chosen_params_form()
        params_valid = params is not None and params.is_valid()  # always: shows its errors
        return valid and params_valid

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        spec = ALGORITHMS.get(cleaned.get("algorithm", ""))
        if spec is None:
            return cleaned
        target = cleaned.get("target") or None
        if not spec.supervised:
            cleaned["target"] = None  # the target box is hidden for these: ignore it
        elif target is None:
            self.add_error("target", f"{spec.label} needs a target column to learn to predict.")
        elif "features" in cleaned:
            cleaned["features"] = [f for f in cleaned["features"] if f != target]
            if not cleaned["features"]:
                self.add_error("features", "Pick at least one feature column besides the target.")
        return cleaned

    def training_request(self) -> dict[str, Any]:
        """Keyword arguments for services.version_create / model_create_with_version."""
        data = self.cleaned_data
        params = self.chosen_params_form()
        assert params is not None
        return {
            "dataset": self.dataset,
            "algorithm": data["algorithm"],
            "target": data["target"],
            "features": data["features"],
            "params": params.params(),
            "test_size": data["test_size"],
        }

    def allows_schema_change(self) -> bool:
        """Whether the user confirmed a version unlike production (version_create)."""
        return bool(self.cleaned_data.get("allow_schema_change"))

    def apply_registry_error(self, exc: RegistryError) -> None:
        params = self.chosen_params_form()
        for key, sentence in list(exc.errors.items()):
            if key.startswith("params.") and params is not None:
                name = key.removeprefix("params.")
                if name in params.fields:
                    params.add_error(name, sentence.capitalize() + ".")
                    del exc.errors[key]
        if exc.errors or not any(params.errors for params in self.param_forms):
            apply_registry_error(self, exc)


# Prediction -----------------------------------------------------------------------------


def _short(value: float) -> str:
    return f"{value:.4g}"


def _check_date(text: str) -> None:
    if text and csvio.date_seconds(text, csvio.ISO_DATE) is None:
        raise ValidationError("Enter a date (YYYY-MM-DD).")


def _date_field(feature: dict[str, Any]) -> forms.Field:
    """A browser date (or date and time) input: it sends ISO text, which every date feature
    reads whatever format its file spelled dates in."""
    low, high = feature.get("min"), feature.get("max")
    timestamp = feature.get("format") == csvio.ISO_TIMESTAMP
    widget = (
        forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"})
        if timestamp
        else forms.DateInput(attrs={"type": "date"})
    )
    seen = f"Seen in training: {low} to {high}. " if low and high else ""
    return forms.CharField(
        label=feature["name"],
        required=False,
        initial=high or None,
        widget=widget,
        validators=[_check_date],
        help_text=seen + "Leave empty for a missing value.",
    )


def _typical_number(feature: dict[str, Any]) -> str | None:
    """The training mean, as a person would type it: whole for a column whose range is whole
    numbers (a count, a year), and never with a trailing ".0"."""
    mean, low, high = (feature.get(k) for k in ("mean", "min", "max"))
    if not is_number(mean):
        return None
    if is_number(low) and is_number(high) and float(low).is_integer() and float(high).is_integer():
        return str(round(mean))
    value = float(_short(mean))
    return str(int(value)) if value.is_integer() else str(value)


def _most_frequent(categories: list[str], profile: Any) -> str:
    """The category seen most often in training (the profile lists [value, share] pairs by
    count), else the first known one. An imported version's profile is foreign: anything
    else in it is passed over."""
    offered = set(categories)
    pairs = profile.get("categories") if isinstance(profile, dict) else None
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, list) and pair and pair[0] in offered:
            return pair[0]
    return categories[0] if categories else ""


class PredictForm(forms.Form):
    """One field per feature of the version's input schema: numbers or category selects."""

    def __init__(self, version: ModelVersion, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.features = version.features
        profile = version.profile.get("features") if isinstance(version.profile, dict) else None
        profile = profile if isinstance(profile, dict) else {}
        for index, feature in enumerate(self.features):
            self.fields[f"f{index}"] = self._field(feature, profile.get(feature["name"]))
        if version.kind in (CLASSIFIER, REGRESSOR):
            self.fields["explain"] = forms.BooleanField(
                required=False,
                label="Explain",
                help_text="Also show how much each column moved this prediction.",
            )

    def feature_fields(self) -> list[BoundField]:
        return [self[f"f{index}"] for index in range(len(self.features))]

    def explain_field(self) -> BoundField | None:
        return self["explain"] if "explain" in self.fields else None

    @staticmethod
    def _field(feature: dict[str, Any], profile: Any) -> forms.Field:
        name = feature["name"]
        if feature["type"] == "number":
            help_text = "Leave empty for a missing value."
            if is_number(feature.get("min")) and is_number(feature.get("max")):
                help_text = (
                    f"Seen in training: {_short(feature['min'])} to {_short(feature['max'])}. "
                    + help_text
                )
            return forms.FloatField(
                label=name,
                required=False,
                initial=_typical_number(feature),
                help_text=help_text,
                widget=forms.NumberInput(attrs={"step": "any"}),
            )
        if feature["type"] == "date":
            return _date_field(feature)
        categories = feature.get("categories") or []
        return forms.ChoiceField(
            label=name,
            required=False,
            choices=[(c, c) for c in categories] + [("", "(missing)")],
            initial=_most_frequent(categories, profile),
        )

    def row(self) -> dict[str, Any]:
        """The row to predict, by feature name (None = missing)."""
        row: dict[str, Any] = {}
        for index, feature in enumerate(self.features):
            value = self.cleaned_data.get(f"f{index}")
            row[feature["name"]] = None if value in ("", None) else value
        return row

    def wants_explanation(self) -> bool:
        return bool(self.cleaned_data.get("explain"))


# The synchronous form's refusal of a file too large for one request points to the batch job.
BATCH_JOB_HINT = " Score a larger file with a background batch job (below)."


class BatchPredictForm(forms.Form):
    file = CSVFileField(
        help_text="A header line with the model's feature columns (extra columns are kept).",
        too_large_hint=BATCH_JOB_HINT,
    )
    reasons = forms.BooleanField(
        required=False,
        label="Add reasons",
        help_text="reason_1 to reason_3: the columns that moved each row's prediction most, "
        "with their contributions.",
    )


class BatchJobForm(forms.Form):
    """A file over the synchronous limit, scored in the background (registry/batchjobs/)."""

    prefix = "job"  # its fields sit on the version page next to BatchPredictForm's
    file = CSVFileField(label="Large CSV file", limit_setting="MLSERVE_MAX_BATCH_UPLOAD_MB")
    format = forms.ChoiceField(
        label="Result format",
        choices=[("csv", "CSV"), ("parquet", "Parquet")],
        initial="csv",
        help_text="The file's rows with the prediction columns added.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"Up to {settings.MLSERVE_MAX_BATCH_UPLOAD_MB} MB and "
            f"{settings.MLSERVE_MAX_BATCH_ROWS:,} rows, with the model's feature columns."
        )


class ImportForm(forms.Form):
    """An export file made by Export on another instance's version page."""

    file = forms.FileField(
        label="Export file",
        widget=forms.FileInput(attrs={"accept": ".zip,application/zip"}),
        error_messages={"required": "Choose an export file (.zip) made by Export on a version."},
        help_text="The .mlserve.zip file a version page's Export button downloads.",
    )
    name = forms.CharField(
        label="Model name",
        required=False,
        max_length=MODEL_URI_MAX_CHARS,
        help_text="Import as the next version of this model (its name, or models:/<name>): "
        "one of yours, or a new one. Leave blank to use the name in the file.",
    )

    def clean_file(self) -> Any:
        return _check_size(self.cleaned_data.get("file"))


# Leaderboards ---------------------------------------------------------------------------


class LeaderboardForm(forms.Form):
    """Start a leaderboard on a dataset: every applicable algorithm, cross-validated."""

    target = forms.ChoiceField(help_text="The column to predict.")
    folds = forms.IntegerField(
        min_value=2,
        max_value=MAX_FOLDS,
        initial=5,
        help_text=f"Cross-validation folds (2 to {MAX_FOLDS}).",
    )
    metric = forms.ChoiceField(
        required=False,
        label="Rank by",
        help_text="Default: accuracy for a classifier, R² for a regressor.",
    )
    n_iter = forms.IntegerField(
        label="Random configurations per algorithm",
        min_value=0,
        max_value=MAX_N_ITER,
        initial=4,
        help_text="Tried besides each algorithm's defaults (0: the defaults only).",
    )
    algorithms = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(a.id, a.label) for a in ALGORITHMS.values() if a.kind in METRICS],
        help_text="None ticked: every algorithm of the task the target calls for.",
    )
    time_budget_s = forms.FloatField(
        label="Time budget (seconds)",
        required=False,
        min_value=1,
        max_value=7 * 24 * 3600,
        help_text="Optional: trials not started by then are skipped.",
    )

    def __init__(self, *args: Any, dataset: Dataset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dataset = dataset
        self.fields["target"].choices = [("", "(choose)")] + [
            (c["name"], f"{c['name']} ({c['type']})") for c in dataset.schema
        ]
        self.fields["metric"].choices = [("", "(default for the task)")] + [
            (m, f"{metric_label(m)} ({task})") for task, metrics in METRICS.items() for m in metrics
        ]

    def board_request(self) -> dict[str, Any]:
        """The form as services.leaderboard_create takes it."""
        data = self.cleaned_data
        return {
            "target": data["target"],
            "folds": data["folds"],
            "metric": data["metric"] or None,
            "n_iter": data["n_iter"],
            "algorithms": data["algorithms"] or None,
            "time_budget_s": data["time_budget_s"],
        }


class RegisterForm(forms.Form):
    """Register a leaderboard row's best configuration as a version of a model."""

    model = forms.CharField(
        label="Model name",
        max_length=100,
        validators=[name_validator],
        help_text="One of your models (its next version) or a new name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. churn"}),
    )
    algorithm = forms.ChoiceField(choices=[(a.id, a.label) for a in ALGORITHMS.values()])


# Aliases, comparison, tokens, sign-up ---------------------------------------------------


class AliasForm(forms.Form):
    alias = forms.ChoiceField(choices=[(a, a) for a in ALIASES])
    version = forms.IntegerField(min_value=1)
    action = forms.ChoiceField(
        choices=[("move", "move"), ("remove", "remove")], required=False, initial="move"
    )


class RolloutForm(forms.Form):
    """An alias's canary (a version and its share of the calls) and shadow, set from the model
    page; an empty choice ends either. The version choices are plain numbers here: whether a
    version is ready, the alias's own or the canary is services.alias_rollout's to say, in
    its words, beside the field."""

    # The version the alias pointed at when the page was shown: a move since is a 409.
    alias_version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    canary_version = forms.IntegerField(
        label="Canary version", required=False, min_value=1, widget=forms.Select
    )
    canary_percent = forms.FloatField(
        label="Canary share (%)",
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "max": "100"}),
        help_text="Of the alias's calls, between 0 and 100.",
    )
    shadow_version = forms.IntegerField(
        label="Shadow version", required=False, min_value=1, widget=forms.Select
    )

    def __init__(
        self,
        *args: Any,
        alias: str,
        state: dict[str, Any],
        versions: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """`state`: the alias's rollout (selectors.rollout_state), its initial values;
        `versions`: the ready versions offered ({"version", "label"})."""
        canary = state["canary"]
        kwargs.setdefault("prefix", f"rollout-{alias}")
        kwargs.setdefault(
            "initial",
            {
                "alias_version": state["champion"],
                "canary_version": canary["version"] if canary else None,
                "canary_percent": f"{canary['percent']:g}" if canary else None,
                "shadow_version": state["shadow"],
            },
        )
        super().__init__(*args, **kwargs)
        # The alias's own version cannot be its canary or shadow: not offered.
        choices = [
            (v["version"], v["label"]) for v in versions if v["version"] != state["champion"]
        ]
        offered = {v["version"] for v in versions}
        # A running canary or shadow older than the versions listed stays choosable, so that
        # changing the percent does not end a shadow the list does not show.
        for number in (canary["version"] if canary else None, state["shadow"]):
            if number is not None and number not in offered:
                choices.append((number, f"v{number}"))
        self.fields["canary_version"].widget.choices = [("", "none"), *choices]
        self.fields["shadow_version"].widget.choices = [("", "none"), *choices]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        canary, percent = cleaned.get("canary_version"), cleaned.get("canary_percent")
        if canary is not None and percent is None and "canary_percent" not in self.errors:
            self.add_error("canary_percent", "Give the canary's share of the calls, 0 to 100.")
        if canary is None and percent is not None and "canary_version" not in self.errors:
            self.add_error("canary_version", "Choose the canary version, or leave its share empty.")
        return cleaned

    def canary(self) -> tuple[int, float] | None:
        """(version, percent) for services.alias_rollout, or None for no canary."""
        number = self.cleaned_data["canary_version"]
        return (number, self.cleaned_data["canary_percent"]) if number is not None else None


class AliasAtForm(forms.Form):
    """The model page's "which version served <alias> at <time>" question."""

    alias = forms.RegexField(regex=ALIAS_RE, max_length=50)
    at = forms.DateTimeField(
        label="At (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
    )


class CompareForm(forms.Form):
    a = forms.TypedChoiceField(label="Version", coerce=int)
    b = forms.TypedChoiceField(label="with version", coerce=int)

    def __init__(self, *args: Any, versions: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(v, f"v{v}") for v in versions]
        self.fields["a"].choices = choices
        self.fields["b"].choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("a") is not None and cleaned.get("a") == cleaned.get("b"):
            self.add_error("b", "Pick two different versions.")
        return cleaned


TOKEN_SCOPE_CHOICES = [
    ("predict", "predict: score rows with a model"),
    ("read", "read: list and read models, versions, datasets, leaderboards"),
    ("write", "write: upload, train, move aliases, change and delete"),
    ("admin", "admin: account settings (webhooks)"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="What the token is for, e.g. 'nightly scoring job'.",
        widget=forms.TextInput(attrs={"placeholder": "API token"}),
    )
    scopes = forms.MultipleChoiceField(
        choices=TOKEN_SCOPE_CHOICES,
        initial=["predict", "read"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one scope."},
        help_text="What the token may do; give it no more than the program needs.",
    )
    models = forms.CharField(
        label="Only these models",
        max_length=2000,
        required=False,
        help_text="Model names separated by commas; empty: every model you may use.",
        widget=forms.TextInput(attrs={"placeholder": "churn, house-prices"}),
    )
    expires_in_days = forms.IntegerField(label="Expires in (days)", min_value=1, required=False)

    def __init__(self, *args: Any, max_days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["expires_in_days"]
        if max_days:
            field.max_value = max_days
            field.validators.append(MaxValueValidator(max_days))
            field.widget.attrs["max"] = max_days
            field.help_text = f"At most {max_days}; empty: {max_days}."
        else:
            field.help_text = "Empty: it never expires (revoke it when it is no longer needed)."

    def clean_models(self) -> list[str]:
        return [n.strip() for n in self.cleaned_data["models"].split(",") if n.strip()]


class VisibilityForm(forms.Form):
    """Who may read a model or a dataset: its owner's choice (services.set_visibility)."""

    visibility = forms.ChoiceField(choices=Visibility.choices, widget=forms.RadioSelect)
    team = forms.ChoiceField(
        required=False, help_text="With 'team': the team whose members may read it."
    )

    def __init__(self, *args: Any, teams: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "no team"), *((t, t) for t in teams)]


class SignupForm(UserCreationForm):
    """Self-service accounts, offered only when MLSERVE_ALLOW_SIGNUP is on."""


# Evaluations ----------------------------------------------------------------------------


class EvaluationForm(forms.Form):
    """Evaluate versions of a model on new labelled rows: an uploaded CSV or a dataset."""

    file = CSVFileField(
        required=False,
        help_text="Rows with the model's columns and the target's right answers.",
    )
    dataset = forms.TypedChoiceField(
        label="or one of your datasets", coerce=int, required=False, empty_value=None
    )
    versions = forms.TypedMultipleChoiceField(
        label="Versions",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="At most 5; none ticked: production and the newest ready version. Deltas "
        "are against the first.",
    )

    def __init__(self, *args: Any, datasets: Any = (), versions: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [("", "—"), *((d.pk, d.name) for d in datasets)]
        self.fields["versions"].choices = [(v["version"], v["label"]) for v in versions]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        has_file, has_dataset = cleaned.get("file") is not None, cleaned.get("dataset") is not None
        if has_file == has_dataset and not self.errors:
            raise ValidationError("Upload a labelled CSV or choose one of your datasets (one).")
        return cleaned


# Alerts and webhooks (registry/alerts/) ---------------------------------------------------

EVENT_CHOICES = list(alerts.EVENTS.items())


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="http:// or https://; each event is POSTed here as signed JSON.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/mlserve"}),
    )
    model = forms.ChoiceField(label="Model", required=False)
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, model_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "All my models")] + [(n, n) for n in model_names]


RULE_KIND_CHOICES = [
    ("error_rate", "Error rate above a percentage"),
    ("drift", "Drift verdict becomes drifting"),
    ("live_metric", "Live metric below a value, or down from training"),
    ("canary_error_rate", "Canary's error rate above the champion's"),
]


class AlertRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=RULE_KIND_CHOICES)
    alias = forms.CharField(max_length=50, initial="production")
    percent = forms.FloatField(required=False, help_text="error_rate: above this %")
    minutes = forms.IntegerField(required=False, help_text="error rates: the window (default 60)")
    below = forms.FloatField(required=False, help_text="live_metric: below this value")
    drop = forms.FloatField(required=False, help_text="live_metric: or this far under training")
    margin = forms.FloatField(required=False, help_text="canary: percentage points over")

    def params(self) -> dict[str, Any]:
        """The parameters given (services.alert_rule_create checks them against the kind)."""
        names = {
            "error_rate": ("alias", "percent", "minutes"),
            "drift": ("alias",),
            "live_metric": ("alias", "below", "drop"),
            "canary_error_rate": ("alias", "margin", "minutes"),
        }[self.cleaned_data["kind"]]
        return {n: self.cleaned_data[n] for n in names if self.cleaned_data.get(n) is not None}


# Searching and describing models ----------------------------------------------------------


class _RepeatedInput(forms.TextInput):
    """A text input that may be sent several times (?tag=a:1&tag=b:2): every non-blank value."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [v.strip() for v in values if isinstance(v, str) and v.strip()]


class TagFilterField(forms.Field):
    widget = _RepeatedInput

    def clean(self, value: Any) -> list[str]:
        values = list(value or [])
        if len(values) > MAX_SEARCH_TAGS:
            raise ValidationError(f"Filter by at most {MAX_SEARCH_TAGS} tags.")
        for text in values:
            key, colon, rest = text.partition(":")
            if not colon or not re.match(TAG_KEY_RE, key) or len(rest) > TAG_VALUE_MAX:
                raise ValidationError(f"Write a tag as key:value, not {text[:80]!r}.")
        return values


ORDER_CHOICES = [("name", "Name"), ("updated", "Recently updated"), ("metric", "Best metric")]


class ModelFilterForm(forms.Form):
    """The models page's filters: GET parameters named like the API's (GET /api/v1/models)."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    tag = TagFilterField(required=False, label="Tag")
    algorithm = forms.ChoiceField(
        required=False,
        choices=[("", "Any algorithm"), *((a.id, a.label) for a in ALGORITHMS.values())],
    )
    target = forms.CharField(required=False, max_length=200, label="Target")
    order_by = forms.ChoiceField(required=False, choices=ORDER_CHOICES, label="Order")
    mine = forms.BooleanField(required=False, label="Only mine")

    def filters(self) -> dict[str, Any]:
        """What selectors.model_search takes, from a valid form."""
        data = self.cleaned_data
        return {
            "q": data["q"].strip() or None,
            "tags": data["tag"],
            "algorithm": data["algorithm"] or None,
            "target": data["target"].strip() or None,
            "order_by": data["order_by"] or "name",
        }


def tags_text(tags: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in tags.items())


class TagsField(forms.CharField):
    """Tags as text, one "key=value" a line (a key holds no '='): cleaned to a dict."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
        kwargs.setdefault("help_text", f"One a line, key=value (at most {MAX_TAGS}).")
        super().__init__(strip=False, max_length=MAX_TAGS * (64 + 1 + TAG_VALUE_MAX + 2), **kwargs)

    def clean(self, value: Any) -> dict[str, str]:
        text = super().clean(value) or ""
        tags: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, equals, rest = line.strip().partition("=")
            key = key.strip()
            if not equals or not re.match(TAG_KEY_RE, key):
                raise ValidationError(
                    f"Line {number}: write key=value; {tag_key_validator.message}"
                )
            if key in tags:
                raise ValidationError(f"Line {number}: the key {key!r} is there twice.")
            if len(rest.strip()) > TAG_VALUE_MAX:
                raise ValidationError(f"Line {number}: at most {TAG_VALUE_MAX} characters a value.")
            tags[key] = rest.strip()
        if len(tags) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags; there are {len(tags)}.")
        return tags


class ModelEditForm(forms.Form):
    description = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    tags = TagsField()


class VersionEditForm(forms.Form):
    description = forms.CharField(
        required=False,
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Anything worth knowing about this version: what it was for, what to watch.",
    )
    tags = TagsField()
