"""``facerisk compare`` arguments. Kept apart from :mod:`harness.compare_runs` so that building the CLI parser
imports no numerical library (every ``facerisk`` start would pay for it)."""

from __future__ import annotations


#: Percentile intervals need at least 100 replicates; the bound is config.MAX_BOOTSTRAP's (beyond it a compare
#: would run for hours: 10**9 replicates never finished).
MIN_REPLICATES, MAX_REPLICATES = 100, 100_000


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="two runs side by side: per-group change in FMR/FNMR/FTA at A's thresholds",
                       description="Compare run B against run A (e.g. an int8 model against its fp32 original) on "
                                   "the same data: per group, the change in FMR, FNMR and FTA at A's thresholds, with "
                                   "paired subject-bootstrap intervals (the same people resampled for both runs), "
                                   "plus embedding speed and model size. Writes compare.json, compare.csv and "
                                   "compare.md.")
    p.add_argument("run_a", help="run directory (or name under --reports-dir): the reference")
    p.add_argument("run_b", help="run directory (or name): the candidate")
    p.add_argument("--out", metavar="DIR", help="output folder (default <reports-dir>/compare_<A>_vs_<B>)")
    p.add_argument("--reports-dir", default="reports", metavar="DIR")
    p.add_argument("--replicates", type=int, default=1000,
                   help=f"bootstrap replicates, {MIN_REPLICATES} to {MAX_REPLICATES:,} (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exclude-subjects", metavar="ID", nargs="*", default=[],
                   help="people to leave out of both runs (calibration people are left out automatically)")


def main(args) -> int:
    from harness.compare_runs import main as run
    from harness.errors import FaceriskError

    if not MIN_REPLICATES <= args.replicates <= MAX_REPLICATES:
        raise FaceriskError(f"--replicates {args.replicates}: must be from {MIN_REPLICATES} (percentile intervals) "
                            f"to {MAX_REPLICATES:,}")
    if not 0 <= args.seed < 2**32:
        raise FaceriskError(f"--seed {args.seed}: must be a whole number from 0 to 4294967295")

    return run(args)
