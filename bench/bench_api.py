"""HTTP API benchmark: donations/s and latency through gunicorn, beside GET /healthz.

For each engine (SQLite in a temporary folder, then PostgreSQL database `bench`, dropped and
created afresh) it initialises the books, opens a fund, registers a donor, creates an officer
token, starts gunicorn serving `api.wsgi:app` with `HUIQUAN_DATABASE_URL` set, and drives it from
other processes over loopback: parallel keep-alive connections, each sending one request after
another (a closed loop). It measures GET /healthz first (the framework's floor on the same run:
routing, hooks, logging and one `SELECT 1`) and then POST /api/v1/donations (each with its own
`Idempotency-Key`), and prints requests/s, p50 and p99 latency, the ratio of the two, and the
targets of issue 3: >= 500 donations/s, p99 < 50 ms, a donation <= 3x a health check. For each
phase it also prints the CPU time per request spent by the server's processes, by PostgreSQL's
(processes alive at the end of the phase) and by the load generator (its start-up included),
read from /proc, and the ratio of the two phases by server CPU: a figure the machine's other
load disturbs less than the request rate. During the donation phase a disk probe
(`bench/diskprobe.py`) syncs a small file on the database's device every 25 ms; the phase then
prints the stalls it saw, how many of the requests that took 50 ms or more were in flight
during one, and the p99 of the requests that were not (the disk's share of the tail). Beside
them it prints the ledger alone (one process posting donations through the services, no HTTP,
one transaction each): the serial pace of one writer. The served API can exceed it, because
concurrent requests in a worker share a transaction (group commit,
`ledger/storage/group_commit.py`).

The load generator writes raw HTTP/1.1 on sockets (no client library), so most of the machine
is left to the server; it still shares the CPUs with gunicorn and the database, which the
figures include.

Options, from the command line (`python -m bench.bench_api --help`) or the environment when run
through `python -m bench api`:

  HUIQUAN_BENCH_API_ENGINES   sqlite,postgresql
  HUIQUAN_BENCH_API_WORKERS   gunicorn worker processes (2, as `huiquan serve`)
  HUIQUAN_BENCH_API_THREADS   threads per worker (gthread; 16, as `huiquan serve`)
  HUIQUAN_BENCH_API_CLIENTS   parallel keep-alive connections (16)
  HUIQUAN_BENCH_API_PROCS     load-generator processes (2)
  HUIQUAN_BENCH_API_SECONDS   measured seconds per phase (10)
  HUIQUAN_BENCH_API_PG        admin URL of PostgreSQL
                              (postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
  HUIQUAN_BENCH_API_LOG       keep the JSON request log (1) or send it to /dev/null (0); 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.diskprobe import DiskProbe, in_flight
from ledger import services
from ledger.money import Money
from ledger.storage.db import init_books, make_engine
from ledger.storage.unit_of_work import UnitOfWork
from usecases.tokens import create_token

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATE, TARGET_P99_MS, TARGET_RATIO = 500.0, 50.0, 3.0
STALL_MS = 20.0  # a sync slower than this is a stall of the disk (its p99 here: about 0.2 ms)


@dataclass(frozen=True)
class Options:
    engines: tuple[str, ...]
    workers: int
    threads: int
    clients: int
    procs: int
    seconds: float
    pg_admin: str
    keep_log: bool


@dataclass(frozen=True)
class Figures:
    name: str
    done: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float] | None = None  # CPU seconds spent in the phase: server, database, client
    disk: tuple[str, ...] = ()  # what the disk probe saw during the phase, when it ran

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def cpu_ms(self, part: str) -> float:
        """CPU milliseconds of `part` per completed request."""
        return 1000 * (self.cpu or {}).get(part, 0.0) / self.done if self.done else 0.0

    def line(self) -> str:
        text = (
            f"  {self.name:<20} {self.rate:8.0f} req/s   p50 {self.p50_ms:6.2f} ms   "
            f"p99 {self.p99_ms:6.2f} ms   ({self.done} ok, {self.errors} errors)"
        )
        if self.cpu:
            text += (
                f"\n  {'':<20} CPU per request: server {self.cpu_ms('server'):.2f} ms, "
                f"database {self.cpu_ms('database'):.2f} ms, client {self.cpu_ms('client'):.2f} ms"
            )
        for note in self.disk:
            text += f"\n  {'':<20} {note}"
        return text


# -- CPU accounting ------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (0 if it is gone or unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _cpu_snapshot(server_pid: int | None) -> dict[str, Any]:
    """CPU seconds so far of the server's processes, PostgreSQL's and this process's children."""
    server = 0.0
    if server_pid is not None:
        server = _cpu_of(server_pid) + sum(_cpu_of(c) for c in _children(server_pid))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": server,
        "database": {p: _cpu_of(p) for p in _postgres_pids()},  # per process: some come and go
        "client": usage.ru_utime + usage.ru_stime,  # the load generators, once reaped
    }


