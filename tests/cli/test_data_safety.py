"""What vecae promises about a user's files, from the command line (issue: never lose data).

Each test names its category: data loss, crash, race, memory, error contract, litter, modes,
messages. Crash, signal and memory tests run the installed ``vecae`` script in a subprocess
and assert a clean exit status; the others run in-process. Every failing command must print
one ``error:`` line, leave no output behind, and leave existing data intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
import scipy.sparse as sp
from tests.cli.cli_helpers import VECAE, error_line, vecae

from vecae import _artefact

# Peak resident memory of the running process. Not getrusage's ru_maxrss: a child started by
# this (large) test process would report the parent's peak.
_PEAK_KB = (
    "print(next(int(line.split()[1]) for line in open('/proc/self/status') "
    "if line.startswith('VmHWM')))"
)


def _error_and_peak(setup: str, statement: str) -> tuple[str, int]:
    """Run ``statement`` in a fresh interpreter: its error message and peak memory (kB)."""
    code = f"{setup}\ntry:\n    {statement}\nexcept Exception as e:\n    print(e)\n{_PEAK_KB}\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    return "\n".join(lines[:-1]), int(lines[-1])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _litter(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".vecae-" in p.name)


def _run(*args: object, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [VECAE, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kwargs
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture()
def project(tmp_path: Path, glove_txt: Path) -> Path:
    """A user's project directory: sources, notes and their embeddings."""
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hello')\n")
    (root / "notes.md").write_text("# notes\n")
    (root / "words.txt").write_bytes(glove_txt.read_bytes())
    return root


# ------------------------------------------------------------------------------ data loss


def test_data_loss_overwrite_refuses_a_project_directory(project: Path, glove_txt: Path) -> None:
    before = _snapshot(project)
    run = vecae("fit", glove_txt, "-o", project, "--overwrite", "--epochs", 1)
    assert "not a vecae model directory" in error_line(run)
    assert run.exit_code == 1
    assert _snapshot(project) == before


def test_data_loss_overwrite_refuses_the_directory_holding_the_input(project: Path) -> None:
    before = _snapshot(project)
    run = vecae("fit", project / "words.txt", "-o", project, "--overwrite", "--epochs", 1)
    assert "the output contains the input" in error_line(run)
    assert _snapshot(project) == before


def test_data_loss_overwrite_refuses_the_input_file(project: Path) -> None:
    words = project / "words.txt"
    before = words.read_bytes()
    run = vecae("fit", words, "-o", words, "--overwrite", "--epochs", 1)
    assert "the output is the input" in error_line(run)
    assert words.read_bytes() == before


def test_data_loss_encode_refuses_to_write_over_its_input(project: Path, model_dir: Path) -> None:
    words = project / "words.txt"
    before = words.read_bytes()
    run = vecae("encode", model_dir, words, "-o", words, "--overwrite")
    assert "the output is the input" in error_line(run)
    assert words.read_bytes() == before


