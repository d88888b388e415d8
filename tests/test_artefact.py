"""The artefact layer from the library: atomic replace under concurrent readers, claims,
the version policy, and every malformed ``config.json`` as a :class:`ModelFileError`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import vecae
from vecae import _artefact
from vecae._exceptions import InputError, ModelFileError, OutputExistsError


@pytest.fixture(scope="module")
def two_models(glove_vectors: np.ndarray) -> tuple[vecae.Autoencoder, vecae.Autoencoder]:
    X = glove_vectors[:500]
    first = vecae.Autoencoder(latent_dim=4, hidden=(16,), epochs=2, random_state=0).fit(X)
    second = vecae.Autoencoder(latent_dim=4, hidden=(16,), epochs=2, random_state=1).fit(X)
    return first, second


@pytest.fixture()
def saved(tmp_path: Path, two_models: tuple[vecae.Autoencoder, vecae.Autoencoder]) -> Path:
    return two_models[0].save(tmp_path / "m")


def _edit_config(path: Path, edit: object) -> None:
    config_path = path / "config.json"
    config = json.loads(config_path.read_text())
    edit(config)  # type: ignore[operator]
    config_path.write_text(json.dumps(config))


# -- atomic replace ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_reader_during_replaces_always_sees_a_whole_model(
    tmp_path: Path, two_models: tuple[vecae.Autoencoder, vecae.Autoencoder], glove_vectors
) -> None:
    first, second = two_models
    target = tmp_path / "m"
    second.save(tmp_path / "b")
    first.save(target)
    # Another process replaces the model back and forth while this one loads it in a loop.
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import vecae
            a, b = vecae.load({str(target)!r}), vecae.load({str(tmp_path / "b")!r})
            for i in range(60):
                (b if i % 2 == 0 else a).save({str(target)!r}, overwrite=True)
        """)],
    )  # fmt: skip
    X = glove_vectors[:20]
    expected = {first.transform(X).tobytes(), second.transform(X).tobytes()}
    loads = 0
    try:
        while writer.poll() is None:
            codes = vecae.load(target).transform(X)  # must never raise
            assert codes.tobytes() in expected  # never a torn mix of the two
            loads += 1
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert loads > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "m"]  # no staging left


