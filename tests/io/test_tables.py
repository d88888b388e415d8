"""Categorical tables and user-item interactions from CSV/TSV/Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vecae._exceptions import InputError
from vecae.io import read_categorical_table, read_interactions


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_categorical_csv_columns_and_keys(tmp_path: Path) -> None:
    path = _csv(tmp_path, "t.csv", "id,color,size\nr1,red,S\nr2,blue,\n")
    table = read_categorical_table(path, key_column="id")
    assert table.keys == ["r1", "r2"]
    assert list(table.columns) == ["color", "size"]
    assert table.columns["color"].tolist() == ["red", "blue"]
    assert table.columns["size"].tolist() == ["S", ""]


def test_categorical_column_selection(tmp_path: Path) -> None:
    path = _csv(tmp_path, "t.tsv", "color\tsize\nred\tS\n")
    table = read_categorical_table(path, columns=["size"])
    assert table.keys is None
    assert list(table.columns) == ["size"]


def test_categorical_parquet_numbers_become_strings(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"k": ["a", "b"], "zip": [75001, 10115], "c": ["x", None]}), path)
    table = read_categorical_table(path, key_column="k")
    assert table.columns["zip"].tolist() == ["75001", "10115"]
    assert table.columns["c"].tolist() == ["x", ""]


def test_categorical_unknown_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "t.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match=r"t\.csv: line 1: no column 'c'"):
        read_categorical_table(path, columns=["c"])


def test_categorical_ragged_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, "t.csv", "a,b\n1,2\n3\n")
    with pytest.raises(InputError, match=r"t\.csv: line 3:"):
        read_categorical_table(path)


def test_categorical_missing_key(tmp_path: Path) -> None:
    path = _csv(tmp_path, "t.csv", "id,a\nx,1\n,2\n")
    with pytest.raises(InputError, match=r"line 3: missing key"):
        read_categorical_table(path, key_column="id")


def test_interactions_csv_default_weights(tmp_path: Path) -> None:
    path = _csv(tmp_path, "i.csv", "user,item\nu1,i1\nu1,i2\nu2,i1\n")
    inter = read_interactions(path)
    assert inter.users.tolist() == ["u1", "u1", "u2"]
    assert inter.items.tolist() == ["i1", "i2", "i1"]
    assert inter.weights.dtype == np.float32
    np.testing.assert_array_equal(inter.weights, [1, 1, 1])


def test_interactions_weights_and_custom_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, "i.tsv", "who\twhat\tn\nu1\ti1\t2.5\nu2\ti3\t1\n")
    inter = read_interactions(path, user_col="who", item_col="what", weight_col="n")
    np.testing.assert_array_equal(inter.weights, [2.5, 1.0])
    assert inter.items.tolist() == ["i1", "i3"]


def test_interactions_parquet_integer_ids(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "i.parquet"
    pq.write_table(pa.table({"user": [7, 8], "item": [100, 200], "w": [0.5, 2.0]}), path)
    inter = read_interactions(path, weight_col="w")
    assert inter.users.tolist() == ["7", "8"]
    np.testing.assert_array_equal(inter.weights, [0.5, 2.0])


@pytest.mark.parametrize("weight", ["abc", "nan", "1e99"])
def test_interactions_bad_weight_names_line(tmp_path: Path, weight: str) -> None:
    path = _csv(tmp_path, "i.csv", f"user,item,w\nu1,i1,1\nu2,i2,{weight}\n")
    with pytest.raises(InputError, match=r"i\.csv: line 3: .*weight"):
        read_interactions(path, weight_col="w")


def test_interactions_missing_user(tmp_path: Path) -> None:
    path = _csv(tmp_path, "i.csv", "user,item\nu1,i1\n,i2\n")
    with pytest.raises(InputError, match=r"line 3: missing value in 'user'"):
        read_interactions(path)


def test_interactions_missing_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "i.csv", "user,product\nu1,i1\n")
    with pytest.raises(InputError, match=r"no column 'item'"):
        read_interactions(path)


def test_interactions_wrong_extension(tmp_path: Path) -> None:
    path = _csv(tmp_path, "i.json", "{}")
    with pytest.raises(InputError, match=r"i\.json"):
        read_interactions(path)
