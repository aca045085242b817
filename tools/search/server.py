"""The search's study on a database server that every machine reaches: `--storage postgresql://USER@HOST/DB`.

The password is never on the command line: libpq takes it from $PGPASSWORD or from ~/.pgpass (or $PGPASSFILE),
or the whole URL, password and all, from $SEARCH_STORAGE. It is never printed: every URL shown has it masked.
Each worker's trial sends a heartbeat every HEARTBEAT seconds; a trial whose worker died (its machine, its
process) is ended FAILED by any command still running within GRACE seconds of its last beat, plus one beat.
"""
from __future__ import annotations

import random
import time

from tools.files import UserError


def without_password(url: str) -> str:
    """The URL as it may be shown: its password, if any, masked."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001: a URL SQLAlchemy cannot read is shown by its scheme only
        return url.split("://", 1)[0] + "://..."


def storage(url: str, heartbeat: int, grace: int):
    """Optuna's RDB storage on `url`, its heartbeat on, or one line that says what is wrong and what to do."""
    import optuna
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        parts = make_url(url)
    except ArgumentError:
        raise UserError(f"--storage {without_password(url)} is not a database URL; write "
                        f"postgresql://USER@HOST:PORT/DATABASE") from None
    if parts.drivername not in ("postgresql", "postgresql+psycopg"):
        raise UserError(f"--storage {without_password(url)}: the lab shares studies on PostgreSQL; write "
                        f"postgresql://USER@HOST:PORT/DATABASE (or leave --storage out for the study's file)")
    try:
        import psycopg  # noqa: F401 (only to say so now, rather than deep in SQLAlchemy)
    except ImportError:
        raise UserError("the PostgreSQL driver is missing; pip install 'psycopg[binary]' (it is in "
                        "requirements.txt)") from None
    where, shown = f"{parts.host or 'localhost'}:{parts.port or 5432}", without_password(url)
    # psycopg (3) by name: SQLAlchemy 2.0 would take plain postgresql:// for psycopg2, which is not installed
    url = parts.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    for attempt in range(10):
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=heartbeat, grace_period=grace,
                engine_kwargs={"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True})
        except Exception as e:  # noqa: BLE001: SQLAlchemy wraps what libpq says; we say it again, without secrets
            said = str(getattr(e, "orig", None) or e) or type(e).__name__
        if ("duplicate key" not in said and "already exists" not in said) or attempt == 9:
            break
        time.sleep(0.5 + random.random())  # another machine is making Optuna's tables this very second
    if "password authentication failed" in said or "no password supplied" in said:
        raise UserError(f"the server at {where} refused user {parts.username!r}: wrong or missing password; set "
                        f"PGPASSWORD or a line in ~/.pgpass (never the command line)")
    if f'database "{parts.database}" does not exist' in said:
        raise UserError(f"the server at {where} has no database {parts.database!r}; create it there "
                        f"(createdb -O {parts.username} {parts.database}), or name another")
    if any(words in said for words in ("could not connect", "Connection refused", "could not translate",
                                       "timeout expired", "Name or service not known", "No route to host")):
        raise UserError(f"cannot reach a PostgreSQL server at {where}; is it running, listening on that address "
                        f"(listen_addresses, pg_hba.conf), and is the port open?")
    first = said.strip().splitlines()[0]
    raise UserError(f"the study on {shown} cannot be opened: {first.replace(parts.password or chr(0), '***')}")
