"""training.card.read_card: the one reader of model_card.json; every broken card is a ValueError naming file and field."""

import json

import pytest

from keras_resnet.training.card import read_card

GOOD = {"name": "resnet8-tiny", "model": {"name": "resnet8", "kwargs": {}}, "class_names": ["a", "b", "c"],
        "input_shape": [16, 16, 3], "metrics": {"test_top1_error": 0.5}}


def _write(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model_card.json"
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def test_reads_a_card_from_the_file_or_its_folder(tmp_path):
    path = _write(tmp_path / "run", GOOD)
    assert read_card(path) == GOOD
    assert read_card(tmp_path / "run") == GOOD
    assert read_card(path, required=("class_names", "input_shape", "metrics")) == GOOD


def test_no_card_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no model card: .*model_card\.json does not exist"):
        read_card(tmp_path)


@pytest.mark.parametrize("data, message", [
    (b"{this is not json", r"is not valid JSON \(Expecting property name"),
    (b"", r"is not valid JSON \(Expecting value"),
    (bytes(range(256)), r"is not valid JSON \(not UTF-8 text\)"),
    (b"[1, 2, 3]", r"is not a JSON object \(got a JSON list\)"),
    (b'"card"', r"is not a JSON object \(got a JSON str\)"),
])
def test_not_a_json_object(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=message) as e:
        read_card(path)
    assert str(e.value).startswith(str(path))


@pytest.mark.parametrize("drop", ["class_names", "input_shape"])
def test_missing_field_names_the_file_and_the_field(tmp_path, drop):
    path = _write(tmp_path, {k: v for k, v in GOOD.items() if k != drop})
    with pytest.raises(ValueError, match=f"lacks {drop}") as e:
        read_card(path)
    assert str(path) in str(e.value)


def test_an_empty_required_field_is_missing_and_required_fields_are_the_callers(tmp_path):
    path = _write(tmp_path, {**GOOD, "class_names": []})
    with pytest.raises(ValueError, match=r"lacks class_names \(a model card needs class_names, input_shape\)"):
        read_card(path)
    path = _write(tmp_path, {k: v for k, v in GOOD.items() if k != "metrics"})
    assert read_card(path)["class_names"] == GOOD["class_names"]
    with pytest.raises(ValueError, match=f"{path} lacks metrics"):
        read_card(path, required=("class_names", "input_shape", "metrics"))


@pytest.mark.parametrize("field, value, message", [
    ("class_names", "cat", "class_names must be a list of strings, got cat"),
    ("class_names", [1, 2], "class_names must be a list of strings"),
    ("input_shape", "32x32x3", r"input_shape must be \[height, width, channels\] \(positive integers\), got 32x32x3"),
    ("input_shape", [32, 32], r"input_shape must be \[height, width, channels\]"),
    ("input_shape", [32, 0, 3], r"input_shape must be \[height, width, channels\]"),
    ("input_shape", [32, 32.5, 3], r"input_shape must be \[height, width, channels\]"),
    ("metrics", [0.5], "metrics must be a JSON object"),
])
def test_field_of_the_wrong_type(tmp_path, field, value, message):
    path = _write(tmp_path, {**GOOD, field: value})
    with pytest.raises(ValueError, match=message) as e:
        read_card(path)
    assert str(e.value).startswith(f"{path}: {field}")


def test_where_names_the_card_as_the_caller_shows_it(tmp_path):
    _write(tmp_path, b"[]")
    with pytest.raises(ValueError, match=r"^model_card\.json is not a JSON object"):
        read_card(tmp_path, where="model_card.json")
