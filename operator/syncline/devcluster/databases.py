"""Real PostgreSQL and MariaDB servers for development and tests.

Each server lives entirely inside ``base_dir`` (data, sockets, logs), listens on a free
loopback port and is stopped cleanly, so tests exercise the real wire protocols and
SQL dialects instead of a mock. PostgreSQL refuses to run as root; when we are root the
server runs as an unprivileged system user and ``base_dir`` is handed over to it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
import pymysql
from psycopg import sql

from syncline.devcluster.pki import CertPair, database_server_pair

LOOPBACK = "127.0.0.1"
SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class DatabaseAccess:
    """How a client reaches one database: what a Connection endpoint + Secret would hold."""

    host: str
    port: int
    database: str
    user: str
    password: str
    dsn: str

    @property
    def credentials(self) -> dict[str, str]:
        """The Secret keys postgresql/mysql connections expect."""
        return {"username": self.user, "password": self.password}


def _check_names(*names: str) -> None:
    """Database and user names are spliced into DDL; allow only plain identifiers."""
    for name in names:
        if not SAFE_NAME.match(name):
            raise ValueError(f"not a plain lower-case identifier: {name!r}")


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"database server exited early; see {log}:\n{_tail(log)}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"database server did not listen on port {port}; see {log}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _Server:
    """Shared lifecycle: context manager, port, base dir.

    ``port`` pins the port (e.g. the quickstart's documented one); by default a free
    loopback port is chosen at start, so parallel test sessions never collide.
    """

    host = LOOPBACK

    def __init__(self, base_dir: Path, port: int | None = None, *, tls: bool = True) -> None:
        self.base_dir = Path(base_dir)
        self._fixed_port = port
        self.tls = tls
        """Offer TLS (a self-signed certificate), as a production server would."""
        self.port = 0
        self.admin_dsn = ""

    def _tls_pair(self) -> CertPair:
        return database_server_pair(self._tls_dir)

    @property
    def _tls_dir(self) -> Path:
        return self.base_dir / "tls"

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def create_database(self, name: str, user: str, password: str) -> None:
        raise NotImplementedError

    def access(self, name: str, user: str, password: str) -> DatabaseAccess:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class PostgresServer(_Server):
    """A throw-away PostgreSQL 15 cluster (fsync off: speed over durability, tests only)."""

    ADMIN_USER = "postgres"

    def __init__(self, base_dir: Path, port: int | None = None, *, tls: bool = True) -> None:
        super().__init__(base_dir, port, tls=tls)
        self._admin_password = os.urandom(12).hex()
        self._run_as = UNPRIVILEGED_USER if os.geteuid() == 0 else None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self._run_as, "--"] if self._run_as else []
        return [*prefix, *args]

    def start(self) -> None:
        """initdb (once) and start the server; blocks until it accepts connections."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.base_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self.port = self._fixed_port or free_port()
        options = (
            f"-p {self.port} -k {self.base_dir} -c listen_addresses={LOOPBACK} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=100"
        )
        if self.tls:
            pair = self._tls_pair()
            for path in (pair.cert.parent, pair.cert, pair.key):
                self._hand_over(path)
            options += f" -c ssl=on -c ssl_cert_file={pair.cert} -c ssl_key_file={pair.key}"
        subprocess.run(
            self._cmd(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(int(START_TIMEOUT_SECONDS)),
                "start",
            ),
            check=True,
            capture_output=True,
        )
        self.admin_dsn = (
            f"postgresql://{self.ADMIN_USER}:{self._admin_password}@{LOOPBACK}:{self.port}/postgres"
        )

    def _hand_over(self, path: Path) -> None:
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        pwfile = self.base_dir / "pwfile"
        pwfile.write_text(self._admin_password + "\n")
        self._hand_over(pwfile)
        try:
            subprocess.run(
                self._cmd(
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.ADMIN_USER,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ),
                check=True,
                capture_output=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def stop(self) -> None:
        """Fast shutdown (disconnects clients) and removal of the cluster's files."""
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._cmd(
                    str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
                ),
                check=False,
                capture_output=True,
            )
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self._tls_dir, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)

    def create_database(self, name: str, user: str, password: str) -> None:
        """A database owned by a new login role ``user`` (password-authenticated over TCP)."""
        _check_names(name, user)
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(user)
                )
            )

    def drop_database(self, name: str, user: str) -> None:
        """Remove a database made by ``create_database`` and its role."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))

    def access(self, name: str, user: str, password: str) -> DatabaseAccess:
        """Client coordinates of a database created here."""
        dsn = f"postgresql://{user}:{password}@{LOOPBACK}:{self.port}/{name}"
        return DatabaseAccess(LOOPBACK, self.port, name, user, password, dsn)


class MariaDBServer(_Server):
    """A throw-away MariaDB server with an admin account reachable over loopback TCP."""

    ADMIN_USER = "syncline_admin"

    def __init__(self, base_dir: Path, port: int | None = None, *, tls: bool = True) -> None:
        super().__init__(base_dir, port, tls=tls)
        self._admin_password = os.urandom(12).hex()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "mariadb-data"

    @property
    def socket_path(self) -> Path:
        return self.base_dir / "mariadb.sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "mariadb.log"

    def start(self) -> None:
        """mariadb-install-db (once), start mariadbd and create the admin account."""
        if not shutil.which("mariadbd"):
            raise RuntimeError("mariadbd is not installed (Debian package mariadb-server)")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if not (self.data_dir / "mysql").exists():
            subprocess.run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.data_dir}",
                    "--user=root"
                    if os.geteuid() == 0
                    else "--user=" + pwd.getpwuid(os.geteuid()).pw_name,
                    "--auth-root-authentication-method=socket",
                    "--skip-test-db",
                ],
                check=True,
                capture_output=True,
            )
        self.port = self._fixed_port or free_port()
        args = [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.data_dir}",
            f"--socket={self.socket_path}",
            f"--port={self.port}",
            f"--bind-address={LOOPBACK}",
            f"--pid-file={self.base_dir / 'mariadb.pid'}",
            f"--log-error={self.log_file}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=64M",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_bin",
        ]
        if os.geteuid() == 0:
            args.append("--user=root")
        if self.tls:
            pair = self._tls_pair()
            args += [f"--ssl-cert={pair.cert}", f"--ssl-key={pair.key}"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self._proc, self.log_file)
        self._create_admin()
        self.admin_dsn = f"mysql://{self.ADMIN_USER}:{self._admin_password}@{LOOPBACK}:{self.port}/"

    def _create_admin(self) -> None:
        conn = pymysql.connect(unix_socket=str(self.socket_path), user="root")
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"CREATE USER '{self.ADMIN_USER}'@'{LOOPBACK}' IDENTIFIED BY %s",
                    (self._admin_password,),
                )
                cur.execute(
                    f"GRANT ALL ON *.* TO '{self.ADMIN_USER}'@'{LOOPBACK}' WITH GRANT OPTION"
                )
        finally:
            conn.close()

    def admin_connect(self) -> pymysql.connections.Connection[pymysql.cursors.Cursor]:
        """A connection with every privilege (over TCP, like clients)."""
        return pymysql.connect(
            host=LOOPBACK,
            port=self.port,
            user=self.ADMIN_USER,
            password=self._admin_password,
            autocommit=True,
        )

    def stop(self) -> None:
        """SIGTERM (mariadbd's clean shutdown), wait, then remove its files."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self._tls_dir, ignore_errors=True)
        for leftover in ("mariadb.log", "mariadb.pid", "mariadb.sock"):
            (self.base_dir / leftover).unlink(missing_ok=True)

    def create_database(self, name: str, user: str, password: str) -> None:
        """A database and a user ``user`` (any loopback host) with all privileges on it."""
        _check_names(name, user)
        conn = self.admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}`")
                cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO '{user}'@'%'")
        finally:
            conn.close()

    def drop_database(self, name: str, user: str) -> None:
        """Remove a database made by ``create_database`` and its user."""
        _check_names(name, user)
        conn = self.admin_connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        finally:
            conn.close()

    def access(self, name: str, user: str, password: str) -> DatabaseAccess:
        """Client coordinates of a database created here."""
        dsn = f"mysql://{user}:{password}@{LOOPBACK}:{self.port}/{name}"
        return DatabaseAccess(LOOPBACK, self.port, name, user, password, dsn)
