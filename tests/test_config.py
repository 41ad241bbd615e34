import pytest

from harness import config
from harness.errors import ConfigError


def test_defaults_are_the_documented_run():
    cfg = config.RunConfig()
    assert cfg.dataset.name == "frl-london"
    assert cfg.detector.name == "dlib-hog" and cfg.detector.upsample == 1
    assert cfg.embedder.name == "dlib-resnet-v1"
    assert (cfg.protocol.enrol_value, cfg.protocol.probe_value) == ("neutral", "smiling")
    assert cfg.metrics.target_fmrs == [1e-2, 1e-3] and cfg.metrics.fixed_thresholds == [0.6]
    assert cfg.metrics.intersections == [["gender", "ethnicity"]]


def test_yaml_and_toml_load_the_same(tmp_path):
    (tmp_path / "c.yaml").write_text("detector:\n  upsample: 2\nmetrics:\n  target_fmrs: [0.001]\n")
    (tmp_path / "c.toml").write_text("[detector]\nupsample = 2\n[metrics]\ntarget_fmrs = [0.001]\n")
    a = config.load(str(tmp_path / "c.yaml"))
    b = config.load(str(tmp_path / "c.toml"))
    assert a.to_dict() == b.to_dict()
    assert a.detector.upsample == 2 and a.metrics.target_fmrs == [0.001]


def test_cli_overrides_win_over_file_and_are_typed(tmp_path):
    (tmp_path / "c.yaml").write_text("detector:\n  upsample: 2\n")
    cfg = config.load(str(tmp_path / "c.yaml"), ["detector.upsample=0", "metrics.target_fmrs=[1e-4, 1e-2]",
                                                 "use_cache=false", "metrics.score=cosine"])
    assert cfg.detector.upsample == 0
    assert cfg.metrics.target_fmrs == [1e-4, 1e-2]
    assert cfg.use_cache is False and cfg.metrics.score == "cosine"


@pytest.mark.parametrize("override, message", [
    ("detector.upsampel=1", "unknown key"),
    ("detector.name=mtcnn", "not one of"),
    ("detector.upsample=two", "expected an integer"),
    ("metrics.target_fmrs=[2]", "not a rate"),
    ("workers=-1", "workers"),
    ("protocol.probe_value=neutral", "must differ"),
    ("nonsense", "section.key=value"),
])
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        config.load(overrides=[override])


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(str(tmp_path / "nope.yaml"))
    (tmp_path / "bad.toml").write_text("[detector\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        config.load(str(tmp_path / "bad.toml"))