def test_data_loss_index_build_refuses_to_replace_a_model(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    model_copy = tmp_path / "model"
    model_copy.mkdir()
    for f in model_dir.iterdir():
        (model_copy / f.name).write_bytes(f.read_bytes())
    before = _snapshot(model_copy)
    run = vecae("index", "build", model_dir, glove_txt, "-o", model_copy, "--overwrite")
    assert "is not a vecae index directory (it holds a vecae-model artefact)" in error_line(run)
    assert _snapshot(model_copy) == before


def test_data_loss_recommender_fit_refuses_a_plain_directory(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("user,item\n" + "".join(f"u{i % 7},i{i % 11}\n" for i in range(80)))
    target = tmp_path / "keep"
    target.mkdir()
    (target / "thesis.tex").write_text("chapter 1")
    run = vecae("recommender", "fit", pairs, "-o", target, "--overwrite")
    assert "not a vecae recommender directory" in error_line(run)
    assert (target / "thesis.tex").read_text() == "chapter 1"


def test_data_loss_overwrite_refuses_a_symlink(tmp_path: Path, glove_txt: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "data.bin").write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(real)
    run = vecae("fit", glove_txt, "-o", link, "--overwrite", "--epochs", 1)
    assert "symbolic link" in error_line(run)
    assert link.is_symlink() and (real / "data.bin").read_bytes() == b"precious"


def test_data_loss_the_root_directory_is_never_an_output(glove_txt: Path) -> None:
    run = vecae("fit", glove_txt, "-o", "/", "--overwrite", "--epochs", 1)
    assert "the file-system root cannot be an output" in error_line(run)


def test_overwrite_replaces_a_model_with_a_model(tmp_path: Path, glove_txt: Path) -> None:
    target = tmp_path / "m"
    assert vecae("fit", glove_txt, "-o", target, "--epochs", 1, "--latent-dim", 2).exit_code == 0
    run = vecae("fit", glove_txt, "-o", target, "--epochs", 1, "--latent-dim", 3, "--overwrite")
    assert run.exit_code == 0, run
    assert json.loads((target / "config.json").read_text())["params"]["latent_dim"] == 3
    assert _litter(tmp_path) == []


# ---------------------------------------------------------------------------------- crash


def _bad_sparse(path: Path, *, negative: bool) -> Path:
    m = sp.random(60, 30, density=0.2, format="csr", random_state=0, dtype=np.float32)
    indices = -m.indices - 1 if negative else np.where(m.indices > 3, 10_000_000, m.indices)
    np.savez(path, data=m.data, indices=indices, indptr=m.indptr, format=b"csr",
             shape=np.array(m.shape))  # fmt: skip
    return path


@pytest.mark.slow
@pytest.mark.parametrize("negative", [False, True], ids=["out-of-range", "negative"])
def test_crash_sparse_indices_give_one_line_not_a_segfault(tmp_path: Path, negative: bool) -> None:
    bad = _bad_sparse(tmp_path / "bags.npz", negative=negative)
    proc = _run("fit", bad, "-o", tmp_path / "m", "--model", "categorical", "--epochs", 1)
    assert proc.returncode == 1, proc
    assert "invalid sparse matrix" in _one_error_line(proc)
    assert not (tmp_path / "m").exists() and _litter(tmp_path) == []


@pytest.mark.slow
def test_crash_sparse_indices_on_encode(tmp_path: Path, sst2_bags: sp.csr_matrix) -> None:
    good = tmp_path / "good.npz"
    sp.save_npz(good, sst2_bags[:300].astype(np.float32))
    fit = _run("fit", good, "-o", tmp_path / "m", "--model", "categorical", "--epochs", 1)
    assert fit.returncode == 0, fit
    m = sst2_bags[:50].tocsr()
    bad = tmp_path / "bad.npz"
    np.savez(bad, data=m.data, indices=np.full_like(m.indices, sst2_bags.shape[1] + 5),
             indptr=m.indptr, format=b"csr", shape=np.array(m.shape))  # fmt: skip
    proc = _run("encode", tmp_path / "m", bad, "-o", tmp_path / "codes.npy")
    assert proc.returncode == 1 and "invalid sparse matrix" in _one_error_line(proc)
    assert not (tmp_path / "codes.npy").exists()


def _tampered_recommender(tmp_path: Path) -> Path:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("user,item\n" + "".join(f"u{i % 9},i{(i * 7) % 13}\n" for i in range(120)))
    target = tmp_path / "rec"
    run = vecae("recommender", "fit", pairs, "-o", target, "--model", "mult-dae", "--epochs", 1)
    assert run.exit_code == 0, run
    history = target / "interactions.safetensors"
    arrays = safetensors.numpy.load_file(str(history))
    arrays["indices"] = arrays["indices"] + 1_000_000  # out of range for 13 items
    safetensors.numpy.save_file(arrays, str(history))
    manifest = json.loads((target / "config.json").read_text())
    manifest["files"]["interactions.safetensors"] = _artefact.sha256_file(history)
    (target / "config.json").write_text(json.dumps(manifest))  # a consistent, crafted artefact
    return target


@pytest.mark.slow
def test_crash_tampered_recommender_is_refused_cleanly(tmp_path: Path) -> None:
    target = _tampered_recommender(tmp_path)
    proc = _run("recommend", target, "--user", "u1", "-k", 3)
    assert proc.returncode == 1, proc
    assert "item indices must lie in" in _one_error_line(proc)


# ----------------------------------------------------------------------------------- race


def test_race_a_claimed_output_is_refused(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    out = tmp_path / "codes.csv"
    with _artefact.claim(out):  # this test process is the other writer, mid-write
        proc = _run("encode", model_dir, glove_txt, "-o", out)
    assert proc.returncode == 1
    assert "another process is writing" in _one_error_line(proc)
    assert not out.exists()


@pytest.mark.slow
def test_race_two_encoders_on_one_path_cannot_both_win(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    out = tmp_path / "codes.csv"
    procs = [
        subprocess.Popen(
            [VECAE, "encode", str(model_dir), str(glove_txt), "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 1], errors
    assert out.read_text().count("\n") == 2001  # header + 2000 rows, complete
    assert _litter(tmp_path) == []


# --------------------------------------------------------------------------------- memory


@pytest.mark.slow
def test_memory_oversized_network_in_config_is_refused_before_allocation(
    tmp_path: Path, model_dir: Path
) -> None:
    crafted = tmp_path / "crafted"
    crafted.mkdir()
    for f in model_dir.iterdir():
        (crafted / f.name).write_bytes(f.read_bytes())
    config = json.loads((crafted / "config.json").read_text())
    config["params"]["hidden"] = [1_000_000]  # 50 x 1e6 x 2 layers: about 400 MB if built
    (crafted / "config.json").write_text(json.dumps(config))
    message, peak_kb = _error_and_peak("import vecae", f"vecae.load({str(crafted)!r})")
    assert "weights do not fit the network" in message
    # The baseline loads the real (small) model: the same imports, none of the network.
    _, baseline_kb = _error_and_peak("import vecae", f"vecae.load({str(model_dir)!r})")
    assert peak_kb - baseline_kb < 150_000  # far below the 400 MB network


@pytest.mark.slow
def test_memory_a_huge_line_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    with path.open("wb") as f:
        f.write(b"w0 " + b"0.5 " * 10_000_000 + b"\n")  # one 40 MB line
    message, peak_kb = _error_and_peak(
        "from vecae.io import read_embeddings", f"read_embeddings({str(path)!r})"
    )
    assert "line 1: longer than" in message
    assert peak_kb < 400_000  # splitting the line into strings took gigabytes


def test_memory_an_npz_header_larger_than_its_data_is_refused(
    tmp_path: Path, model_dir: Path
) -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 300), }"
    header += " " * (118 - len(header)) + "\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
    with zipfile.ZipFile(tmp_path / "crafted.npz", "w") as archive:
        archive.writestr("vectors.npy", member + bytes(1000))  # claims 112 GiB, holds 1 kB
    run = vecae("encode", model_dir, tmp_path / "crafted.npz", "-o", tmp_path / "c.csv")
    assert "declares shape (100000000, 300) of float32, more than" in error_line(run)
    assert not (tmp_path / "c.csv").exists()


def test_memory_a_key_column_is_refused_as_a_category(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("id,colour\n" + "".join(f"row{i},{'rgb'[i % 3]}\n" for i in range(400)))
    from vecae import CategoricalAutoencoder, InputError

    X = np.array([line.split(",") for line in table.read_text().splitlines()[1:]], dtype=object)
    with pytest.raises(InputError, match=r"column 0 has 400 distinct values.*--key-column"):
        CategoricalAutoencoder(max_categories=100, epochs=1).fit(X)


# ------------------------------------------------------------------------- error contract


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["fit", "IN", "-o", "OUT", "--latent-dim", "0"],
        ["fit", "IN", "-o", "OUT", "--epochs", "-1"],
        ["neighbors", "OUT", "--key", "king", "-k", "0"],
        ["fit", "does-not-exist.txt", "-o", "OUT"],
        ["no-such-command"],
    ],
    ids=["latent-dim-0", "epochs-negative", "k-0", "missing-input", "unknown-command"],
)
def test_error_contract_usage_errors_are_one_line_exit_1(
    tmp_path: Path, glove_txt: Path, args: list[str]
) -> None:
    argv = [str(glove_txt) if a == "IN" else str(tmp_path / "o") if a == "OUT" else a for a in args]
    proc = _run(*argv, cwd=tmp_path)
    assert proc.returncode == 1, proc
    _one_error_line(proc)
    assert not (tmp_path / "o").exists()


def test_error_contract_unwritable_destination_fails_before_training(
    tmp_path: Path, glove_txt: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    started = time.perf_counter()
    run = vecae("fit", glove_txt, "-o", blocker / "model", "--epochs", 500)
    line = error_line(run)
    assert time.perf_counter() - started < 30  # 500 epochs would take minutes
    assert f"cannot write in the output directory {tmp_path}" in line
    assert ".vecae-tmp" not in line


# ---------------------------------------------------------------------------------- litter


@pytest.mark.slow
def test_litter_sigterm_cleans_up_like_ctrl_c(tmp_path: Path, glove_txt: Path) -> None:
    out = tmp_path / "m"
    proc = subprocess.Popen(
        [VECAE, "fit", str(glove_txt), "-o", str(out), "--epochs", "100000", "--patience",
         "100000", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = tmp_path / ".m.vecae-lock"
    deadline = time.monotonic() + 90
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lock.exists(), "the fit never claimed its output"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert stderr.strip() == "error: terminated"
    assert not out.exists() and _litter(tmp_path) == []


@pytest.mark.slow
def test_litter_staging_left_by_a_killed_writer_is_removed(tmp_path: Path, glove_txt: Path) -> None:
    out = tmp_path / "m"
    proc = subprocess.Popen([VECAE, "fit", str(glove_txt), "-o", str(out), "--epochs", "100000",
                             "--patience", "100000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 90
    while not (tmp_path / ".m.vecae-lock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    # What a SIGKILL during the final write leaves: a staging directory of a dead process.
    stale = tmp_path / f".m.vecae-tmp-{proc.pid}-deadbeef"
    stale.mkdir()
    (stale / "weights.safetensors").write_bytes(b"half")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    run = vecae("fit", glove_txt, "-o", out, "--epochs", 1, "--latent-dim", 2)
    assert run.exit_code == 0, run  # the dead writer's claim died with it
    assert _litter(tmp_path) == []


# ----------------------------------------------------------------------------------- modes


def test_modes_outputs_follow_the_umask(tmp_path: Path, model_dir: Path, glove_txt: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert vecae("fit", glove_txt, "-o", tmp_path / "m", "--epochs", 1).exit_code == 0
        assert vecae("encode", model_dir, glove_txt, "-o", tmp_path / "c.npy").exit_code == 0
    finally:
        os.umask(previous)
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "m").iterdir()} == {0o644}
    assert (tmp_path / "c.npy").stat().st_mode & 0o777 == 0o644


def test_modes_config_is_strict_json(tmp_path: Path, glove_txt: Path) -> None:
    out = tmp_path / "m"
    run = vecae("fit", glove_txt, "-o", out, "--epochs", 2, "--validation-fraction", 0)
    assert run.exit_code == 0, run

    def reject(name: str) -> None:
        raise AssertionError(f"bare {name} in config.json")

    config = json.loads((out / "config.json").read_text(), parse_constant=reject)
    assert config["fitted"]["history_"]["val_loss"] == [None, None]  # NaN stored as null


# -------------------------------------------------------------------------------- messages


def test_messages_word2vec_header_after_a_bom(tmp_path: Path, glove_words: tuple) -> None:
    words, vectors = glove_words
    lines = [
        w + " " + " ".join(f"{v:.4f}" for v in row)
        for w, row in zip(words[:50], vectors[:50], strict=True)
    ]
    path = tmp_path / "w2v.txt"
    path.write_bytes(b"\xef\xbb\xbf" + f"50 {vectors.shape[1]}\n".encode()
                     + "\n".join(lines).encode() + b"\n")  # fmt: skip
    from vecae.io import read_embeddings

    read = read_embeddings(path)
    assert read.vectors.shape == (50, vectors.shape[1])  # the header was read as a header
    assert read.keys is not None and read.keys[0] == words[0]


def test_messages_glove_first_key_has_no_bom(tmp_path: Path, glove_words: tuple) -> None:
    words, vectors = glove_words
    lines = [
        w + " " + " ".join(f"{v:.4f}" for v in row)
        for w, row in zip(words[:50], vectors[:50], strict=True)
    ]
    path = tmp_path / "g.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    from vecae.io import read_embeddings

    read = read_embeddings(path)
    assert read.keys is not None and read.keys[0] == words[0]


def test_messages_nan_threshold_is_refused(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    run = vecae("anomalies", model_dir, glove_txt, "-o", tmp_path / "s.csv", "--threshold", "nan")
    assert "--threshold must be a finite number" in error_line(run)
    assert not (tmp_path / "s.csv").exists()


def test_messages_npy_format_on_a_text_file_does_not_talk_about_pickles(
    tmp_path: Path, model_dir: Path, glove_txt: Path
) -> None:
    run = vecae("encode", model_dir, glove_txt, "--input-format", "npy", "-o", tmp_path / "c.csv")
    line = error_line(run)
    assert "not a .npy file" in line and "pickle" not in line
