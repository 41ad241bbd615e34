"""User-facing errors: one clear line naming the problem and the fix."""


class FaceriskError(Exception):
    """An error caused by the user's input or environment, not by a bug.

    The CLI prints it as one line and exits non-zero, without a traceback.
    """


class ImageError(FaceriskError):
    """An image file cannot be decoded into a face-matching input."""

    def __init__(self, path, reason: str, fix: str = ""):
        self.path = str(path)
        self.reason = reason
        msg = f"{path}: {reason}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)


class DatasetError(FaceriskError):
    """A dataset folder or its metadata.csv is missing or inconsistent."""


class ConfigError(FaceriskError):
    """A configuration value or file is invalid."""
