"""Device benchmarks: per-stage latency, throughput, cold start and memory, with the device's fingerprint.

``facerisk bench`` runs here or on remote devices over SSH (:mod:`harness.bench.remote`) and writes
bench.json (:mod:`harness.bench.result`, schema ``bench.schema.json``); ``facerisk report`` merges
several devices' files (:mod:`harness.bench.report`). Backends come only from the public registries.
"""
