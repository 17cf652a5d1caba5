"""Progress that reaches the terminal even when the work runs inside a notebook kernel.

The notebook runner (``sr_lib.repro.runner``) executes notebooks with papermill, which captures
the kernel's stdout and stderr into the notebook. To show progress in the runner's terminal as
well, the runner names a file in ``$SR_PROGRESS_LOG`` and follows it (``Follower``); the kernel
inherits the variable. Here, for the code that runs inside:

- ``bar(...)``: a tqdm bar on stderr (so in the notebook) that is also written to that file;
- ``event(message)``: one line in that file (a training run started, finished, taken from the
  cache), which the runner prints with the series' elapsed time and ETA.

Without ``SR_PROGRESS_LOG`` the bar is a plain tqdm bar and events go nowhere. Nothing here
imports torch.
"""
from __future__ import annotations

import os
import sys
import threading
import time

ENV = "SR_PROGRESS_LOG"
EVENT = "\x1e"          # an event line in the log starts with the ASCII record separator


def log_path() -> str | None:
    return os.environ.get(ENV) or None


def _append(path: str, text: str) -> None:
    try:
        with open(path, "a", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError:          # progress must never stop the work
        pass


class _Tee:
    """A text stream writing to ``primary`` and appending to the file ``path``."""

    def __init__(self, primary, path: str):
        self.primary, self.path = primary, path
        self.encoding = getattr(primary, "encoding", "utf-8")

    def write(self, text: str) -> int:
        self.primary.write(text)
        _append(self.path, text)
        return len(text)

    def flush(self) -> None:
        self.primary.flush()


def stream():
    """stderr, teed into the progress log when ``$SR_PROGRESS_LOG`` is set."""
    path = log_path()
    return _Tee(sys.stderr, path) if path else sys.stderr


def bar(**kwargs):
    """``tqdm(**kwargs)`` writing to ``stream()``."""
    from tqdm import tqdm
    kwargs.setdefault("file", stream())
    return tqdm(**kwargs)


def event(message: str) -> None:
    """One progress line for the runner's terminal (nothing without ``$SR_PROGRESS_LOG``)."""
    path = log_path()
    if path:
        _append(path, EVENT + message.replace("\n", " ") + "\n")


class Follower:
    """Follow a progress log in a thread: bar text goes to ``out`` (refreshes with ``\\r`` only
    when ``out`` is a terminal; otherwise only finished bars), each event line to
    ``on_event(message)``, which returns the text to print. After ``quiet_s`` seconds without
    anything to print, ``on_quiet()`` (if given) says that the work goes on (evaluation, say)."""

    def __init__(self, path: str, on_event, out=None, interval: float = 0.5, on_quiet=None,
                 quiet_s: float = 120.0):
        self.path, self.on_event, self.interval = path, on_event, interval
        self.on_quiet, self.quiet_s, self._last = on_quiet, quiet_s, time.monotonic()
        self.out = out or sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self._pos, self._buf, self._bar_open = 0, "", False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.poll()
        if self._buf:
            self._emit_line(self._buf)
            self._buf = ""
        if self._bar_open:
            self.out.write("\n")
            self._bar_open = False
        self.out.flush()

    def _run(self):
        while not self._stop.wait(self.interval):
            self.poll()
            if self.on_quiet is not None and time.monotonic() - self._last >= self.quiet_s:
                text = self.on_quiet()
                if text:
                    self._emit_line(text)
                    self.out.flush()
                self._last = time.monotonic()

    def poll(self) -> None:
        try:
            with open(self.path, encoding="utf-8", errors="replace", newline="") as f:
                f.seek(self._pos)
                chunk = f.read()
                self._pos = f.tell()
        except OSError:
            return
        if not chunk:
            return
        self._last = time.monotonic()
        self._buf += chunk
        while True:
            cut = min((i for i in (self._buf.find("\r"), self._buf.find("\n")) if i >= 0), default=-1)
            if cut < 0:
                break
            piece, sep, self._buf = self._buf[:cut], self._buf[cut], self._buf[cut + 1:]
            if sep == "\n":
                self._emit_line(piece)
            elif piece.strip() and self.tty:        # a bar refresh
                self.out.write("\r" + piece)
                self._bar_open = True
        self.out.flush()

    def _emit_line(self, piece: str) -> None:
        if self._bar_open:
            self.out.write("\n")
            self._bar_open = False
        if piece.startswith(EVENT):
            text = self.on_event(piece[len(EVENT):])
            if text:
                self.out.write(text + "\n")
        elif piece.strip():
            self.out.write(piece + "\n")


def hms(seconds: float | None) -> str:
    """``3725`` → ``'1:02:05'``; ``None`` → ``'?'``."""
    if seconds is None:
        return "?"
    s = int(round(max(0.0, float(seconds))))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def human(seconds: float | None) -> str:
    """``3725`` → ``'1 h 02 min'``, ``95`` → ``'1.6 min'``, ``12`` → ``'12 s'``; ``None`` → ``'unknown'``."""
    if seconds is None:
        return "unknown"
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


__all__ = ["ENV", "EVENT", "log_path", "stream", "bar", "event", "Follower", "hms", "human"]
