"""Model directories: ``config.json`` + safetensors weights + preprocessing statistics.

Layout of a saved model::

    MODEL_DIR/
      config.json                 kind, hyper-parameters, input layout, fitted state, history,
                                  library versions, and the SHA-256 of each tensor file
      weights.safetensors         the network's parameters
      preprocessing.safetensors   mean / std of the dense preprocessing (dense models only)

Nothing is pickled and nothing is read with ``torch.load``: safetensors holds raw tensors and a
JSON header, so a malicious file can at worst fail to parse. The checksums catch truncation
and tampering before any tensor is read.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
import safetensors.torch
import sklearn
import torch

from vecae._base import BaseAutoencoder
from vecae._exceptions import ModelFileError
from vecae._files import atomic_directory, sha256_file
from vecae._preprocess import DenseScaler
from vecae._train import resolve_device

__all__ = ["FORMAT_VERSION", "load", "save_model"]

FORMAT_NAME = "vecae-model"
FORMAT_VERSION = 1
CONFIG = "config.json"
WEIGHTS = "weights.safetensors"
PREPROCESSING = "preprocessing.safetensors"

_FITTED_SCALARS = (
    "n_features_in_",
    "n_epochs_",
    "best_epoch_",
    "stop_reason_",
    "fit_seconds_",
    "threshold_",
    "history_",
)


def _estimator_classes() -> dict[str, type[BaseAutoencoder]]:
    from vecae._categorical import CategoricalAutoencoder
    from vecae._dense import Autoencoder, VariationalAutoencoder

    return {cls._kind: cls for cls in (Autoencoder, VariationalAutoencoder, CategoricalAutoencoder)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.random.RandomState):
        return None  # a RandomState object cannot be stored; the fit it drove is stored instead
    return value


def _fitted_state(model: BaseAutoencoder) -> dict[str, Any]:
    state: dict[str, Any] = {name: _jsonable(getattr(model, name)) for name in _FITTED_SCALARS}
    state["score_quantiles_"] = [float(q) for q in model.score_quantiles_]
    if hasattr(model, "feature_names_in_"):
        state["feature_names_in_"] = [str(n) for n in model.feature_names_in_]
    if hasattr(model, "scaler_"):
        state["scaler"] = model.scaler_.settings()
    if model._kind == "categorical":
        state["likelihood_"] = model.likelihood_
        state["field_sizes_"] = list(model.field_sizes_)
        state["one_hot_width_"] = model.one_hot_width_
        if model.categories_ is not None:
            state["category_kinds_"] = list(model.category_kinds_)
            state["categories_"] = [c.tolist() for c in model.categories_]
    return state


def save_model(model: BaseAutoencoder, directory: Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` to ``directory`` atomically (temporary directory, then rename)."""
    directory = directory.expanduser().resolve()
    with atomic_directory(directory, overwrite=overwrite) as staging:
        state = {k: v.detach().cpu().contiguous() for k, v in model.module_.state_dict().items()}
        safetensors.torch.save_file(state, str(staging / WEIGHTS))
        files = {WEIGHTS: sha256_file(staging / WEIGHTS)}
        if hasattr(model, "scaler_"):
            safetensors.numpy.save_file(model.scaler_.arrays(), str(staging / PREPROCESSING))
            files[PREPROCESSING] = sha256_file(staging / PREPROCESSING)
        from vecae import __version__

        config = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "kind": model._kind,
            "estimator": type(model).__name__,
            "params": {k: _jsonable(v) for k, v in model.get_params().items()},
            "fitted": _fitted_state(model),
            "files": files,
            "versions": {
                "vecae": __version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "scikit-learn": sklearn.__version__,
                "python": platform.python_version(),
            },
        }
        (staging / CONFIG).write_text(json.dumps(config, indent=2, allow_nan=True) + "\n")
    return directory


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: not a directory; expected a vecae model directory")
    if not path.is_file():
        raise ModelFileError(f"{path}: missing; this is not a vecae model directory")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: unreadable or not valid JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a vecae model config (no format={FORMAT_NAME!r})")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format_version {version!r} is newer than this vecae supports "
            f"({FORMAT_VERSION}); upgrade vecae"
        )
    if config.get("kind") not in _estimator_classes():
        raise ModelFileError(f"{path}: unknown model kind {config.get('kind')!r}")
    return config


def _checked_file(directory: Path, name: str, config: dict[str, Any]) -> Path:
    path = directory / name
    expected = config.get("files", {}).get(name)
    if not path.is_file():
        raise ModelFileError(f"{path}: missing")
    if expected is None:
        raise ModelFileError(f"{directory / CONFIG}: no checksum recorded for {name}")
    if sha256_file(path) != expected:
        raise ModelFileError(
            f"{path}: checksum mismatch; the file was truncated or modified after saving"
        )
    return path


def load(directory: str | Path, *, device: str | None = None) -> BaseAutoencoder:
    """Load a model saved with ``save``; ``transform`` then gives bit-identical results.

    Parameters
    ----------
    directory : str or Path
        A directory written by :meth:`Autoencoder.save` (or any vecae estimator's ``save``).
    device : str, optional
        Overrides the stored ``device`` parameter (e.g. ``"cpu"``).

    Raises
    ------
    ModelFileError
        When a file is missing, truncated, tampered with or from an incompatible version; the
        message names the file.
    """
    directory = Path(directory).expanduser()
    config = _read_config(directory)
    cls = _estimator_classes()[config["kind"]]
    params = dict(config["params"])
    if "hidden" in params:
        params["hidden"] = tuple(params["hidden"])
    if params.get("field_sizes") is not None:
        params["field_sizes"] = tuple(params["field_sizes"])
    if device is not None:
        params["device"] = device
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ModelFileError(
            f"{directory / CONFIG}: parameters do not match {cls.__name__}"
        ) from exc

    fitted = config["fitted"]
    try:
        for name in _FITTED_SCALARS:
            setattr(model, name, fitted[name])
        model.score_quantiles_ = np.asarray(fitted["score_quantiles_"], dtype=np.float64)
        if "feature_names_in_" in fitted:
            model.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        if config["kind"] == "categorical":
            model.likelihood_ = fitted["likelihood_"]
            model.field_sizes_ = tuple(fitted["field_sizes_"])
            model.one_hot_width_ = int(fitted["one_hot_width_"])
            model.categories_ = None
            if "categories_" in fitted:
                model.category_kinds_ = list(fitted["category_kinds_"])
                dtypes = {"int": np.int64, "float": np.float64, "str": str}
                model.categories_ = [
                    np.asarray(values, dtype=dtypes[kind])
                    for values, kind in zip(
                        fitted["categories_"], model.category_kinds_, strict=True
                    )
                ]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{directory / CONFIG}: fitted state incomplete ({exc})") from exc

    model.device_ = resolve_device(model.device)
    if "scaler" in fitted:
        path = _checked_file(directory, PREPROCESSING, config)
        try:
            arrays = safetensors.numpy.load_file(str(path))
            model.scaler_ = DenseScaler(**fitted["scaler"], mean=arrays["mean"], std=arrays["std"])
        except Exception as exc:
            raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from exc

    path = _checked_file(directory, WEIGHTS, config)
    try:
        state = safetensors.torch.load_file(str(path))
    except Exception as exc:
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from exc
    with torch.random.fork_rng(devices=[]):  # construction draws a throwaway init
        module = model._build_module()
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(f"{path}: weights do not fit the configured network ({exc})") from exc
    model.module_ = module.to(model.device_).eval()
    return model