def _cpu_spent(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """CPU seconds of each part between two snapshots (database: processes alive at the end)."""
    database = sum(cpu - before["database"].get(pid, 0.0) for pid, cpu in after["database"].items())
    return {
        "server": after["server"] - before["server"],
        "database": database,
        "client": after["client"] - before["client"],
    }


# -- the books -----------------------------------------------------------------------------------
@contextmanager
def _database(engine_name: str, options: Options, folder: Path) -> Iterator[str]:
    """A fresh database URL for `engine_name`, removed afterwards (PostgreSQL: `bench`)."""
    if engine_name == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    admin_url = make_url(options.pg_admin)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "bench"'))
    try:
        yield admin_url.set(database="bench").render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "bench" WITH (FORCE)'))
        admin.dispose()


def _probe_folder(engine_name: str, url: str, folder: Path) -> tuple[Path, str]:
    """Where the disk probe syncs: the SQLite file's folder; for PostgreSQL the bench folder,
    said to be on the database's device when its data directory can be seen to be."""
    if engine_name == "sqlite":
        return folder, "the database's folder"
    try:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                data = Path(str(conn.execute(text("SHOW data_directory")).scalar_one()))
        finally:
            engine.dispose()
        same = data.stat().st_dev == folder.stat().st_dev
    except Exception:  # not a superuser, another machine: the device cannot be told
        return folder, "the bench folder; PostgreSQL's device unknown"
    if same:
        return folder, "the bench folder, on PostgreSQL's device"
    return folder, "the bench folder, NOT on PostgreSQL's device"


def _ledger_alone(url: str, donor: str, seconds: float) -> Figures:
    """The ledger's own pace: one process posting donations in a loop, no HTTP at all.

    One transaction per donation: the pace of a single writer, without group commit.
    """
    engine = make_engine(url)
    latencies: list[float] = []
    today = dt.datetime.now(dt.UTC).date()
    try:
        until = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < until:
            n += 1
            began = time.perf_counter()
            with UnitOfWork(engine) as uow:
                services.record_donation(
                    uow,
                    donor_id=donor,
                    fund="BENCH",
                    amount=Money(10000, "CNY"),
                    received_on=today,
                    method="online",
                    key=f"alone-{n}",
                )
                uow.commit()
            latencies.append(time.perf_counter() - began)
    finally:
        engine.dispose()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Figures(
        "ledger alone", len(latencies), 0, seconds, statistics.median(latencies) * 1000, p99 * 1000
    )


def _open_books(url: str) -> tuple[str, str]:
    """Initialise the books; (officer token, donor id)."""
    engine = make_engine(url)
    try:
        init_books(engine)
        token = create_token(engine, role="officer", name="bench-officer")
        with UnitOfWork(engine) as uow:
            services.open_fund(uow, code="BENCH", name="Bench fund", restricted=False)
            donor = services.register_donor(uow, name="Bench donor").id
            uow.commit()
        return token, donor
    finally:
        engine.dispose()


# -- the server ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _gunicorn(url: str, options: Options, folder: Path) -> Iterator[tuple[int, int]]:
    """gunicorn serving the books at `url`: (port, the master's pid)."""
    port = _free_port()
    env = {
        **os.environ,
        "HUIQUAN_DATABASE_URL": url,
        "HUIQUAN_HOME": str(folder),
        "HUIQUAN_DB_POOL_SIZE": str(options.threads),  # as `huiquan serve` sets it
    }
    log_path = folder / "gunicorn.log" if options.keep_log else Path(os.devnull)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(options.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(options.threads),
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
        # The default control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl):
        # another gunicorn on the box would take it over, or stop this one through it.
        "--no-control-socket",
        # Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads connections
        # over the workers (as `huiquan serve` does); on one shared socket the last worker to
        # wait tends to take them all.
        "--reuse-port",
        "--bind",
        f"127.0.0.1:{port}",
        "api.wsgi:app",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            _wait_healthy(port, process)
            yield port, process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with Connection("127.0.0.1", port) as conn:
                if conn.request(b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n")[0] == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not become healthy in 60 s")


# -- the load generator --------------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer = b""

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request; (status, body). Reconnects if the server closed the connection."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(raw)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            self.buffer = rest
            self._fill()
            rest = self.buffer
        body, self.buffer = rest[:length], rest[length:]
        if close:
            self.close()
        return status, body

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk


def _health_request(_: str) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


def _donation_request(token: str, donor: str, key: str) -> bytes:
    body = json.dumps(
        {
            "donor_id": donor,
            "fund": "BENCH",
            "amount": "100.00",
            "currency": "CNY",
            "received_on": dt.datetime.now(dt.UTC).date().isoformat(),
            "method": "online",
        }
    ).encode()
    head = (
        "POST /api/v1/donations HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _drive(job: dict[str, Any]) -> tuple[list[tuple[float, float]], int, int]:
    """One load-generator process: `threads` connections in a closed loop until `until`.

    Returns (when each request began by `time.monotonic()`, its latency in s), ok, errors.
    """
    latencies: list[tuple[float, float]] = []
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def loop(thread: int) -> None:
        mine: list[tuple[float, float]] = []
        ok = errors = 0
        n = 0
        with Connection("127.0.0.1", job["port"]) as conn:
            while time.time() < job["start"]:
                time.sleep(0.001)
            while True:
                n += 1
                if job["kind"] == "health":
                    raw = _health_request("")
                else:
                    key = f"{job['tag']}-{job['proc']}-{thread}-{n}"
                    raw = _donation_request(job["token"], job["donor"], key)
                began = time.monotonic()  # one clock for every process on the machine
                if time.time() >= job["until"]:
                    break
                try:
                    status, _ = conn.request(raw)
                except OSError as exc:
                    conn.close()
                    errors += 1
                    if errors <= 3:
                        print(f"client error: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                mine.append((began, time.monotonic() - began))
                if 200 <= status < 300:
                    ok += 1
                else:
                    errors += 1
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["errors"] += errors

    threads = [threading.Thread(target=loop, args=(t,)) for t in range(job["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, counts["ok"], counts["errors"]


def _phase(
    name: str,
    kind: str,
    port: int,
    options: Options,
    token: str = "",
    donor: str = "",
    server_pid: int | None = None,
    disk: tuple[Path, str] | None = None,
) -> Figures:
    """One closed-loop phase; with `disk` (a folder, what it is), a `DiskProbe` runs beside it."""
    before = _cpu_snapshot(server_pid)
    start = time.time() + 1.0
    until = start + options.seconds
    per_proc = [options.clients // options.procs] * options.procs
    for i in range(options.clients % options.procs):
        per_proc[i] += 1
    jobs = [
        {
            "kind": kind,
            "port": port,
            "threads": n,
            "start": start,
            "until": until,
            "token": token,
            "donor": donor,
            "proc": p,
            "tag": f"{kind}{int(start)}",
        }
        for p, n in enumerate(per_proc)
        if n
    ]
    with ExitStack() as stack:
        probe = stack.enter_context(DiskProbe(disk[0])) if disk else None
        with mp.get_context("spawn").Pool(len(jobs)) as pool:
            results = pool.map(_drive, jobs)
            pool.close()
            pool.join()  # reaped, so their CPU shows in RUSAGE_CHILDREN
    cpu = _cpu_spent(before, _cpu_snapshot(server_pid))
    timed = [x for r in results for x in r[0]]
    latencies = sorted(latency for _, latency in timed)
    ok = sum(r[1] for r in results)
    errors = sum(r[2] for r in results)
    if not latencies:
        return Figures(name, 0, errors, options.seconds, 0.0, 0.0, cpu)
    notes = _disk_notes(probe, disk[1], timed) if probe and disk else ()
    return Figures(
        name,
        ok,
        errors,
        options.seconds,
        statistics.median(latencies) * 1000,
        _p99(latencies) * 1000,
        cpu,
        notes,
    )


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def _disk_notes(probe: DiskProbe, where: str, timed: list[tuple[float, float]]) -> tuple[str, ...]:
    """What the disk did during the phase, and how many slow requests it accounts for.

    A request is counted as caught in a stall when it was in flight while one of the probe's
    syncs took over `STALL_MS`: the probe, not the server, saw the disk stop then.
    """
    stalls = probe.stalls(STALL_MS)
    slow = [(began, latency) for began, latency in timed if latency * 1000 >= TARGET_P99_MS]
    caught = sum(in_flight(began, latency, stalls) for began, latency in slow)
    rest = sorted(latency for began, latency in timed if not in_flight(began, latency, stalls))
    return (
        f"disk ({where}), fdatasync every 25 ms: {probe.summary()}",
        f"requests taking {TARGET_P99_MS:.0f} ms or more: {len(slow)} of {len(timed)}, "
        f"{caught} of them in flight while the disk stalled (a sync over {STALL_MS:.0f} ms); "
        f"p99 of the {len(rest)} requests not in flight during a stall: {_p99(rest) * 1000:.2f} ms",
    )


# -- the run -------------------------------------------------------------------------------------
def run_engine(engine_name: str, options: Options) -> tuple[Figures, Figures, Figures]:
    folder = Path(tempfile.mkdtemp(prefix=f"huiquan-bench-api-{engine_name}-"))
    try:
        with _database(engine_name, options, folder) as url:
            token, donor = _open_books(url)
            alone = _ledger_alone(url, donor, min(options.seconds, 5.0))
            with _gunicorn(url, options, folder) as (port, pid):
                warm = Options(**{**options.__dict__, "seconds": 1.0})
                _phase("warm-up", "donation", port, warm, token, donor)
                health = _phase("GET /healthz", "health", port, options, server_pid=pid)
                gifts = _phase(
                    "POST /donations",
                    "donation",
                    port,
                    options,
                    token,
                    donor,
                    server_pid=pid,
                    disk=_probe_folder(engine_name, url, folder),
                )
        return alone, health, gifts
    finally:
        if options.keep_log and (folder / "gunicorn.log").exists():
            kept = Path(tempfile.gettempdir()) / f"huiquan-bench-api-{engine_name}.log"
            shutil.copyfile(folder / "gunicorn.log", kept)
        shutil.rmtree(folder, ignore_errors=True)


def report(engine_name: str, alone: Figures, health: Figures, gifts: Figures) -> None:
    cost = health.rate / gifts.rate if gifts.rate else float("inf")
    latency = gifts.p50_ms / health.p50_ms if health.p50_ms else float("inf")
    print(f"{engine_name}:")
    print(health.line())
    print(gifts.line())
    print(alone.line() + "  <- one process, no HTTP, one transaction each")
    print(f"  a donation costs {cost:.1f}x a health check by throughput, {latency:.1f}x by p50")
    if health.cpu and gifts.cpu and health.cpu_ms("server"):
        server = gifts.cpu_ms("server") / health.cpu_ms("server")
        both = (gifts.cpu_ms("server") + gifts.cpu_ms("database")) / (
            health.cpu_ms("server") + health.cpu_ms("database")
        )
        print(f"  by CPU per request: {server:.1f}x in the server, {both:.1f}x with the database's")
    verdicts = [
        f"donations/s {'OK' if gifts.rate >= TARGET_RATE else 'MISSED'} (>= {TARGET_RATE:.0f})",
        f"p99 {'OK' if gifts.p99_ms < TARGET_P99_MS else 'MISSED'} (< {TARGET_P99_MS:.0f} ms)",
        f"ratio {'OK' if cost <= TARGET_RATIO else 'MISSED'} (<= {TARGET_RATIO:.0f}x)",
    ]
    print("  targets: " + "; ".join(verdicts), flush=True)


def _options(argv: list[str] | None) -> Options:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m bench.bench_api", description=__doc__)
    parser.add_argument("--engines", default=env("HUIQUAN_BENCH_API_ENGINES", "sqlite,postgresql"))
    parser.add_argument("--workers", type=int, default=int(env("HUIQUAN_BENCH_API_WORKERS", 2)))
    parser.add_argument("--threads", type=int, default=int(env("HUIQUAN_BENCH_API_THREADS", 16)))
    parser.add_argument("--clients", type=int, default=int(env("HUIQUAN_BENCH_API_CLIENTS", 16)))
    parser.add_argument("--procs", type=int, default=int(env("HUIQUAN_BENCH_API_PROCS", 2)))
    parser.add_argument(
        "--seconds", type=float, default=float(env("HUIQUAN_BENCH_API_SECONDS", 10))
    )
    parser.add_argument(
        "--pg",
        default=env(
            "HUIQUAN_BENCH_API_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--log", type=int, choices=(0, 1), default=int(env("HUIQUAN_BENCH_API_LOG", 1))
    )
    args = parser.parse_args(argv)
    return Options(
        engines=tuple(e.strip() for e in args.engines.split(",") if e.strip()),
        workers=args.workers,
        threads=args.threads,
        clients=args.clients,
        procs=max(1, args.procs),
        seconds=args.seconds,
        pg_admin=args.pg,
        keep_log=bool(args.log),
    )


def machine_pace() -> float:
    """Microseconds one CPU takes for `sum(range(10000))` (best of 5): the machine's pace.

    Machines of one kind differ, and one machine slows and speeds up as its host is shared
    (160 to 247 µs within one session on 2026-11-29); rates are comparable only at a like pace.
    """
    return min(timeit.repeat("sum(range(10000))", number=1000, repeat=5)) * 1000


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark for each engine and print the figures."""
    options = _options(argv if argv is not None else [])
    print(
        f"gunicorn gthread: {options.workers} workers x {options.threads} threads; "
        f"{options.clients} keep-alive connections from {options.procs} processes; "
        f"{options.seconds:.0f} s per phase; {os.cpu_count()} CPUs; "
        f"machine pace {machine_pace():.0f} µs (sum(range(10000)), lower is faster)",
        flush=True,
    )
    for engine_name in options.engines:
        before = os.getloadavg()[0]
        alone, health, gifts = run_engine(engine_name, options)
        report(engine_name, alone, health, gifts)
        print(f"  load average (1 min) before / after: {before:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
