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


@pytest.mark.parametrize("override, message", [
    ("metrics.target_fmrs=[]", None),  # allowed alone: fixed thresholds remain
    ("seed=-1", "seed: -1"),
    ("seed=4294967296", "seed"),
    ("capture.seed=-5", "capture.seed"),
    ("capture.sweep='distance=0.5:inf:1'", "finite"),
    ("capture.sweep='distance=0.5:1e8:0.000001'", "at most 60"),
    ("capture.sweep='distance=1:2'", "three numbers"),
    ("capture.sweep='light=5,nan'", "finite"),
    ("metrics.fixed_thresholds=[.nan]", "expected a finite number"),
    ("projection.visitors_per_day=.inf", "expected a finite number"),
    ("embedder.jitters=1000000000", "from 1 to 100"),
    ("metrics.bootstrap=1000000000000", "up to 100,000"),
    ("metrics.fixed_thresholds=[-0.1]", "not a euclidean threshold"),
    ("metrics.bins={age: [45, 18, 120]}", "strictly increasing"),
    ("metrics.bins={age: [18]}", "at least two"),
    ("metrics.min_subjects=0", "min_subjects"),
    ("dataset.max_pixels=0", "max_pixels"),
])
def test_out_of_range_values_fail_at_load_not_after_the_run(override, message):
    if message is None:
        assert config.load(overrides=[override]).metrics.target_fmrs == []
        return
    with pytest.raises(ConfigError, match=message):
        config.load(overrides=[override])


def test_no_threshold_at_all_is_refused():
    with pytest.raises(ConfigError, match="both empty"):
        config.load(overrides=["metrics.target_fmrs=[]", "metrics.fixed_thresholds=[]"])


def test_cosine_thresholds_are_similarities():
    with pytest.raises(ConfigError, match="similarity in"):
        config.load(overrides=["metrics.score=cosine", "metrics.fixed_thresholds=[1.5]"])
    assert config.load(overrides=["metrics.score=cosine", "metrics.fixed_thresholds=[0.4]"])


def test_a_huge_sweep_is_refused_in_constant_time():
    import time

    t0 = time.perf_counter()
    with pytest.raises(ConfigError):
        config.parse_sweep("distance=0:1e15:1e-9")
    assert time.perf_counter() - t0 < 0.1


@pytest.mark.parametrize("text, message", [
    ("metrics: [1, 2]\n", "metrics must be a section"),
    ("[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    ("!!python/name:os.system\n", "cannot parse config"),
])
def test_hostile_config_files_are_one_line_errors(tmp_path, text, message):
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as exc:
        config.load(str(tmp_path / "c.yaml"), ["metrics.bootstrap=50"])
    assert str(tmp_path / "c.yaml") in str(exc.value) and "\n" not in str(exc.value)


def test_capture_files_share_the_safe_reader(tmp_path):
    from harness.degrade import capture

    (tmp_path / "evil.yaml").write_text("!!python/name:os.system\n")
    with pytest.raises(ConfigError, match="cannot parse capture preset"):
        capture.load(str(tmp_path / "evil.yaml"))
    (tmp_path / "nan.yaml").write_text("codec: {bitrate_kbps: .nan}\n")
    with pytest.raises(ConfigError, match="not a finite number"):
        capture.load(str(tmp_path / "nan.yaml"))


def test_a_key_given_twice_is_refused_not_silently_dropped(tmp_path):
    """Hostile re-test: PyYAML keeps the last of two equal keys, so one setting vanished without a word."""
    from harness.config import load, load_file

    p = tmp_path / "c.yaml"
    p.write_text("metrics:\n  bootstrap: 5\n  bootstrap: 7\n")
    with pytest.raises(ConfigError, match=r"c\.yaml.*'bootstrap' appears twice \(line 2 and line 3\)"):
        load_file(p)
    p.write_text("metrics:\n  bootstrap: 5\nmetrics:\n  confidence: 0.9\n")
    with pytest.raises(ConfigError, match="'metrics' appears twice"):
        load_file(p)
    with pytest.raises(ConfigError, match="'a' appears twice"):
        load(overrides=["capture.set={a: 1, a: 2}"])
    p.write_text("base: &b {bootstrap: 5}\nmetrics:\n  <<: *b\n  confidence: 0.9\n")  # merge keys still work
    assert load_file(p)["metrics"] == {"bootstrap": 5, "confidence": 0.9}
