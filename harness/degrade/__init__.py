"""Degrade stage: what a doorbell camera records of a person (geometry, sensor, codecs, presets, clips)."""
