"""The one place where the command line turns options into an estimator.

Only options the user actually set are passed on, so ``vecae fit`` always trains with the
estimators' own defaults, whatever they are tuned to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vecae.cli._output import CliError

if TYPE_CHECKING:
    from vecae._base import BaseAutoencoder

__all__ = [
    "ESTIMATORS",
    "MODEL_KINDS",
    "OPTION_NAMES",
    "build_estimator",
    "parse_hidden",
    "parse_widths",
]

# Model kind -> the estimator's name in ``vecae``; looked up only when a command builds one,
# so that ``vecae --help`` does not import torch.
ESTIMATORS: dict[str, str] = {
    "dense": "Autoencoder",
    "vae": "VariationalAutoencoder",
    "categorical": "CategoricalAutoencoder",
}
MODEL_KINDS = tuple(ESTIMATORS)

# Estimator parameter -> the command-line option that sets it (for error messages).
OPTION_NAMES = {
    "latent_dim": "--latent-dim",
    "hidden": "--hidden",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "noise_std": "--noise",
    "mask_rate": "--mask",
    "scale": "--scale",
    "normalize": "--normalize",
    "beta": "--beta",
    "random_state": "--seed",
    "n_threads": "--threads",
    "validation_fraction": "--validation-fraction",
    "patience": "--patience",
    "contamination": "--contamination",
    "objective": "--objective",
    "nested_dims": "--nested-dims",
}


def parse_hidden(text: str | None) -> tuple[int, ...] | None:
    """``"128,64"`` -> ``(128, 64)``; ``"none"`` or ``""`` -> ``()`` (a linear autoencoder)."""
    if text is None:
        return None
    stripped = text.strip().lower()
    if stripped in ("", "none", "linear"):
        return ()
    try:
        widths = tuple(int(part) for part in stripped.split(","))
    except ValueError:
        raise CliError(
            f"--hidden: expected comma-separated layer widths such as 128,64, got {text!r}"
        ) from None
    if any(w < 1 for w in widths):
        raise CliError(f"--hidden: layer widths must be positive, got {text!r}")
    return widths


def parse_widths(text: str | None, option: str) -> tuple[int, ...] | None:
    """``"128,64"`` -> ``(128, 64)`` for a list-of-sizes option; ``None`` when not set."""
    if text is None:
        return None
    try:
        widths = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise CliError(
            f"{option}: expected comma-separated sizes such as 128,64, got {text!r}"
        ) from None
    if not widths or any(w < 1 for w in widths):
        raise CliError(f"{option}: sizes must be positive integers, got {text!r}")
    return widths


def build_estimator(model: str, **overrides: Any) -> BaseAutoencoder:
    """An unfitted estimator of kind ``model`` with only the given (non-None) overrides.

    Parameters
    ----------
    model
        ``"dense"``, ``"vae"`` or ``"categorical"``.
    **overrides
        Estimator parameters; ``None`` means "not set by the user" and is dropped so the
        estimator's default applies.

    Raises
    ------
    CliError
        An unknown model kind, or an option that does not apply to it (``--beta`` on a
        dense model).
    """
    if model not in ESTIMATORS:
        raise CliError(f"--model: expected one of {', '.join(MODEL_KINDS)}, got {model!r}")
    import vecae

    cls: type[BaseAutoencoder] = getattr(vecae, ESTIMATORS[model])
    params = {name: value for name, value in overrides.items() if value is not None}
    accepted = cls().get_params()
    unknown = [name for name in params if name not in accepted]
    if unknown:
        options = ", ".join(OPTION_NAMES.get(name, name) for name in unknown)
        raise CliError(f"{options} does not apply to --model {model}")
    return cls(**params)
