"""A throwaway PostgreSQL 15 server for the tests and the search's benchmark, from Debian's package: a fresh
cluster in a temporary folder, on loopback, on a free port, with a password, run as an unprivileged user when
run as root (PostgreSQL refuses to run as root), stopped and removed afterwards."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "labtests"  # the unprivileged account the server runs as when started by root
PASSWORD = "correct horse battery"


@dataclass
class Server:
    folder: Path
    port: int
    user: str = "lab"
    database: str = "lab"
    host: str = "127.0.0.1"

    def url(self, database: str | None = None, port: int | None = None) -> str:
        """Its URL without the password, which goes by PGPASSWORD, as the README says."""
        return f"postgresql://{self.user}@{self.host}:{port or self.port}/{database or self.database}"


def installed() -> bool:
    return (BIN / "pg_ctl").is_file() and (BIN / "initdb").is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> Server:
    as_root = os.geteuid() == 0
    if as_root:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                           check=True, capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="lab-postgres-"))
    run_as = dict(user=SYSTEM_USER) if as_root else {}
    if as_root:
        shutil.chown(folder, SYSTEM_USER)
    (folder / "password").write_text(PASSWORD + "\n")
    if as_root:
        shutil.chown(folder / "password", SYSTEM_USER)
    server = Server(folder, free_port())
    subprocess.run([BIN / "initdb", "-D", folder / "data", "-U", server.user, f"--pwfile={folder / 'password'}",
                    "-A", "scram-sha-256", "--no-sync", "-E", "UTF8"], check=True, capture_output=True, **run_as)
    subprocess.run([BIN / "pg_ctl", "-D", folder / "data", "-l", folder / "log", "-w", "-t", "60", "start", "-o",
                    f"-p {server.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                    f"-c max_connections=200"], check=True, capture_output=True, **run_as)
    import psycopg
    with psycopg.connect(host=server.host, port=server.port, user=server.user, password=PASSWORD, dbname="postgres",
                         autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {server.database}")
    return server


def stop(server: Server) -> None:
    run_as = dict(user=SYSTEM_USER) if os.geteuid() == 0 else {}
    subprocess.run([BIN / "pg_ctl", "-D", server.folder / "data", "-m", "immediate", "-w", "stop"],
                   capture_output=True, **run_as)
    shutil.rmtree(server.folder, ignore_errors=True)
