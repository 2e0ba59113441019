"""The App contract: the hooks the shared pipeline calls.

An app (``apps/<name>/app.py``) subclasses :class:`App` and is named in
``conf/app/<name>.yaml`` by ``app._target_``. The pipeline in ``common/pipeline.py``
calls these hooks and never branches on the app's name. Defaults here cover a plain
classifier; apps override what differs (regression targets, an autoencoder trained on
normal data only, streaming evaluation, the firmware main loop, ...).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from tinyml_suite.common.data import DataKind, DataSplits, Split
from tinyml_suite.common.errors import DatasetError

if TYPE_CHECKING:  # pragma: no cover
    from tinyml_suite.common.context import RunContext

__all__ = ["App", "PredictFn", "classification_metrics", "default_device_events"]

log = logging.getLogger(__name__)

# A predictor maps model inputs [shape=(n, *input_shape)] to float outputs
# [shape=(n, *output_shape)]: the float Keras model, or the int8 model on TFLM with its
# outputs dequantised. Evaluation hooks take one so float and int8 score identically.
PredictFn = Callable[[np.ndarray], np.ndarray]


#: class name -> App class, for every class that declares ``Options``: the ConfigStore holds
#: its schema as ``app_class/<class name>`` (a recipe may switch classes, e.g. EcgApp)
_APP_CLASSES: dict[str, type[App]] = {}


class App:
    """Base class of the four reference apps.

    Class attributes
    ----------------
    name : the app's name (``app=<name>`` on the command line)
    task : "classification", "regression" or "anomaly"
    headline : the key of the headline metric in metrics.json ``float``/``int8``
    higher_is_better : direction of the headline metric (for sweeps and reports)
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "classification"
    headline: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    #: firmware main-loop template for this app, relative to firmware_templates/
    firmware_main: ClassVar[str] = ""
    #: the app's C hooks (tm_app.h: post-processing of each output), relative to
    #: firmware_templates/; "" uses common/tm_app_default.c. Headers beside it are copied too.
    firmware_hooks: ClassVar[str] = ""
    #: False for DSP-only recipes (e.g. an R-peak detector): the train, optimize and
    #: verify stages are skipped and evaluation uses :meth:`dsp_predictor`.
    trains_model: ClassVar[bool] = True
    #: the windows the app reads (modality, task, channels, rate; empty fields: any),
    #: compared with what the dataset provides by :meth:`check_data`
    needs: ClassVar[DataKind] = DataKind()
    #: how a user selects this class when it is not the app's own (e.g. "experiment=ecg_rpeaks")
    selected_by: ClassVar[str] = ""
    #: the dataset config (conf/dataset/<name>.yaml) that reads a user's own folder;
    #: ``tinyml new <dir> --from <app>`` starts a project from it
    custom_dataset: ClassVar[str] = ""

    #: the app's options as a dataclass (defaults, types, ranges): the only defaults;
    #: ``conf/app/<name>.yaml`` names the schema (``- /app_class@app: <class name>``) and
    #: only overrides them. None: the options are taken as given (plugins).
    Options: ClassVar[type | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name and cls.Options is not None:
            _APP_CLASSES[cls.__name__] = cls

    def __init__(self, **options: Any) -> None:
        # ``name`` and ``_target_`` come from the config; everything else is the app's:
        # checked against ``Options`` (one line, with a did-you-mean, for an unknown key),
        # as ``self.params`` and, the same as a plain dict, ``self.options``.
        from tinyml_suite.common.config import parse_options

        options.pop("name", None)
        if self.Options is not None:
            self.params = parse_options(self.Options, options, where="app", owner=f"app={self.name} ({type(self).__name__})")
            options = dataclasses.asdict(self.params)
        self.options = options

    # -- data --------------------------------------------------------------------
    def check_data(self, data: DataSplits, dataset_name: str) -> None:
        """Refuse, in one line, windows that are not what :attr:`needs` says (its task: the
        app's); the message names the apps that read such windows."""
        need = dataclasses.replace(self.needs, task=self.needs.task or self.task)
        if need.refuses(data.kind) is None:
            return
        readers = sorted(f"app={cls.name}" + (f" {cls.selected_by}" if cls.selected_by else "")
                         for cls in set(_APP_CLASSES.values())
                         if data.modality and cls.needs.modality == data.modality and cls is not type(self))
        which = f", which {' / '.join(readers)} reads" if readers else ""
        raise DatasetError(
            f"dataset={dataset_name} provides {data.kind.describe()}{which}; app={self.name} needs "
            f"{need.describe()}; pick one of this app's datasets (tinyml --help lists them)"
        )

    # -- training ----------------------------------------------------------------
    def output_size(self, data: DataSplits) -> int:
        """Number of model outputs (classes for a classifier)."""
        return len(data.labels) if self.task == "classification" else 1

    def training_arrays(
        self, X: np.ndarray, split: Split, data: DataSplits
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and targets Keras trains on for one split (override to filter/transform)."""
        return X, split.y

    def loss(self) -> Any:
        """Keras loss (string or object)."""
        return "sparse_categorical_crossentropy"

    def keras_metrics(self) -> list[Any]:
        """Metrics Keras logs during training."""
        return ["accuracy"]

    def monitor(self) -> tuple[str, str]:
        """Quantity and mode for early stopping / best checkpoint."""
        return ("val_loss", "min")

    def sample_weights(self, split: Split, data: DataSplits) -> np.ndarray | None:
        """Optional per-example training weights (e.g. class balancing)."""
        return None

    def epoch_inputs(self, ctx: RunContext, X: np.ndarray) -> Callable[[int], np.ndarray] | None:
        """Optional: ``make(epoch)`` giving fresh training inputs for each epoch (same order
        and length as ``X``, the inputs of :meth:`training_arrays`), e.g. a new draw of the
        data augmentation; None (the default) trains on ``X`` every epoch."""
        return None

    def before_training(self, ctx: RunContext) -> dict[str, Any] | None:
        """Called with the built, untrained ``ctx.model`` just before it is fitted (e.g. to
        pretrain it on synthetic data); returns a summary merged into ``metrics["train"]``."""
        return None

    # -- evaluation ----------------------------------------------------------------
    def dsp_predictor(self, ctx: RunContext) -> PredictFn:
        """The predictor of a recipe without a trained model (``trains_model = False``)."""
        raise NotImplementedError(f"app={self.name} has no trained model and no dsp_predictor()")

    def calibrate(self, predict: PredictFn, ctx: RunContext) -> dict[str, Any]:
        """Fit post-training parameters (e.g. an anomaly threshold) on validation data.

        Called once on the float model; the result is stored in ``ctx.state.calibration``,
        used by :meth:`evaluate` for every variant and written into the firmware.
        """
        return {}

    def evaluate(
        self, predict: PredictFn, X: np.ndarray, split: Split, ctx: RunContext
    ) -> dict[str, Any]:
        """App metrics on one split; must include ``self.headline``."""
        outputs = predict(X)
        return classification_metrics(outputs, split.y, ctx.data.labels)

    def extra_evaluation(self, predict: PredictFn, ctx: RunContext, variant: str) -> dict[str, Any]:
        """Further figures beyond per-window metrics (streaming, baselines, real clips)."""
        return {}

    def plots(self, ctx: RunContext, out_dir: Path) -> list[Path]:
        """PNG figures for the report (confusion matrix, ROC, DET, HR trace, ...)."""
        return []

    # -- firmware ------------------------------------------------------------------
    def firmware_context(self, ctx: RunContext) -> dict[str, Any]:
        """Values the app's firmware main loop needs (labels, thresholds, smoothing...)."""
        labels = list(ctx.data.labels) if ctx.data is not None else []
        return {"labels": labels, "task": self.task}

    def app_buffers_bytes(self, ctx: RunContext) -> int:
        """RAM the app's sample/feature buffers take on the device (for the fit check)."""
        return 0

    def device_events(self, ctx: RunContext, features: np.ndarray, outputs: np.ndarray,
                      stream: np.ndarray | None = None) -> list[dict[str, Any]] | None:
        """The events the firmware's hooks must report for these inferences, from Python.

        ``features`` [shape=(k, n_features)] are the float features of k consecutive
        inferences of the firmware and ``outputs`` [shape=(k, n_outputs)] its dequantised
        model outputs (float32). Returns one dict per reported event with the keys of the
        firmware's JSON line (``event``, ``index``, ``value``, ``confidence``, ``window``),
        or None when the app cannot say; ``index_tol`` in an event allows its index to differ
        by that much, and a ``value``/``confidence`` of None is not compared. ``stream``
        [shape=(channels, n)] is the raw input the firmware read (for main loops without
        per-inference hooks). The default is ``tm_app_default.c``: the arg-max
        class every window (classification), ``outputs[0]`` (regression), or the mean
        squared reconstruction error against the calibrated threshold (anomaly).
        """
        return default_device_events(self.task, features, outputs, (ctx.state.calibration or {}).get("threshold"))


def default_device_events(task: str, features: np.ndarray, outputs: np.ndarray,
                          threshold: float | None = None) -> list[dict[str, Any]]:
    """What ``firmware_templates/common/tm_app_default.c`` reports, window by window.

    >>> default_device_events("classification", np.zeros((2, 1)), np.array([[0.25, 0.75], [0.5, 0.5]]))[1]
    {'event': 'class', 'index': 0, 'value': 0.5, 'confidence': 0.0, 'window': 1}
    """
    y = np.asarray(outputs, dtype=np.float32)
    x = np.asarray(features, dtype=np.float32)
    events: list[dict[str, Any]] = []
    for w in range(len(y)):
        if task == "classification":
            best = int(np.argmax(y[w]))  # the first of equal maxima, as the C loop
            events.append({"event": "class", "index": best, "value": float(y[w, best]), "confidence": 0.0, "window": w})
        elif task == "anomaly":
            if y.shape[1] == x.shape[1]:
                acc = np.float32(0.0)
                for d in (y[w] - x[w]).astype(np.float32):  # float32, in order, as the C loop
                    acc = np.float32(acc + d * d)
                score = float(np.float32(acc / np.float32(y.shape[1])))
            else:
                score = float(y[w, 0])
            thr = None if threshold is None else float(np.float32(threshold))
            events.append({"event": "anomaly", "index": -1 if thr is None else int(score > thr), "value": score,
                           "confidence": 0.0 if thr is None else thr, "window": w})
        else:
            events.append({"event": "value", "index": -1, "value": float(y[w, 0]), "confidence": 0.0, "window": w})
    return events


def classification_metrics(outputs: np.ndarray, y: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """Accuracy, per-class recall/precision/F1 and the confusion matrix.

    Examples
    --------
    >>> m = classification_metrics(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
    ...                            np.array([0, 1, 1]), ("a", "b"))
    >>> round(m["accuracy"], 3), m["confusion"]
    (0.667, [[1, 0], [1, 1]])
    """
    y = np.asarray(y).astype(int)
    pred = np.argmax(outputs, axis=-1) if np.ndim(outputs) > 1 else np.asarray(outputs).astype(int)
    k = len(labels)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (y, pred), 1)
    tp = np.diag(conf).astype(float)
    support = conf.sum(axis=1).astype(float)
    predicted = conf.sum(axis=0).astype(float)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = support > 0
    return {
        "accuracy": float(tp.sum() / max(len(y), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            lab: {"recall": float(r), "precision": float(p), "f1": float(f), "support": int(s)}
            for lab, r, p, f, s in zip(labels, recall, precision, f1, support)
        },
        "confusion": conf.tolist(),
        "n": int(len(y)),
    }
