"""Split attention (stance/split.py): the proposition never attends to the text, so prediction runs
each proposition once and reuses it; the training path and the prediction path are the same model."""

import json

import numpy as np
import pytest

from stancemap.errors import StancemapError
from stancemap.stance.model import StanceModel

PROPOSITIONS = ["We should ban smoking in public places", "Distillation is theft"]
TEXTS = [
    "Smoking kills the people around you.",
    "Adults may choose for themselves, and bars are private property.",
    "Training on another model's outputs is copying.",
    "Nobody owns the outputs of an API.",
    "My cat likes fish.",
]


@pytest.fixture(scope="module")
def split_model():
    return StanceModel(seed=3, attention="split")


def _pairs():
    return [PROPOSITIONS[i % 2] for i in range(len(TEXTS))], TEXTS


def test_cached_prediction_is_the_training_forward(split_model):
    torch = split_model.torch
    props, texts = _pairs()
    with torch.inference_mode():
        batched = torch.softmax(split_model.logits(props, texts), dim=-1).numpy()
    assert np.allclose(split_model.predict(props, texts, batch_size=2), batched, atol=1e-5)


def test_a_text_does_not_change_the_propositions_states(split_model):
    from stancemap.stance import split

    (ids, _), = split.split_pairs(split_model.tokenizer, PROPOSITIONS[:1], TEXTS[:1], 128)
    (same, _), = split.split_pairs(split_model.tokenizer, PROPOSITIONS[:1], TEXTS[1:2], 128)
    tokenizer = split_model.tokenizer
    assert ids == same and ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    torch = split_model.torch
    with torch.inference_mode():
        alone = split.run_propositions(split_model.encoder, [ids])
        beside = split.run_propositions(split_model.encoder, [ids, ids + ids[1:]])  # padded beside a longer one
    assert torch.allclose(alone.hidden_sum[0], beside.hidden_sum[0], atol=1e-4)
    assert int(alone.count[0]) == len(ids)


def test_split_differs_from_joint_and_is_deterministic(split_model):
    props, texts = _pairs()
    joint = StanceModel(seed=3)
    assert not np.allclose(joint.predict(props, texts), split_model.predict(props, texts), atol=1e-4)
    assert np.array_equal(split_model.predict(props, texts), split_model.predict(props, texts))


def test_attention_is_checked():
    with pytest.raises(StancemapError, match="attention"):
        StanceModel(attention="sideways")


@pytest.mark.slow
def test_a_split_model_trains_saves_and_reloads_as_split(tmp_path):
    from stancemap.stance.data import topics_of
    from stancemap.stance.onnx import OnnxStanceModel
    from stancemap.stance.train import train
    from tests.conftest import shared_path

    data = shared_path("eval")
    facts = train(data, tmp_path / "m", topics_of(data / "argkp" / "arguments_dev.csv"), epochs=1, max_pairs=32,
                  threads=1, attention="split")
    assert facts["attention"] == "split"
    assert json.loads((tmp_path / "m" / "stance_config.json").read_text())["attention"] == "split"
    model = StanceModel(tmp_path / "m")
    assert model.attention == "split"
    props, texts = _pairs()
    assert np.array_equal(model.predict(props, texts), StanceModel(tmp_path / "m").predict(props, texts))
    with pytest.raises(StancemapError, match="split attention"):
        OnnxStanceModel(tmp_path / "m", root=tmp_path / "onnx")
