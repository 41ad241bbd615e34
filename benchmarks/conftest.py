from tests.conftest import data_home, face_recognition, frl  # noqa: F401  (shared fixtures)
