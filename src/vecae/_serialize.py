"""Model directories: ``config.json`` + safetensors weights + preprocessing statistics.

Layout of a saved model::

    MODEL_DIR/
      config.json                 the manifest: format, kind, hyper-parameters, input layout,
                                  fitted state, history, library versions, and the SHA-256 of
                                  each tensor file
      weights.safetensors         the network's parameters
      preprocessing.safetensors   mean / std of the dense preprocessing (dense models only)

Writing and checking go through :mod:`vecae._artefact` (atomic, claimed, checksummed, one
version policy). This module knows nothing about any model family: an estimator class
registers its ``kind`` by being defined (:class:`~vecae._base.BaseAutoencoder`), and
contributes family-specific state through ``_extra_state`` / ``_restore_extra_state``.

Loading validates before it allocates. The hyper-parameters are checked against the
estimator's own constraints, the network is first built on PyTorch's ``meta`` device (shapes
only, no memory) and its parameter shapes are compared with the safetensors header (read
without the tensors). Only then is anything real allocated, and then no more than the
verified weights file holds. Nothing is pickled and nothing is read with ``torch.load``.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import safetensors
import safetensors.numpy
import safetensors.torch
import sklearn
import torch

from vecae import _artefact
from vecae._exceptions import ModelFileError
from vecae._kinds import model_kinds
from vecae._preprocess import DenseScaler
from vecae._train import resolve_device

__all__ = ["FORMAT_VERSION", "config_of", "load", "save_model"]

FORMAT_VERSION = 1
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


if TYPE_CHECKING:
    from vecae._base import BaseAutoencoder


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
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
    state.update(_jsonable(model._extra_state()))
    return state


def save_model(
    model: BaseAutoencoder,
    directory: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` to ``directory`` through :func:`vecae._artefact.write_directory`."""
    from vecae import __version__

    with _artefact.write_directory(directory, _artefact.MODEL, overwrite=overwrite) as staging:
        state = {k: v.detach().cpu().contiguous() for k, v in model.module_.state_dict().items()}
        safetensors.torch.save_file(state, str(staging / WEIGHTS))
        files = [WEIGHTS]
        if hasattr(model, "scaler_"):
            safetensors.numpy.save_file(model.scaler_.arrays(), str(staging / PREPROCESSING))
            files.append(PREPROCESSING)
        manifest = {
            "format": _artefact.MODEL,
            "format_version": FORMAT_VERSION,
            "kind": model.kind,
            "estimator": type(model).__name__,
            "params": {k: _jsonable(v) for k, v in model.get_params().items()},
            "fitted": _fitted_state(model),
            "versions": {
                "vecae": __version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
                "scikit-learn": sklearn.__version__,
                "python": platform.python_version(),
            },
        }
        _artefact.write_manifest(staging, manifest, files=files)
    return Path(os.path.abspath(os.path.expanduser(os.fspath(directory))))


def load(directory: str | os.PathLike[str], *, device: str | None = None) -> BaseAutoencoder:
    """Load a model saved with ``save``; ``transform`` then gives bit-identical results.

    Parameters
    ----------
    directory : str or path-like
        A directory written by :meth:`Autoencoder.save` (or any vecae estimator's ``save``).
    device : str, optional
        Overrides the stored ``device`` parameter (e.g. ``"cpu"``).

    Returns
    -------
    estimator
        A fitted :class:`~vecae.Autoencoder`, :class:`~vecae.VariationalAutoencoder` or
        :class:`~vecae.CategoricalAutoencoder`, as recorded in ``config.json``.

    Raises
    ------
    ModelFileError
        When a file is missing, truncated, tampered with, inconsistent with ``config.json``,
        or from an incompatible version; the message names the file. A model being replaced
        while it is read is read again (see :func:`vecae._artefact.read_with_retry`).

    Examples
    --------
    >>> import tempfile, numpy as np, vecae
    >>> X = np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32)
    >>> model = vecae.Autoencoder(latent_dim=2, epochs=2, random_state=0).fit(X)
    >>> path = model.save(tempfile.mkdtemp() + "/m")
    >>> bool(np.array_equal(vecae.load(path).transform(X), model.transform(X)))
    True
    """
    return _artefact.read_with_retry(directory, lambda root: _load(root, device))


