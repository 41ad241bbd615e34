"""facerisk: measure how face recognition fails, and for whom, on doorbell-style cameras.

The data flow is ``data -> degrade -> detect -> embed -> compare -> metrics -> report``;
:mod:`harness.pipeline` is the one module that connects the stages.
"""

__version__ = "0.1.0"
