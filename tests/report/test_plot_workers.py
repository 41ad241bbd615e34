"""The report's plots are drawn in worker processes and swapped into the page exactly once each."""

import base64
import os

import pytest

from harness.report import _Plots


def _fake_png(i):
    return f"png{i}:{os.getpid()}".encode()


def _page(plot, n):
    # A group label that looks like a placeholder (without the page's nonce) must stay as it is.
    return " ".join(plot(_fake_png, i) for i in range(n)) + " facerisk-plot-0000-1-end"


def _decoded(html):
    return [base64.b64decode(tok.removeprefix("data:image/png;base64,")).decode()
            for tok in html.split() if tok.startswith("data:")]


@pytest.mark.parametrize("workers", [1, 2])
def test_every_placeholder_filled_in_order(workers):
    plot = _Plots()
    html = plot.fill(_page(plot, 12), workers)
    got = _decoded(html)
    assert [g.split(":")[0] for g in got] == [f"png{i}" for i in range(12)]
    assert html.endswith(" facerisk-plot-0000-1-end")
    assert "facerisk-plot-" + plot.nonce not in html


def test_two_workers_draw_outside_this_process():
    plot = _Plots()
    pids = {g.split(":")[1] for g in _decoded(plot.fill(_page(plot, 6), 2))}
    assert str(os.getpid()) not in pids


def test_nonce_differs_per_page():
    assert _Plots().nonce != _Plots().nonce
