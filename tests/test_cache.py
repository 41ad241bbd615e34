import numpy as np

from harness.cache import AcquisitionCache, params_digest


def test_roundtrip_and_keying(tmp_path):
    c = AcquisitionCache(tmp_path)
    d1, d2 = params_digest({"upsample": 1}), params_digest({"upsample": 2})
    assert d1 != d2 and c.key("img", d1) != c.key("img", d2)
    rec = {"status": "ok", "reason": "", "embedding": np.arange(4.0), "landmarks": np.ones((5, 2)), "box": [1, 2, 3, 4]}
    c.put(c.key("img", d1), rec)
    got = c.get(c.key("img", d1))
    assert np.array_equal(got["embedding"], rec["embedding"]) and got["box"] == [1, 2, 3, 4]
    assert c.get(c.key("img", d2)) is None


def test_failure_records_keep_no_embedding(tmp_path):
    c = AcquisitionCache(tmp_path)
    c.put("k" * 64, {"status": "fta", "reason": "no_face", "embedding": None})
    got = c.get("k" * 64)
    assert got["status"] == "fta" and got["embedding"] is None


def test_corrupt_entry_is_recomputed_not_fatal(tmp_path):
    c = AcquisitionCache(tmp_path)
    key = "ab" * 32
    p = tmp_path / key[:2] / f"{key}.npz"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"half a file")
    assert c.get(key) is None


def test_no_temporary_files_left_behind(tmp_path):
    c = AcquisitionCache(tmp_path)
    c.put("cd" * 32, {"status": "ok", "embedding": np.zeros(3)})
    assert [f.name for f in (tmp_path / "cd").iterdir()] == ["cd" * 32 + ".npz"]


def test_disabled_cache_reads_and_writes_nothing(tmp_path):
    c = AcquisitionCache(tmp_path, enabled=False)
    c.put("ef" * 32, {"status": "ok", "embedding": np.zeros(3)})
    assert c.get("ef" * 32) is None and not any(tmp_path.iterdir())
