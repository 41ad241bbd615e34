"""``facerisk compare``: synthetic run pairs whose answer is known (worse / better / indistinguishable / identical)."""

import json

import numpy as np
import pandas as pd
import pytest

from harness.compare_runs import RunData, compare, load_run, sentence

N = 40  # people: s00..s19 female, s20..s39 male; one enrolment and one probe image each


def _run(name, gen_dist=None, imp_dist=None, fta=(), calibration=()):
    """A run's tables: pairs.csv-like and acquisitions.csv-like frames plus a results dict."""
    subjects = [f"s{i:02d}" for i in range(N)]
    gender = {s: ("female" if i < N // 2 else "male") for i, s in enumerate(subjects)}
    acq = pd.DataFrame([{"image": f"{s}_{r}.jpg", "subject_id": s, "gender": gender[s], "role": r,
                         "ok": not (r == "probe" and s in fta), "cached": False}
                        for s in subjects for r in ("enrol", "probe")])
    rows = []
    for e in subjects:
        for p in subjects:
            if p in fta:
                continue  # a probe that failed to acquire has no pairs
            genuine = e == p
            d = (gen_dist or {}).get(e, 0.3) if genuine else (imp_dist or {}).get((e, p), 0.9)
            rows.append({"enrol_subject": e, "probe_subject": p, "genuine": genuine, "euclidean": d,
                         "cosine": 1 - d, "enrol_gender": gender[e], "probe_gender": gender[p]})
    results = {"run_name": name, "protocol": {"score": "euclidean", "slices": ["gender"], "impostors": "all",
                                              "group_side": "probe"},
               "thresholds": [{"id": "euclidean=0.6", "value": -0.6, "score": "euclidean"}],
               "provenance": {"models": {"embedder": {"name": name, "variant": {
                   "calibration": {"subjects": list(calibration)}} if calibration else None}}}}
    return RunData(name, pd.DataFrame(rows), acq, results)


def _row(table, group, metric):
    return table[(table["group"] == group) & (table["metric"] == metric)].iloc[0]


def test_identical_runs_are_identical_with_zero_width_intervals():
    a = _run("a")
    table, summary = compare(a, _run("b"), replicates=200)
    assert set(table["verdict"]) == {"identical"}
    assert (table["delta_lo"] == 0).all() and (table["delta_hi"] == 0).all()
    assert summary["n_subjects"] == N


def test_more_false_matches_for_one_group_is_worse_for_that_group_only():
    rng = np.random.default_rng(0)
    males = [f"s{i:02d}" for i in range(N // 2, N)]
    everyone = [f"s{i:02d}" for i in range(N)]
    imp = {(e, p): 0.5 for e in everyone for p in males if e != p and rng.random() < 0.3}
    table, _ = compare(_run("fp32"), _run("int8", imp_dist=imp), replicates=300)
    male = _row(table, "male", "fmr")
    assert male["verdict"] == "worse" and male["delta_lo"] > 0
    assert male["b_errors"] == len(imp) and male["a_errors"] == 0
    assert male["delta"] == pytest.approx(len(imp) / (N * N // 2 - N // 2))
    assert _row(table, "female", "fmr")["verdict"] == "identical"
    assert _row(table, "all", "fmr")["verdict"] == "worse"


def test_fewer_false_non_matches_is_better():
    half = {f"s{i:02d}": 0.7 for i in range(0, 10)}  # 10 of 20 women falsely rejected by A
    table, _ = compare(_run("a", gen_dist=half), _run("b"), replicates=300)
    f = _row(table, "female", "fnmr")
    assert f["verdict"] == "better" and f["delta_hi"] < 0 and f["delta"] == pytest.approx(-0.5)
    assert _row(table, "male", "fnmr")["verdict"] == "identical"


def test_one_person_changing_is_indistinguishable():
    table, _ = compare(_run("a"), _run("b", gen_dist={"s25": 0.7}), replicates=300)
    m = _row(table, "male", "fnmr")
    assert m["delta"] == pytest.approx(1 / 20)
    assert m["verdict"] == "indistinguishable" and m["delta_lo"] <= 0 <= m["delta_hi"]


def test_failures_to_acquire_are_compared_per_group():
    table, _ = compare(_run("a"), _run("b", fta={"s03"}), replicates=300)
    f = _row(table, "female", "fta")
    assert f["delta"] == pytest.approx(1 / 20) and f["b_errors"] == 1 and f["a_errors"] == 0
    assert f["verdict"] == "indistinguishable"
    assert _row(table, "male", "fta")["verdict"] == "identical"


def test_calibration_people_are_left_out_of_both_runs():
    table, summary = compare(_run("a"), _run("b", calibration=["s00", "s01", "s39"]), replicates=200)
    assert summary["left_out_subjects"] == ["s00", "s01", "s39"] and summary["n_subjects"] == N - 3
    assert _row(table, "female", "fnmr")["a_trials"] == 18 and _row(table, "male", "fnmr")["a_trials"] == 19


def test_sentences_say_the_verdict_the_interval_and_the_zero_error_bound():
    rng = np.random.default_rng(1)
    imp = {(f"s{i:02d}", f"s{j:02d}"): 0.5 for i in range(N) for j in range(20, N) if i != j and rng.random() < .3}
    table, _ = compare(_run("fp32"), _run("int8", imp_dist=imp), replicates=200)
    s = sentence(table, "male", "gender", "euclidean=0.6", "fp32", "int8")
    assert s.startswith("gender = male (20 people), int8 vs fp32 at euclidean=0.6: FMR worse (")
    assert "points [+" in s
    s2 = sentence(table, "female", "gender", "euclidean=0.6", "fp32", "int8")
    assert "FNMR identical (0.00%, no errors in either (95% upper bound 15.00%))" in s2


def _write(run, root):
    root.mkdir()
    run.pairs.to_csv(root / "pairs.csv", index=False)
    run.acquisitions.to_csv(root / "acquisitions.csv", index=False)
    (root / "results.json").write_text(json.dumps(run.results))
    return root


def test_cli_writes_json_csv_and_markdown(tmp_path, capsys):
    from harness.cli import main

    a = _write(_run("fp32"), tmp_path / "fp32")
    b = _write(_run("int8", gen_dist={"s25": 0.7}), tmp_path / "int8")
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out), "--replicates", "200"]) == 0
    doc = json.loads((out / "compare.json").read_text())
    assert doc["a_dir"] == str(a) and doc["a"] == "fp32" and doc["n_subjects"] == N and len(doc["rows"]) == len(pd.read_csv(out / "compare.csv"))
    md = (out / "compare.md").read_text()
    assert "## at euclidean=0.6" in md and "gender = male (20 people)" in md
    assert "everyone (40 people), int8 vs fp32" in capsys.readouterr().out
    assert load_run(a).name == "fp32"


def test_cli_errors_are_one_line(tmp_path, capsys):
    from harness.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["compare", str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "not a facerisk run directory" in err and err.count("\n") == 1


@pytest.mark.parametrize("n", ["-1", "99", "100001", "1000000000"])
def test_replicates_outside_the_range_are_refused_before_any_work(tmp_path, capsys, n):
    """Hostile re-test: --replicates 1000000000 ran unbounded (a hang); the check comes before the runs are read."""
    import time

    from harness.cli import main

    t0 = time.perf_counter()
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "nope"), "--replicates", n]) == 2
    err = capsys.readouterr().err
    assert f"--replicates {n}: must be from 100 (percentile intervals) to 100,000" in err and err.count("\n") == 1
    assert time.perf_counter() - t0 < 5


def test_out_over_a_users_folder_is_refused_and_left_untouched(tmp_path, capsys):
    """Hostile re-test: compare --out an existing non-facerisk folder wrote into it, exit 0."""
    from harness.cli import main

    a = _write(_run("fp32"), tmp_path / "fp32")
    b = _write(_run("int8"), tmp_path / "int8")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    assert main(["compare", str(a), str(b), "--out", str(mine), "--replicates", "100"]) == 2
    err = capsys.readouterr().err
    assert f"{mine} exists and is not a facerisk output folder; it is left untouched: choose another --out" in err
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    # an earlier compare output is replaced
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--out", str(out), "--replicates", "100"]) == 0
    assert main(["compare", str(a), str(b), "--out", str(out), "--replicates", "100"]) == 0


def test_excluding_everyone_says_so(tmp_path, capsys):
    from harness.cli import main

    a = _write(_run("fp32"), tmp_path / "fp32")
    b = _write(_run("int8"), tmp_path / "int8")
    people = sorted(set(_run("fp32").acquisitions["subject_id"]))
    assert main(["compare", str(a), str(b), "--replicates", "100", "--reports-dir", str(tmp_path),
                 "--exclude-subjects", *people]) == 2
    err = capsys.readouterr().err
    assert f"once the {len(people)} excluded or calibration people are left out" in err
    assert "exclude fewer subjects (--exclude-subjects)" in err and err.count("\n") == 1


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "results.json").write_text("[1, 2]"), "results.json: not a facerisk results file"),
    (lambda r: (r / "pairs.csv").write_text("x\n1\n"), "pairs.csv: missing column(s) genuine, enrol_subject"),
    (lambda r: (r / "acquisitions.csv").write_bytes(b""), "acquisitions.csv: empty (no header line)"),
])
def test_a_damaged_run_folder_is_one_line_naming_the_file(tmp_path, capsys, damage, message):
    from harness.cli import main

    a = _write(_run("fp32"), tmp_path / "fp32")
    b = _write(_run("int8"), tmp_path / "int8")
    damage(b)
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp"), "--replicates", "100"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "re-run" in err