def test_replace_keeps_the_old_model_when_writing_fails(
    tmp_path: Path, two_models: tuple[vecae.Autoencoder, vecae.Autoencoder]
) -> None:
    first, _ = two_models
    target = first.save(tmp_path / "m")
    before = (target / "weights.safetensors").read_bytes()
    with (
        pytest.raises(RuntimeError, match="disk full"),
        _artefact.write_directory(target, _artefact.MODEL, overwrite=True) as staging,
    ):
        (staging / "weights.safetensors").write_bytes(b"partial")
        raise RuntimeError("disk full")
    assert (target / "weights.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_save_without_overwrite_refuses_an_existing_model(saved: Path, two_models) -> None:
    with pytest.raises(OutputExistsError, match="model directory already exists"):
        two_models[1].save(saved)


def test_save_refuses_to_replace_a_directory_that_is_not_a_model(
    tmp_path: Path, two_models
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("chapter 1")
    with pytest.raises(OutputExistsError, match=r"it has no vecae config.json"):
        two_models[0].save(home, overwrite=True)
    assert (home / "thesis.tex").read_text() == "chapter 1"


def test_save_refuses_to_replace_a_model_holding_foreign_files(saved: Path, two_models) -> None:
    (saved / "notes.md").write_text("my notes")
    with pytest.raises(
        OutputExistsError, match=r"also holds files vecae did not write \(notes.md\)"
    ):
        two_models[1].save(saved, overwrite=True)
    assert (saved / "notes.md").read_text() == "my notes"


def test_a_claimed_destination_is_refused_to_a_second_writer(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from vecae import _artefact
            with _artefact.claim({str(target)!r}):
                print("held", flush=True)
                time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputExistsError, match="another process is writing"):
            _artefact.FileOutput(target)
    finally:
        holder.kill()
        holder.communicate()
    with _artefact.FileOutput(target) as output:  # the dead holder's claim is gone
        output.temp.write_text("ok\n")
    assert target.read_text() == "ok\n"


def test_file_output_never_replaces_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    output = _artefact.FileOutput(target)
    output.temp.write_text("mine\n")
    target.write_text("someone else's\n")  # written by a tool that does not claim
    with pytest.raises(OutputExistsError):
        output.commit()
    assert target.read_text() == "someone else's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


# -- version policy ---------------------------------------------------------------------


def test_a_newer_format_version_asks_for_an_upgrade(saved: Path) -> None:
    _edit_config(saved, lambda c: c.update(format_version=99))
    with pytest.raises(ModelFileError, match=r"newer than this vecae reads.*upgrade vecae"):
        vecae.load(saved)


def test_an_older_index_version_asks_to_rebuild(tmp_path: Path, glove_vectors) -> None:
    pytest.importorskip("faiss")
    from vecae.index import VectorIndex

    path = VectorIndex.build(glove_vectors[:50], [str(i) for i in range(50)]).save(tmp_path / "i")
    _edit_config(path, lambda c: c.update(format_version=1))
    with pytest.raises(ModelFileError, match=r"older than this vecae reads.*re-create the index"):
        VectorIndex.load(path)


# -- malformed config.json: always ModelFileError, never KeyError/TypeError/RecursionError -----


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("params"), "field 'params'"),
        (lambda c: c.update(params=[1, 2]), "field 'params'"),
        (lambda c: c["params"].update(hidden=[-5]), "parameters are not valid"),
        (lambda c: c["params"].update(hidden=[2.5]), "parameters are not valid"),
        (lambda c: c["params"].update(latent_dim="eight"), "parameters are not valid"),
        (lambda c: c["params"].update(unknown=1), "parameters are not valid"),
        (lambda c: c.update(fitted=[]), "fitted state"),
        (lambda c: c["fitted"].pop("history_"), "fitted state"),
        (lambda c: c["fitted"].update(n_features_in_=-3), "fitted state"),
        (lambda c: c["fitted"].update(score_quantiles_="x"), "fitted state"),
        (lambda c: c.update(kind="transformer"), "unknown model kind"),
        (lambda c: c.update(files=None), "field 'files'"),
        (lambda c: c["params"].update(hidden=[10_000_000]), r"every width must be in \[1, "),
        (lambda c: c["params"].update(hidden=[500_000]), "weights do not fit the network"),
        (lambda c: c["params"].update(latent_dim=7), "weights do not fit the network"),
    ],
)
def test_malformed_config_is_a_model_file_error(saved: Path, edit: object, message: str) -> None:
    _edit_config(saved, edit)
    with pytest.raises(ModelFileError, match=message):
        vecae.load(saved)


def test_deeply_nested_config_is_a_model_file_error(saved: Path) -> None:
    (saved / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="not valid JSON"):
        vecae.load(saved)


def test_bare_nan_in_config_is_refused(saved: Path) -> None:
    text = (saved / "config.json").read_text().replace('"threshold_": ', '"threshold_": NaN, "x":')
    (saved / "config.json").write_text(text)
    with pytest.raises(ModelFileError, match="non-standard JSON constant NaN"):
        vecae.load(saved)


def test_saved_config_is_strict_json_with_nan_as_null(tmp_path: Path, glove_vectors) -> None:
    model = vecae.Autoencoder(latent_dim=2, epochs=2, validation_fraction=0, random_state=0)
    path = model.fit(glove_vectors[:100]).save(tmp_path / "m")
    config = json.loads((path / "config.json").read_text(), parse_constant=_no_constants)
    assert config["fitted"]["history_"]["val_loss"] == [None, None]
    assert np.isnan(vecae.load(path).history_["val_loss"]).all()


def _no_constants(name: str) -> None:
    raise AssertionError(f"bare {name}")


# -- the estimator's own contract -------------------------------------------------------


@pytest.mark.parametrize("hidden", [(-5,), (0,), (2.5,), (True,)])
def test_hidden_widths_must_be_positive_integers(hidden: tuple, glove_vectors) -> None:
    with pytest.raises(InputError, match="hidden: every width"):
        vecae.Autoencoder(hidden=hidden, epochs=1).fit(glove_vectors[:50])


@pytest.mark.parametrize(
    "X",
    [[], [1.0, 2.0], [[1.0, 2.0], [1.0]], np.zeros((0, 3))],
    ids=["empty", "1-D", "ragged", "no-rows"],
)
def test_bad_shapes_are_input_errors(X: object) -> None:
    with pytest.raises(InputError, match=r"^X: "):
        vecae.Autoencoder(epochs=1).fit(X)


def test_is_anomaly_refuses_a_nan_threshold(two_models, glove_vectors) -> None:
    with pytest.raises(InputError, match="threshold must be a finite number"):
        two_models[0].is_anomaly(glove_vectors[:5], threshold=float("nan"))
