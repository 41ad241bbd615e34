"""``facerisk report DEVICE_FILES...``: merge several devices' bench.json into one table and one HTML page."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="merge several devices' bench.json into one comparison table and HTML page",
        description="Read bench.json files (or folders holding one), and write one table (latency percentiles, "
                    "throughput, cold start, memory, per stage) beside each model variant's accuracy, latency "
                    "distribution plots, and each figure as a % of the device's compute peak where known.",
    )
    p.add_argument("files", nargs="+", metavar="DEVICE_FILE", help="bench.json files or folders containing one")
    p.add_argument("--out", metavar="DIR", help="output folder (default reports/bench-report)")


def main(args) -> int:
    from harness.bench import report

    out = report.write(args.files, Path(args.out or "reports/bench-report"))
    print(out["table_text"])
    print(f"report: {out['html']}")
    print(f"table: {out['csv']}")
    return 0
