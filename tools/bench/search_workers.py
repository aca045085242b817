"""One worker or two on a study shared on a PostgreSQL server: the same 8 trials, their wall time side by side.

    python -m tools.bench.search_workers      (starts a PostgreSQL server of its own; run it with nothing else training)

The 8 settings are the committed study's first 8 trials', enqueued in a fresh study on the server and trained one
epoch each (below the pruner's warm-up, so none is stopped and both runs do the same work): first by one command
with one worker, then by one command with two, as two machines of one core each would. Each time is the
command's wall time, start-up included. Writes tools/searches/01_base/server_timing.json, which SEARCH.md shows.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from tools import postgres
from tools.search import study as search
from tools.search.cli import parser
from tools.files import write_together

TRIALS, EPOCHS = 8, 1


def main():
    if not postgres.installed():
        sys.exit(f"search_workers: error: PostgreSQL 15 is not installed ({postgres.BIN}); apt-get install postgresql")
    committed = search.configure(parser().parse_args([]))
    settings = [t.params for t in search.open_study(committed).trials[:TRIALS]]
    server = postgres.start()
    os.environ["PGPASSWORD"] = postgres.PASSWORD
    seconds = {}
    try:
        for workers in (1, 2):
            flags = ["--storage", server.url(), "--study", f"bench-{workers}", "--epochs", str(EPOCHS), "--trials",
                     str(TRIALS), "--workers", str(workers)]
            study = search.open_study(search.configure(parser().parse_args(flags)), create=True)
            for params in settings:
                study.enqueue_trial(params)
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "tools.search", *flags], check=True)
            seconds[workers] = round(time.monotonic() - started, 1)
            shutil.rmtree(search.FOLDER / f"bench-{workers}", ignore_errors=True)  # its report: not the lab's
            print(f"search_workers: {workers} worker{'s' * (workers > 1)}: {seconds[workers]:.0f} s", flush=True)
        import psycopg
        with psycopg.connect(host=server.host, port=server.port, user=server.user, password=postgres.PASSWORD,
                             dbname=server.database) as connection:
            version = connection.execute("SHOW server_version").fetchone()[0]
    finally:
        postgres.stop(server)
    timing = dict(trials=TRIALS, epochs=EPOCHS, train_size=50_000, server=version.split()[0],
                  command="python -m tools.bench.search_workers", seconds=seconds)
    path = committed.folder / "server_timing.json"
    write_together({path: (json.dumps(timing, indent=1) + "\n").encode()})
    print(f"search_workers: wrote {path}; python -m tools.search --report puts it in SEARCH.md")


if __name__ == "__main__":
    main()
