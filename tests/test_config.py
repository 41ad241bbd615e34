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
    ("metrics.target_fmrs=[2]", r"must be a rate in \(0, 1\)"),
    ("workers=-1", "workers"),
    ("protocol.probe_value=neutral", "must differ"),
    ("nonsense", "section.key=value"),
    ("=1", r"override '=1': the key '' has an empty part"),
    (".x=1", r"override '.x=1': the key '.x' has an empty part"),
    ("metrics..bootstrap=1", "empty part"),
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


def _numeric_paths(cls=config.RunConfig, prefix=""):
    """Dotted paths of every numeric setting (int/float, optional, or a list/mapping of them)."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp, path = hints[f.name], prefix + f.name
        if dataclasses.is_dataclass(tp):
            yield from _numeric_paths(tp, path + ".")
            continue
        leaves, stack = [], [tp]
        while stack:
            t = stack.pop()
            args = [a for a in typing.get_args(t) if a is not type(None)]
            if typing.get_origin(t) is dict:
                path, args = path + ".*", args[1:]
            stack += args if typing.get_origin(t) is not typing.Literal else []
            leaves.append(t)
        if any(t in (int, float) for t in leaves):
            yield path


def test_every_numeric_setting_has_a_range():
    """One mechanism: a numeric field added without a RANGES entry would take any number (10**400, -1)."""
    paths = list(_numeric_paths())
    assert "seed" in paths and "metrics.confidence" in paths and "metrics.bins.*" in paths
    assert [p for p in paths if config.range_of(p.replace(".*", ".x")) is None] == []


@pytest.mark.parametrize("text, message", [
    ("seed: " + "9" * 5000 + "\n", "seed: a 5,000-digit number is out of range; must be a whole number from 0"),
    ("metrics:\n  confidence: 1e400\n", r"metrics.confidence: '1e400' is out of range; must be a confidence level"),
    ("metrics:\n  confidence: 1" + "0" * 400 + "\n", "metrics.confidence: a 401-digit number is out of range"),
    ("metrics:\n  bootstrap: " + "1" * 30 + "\n", "metrics.bootstrap: a 30-digit number is out of range; must be 0"),
    ("protocol:\n  target_fpirs: [1e400]\n", r"protocol.target_fpirs\[0\]: '1e400' is out of range"),
    ("capture:\n  preset: doorbell-1080p-day\n  set: {subject.distance: " + "7" * 5000 + "}\n",
     "capture.set.subject.distance: .*a 5,000-digit number"),
])
def test_numbers_beyond_any_range_are_one_line_errors_naming_the_setting(tmp_path, text, message):
    """Hostile re-test: a 5,000-digit seed was PyYAML's ValueError traceback (int string limit) and 10**400 an
    OverflowError; 1e400 (text to PyYAML) became inf and was let through as a float."""
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message) as exc:
        config.load(str(tmp_path / "c.yaml"))
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 300


def test_overrides_get_the_same_range_check():
    with pytest.raises(ConfigError, match="metrics.confidence: '1e400' is out of range"):
        config.load(overrides=["metrics.confidence=1e400"])
    with pytest.raises(ConfigError, match="metrics.confidence: a 401-digit number"):
        config.load(overrides=["metrics.confidence=1" + "0" * 400])
    with pytest.raises(ConfigError, match="seed: a 5,000-digit number"):
        config.load(overrides=["seed=" + "9" * 5000])
    with pytest.raises(ConfigError, match=r"detector.tiles: 0 is out of range; must be from 1"):
        config.load(overrides=["detector.tiles=0"])
    assert config.load(overrides=["metrics.confidence=0.99", "seed=4294967295"]).seed == 4294967295


def test_a_huge_integer_in_toml_names_the_file(tmp_path):
    (tmp_path / "c.toml").write_text("seed = " + "9" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"c\.toml: a number has more digits than any setting allows; use"):
        config.load(str(tmp_path / "c.toml"))


@pytest.mark.parametrize("override, message", [
    ("nmae=x", r"unknown key\(s\) 'nmae'; did you mean name\?"),
    ("metrics.target_fmr=[0.01]", r"did you mean metrics.target_fmrs\?"),
    ("metricz.bootstrap=5", r"did you mean metrics\?"),
])
def test_an_unknown_key_suggests_the_closest(override, message):
    with pytest.raises(ConfigError, match=message):
        config.load(overrides=[override])


def test_yaml_errors_say_what_to_do(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: !!python/name:os.system\n")
    with pytest.raises(ConfigError, match="remove the !! tag: facerisk reads plain YAML only"):
        config.load(str(p))
    p.write_text("metrics:\n  target_fmrs: [0.01\n")
    with pytest.raises(ConfigError, match="fix the YAML syntax"):
        config.load(str(p))
    p.write_text("metrics: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply.*write at most a few levels"):
        config.load(str(p))


@pytest.mark.parametrize("sweep, message", [
    ("nosuchaxis=1,2", r"unknown axis 'nosuchaxis'; use one of distance"),
    ("light=-5", r"light=-5: sensor: lux >= 0.*use values the capture model accepts"),
    ("bitrate=0", r"bitrate=0: codec: bitrate_kbps > 0"),
    ("distance=-1,1", r"distance=-1: subject distance=-1.0 m: must be between 0.2 and 30 m"),
])
def test_sweep_axis_and_values_are_checked_with_the_config(sweep, message):
    """Hostile re-test: these were refused only at their sweep step, after the whole clean acquisition."""
    with pytest.raises(ConfigError, match=message):
        config.load(overrides=["capture.preset=doorbell-1080p-day", f"capture.sweep='{sweep}'"])
    assert config.load(overrides=["capture.preset=doorbell-1080p-day", "capture.sweep='distance=1,4'"])


def test_capture_set_and_preset_are_checked_with_the_config():
    with pytest.raises(ConfigError, match=r"capture.set.subject.nose: Subject has no parameter 'nose'; use one of"):
        config.load(overrides=["capture.preset=doorbell-1080p-day", "capture.set={subject.nose: 3}"])
    with pytest.raises(ConfigError, match=r"unknown capture preset 'no-such-camera'; use one of"):
        config.load(overrides=["capture.preset=no-such-camera"])
    with pytest.raises(ConfigError, match="need a capture preset: add --capture NAME"):
        config.load(overrides=["capture.sweep='distance=1,2'"])
