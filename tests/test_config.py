from pathlib import Path

import pytest

from stancemap.config import Params, load_params
from stancemap.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_repo_params_match_the_defaults_in_code():
    # params.yaml is the documented source of truth; the dataclass defaults mirror it
    assert load_params(REPO / "params.yaml") == Params()


def test_propositions_are_a_list_of_strings():
    p = load_params(None, ['stance.propositions=["We should ban X", "We should fund Y"]'])
    assert p.stance.propositions == ("We should ban X", "We should fund Y")
    with pytest.raises(ConfigError, match="expected a list of non-empty strings"):
        load_params(None, ["stance.propositions=We should ban X"])


def test_override_sets_a_typed_value():
    overrides = ["cluster.min_cluster_size=20", "report.title=Hello: world", "cluster.reassign_min_similarity=0"]
    p = load_params(None, overrides)
    assert p.cluster.min_cluster_size == 20
    assert p.report.title == "Hello: world"
    assert p.cluster.reassign_min_similarity == 0.0 and isinstance(p.cluster.reassign_min_similarity, float)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("cluster.min_cluster_siz=20", "unknown key"),
        ("cluster.min_cluster_size=big", "expected a whole number"),
        ("cluster.min_cluster_size=1", "at least 2"),
        ("nosuchsection.key=1", "unknown key"),
        ("cluster.min_dist=0.1", "cluster.min_dist was removed in 0.1.0"),
        ("cluster", "expected section.key=value"),
        ("seed.inner=1", "expected a whole number"),
        ("cluster=3", "is a section"),
    ],
)
def test_bad_override_is_a_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_params(None, [override])


def test_bad_yaml_names_the_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("seed: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="params.yaml: not valid YAML"):
        load_params(bad)


def test_missing_explicit_params_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
