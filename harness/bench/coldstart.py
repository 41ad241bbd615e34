"""Cold-start child: import, load the backends, decode one image, make its first template, report, exit.

Run as ``python -m harness.bench.coldstart SPEC_JSON`` by :func:`harness.bench.scenarios.cold_start`;
prints one JSON line with the child's own split of the time (imports, model load, first frame).
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    t0 = time.perf_counter()
    spec = json.loads(argv[0])
    from harness.bench.stages import FramePipeline, load_backends  # the imports are part of cold start

    t1 = time.perf_counter()
    b = load_backends(spec["detector"], spec["embedder"], spec.get("detector_options"), spec.get("embedder_options"))
    t2 = time.perf_counter()
    times, out = FramePipeline(b).run(spec["image"])
    t3 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_frame_s": t3 - t2, "stages": times,
                      "face_found": out["faces"] > 0}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
