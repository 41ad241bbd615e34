"""Property-based fuzzing of config loading: any input is a valid config or one ConfigError, never a crash."""

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import config
from harness.errors import ConfigError

KEYS = ["name", "seed", "workers", "use_cache", "metrics.target_fmrs", "metrics.fixed_thresholds", "metrics.bins",
        "metrics.score", "metrics.bootstrap", "metrics.confidence", "metrics.min_subjects", "capture.sweep",
        "capture.seed", "detector.upsample", "detector.multi_face", "embedder.jitters", "protocol.impostors",
        "dataset.max_pixels", "dataset.bad_images", "metrics.attributes", "metrics.intersections", "nope.key"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(string.printable, max_size=20))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                   st.dictionaries(st.text(string.ascii_letters, max_size=6), c,
                                                                   max_size=3)), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=4))
def test_overrides_never_crash(assignments):
    overrides = [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                 for k, v in assignments]
    try:
        cfg = config.load(overrides=overrides)
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()
        return
    config.validate(cfg)  # a loaded config is valid by construction


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=200), st.sampled_from(["?", "? a\n", "{? : 1}", "[1, 2]", "null: 3", "1: {2: 3}"])))
def test_any_file_text_is_a_config_or_a_config_error(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("cfg") / "c.yaml"
    p.write_text(text, encoding="utf-8")
    try:
        config.load(str(p))
    except ConfigError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_sweep_spec_parses_or_is_refused(spec):
    try:
        axis, vals = config.parse_sweep(spec)
    except ConfigError:
        return
    assert 1 <= len(vals) <= config.MAX_SWEEP_STEPS
