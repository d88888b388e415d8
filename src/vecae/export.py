"""ONNX export of a fitted dense model, with its preprocessing folded into the graph.

The exported encoder takes raw vectors, exactly what ``transform`` takes, and returns the
encodings: L2 normalisation (when the model normalises), centring and scaling run inside the
graph, so a runtime without vecae (onnxruntime in C++, C#, Java, the browser) needs nothing
else. The decoder takes encodings and returns vectors in the input space (the inverse of the
scaling). The batch dimension is dynamic. Export uses ``torch.onnx.export(dynamo=True)``; it
needs the ``onnx`` extra (``pip install 'vecae[onnx]'``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from vecae._artefact import FileOutput
from vecae._exceptions import InputError, require

__all__ = ["export_onnx"]

OPSET = 18
Part = Literal["encoder", "decoder"]


class _Encoder(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.net = model.module_
        scaler = model.scaler_
        self.normalize = bool(scaler.normalize)
        self.register_buffer("mean", torch.from_numpy(scaler.mean.copy()))
        self.register_buffer("std", torch.from_numpy(scaler.std.copy()))

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        x = vectors
        if self.normalize:
            # Same formula as DenseScaler.apply: x / max(||x||, eps).
            x = x / torch.clamp(torch.linalg.vector_norm(x, dim=1, keepdim=True), min=1e-12)
        codes: torch.Tensor = self.net.encode((x - self.mean) / self.std)
        return codes


class _Decoder(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.net = model.module_
        self.register_buffer("mean", torch.from_numpy(model.scaler_.mean.copy()))
        self.register_buffer("std", torch.from_numpy(model.scaler_.std.copy()))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        decoded: torch.Tensor = self.net.decode(codes)
        return decoded * self.std + self.mean


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's chatter about optional packages (torchvision) and its own
    deprecation notices: none of it concerns the user's model."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(
    model: Any, path: str | os.PathLike[str], *, part: Part = "encoder", overwrite: bool = False
) -> Path:
    """Write the model's encoder (or decoder) as one self-contained ONNX file.

    Parameters
    ----------
    model : Autoencoder or VariationalAutoencoder
        A fitted dense model.
    path : str or path-like
        The ``.onnx`` file to write (atomically: a temporary file, then a rename).
    part : {"encoder", "decoder"}, default="encoder"
        The encoder maps raw vectors ``(batch, n_features)``, input ``"vectors"``, to encodings
        ``(batch, latent_dim)``, output ``"codes"``; the decoder maps ``"codes"`` back to
        ``"vectors"`` in the input space.
    overwrite : bool, default=False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        An unfitted or categorical model, or an unknown ``part``.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false, is not a regular file, or another process
        is writing it (see :mod:`vecae._artefact`).
    MissingDependencyError
        onnx / onnxscript are not installed.

    Examples
    --------
    >>> from vecae import Autoencoder                              # doctest: +SKIP
    >>> export_onnx(Autoencoder(epochs=5).fit(X), "encoder.onnx")  # doctest: +SKIP
    """
    require("onnx", "onnx")
    require("onnxscript", "onnx")
    if part not in ("encoder", "decoder"):
        raise InputError(f"part: expected 'encoder' or 'decoder', got {part!r}")
    if not hasattr(model, "module_") or not hasattr(model, "scaler_"):
        raise InputError(
            f"{type(model).__name__}: ONNX export needs a fitted dense model "
            "(Autoencoder or VariationalAutoencoder)"
        )
    target = Path(path)
    wrapper = (_Encoder(model) if part == "encoder" else _Decoder(model)).cpu().eval()
    width = int(model.n_features_in_) if part == "encoder" else int(model.latent_dim)
    name, output = ("vectors", "codes") if part == "encoder" else ("codes", "vectors")
    example = torch.zeros((2, width), dtype=torch.float32)
    batch = torch.export.Dim("batch")
    destination = FileOutput(target, overwrite=overwrite)  # claimed before the export
    try:
        with torch.no_grad(), _quiet_exporter():
            program = torch.onnx.export(
                wrapper,
                (example,),
                dynamo=True,
                input_names=[name],
                output_names=[output],
                dynamic_shapes={"vectors" if part == "encoder" else "codes": {0: batch}},
                opset_version=OPSET,
                optimize=True,
                verbose=False,
            )
        if program is None:  # pragma: no cover - dynamo=True always returns a program
            raise RuntimeError("torch.onnx.export returned no program")
        program.save(str(destination.temp), external_data=False)
    except BaseException:
        destination.abort()
        raise
    destination.commit()
    return target
