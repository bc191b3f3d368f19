"""What the bench scripts share: where the release examples are, and the measurement lock."""

import fcntl
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")


def example(name):
    """The release build of examples/<name>."""
    return os.path.join(target_dir(), "release", "examples", name)


class Lock:
    """flock(2) on a path, or nothing: keeps measurements from overlapping other heavy jobs."""

    def __init__(self, path):
        self.path = path
        self.file = None

    def __enter__(self):
        if self.path:
            self.file = open(self.path, "a")
            fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.file:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
