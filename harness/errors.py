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


def not_utf8(path) -> str:
    """The message for a text file that is not UTF-8, with the iconv line that converts what it likely is."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        head = b""
    enc = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin1"
    return (f"{path}: not UTF-8 text ({'UTF-16' if enc == 'utf-16' else 'perhaps Latin-1'}); re-save it as UTF-8 "
            f"(e.g. iconv -f {enc} -t utf-8)")
