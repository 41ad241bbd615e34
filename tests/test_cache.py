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


def _entry(c, key):
    return c.root / key[:2] / f"{key}.npz"


def _damage(p, how):
    blob = p.read_bytes()
    if how == "truncated":
        p.write_bytes(blob[: len(blob) // 2])
    elif how == "zero-length":
        p.write_bytes(b"")
    else:  # one flipped bit inside the compressed/stored member data
        i = len(blob) // 3
        p.write_bytes(blob[:i] + bytes([blob[i] ^ 0x10]) + blob[i + 1:])


import pytest  # noqa: E402


@pytest.mark.parametrize("how", ["truncated", "zero-length", "bit-flipped"])
def test_damaged_entry_is_a_miss_removed_and_rewritable(tmp_path, how):
    """Any unreadable entry used to crash every later run (BadZipFile / EOFError / bad CRC)."""
    c = AcquisitionCache(tmp_path)
    key = "0f" * 32
    rec = {"status": "ok", "reason": "", "embedding": np.linspace(0, 1, 128), "landmarks": np.ones((5, 2))}
    c.put(key, rec)
    _damage(_entry(c, key), how)
    got = c.get(key)
    if got is not None:  # a flip that lands in zip padding can leave the record intact: then it must be exact
        assert np.array_equal(got["embedding"], rec["embedding"])
        return
    assert c.discarded == 1 and not _entry(c, key).exists()
    c.put(key, rec)
    assert np.array_equal(c.get(key)["embedding"], rec["embedding"])


def test_every_single_byte_flip_is_either_detected_or_harmless(tmp_path):
    c = AcquisitionCache(tmp_path)
    key = "1e" * 32
    rec = {"status": "ok", "reason": "", "embedding": np.linspace(-1, 1, 128), "landmarks": np.ones((5, 2)),
           "box": [1, 2, 3, 4]}
    c.put(key, rec)
    p = _entry(c, key)
    blob = p.read_bytes()
    for i in range(0, len(blob), 7):
        p.write_bytes(blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1:])
        got = c.get(key)  # must never raise
        if got is not None:
            assert got["status"] == "ok" and np.array_equal(got["embedding"], rec["embedding"])
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(blob)


def test_ok_record_without_template_is_rejected(tmp_path):
    c = AcquisitionCache(tmp_path)
    c.put("2d" * 32, {"status": "ok", "embedding": np.array([np.nan, 1.0])})
    assert c.get("2d" * 32) is None


def test_writes_are_fsynced_before_rename(tmp_path, monkeypatch):
    import os

    from harness import cache

    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(cache.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(cache.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b)))
    cache.atomic_write_bytes(tmp_path / "f.bin", b"data")
    assert calls[:2] == ["fsync", "replace"] and calls.count("fsync") == 2  # the file, then its folder


def test_a_write_failure_keeps_the_run_going(tmp_path, monkeypatch):
    from harness import cache

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    c = AcquisitionCache(tmp_path)
    monkeypatch.setattr(cache, "atomic_write_bytes", full)
    c.put("3c" * 32, {"status": "ok", "embedding": np.zeros(3)})
    assert "No space left" in c.write_error


def test_an_entry_under_another_entrys_name_is_a_miss(tmp_path):
    """Hostile re-test: a whole entry copied over another (valid zip, valid record) gave image A image B's template."""
    c = AcquisitionCache(tmp_path)
    ka, kb = c.key("a" * 64, "d"), c.key("b" * 64, "d")
    c.put(ka, {"status": "ok", "embedding": np.ones(128), "landmarks": np.zeros((5, 2))})
    c.put(kb, {"status": "ok", "embedding": np.full(128, 2.0), "landmarks": np.zeros((5, 2))})
    c._path(ka).write_bytes(c._path(kb).read_bytes())
    assert c.get(ka) is None and c.discarded == 1 and not c._path(ka).exists()
    got = c.get(kb)
    assert got is not None and got["embedding"][0] == 2.0 and "_key" not in got


@pytest.mark.parametrize("how", ["a folder", "a symlink", "a dangling symlink"])
def test_something_else_where_an_entry_belongs_is_counted_removed_and_rewritten(tmp_path, how):
    """Hostile re-test: a folder in an entry's place was passed over silently and blocked the write."""
    c = AcquisitionCache(tmp_path)
    key = "1e" * 32
    rec = {"status": "ok", "reason": "", "embedding": np.linspace(0, 1, 128), "landmarks": np.ones((5, 2))}
    p = _entry(c, key)
    p.parent.mkdir(parents=True, exist_ok=True)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("not the cache's")
    if how == "a folder":
        p.mkdir()
        (p / "x").write_text("x")
    elif how == "a symlink":
        p.symlink_to(outside)
    else:
        p.symlink_to(tmp_path / "nowhere")
    assert c.get(key) is None and c.discarded == 1 and not p.exists() and not p.is_symlink()
    assert outside.read_text() == "not the cache's"  # a link's target is never touched
    c.put(key, rec)
    assert np.array_equal(c.get(key)["embedding"], rec["embedding"]) and not c.write_error
