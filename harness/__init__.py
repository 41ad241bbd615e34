"""facerisk: measure how face recognition fails, and for whom, on doorbell-style cameras.

The data flow is ``data -> degrade -> detect -> embed -> compare -> metrics -> report``;
:mod:`harness.pipeline` is the one module that connects the stages.
"""

import os as _os

__version__ = "0.1.0"

# onnxruntime (1.2x+, Linux included) starts Microsoft's 1DS telemetry when it is imported: it writes
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} and $TMPDIR/.ses, outside every
# folder the user named (found by the hostile re-test's strace audit). Its own switch turns that off; set here,
# before any facerisk module can import onnxruntime, and inherited by worker processes. A user's explicit
# ORT_DISABLE_TELEMETRY=0 is kept.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
