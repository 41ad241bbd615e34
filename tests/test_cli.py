"""The facerisk command: --help everywhere; user errors are one line, exit 2, no traceback."""

import subprocess
import sys

import numpy as np
import pytest

from harness.cli import main
from tests.conftest import write_dataset


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("args", [[], ["run"], ["datasets"], ["datasets", "list"], ["datasets", "show"],
                                  ["datasets", "fetch"], ["datasets", "validate"], ["models"], ["models", "list"],
                                  ["metrics"], ["capture"], ["capture", "list"], ["ingest"]])
def test_help_everywhere(args, capsys):
    with pytest.raises(SystemExit) as e:
        main([*args, "--help"])
    assert e.value.code == 0
    assert "usage: facerisk" in capsys.readouterr().out


def test_user_error_is_one_line_without_traceback():
    r = cli("run", "--dataset", "no-such-dataset", "-q")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "unknown dataset 'no-such-dataset'" in r.stderr


def test_bad_override_is_a_user_error():
    r = cli("run", "--set", "detector.upsample=99")
    assert r.returncode == 2 and "upsample" in r.stderr and "Traceback" not in r.stderr


def test_validate_reports_the_bad_row(tmp_path):
    write_dataset(tmp_path / "ds", [{"image": "x.png", "subject_id": "a"}, {"image": "y.png", "subject_id": "b"}],
                  {"x.png": np.zeros((4, 4, 3), np.uint8)})
    r = cli("datasets", "validate", str(tmp_path / "ds"))
    assert r.returncode == 2 and "row 3" in r.stderr and "y.png" in r.stderr


def test_validate_decode_finds_unreadable_images(tmp_path):
    write_dataset(tmp_path / "ds", [{"image": "x.png", "subject_id": "a"}], {"x.png": b"not a png"})
    r = cli("datasets", "validate", str(tmp_path / "ds"), "--decode")
    assert r.returncode == 2 and "x.png" in r.stderr
    assert "valid" in cli("datasets", "validate", str(tmp_path / "ds")).stdout  # metadata alone is fine


def test_models_and_datasets_list(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "dlib-resnet-v1" in out and "dlib-hog" in out and "null" in out
    assert main(["datasets", "list"]) == 0
    assert "frl-london" in capsys.readouterr().out
    assert main(["datasets", "show", "frl-london"]) == 0
    assert "self-reported" in capsys.readouterr().out


@pytest.mark.realdata
def test_run_end_to_end_from_the_command_line(data_home, tmp_path, real_run):
    res, out, cfg = real_run  # its cache makes this run fast
    r = cli("run", "--data-home", str(data_home), "--cache-dir", cfg.cache_dir, "--reports-dir",
            str(tmp_path), "--name", "cli", "-q")
    assert r.returncode == 0, r.stderr
    assert "204 images (204 from cache)" in r.stdout
    assert (tmp_path / "cli" / "report.html").is_file()


def test_capture_commands_and_absurd_values(capsys, tmp_path):
    assert main(["capture", "list"]) == 0
    assert "doorbell-1536p-night-ir" in capsys.readouterr().out
    assert main(["capture", "show", "doorbell-1536p-night-ir"]) == 0
    assert "18.3" in capsys.readouterr().out  # 150° equidistant on 1536 px at 2 m
    r = cli("run", "--capture", "doorbell-1080p-day", "--set", "capture.set={subject.distance: -1}", "-q")
    assert r.returncode == 2 and "distance" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "p.yaml").write_text("camera: {hfov_deg: 360}\n")
    r = cli("run", "--capture", str(tmp_path / "p.yaml"), "-q")
    assert r.returncode == 2 and "hfov_deg" in r.stderr
    r = cli("run", "--sweep", "distance=5:1:1", "-q")
    assert r.returncode == 2 and "STOP >= START" in r.stderr


def test_building_the_parser_imports_no_numerical_library():
    """Every facerisk start builds the parser: plugins must keep their heavy imports inside main()."""
    code = ("import sys, harness.cli as c; c.build_parser(); "
            "print(','.join(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'onnxruntime', 'dlib', 'cv2') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout + r.stderr


_BLOCK = """import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == {mod!r} or name.startswith({mod!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _Block())
"""


@pytest.mark.parametrize("mod, args, dist", [
    ("scipy", ["metrics", "no-such-scores.csv"], "scipy"),
    ("matplotlib", ["metrics", "no-such-scores.csv"], "matplotlib"),
    ("yaml", ["run", "-q"], "pyyaml"),
])
def test_a_missing_package_is_one_line_naming_it_and_the_install(tmp_path, mod, args, dist):
    """Hostile re-test: a package blocked by a sitecustomize gave a 24-line ModuleNotFoundError traceback."""
    (tmp_path / "sitecustomize.py").write_text(_BLOCK.format(mod=mod))
    import os

    r = cli(*args, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert f"'{mod}'" in r.stderr and f"pip install '{dist}'" in r.stderr


def test_a_parser_message_with_a_newline_is_still_one_line(tmp_path, capsys):
    """Hostile re-test: pandas' tokenizer error ends in a newline, so the error took two lines."""
    (tmp_path / "metadata.csv").write_text("image,subject_id\na.jpg,1\nb.jpg,2,extra\n")
    assert main(["datasets", "validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and "comma-separated" in err


def test_a_message_quoting_a_huge_value_is_cut_in_the_middle():
    """Hostile re-test: a 5 MB label in metadata.csv made a 5 MB error line."""
    from harness.cli import one_line

    msg = one_line("data/metadata.csv: rows 2, 3: subject 1 has inconsistent gender (" + "x" * 5_000_000
                   + ", f); a person's attributes must agree across images")
    assert len(msg) < 1300 and msg.startswith("data/metadata.csv: rows 2, 3") and msg.endswith("across images")
