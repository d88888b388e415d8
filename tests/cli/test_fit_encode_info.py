"""End-to-end: ``vecae fit``, then ``encode``, then ``info`` on real GloVe rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import LATENT, N_WORDS, error_line
from tests.cli.cli_helpers import vecae as run_vecae

import vecae
from vecae.cli._estimators import build_estimator
from vecae.io import detect_format, read_embeddings, write_embeddings


def test_fit_saves_a_model_with_the_requested_shape(model_dir: Path) -> None:
    model = vecae.load(model_dir)
    assert type(model).__name__ == "VariationalAutoencoder"
    assert (model.n_features_in_, model.latent_dim, model.n_epochs_) == (50, LATENT, 2)


def test_fit_summary_says_why_it_stopped_and_where(tmp_path: Path, glove_txt: Path) -> None:
    out = tmp_path / "m"
    run = run_vecae("fit", glove_txt, "-o", out, "--epochs", 1, "--latent-dim", 4, "--quiet")
    assert run.exit_code == 0, run
    assert "reached epochs=1" in run.stdout
    assert "stopped because" in run.stdout
    assert out.name in run.stdout.replace("\n", "")


def test_fit_json_reports_history(tmp_path: Path, glove_txt: Path) -> None:
    run = run_vecae(
        "fit",
        glove_txt,
        "-o",
        tmp_path / "m",
        "--model",
        "dense",
        "--epochs",
        3,
        "--latent-dim",
        4,
        "--hidden",
        "32",
        "--noise",
        0.1,
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    data = run.json()
    assert data["kind"] == "dense"
    assert data["epochs_run"] == 3
    assert len(data["history"]["train_loss"]) == 3
    assert vecae.load(tmp_path / "m").get_params()["noise_std"] == pytest.approx(0.1)


def test_fit_uses_the_estimator_defaults_for_unset_options() -> None:
    est = build_estimator("vae", latent_dim=7, epochs=None, beta=None)
    defaults = vecae.VariationalAutoencoder().get_params()
    params = est.get_params()
    assert params["latent_dim"] == 7
    assert {k: v for k, v in params.items() if k != "latent_dim"} == {
        k: v for k, v in defaults.items() if k != "latent_dim"
    }


def test_fit_refuses_an_option_the_model_lacks(tmp_path: Path, glove_txt: Path) -> None:
    run = run_vecae("fit", glove_txt, "-o", tmp_path / "m", "--model", "dense", "--beta", 0.5)
    assert "--beta does not apply to --model dense" in error_line(run)
    assert not (tmp_path / "m").exists()


def test_encode_keeps_keys_order_and_values(
    tmp_path: Path, model_dir: Path, glove_txt: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    out = tmp_path / "enc.parquet"
    run = run_vecae("encode", model_dir, glove_txt, "-o", out, "--batch-size", 300, "--quiet")
    assert run.exit_code == 0, run
    encoded = read_embeddings(out)
    words, vectors = glove_words
    assert encoded.keys == words[:N_WORDS]
    expected = vecae.load(model_dir).transform(vectors[:N_WORDS])
    np.testing.assert_allclose(encoded.vectors, expected, rtol=1e-5, atol=1e-6)


def test_encode_output_format_defaults_to_the_inputs(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    out = tmp_path / "enc.txt"  # .txt would be written as word2vec; the input is GloVe
    assert run_vecae("encode", model_dir, glove_txt, "-o", out, "--quiet").exit_code == 0
    assert detect_format(out) == "glove"
    assert len(read_embeddings(out)) == N_WORDS


def test_encode_npy_without_keys(
    tmp_path: Path, model_dir: Path, glove_words: tuple[list[str], np.ndarray]
) -> None:
    src = tmp_path / "x.npy"
    np.save(src, glove_words[1][:500])
    out = tmp_path / "z.npy"
    run = run_vecae("encode", model_dir, src, "-o", out, "--batch-size", 128, "--json")
    assert run.exit_code == 0, run
    assert run.json()["rows"] == 500
    z = np.load(out)
    np.testing.assert_allclose(
        z, vecae.load(model_dir).transform(glove_words[1][:500]), rtol=1e-5, atol=1e-6
    )


def test_encode_json_is_the_only_stdout(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    run = run_vecae("encode", model_dir, glove_txt, "-o", tmp_path / "z.csv", "--json")
    assert run.exit_code == 0, run
    data = run.json()  # fails if anything else (a progress bar, a summary) is on stdout
    assert (data["rows"], data["dim"], data["format"]) == (N_WORDS, LATENT, "csv")


def test_info_json_describes_the_model(model_dir: Path) -> None:
    run = run_vecae("info", model_dir, "--json")
    assert run.exit_code == 0, run
    data = run.json()
    assert (data["kind"], data["n_features"], data["latent_dim"]) == ("vae", 50, LATENT)
    assert data["preprocessing"] == {"normalize": False, "center": True, "scale": "global"}
    assert data["training"]["epochs_run"] == 2
    assert data["training"]["stop_reason"] == "reached epochs=2"
    assert data["params"]["random_state"] == 0
    assert np.isfinite(data["threshold"])


def test_info_prints_tables(model_dir: Path) -> None:
    run = run_vecae("info", model_dir)
    assert run.exit_code == 0, run
    for text in ("vae", "50 -> 8", "Hyper-parameters", "beta", "stopped because"):
        assert text in run.stdout


def test_categorical_table_fit_then_encode(tmp_path: Path) -> None:
    table = tmp_path / "fields.csv"
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], 300)
    size = np.where(colour == "red", "S", rng.choice(["M", "L"], 300))
    rows = ["id,colour,size"] + [
        f"r{i},{c},{s}" for i, (c, s) in enumerate(zip(colour, size, strict=True))
    ]
    table.write_text("\n".join(rows) + "\n")
    model = tmp_path / "cat"
    run = run_vecae(
        "fit",
        table,
        "-o",
        model,
        "--model",
        "categorical",
        "--key-column",
        "id",
        "--latent-dim",
        2,
        "--epochs",
        2,
        "--quiet",
    )
    assert run.exit_code == 0, run
    out = tmp_path / "codes.csv"
    run = run_vecae("encode", model, table, "-o", out, "--key-column", "id", "--quiet")
    assert run.exit_code == 0, run
    encoded = read_embeddings(out)
    assert encoded.keys == [f"r{i}" for i in range(300)]
    assert encoded.dim == 2


def test_categorical_sparse_fit(tmp_path: Path) -> None:
    import scipy.sparse as sp

    bags = sp.random(200, 40, density=0.1, random_state=0, format="csr")
    bags.data[:] = 1.0
    src = tmp_path / "bags.npz"
    write_embeddings(src, bags)
    run = run_vecae(
        "fit",
        src,
        "-o",
        tmp_path / "m",
        "--model",
        "categorical",
        "--epochs",
        1,
        "--latent-dim",
        3,
        "--json",
        "--quiet",
    )
    assert run.exit_code == 0, run
    assert run.json()["n_features"] == 40


def test_fit_progress_goes_to_stderr_under_json(tmp_path: Path, glove_txt: Path) -> None:
    run = run_vecae("fit", glove_txt, "-o", tmp_path / "m", "--epochs", 2, "--latent-dim", 4,
                    "--json")  # fmt: skip
    assert run.exit_code == 0, run
    assert run.json()["epochs_run"] == 2  # stdout is pure JSON
    assert "epoch 2/2" in run.stderr  # the training progress bar went to stderr
