"""A real, throwaway PostgreSQL cluster for the tests that keep the platform in PostgreSQL (never a mock).

``postgresql_cluster`` (one per session) runs ``initdb`` and ``pg_ctl`` from Debian's ``postgresql`` package on
a free port of 127.0.0.1, with trust authentication and ``fsync=off`` (a test cluster has nothing to keep), and
removes it afterwards; ``postgresql_url`` gives each test a fresh empty database of it. Both are registered
for every test in tests/conftest.py.

Without PostgreSQL the tests that use them are skipped with the reason on a developer's machine, and fail
in CI (the ``CI`` environment variable is set): .ci/run installs the package, so a missing server there is
a broken CI, not a machine that lacks an optional tool.

``initdb`` refuses to run as root, and CI runs as root: then the cluster belongs to the ``postgres`` user
that Debian's package creates (``runuser -u postgres``), in a folder under /tmp made for it (pytest's own
temporary folders under /tmp/pytest-of-root are closed to other users), and its superuser is ``postgres``.
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DEBIAN_LIB = Path("/usr/lib/postgresql")
INSTALL_HINT = "PostgreSQL is not installed: .ci/run installs Debian's postgresql"
RUN_AS_WHEN_ROOT = "postgres"
START_TRIES = 3  # a free port found here may be taken by someone else before the server binds it
START_TIMEOUT_S = 30
SOCKET_PATH_MAX = 90  # a unix socket path has ~107 bytes on Linux; ".s.PGSQL.<port>" and some slack come on top


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: the newest of Debian's /usr/lib/postgresql/<major>/bin (not on PATH),
    else ``pg_config --bindir``, else PATH; None when there is no PostgreSQL server here."""
    if DEBIAN_LIB.is_dir():
        majors = sorted((p for p in DEBIAN_LIB.iterdir() if p.name.isdigit() and _has_server(p / "bin")),
                        key=lambda p: int(p.name))
        if majors:
            return majors[-1] / "bin"
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            bindir = Path(found.stdout.strip())
            if _has_server(bindir):
                return bindir
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def why_no_postgresql() -> str | None:
    """Why no cluster can be started on this machine, or None when one can."""
    if find_bindir() is None:
        return f"{INSTALL_HINT} (no initdb/pg_ctl/postgres in {DEBIAN_LIB}/<major>/bin, pg_config --bindir or PATH)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(RUN_AS_WHEN_ROOT)
        except KeyError:
            return (f"{INSTALL_HINT}: running as root, where initdb refuses to run, and there is no "
                    f"'{RUN_AS_WHEN_ROOT}' user to run it as (Debian's postgresql package creates it)")
        if shutil.which("runuser") is None:
            return "running as root, and there is no runuser (util-linux) to run initdb as the postgres user"
    return None


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail in CI (``CI`` is set), where .ci/run installs what is missing."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresStartError(RuntimeError):
    """initdb or pg_ctl failed; the text says which command, and what it and the server's log said."""


@dataclass
class PostgresCluster:
    """One running cluster: its binaries, port and superuser, and fresh databases on demand."""

    bindir: Path
    folder: Path
    port: int
    user: str
    run_as: str | None = None  # the user that owns the cluster and runs its tools (root: postgres)
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def datadir(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """The URL the platform takes (``--database``): TCP on 127.0.0.1, the superuser, trust auth."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (CREATE DATABASE cannot run in a transaction: autocommit); its URL."""
        import psycopg  # imported here, so that the rest of the suite does not need psycopg to collect
        from psycopg import sql

        name = name or f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def tool(self, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run initdb or pg_ctl as the cluster's owner; the result, whatever its exit code."""
        command = [str(self.bindir / name), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        return subprocess.run(command, cwd=self.folder, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def initdb(self) -> None:
        done = self.tool("initdb", "-D", str(self.datadir), "-U", self.user, "--auth=trust", "--encoding=UTF8",
                         "--locale=C", "--no-sync", timeout=120)
        if done.returncode != 0:
            raise PostgresStartError(f"initdb into {self.datadir} failed (exit {done.returncode}, as "
                                     f"{self.run_as or getpass.getuser()}):\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        """pg_ctl start on ``self.port``; PostgresStartError with pg_ctl's output and the server log."""
        options = (f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200")
        done = self.tool("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-o", options,
                         "-w", "-t", str(START_TIMEOUT_S), "start", timeout=START_TIMEOUT_S + 30)
        if done.returncode != 0:
            raise PostgresStartError(f"pg_ctl start on 127.0.0.1:{self.port} failed (exit {done.returncode}):\n"
                                     f"{done.stdout}{done.stderr}\n--- {self.log} ---\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"

    def stop(self) -> None:
        """Stop at once (``-m immediate``: nothing in it is kept anyway)."""
        self.tool("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop", timeout=60)


def start_cluster(folder: Path) -> PostgresCluster:
    """initdb and start a cluster in ``folder`` (empty, writable by the cluster's owner); retried on another
    port when the one chosen was taken in between."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresStartError(INSTALL_HINT)
    root = os.geteuid() == 0
    run_as = RUN_AS_WHEN_ROOT if root else None
    cluster = PostgresCluster(bindir, folder, free_port(), RUN_AS_WHEN_ROOT if root else getpass.getuser(), run_as)
    cluster.initdb()
    for attempt in range(1, START_TRIES + 1):
        try:
            cluster.start()
            return cluster
        except PostgresStartError:
            if attempt == START_TRIES or "already in use" not in cluster.log_text():
                cluster.stop()  # in case it came up after pg_ctl gave up waiting
                raise
            cluster.port = free_port()
            time.sleep(0.2)
    raise AssertionError("unreachable")


def cluster_folder(tmp_path_factory: pytest.TempPathFactory | None = None, prefix: str = "mockplatform-pg-") -> Path:
    """A cluster's (empty) folder, for ``running_cluster``.

    As root the cluster belongs to the postgres user, who cannot enter pytest's folders (mode 700 under
    /tmp/pytest-of-root): a folder of its own under /tmp then (also without pytest, for the benchmark). A
    pytest folder too long for a unix socket path is also replaced by a short one."""
    if os.geteuid() != 0 and tmp_path_factory is not None:
        folder = tmp_path_factory.mktemp("postgresql")
        if len(str(folder)) <= SOCKET_PATH_MAX:
            return folder
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(RUN_AS_WHEN_ROOT)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


@contextlib.contextmanager
def running_cluster(folder: Path) -> Iterator[PostgresCluster]:
    """A cluster started in ``folder``; stopped, and the folder removed, at the end (PostgresStartError: it
    could not be started)."""
    try:
        cluster = start_cluster(folder)
        try:
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgresql_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """One running PostgreSQL cluster for the session, stopped and removed at its end."""
    why = why_no_postgresql()
    if why:
        skip_or_fail(why)
    try:
        with running_cluster(cluster_folder(tmp_path_factory)) as cluster:
            yield cluster
    except PostgresStartError as exc:
        pytest.fail(f"the test PostgreSQL cluster could not be started: {exc}", pytrace=False)


@pytest.fixture
def postgresql_url(postgresql_cluster: PostgresCluster) -> str:
    """A fresh empty database for this test: its URL (``postgresql://USER@127.0.0.1:PORT/NAME``)."""
    return postgresql_cluster.create_database()