def _load(directory: Path, device: str | None) -> BaseAutoencoder:
    config = _artefact.read_manifest(directory, _artefact.MODEL, version=FORMAT_VERSION)
    config_path = directory / _artefact.MANIFEST
    model = _estimator_from_config(config, config_path, device)
    fitted = config.get("fitted")
    try:
        if not isinstance(fitted, dict):
            raise TypeError("'fitted' is not an object")
        _restore_fitted(model, fitted)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"{config_path}: fitted state incomplete or invalid ({exc})") from exc

    model.device_ = resolve_device(model.device)
    if "scaler" in fitted:
        model.scaler_ = _load_scaler(directory, config, fitted["scaler"], model.n_features_in_)

    path = _artefact.checked_file(directory, WEIGHTS, config)
    with torch.device("meta"), torch.random.fork_rng(devices=[]):
        try:
            skeleton = model._build_module()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{config_path}: the network cannot be built ({exc})") from exc
    expected = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    found = _safetensors_shapes(path)
    if found != expected:
        raise ModelFileError(
            f"{path}: weights do not fit the network in {config_path.name} "
            f"({_shape_difference(expected, found)})"
        )
    try:
        state = safetensors.torch.load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from exc
    with torch.random.fork_rng(devices=[]):  # construction draws a throwaway init
        module = model._build_module()
    module.load_state_dict(state, strict=True)
    model.module_ = module.to(model.device_).eval()
    return model


def _estimator_from_config(
    config: dict[str, Any], config_path: Path, device: str | None
) -> BaseAutoencoder:
    classes = model_kinds()
    kind = config.get("kind")
    if kind not in classes:
        raise ModelFileError(
            f"{config_path}: unknown model kind {kind!r} (known: {', '.join(sorted(classes))})"
        )
    cls = classes[kind]
    params = config.get("params")
    if not isinstance(params, dict):
        raise ModelFileError(f"{config_path}: field 'params' is missing or not an object")
    params = dict(params)
    for name in ("hidden", "field_sizes"):
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    if device is not None:
        params["device"] = device
    try:
        model: BaseAutoencoder = cls(**params)
        model._validate_params()  # includes the layer widths
    except (TypeError, ValueError) as exc:  # includes sklearn's InvalidParameterError
        message = " ".join(str(exc).split())
        raise ModelFileError(
            f"{config_path}: parameters are not valid for {cls.__name__} ({message})"
        ) from exc
    return model


def _restore_fitted(model: BaseAutoencoder, fitted: dict[str, Any]) -> None:
    for name in _FITTED_SCALARS:
        setattr(model, name, fitted[name])
    width = fitted["n_features_in_"]
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 1 << 24:
        raise ValueError(f"n_features_in_={width!r} is not a positive integer")
    if not isinstance(model.history_, dict):
        raise TypeError("history_ is not an object")
    # Strict JSON stores NaN (e.g. a validation loss without a validation split) as null.
    model.history_ = {
        str(key): [math.nan if v is None else float(v) for v in values]
        for key, values in model.history_.items()
    }
    if model.threshold_ is None:
        model.threshold_ = math.nan
    quantiles = fitted["score_quantiles_"]
    model.score_quantiles_ = np.asarray(
        [math.nan if q is None else q for q in quantiles], dtype=np.float64
    )
    if model.score_quantiles_.ndim != 1 or model.score_quantiles_.size < 2:
        raise ValueError("score_quantiles_ must be a list of at least two numbers")
    if "feature_names_in_" in fitted:
        names = fitted["feature_names_in_"]
        if len(names) != width:
            raise ValueError("feature_names_in_ does not have n_features_in_ names")
        model.feature_names_in_ = np.asarray([str(n) for n in names], dtype=object)
    model._restore_extra_state(fitted)


def _load_scaler(directory: Path, config: dict[str, Any], settings: Any, width: int) -> DenseScaler:
    path = _artefact.checked_file(directory, PREPROCESSING, config)
    shapes = _safetensors_shapes(path)
    allowed = ((width,), (1,), ())
    if set(shapes) != {"mean", "std"} or any(s not in allowed for s in shapes.values()):
        raise ModelFileError(f"{path}: expected 'mean' and 'std' of width {width}, found {shapes}")
    try:
        arrays = safetensors.numpy.load_file(str(path))
        return DenseScaler(**settings, mean=arrays["mean"], std=arrays["std"])
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: preprocessing does not match config.json ({exc})") from exc
    except Exception as exc:  # safetensors' own parse errors
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from exc


def _safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors header, without reading any tensor."""
    try:
        with safetensors.safe_open(str(path), framework="np") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for malformed headers
        raise ModelFileError(f"{path}: not a valid safetensors file ({exc})") from exc


def _shape_difference(
    expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]]
) -> str:
    missing = sorted(set(expected) - set(found))
    if missing:
        return f"missing tensor {missing[0]!r}"
    extra = sorted(set(found) - set(expected))
    if extra:
        return f"unexpected tensor {extra[0]!r}"
    name = next(n for n in sorted(expected) if expected[n] != found[n])
    return f"{name!r} has shape {list(found[name])}, expected {list(expected[name])}"


def config_of(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked manifest of a model directory (no tensors are read)."""
    path = Path(directory)
    return _artefact.read_manifest(path, _artefact.MODEL, version=FORMAT_VERSION)
