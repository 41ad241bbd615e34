"""The report's plots come from a content-addressed cache when their inputs, code and libraries are unchanged."""

import base64
import struct
import subprocess
import sys
import zlib

import pandas as pd
import pytest

from harness.report import _Plots, plotcache
from harness.report.plotcache import PlotCache, plot_key, valid_png

DRAWN = []


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiny_png(value: int) -> bytes:
    """A real 1×1 grey PNG whose pixel is ``value`` (a stand-in for a drawn plot)."""
    DRAWN.append(value)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (plotcache.PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes([0, value % 256])))
            + _chunk(b"IEND", b""))


def _page(plot, n, offset=0):
    return " ".join(plot(tiny_png, i + offset) for i in range(n))


def _images(html):
    return [base64.b64decode(t.removeprefix("data:image/png;base64,")) for t in html.split()]


@pytest.fixture(autouse=True)
def _fresh():
    DRAWN.clear()


def test_second_page_draws_nothing_and_is_identical(tmp_path):
    first = _Plots(PlotCache(tmp_path))
    a = first.fill(_page(first, 5), 1)
    assert DRAWN == list(range(5)) and first.cache.stored == 5
    DRAWN.clear()
    second = _Plots(PlotCache(tmp_path))
    b = second.fill(_page(second, 5), 1)
    assert DRAWN == [] and second.cache.hits == 5
    assert _images(a) == _images(b)


def test_only_the_changed_plot_is_drawn_again(tmp_path):
    p = _Plots(PlotCache(tmp_path))
    p.fill(_page(p, 4), 1)
    DRAWN.clear()
    q = _Plots(PlotCache(tmp_path))
    html = q.fill(" ".join([q(tiny_png, 0), q(tiny_png, 1), q(tiny_png, 99), q(tiny_png, 3)]), 2)
    assert DRAWN == [] or DRAWN == [99]  # with 2 workers the drawing happens in a child process
    assert q.cache.hits == 3 and q.cache.stored == 1
    assert _images(html)[2] == tiny_png(99)


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip", "garbage", "folder"])
def test_a_damaged_entry_is_drawn_again_and_replaced(tmp_path, damage):
    cache = PlotCache(tmp_path)
    key = plot_key(tiny_png, (7,))
    cache.put(key, tiny_png(7))
    path = cache._path(key)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:-5])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "flip":
        path.write_bytes(data[:40] + bytes([data[40] ^ 0x10]) + data[41:])
    elif damage == "garbage":
        path.write_bytes(b"not a png at all")
    else:
        path.unlink()
        path.mkdir()
    DRAWN.clear()
    p = _Plots(PlotCache(tmp_path))
    html = p.fill(p(tiny_png, 7), 1)
    assert DRAWN == [7]
    assert _images(html) == [data]
    if damage != "folder":
        assert path.read_bytes() == data and p.cache.discarded == 1


def test_valid_png_accepts_whole_files_only():
    good = tiny_png(3)
    assert valid_png(good)
    assert not valid_png(good + b"x")  # bytes after IEND
    assert not valid_png(good[:-1])
    assert not valid_png(b"")


def test_key_changes_with_arguments_function_and_code(monkeypatch):
    frame = pd.DataFrame({"g": ["a", "b"], "x": [0.1, 0.2]})
    k = plot_key(tiny_png, (frame, 1))
    assert k == plot_key(tiny_png, (frame.copy(), 1))
    assert k != plot_key(tiny_png, (frame.assign(x=[0.1, 0.2000001]), 1))
    assert k != plot_key(tiny_png, (frame, 2))
    assert k != plot_key(_images, (frame, 1))
    monkeypatch.setattr(plotcache, "_static", b"other plotting code")
    assert k != plot_key(tiny_png, (frame, 1))


def test_every_source_the_key_names_exists():
    for rel in plotcache.SOURCES:
        assert (plotcache._HARNESS / rel).is_file(), rel


KEY_SCRIPT = """
import numpy as np, pandas as pd
from harness.metrics import Threshold
from harness.report.plotcache import plot_key
from harness.report.plots import rate_bars
frame = pd.DataFrame({"group": ["Black × female", "White × male", None], "fmr": [0.01, np.nan, np.inf],
                      "n": np.arange(3)})
t = Threshold("euclidean=0.6", "fixed", -0.6, 0.6, "euclidean")
print(plot_key(rate_bars, (frame, [t], {"Black × female": "ok", "White × male": "insufficient"}, "title $x$")))
"""


def test_key_is_the_same_in_another_process():
    """Hash randomisation differs per process: a key that depended on it would never hit."""
    keys = {subprocess.run([sys.executable, "-c", KEY_SCRIPT], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout.strip() for seed in (1, 2)}
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_unpicklable_arguments_are_drawn_every_time(tmp_path):
    p = _Plots(PlotCache(tmp_path))
    html = p.fill(p(lambda f: tiny_png(f()), lambda: 5), 1)
    assert DRAWN == [5] and p.cache.stored == 0 and _images(html) == [tiny_png(5)]


def test_disabled_cache_writes_nothing(tmp_path):
    p = _Plots(PlotCache(tmp_path / "plots", enabled=False))
    p.fill(_page(p, 3), 1)
    assert not (tmp_path / "plots").exists()


def test_a_real_plot_draws_the_same_bytes_twice():
    """What the cache rests on: the same inputs give the same PNG."""
    from harness.report import plots

    a, b = plots._empty_plot("no pairs at this threshold"), plots._empty_plot("no pairs at this threshold")
    assert a == b and valid_png(a)


def test_unwritable_cache_still_draws(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = _Plots(PlotCache(blocker / "plots"))  # a file where the folder should be: every write fails
    html = p.fill(_page(p, 2), 1)
    assert _images(html) == [tiny_png(0), tiny_png(1)] and p.cache.stored == 0
