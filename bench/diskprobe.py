"""The disk's own floor for durable writes, measured beside a benchmark in the same run.

Every committed write waits for an `fdatasync` (SQLite's WAL with `synchronous=FULL`,
PostgreSQL's WAL flush at COMMIT). A virtual disk sometimes stalls such a sync for tens or
hundreds of milliseconds (seen here: 2-16 syncs over 20 ms in 10 s on an idle machine, up to
450 ms), and while it does, every request waiting on a commit waits too. `DiskProbe` syncs a
small file of its own on the given filesystem every `every` seconds (25 ms: seldom enough not to
load the disk much, often enough to catch any longer stall), in a thread, and records
when each sync began and how long it took (`time.monotonic()`, one clock for every process on
the machine), so that a benchmark can say which of its slow requests were in flight during a
stall of the disk.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

__all__ = ["DiskProbe", "Stall", "in_flight"]


@dataclass(frozen=True)
class Stall:
    began: float  # time.monotonic()
    ms: float

    @property
    def ended(self) -> float:
        return self.began + self.ms / 1000


@dataclass
class DiskProbe:
    """`with DiskProbe(folder) as probe: ...`, then `probe.syncs` and `probe.stalls(ms)`."""

    folder: Path
    every: float = 0.025
    syncs: list[Stall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-probe", daemon=True)

    def __enter__(self) -> DiskProbe:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        path = self.folder / f"disk-probe-{os.getpid()}.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            block = b"\0" * 4096
            n = 0
            while not self._stop.is_set():
                os.pwrite(fd, block, (n % 16) * len(block))
                began = time.monotonic()
                os.fdatasync(fd)
                self.syncs.append(Stall(began, (time.monotonic() - began) * 1000))
                n += 1
                self._stop.wait(self.every)
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)

    def stalls(self, over_ms: float) -> list[Stall]:
        """The syncs that took longer than `over_ms`."""
        return [s for s in self.syncs if s.ms > over_ms]

    def summary(self) -> str:
        """One line: how the disk's syncs went during the probe."""
        times = sorted(s.ms for s in self.syncs)
        if not times:
            return "no syncs measured"
        p50 = times[len(times) // 2]
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        return (
            f"{len(times)} syncs: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
            f"{len(self.stalls(20))} over 20 ms, {len(self.stalls(50))} over 50 ms, "
            f"longest {times[-1]:.0f} ms"
        )


def in_flight(began: float, seconds: float, stalls: list[Stall]) -> bool:
    """Whether a request that began at `began` (monotonic) and took `seconds` overlapped a stall."""
    ended = began + seconds
    return any(s.began < ended and began < s.ended for s in stalls)
