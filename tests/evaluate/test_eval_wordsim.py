"""Word-similarity sets, user pair files and coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vecae._exceptions import InputError
from vecae.evaluate import (
    DEFAULT_WORDSIM_SETS,
    WORDSIM_SETS,
    evaluate_pairs,
    evaluate_word_similarity,
    load_key_pairs,
    load_word_pairs,
    load_wordsim,
)

SIZES = {
    "EN-WS-353-ALL": 353,
    "EN-WS-353-SIM": 203,
    "EN-WS-353-REL": 252,
    "EN-SIMLEX-999": 999,
    "EN-MEN-TR-3k": 3000,
    "EN-RW-STANFORD": 2034,
    "EN-SimVerb-3500": 3500,
    "EN-MTurk-771": 771,
    "EN-RG-65": 65,
}


@pytest.mark.parametrize("name", WORDSIM_SETS)
def test_bundled_set_loads_every_pair_lowercased(name: str) -> None:
    pairs = load_wordsim(name)
    assert len(pairs) == SIZES[name]
    words = pairs.left + pairs.right
    assert all(w == w.lower() and w.strip() == w and w for w in words)


def test_default_sets_are_the_glove_headline_six() -> None:
    assert set(DEFAULT_WORDSIM_SETS) == {
        "EN-WS-353-ALL",
        "EN-SIMLEX-999",
        "EN-MEN-TR-3k",
        "EN-RW-STANFORD",
        "EN-SimVerb-3500",
        "EN-MTurk-771",
    }


def test_load_wordsim_rejects_unknown_name() -> None:
    with pytest.raises(InputError, match="EN-NOPE"):
        load_wordsim("EN-NOPE")


def _vocab() -> tuple[list[str], np.ndarray]:
    # Angles 0, 30, 60, 90 degrees: cosine with "a" falls as the letter rises.
    angles = np.deg2rad([0, 30, 60, 90])
    return ["a", "B", "c", "d"], np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_coverage_counts_pairs_with_unknown_words(tmp_path: Path) -> None:
    f = tmp_path / "mine.txt"
    f.write_text("a b 9\na c 5\na d 1\na zebra 4\nqux b 2\n")
    keys, vecs = _vocab()
    res = evaluate_word_similarity(keys, vecs, sets=[f]).sets["mine"]
    assert (res.pairs_used, res.pairs_total) == (3, 5)
    assert res.coverage == pytest.approx(0.6)
    assert res.rho == pytest.approx(1.0)  # cosines .87 > .5 > 0 follow gold 9 > 5 > 1


def test_lowercase_false_treats_case_as_distinct(tmp_path: Path) -> None:
    f = tmp_path / "mine.txt"
    f.write_text("a b 9\na c 5\na d 1\n")
    keys, vecs = _vocab()
    res = evaluate_word_similarity(keys, vecs, sets=[f], lowercase=False).sets["mine"]
    assert res.pairs_used == 2  # "b" is not "B"


def test_duplicate_keys_use_the_first_row(tmp_path: Path) -> None:
    f = tmp_path / "dup.txt"
    f.write_text("x y 1\nx z 2\nx w 3\n")
    keys = ["x", "y", "z", "w", "X"]
    vecs = np.array([[1, 0], [0, 1], [1, 1], [1, 0.1], [0, 1]], dtype=float)
    # with row 0 for "x": cosines 0, .71, .995 rise with gold; row 4 would reverse them
    res = evaluate_word_similarity(keys, vecs, sets=[f]).sets["dup"]
    assert res.rho == pytest.approx(1.0)


def test_mean_is_over_sets_with_a_defined_rho(tmp_path: Path) -> None:
    keys, vecs = _vocab()
    (tmp_path / "up.txt").write_text("a b 9\na c 5\na d 1\n")
    (tmp_path / "down.txt").write_text("a b 1\na c 5\na d 9\n")
    (tmp_path / "none.txt").write_text("zz yy 1\n")
    res = evaluate_word_similarity(
        keys, vecs, sets=[tmp_path / "up.txt", tmp_path / "down.txt", tmp_path / "none.txt"]
    )
    assert res.mean_rho == pytest.approx(0.0)
    assert res.rows()[-1]["pairs_used"] == 6
    assert res.rows()[-1]["pairs_total"] == 7


def test_user_file_accepts_tabs_crlf_comments_and_header(tmp_path: Path) -> None:
    f = tmp_path / "u.txt"
    f.write_bytes(b"word1\tword2\tscore\r\n# comment\r\nOld  New\t3.5\r\n\r\nx y 1")
    pairs = load_word_pairs(f)
    assert pairs.left == ("old", "x")
    assert pairs.right == ("new", "y")
    np.testing.assert_allclose(pairs.gold, [3.5, 1.0])


def test_user_file_bad_field_count_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("a b 1\na b c 2\n")
    with pytest.raises(InputError, match=r"bad\.txt, line 2: expected 3 fields"):
        load_word_pairs(f)


def test_user_file_bad_score_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("a b 1\n\na b high\n")
    with pytest.raises(InputError, match=r"bad\.txt, line 3: score 'high'"):
        load_word_pairs(f)


def test_key_pairs_tsv_keeps_spaces_in_keys(tmp_path: Path) -> None:
    f = tmp_path / "sts.tsv"
    f.write_text("id1\tid2\tgold\ns 1\ts 2\t4.0\ns 1\ts 3\t1.0\n")
    pairs = load_key_pairs(f)
    assert pairs.left == ("s 1", "s 1")
    assert pairs.right == ("s 2", "s 3")
    res = evaluate_pairs(["s 1", "s 2", "s 3"], [[1, 0], [1, 0.2], [0, 1]], pairs)
    assert (res.pairs_used, res.rho) == (2, pytest.approx(1.0))


def test_key_pairs_tsv_rejects_space_separated_line(tmp_path: Path) -> None:
    f = tmp_path / "sts.tsv"
    f.write_text("s1\ts2\t4.0\ns1 s3 1.0\n")
    with pytest.raises(InputError, match=r"sts\.tsv, line 2"):
        load_key_pairs(f)


def test_glove_word_similarity_is_positive_on_real_sets(glove_small) -> None:
    words, X = glove_small
    res = evaluate_word_similarity(words, X, sets=["EN-WS-353-ALL", "EN-MEN-TR-3k"])
    ws = res.sets["EN-WS-353-ALL"]
    assert 0 < ws.pairs_used < ws.pairs_total
    assert ws.rho > 0.3
    assert res.sets["EN-MEN-TR-3k"].rho > 0.4
