"""The search's study on a real PostgreSQL server (tools/postgres.py starts one): machines sharing it, the same
trials as the study file gives, a dead worker's trial ended by its heartbeat, and each failure in one line."""
import datetime
import functools
import os
import signal
import time

import pytest

from tools import places, postgres
from conftest import run_program
from test_search import LONG_TRIALS, search_process, study_of, wait_for_running
from tools.search import cli, study as search_study


@pytest.fixture
def searches(tmp_path, monkeypatch):
    monkeypatch.setattr(search_study, "FOLDER", tmp_path / "lab-searches")
    monkeypatch.setattr(places, "RUNS", tmp_path / "runs")
    monkeypatch.delenv("SEARCH_STORAGE", raising=False)
    return tmp_path / "runs" / "searches"


@pytest.fixture
def password(monkeypatch):
    """The password as the README says to give it: in the environment, never on the command line."""
    monkeypatch.setenv("PGPASSWORD", postgres.PASSWORD)
    return postgres.PASSWORD


@functools.lru_cache
def storage_at(url):
    """One storage (one pool of connections) per server for the tests' own reading: a new one per look, every
    0.2 s, would use up the server's connections."""
    import optuna
    return optuna.storages.RDBStorage(url.replace("lab@", f"lab:{postgres.PASSWORD.replace(' ', '%20')}@"))


def server_study(server, name):
    import optuna
    return optuna.load_study(study_name=name, storage=storage_at(server.url()))


def outcome(trials):
    return sorted((tuple(sorted(t.params.items())), t.value, t.state.name) for t in trials
                  if not t.user_attrs.get("surplus"))


def test_two_machines_share_one_study_and_run_each_trial_once(postgres_server, password, searches, tiny_dir):
    """Two commands of one worker each, as two machines would run them; the first made the study a moment before."""
    storage = ("--storage", postgres_server.url())
    setup = search_study.configure(cli.parser().parse_args(["--study", "shared", *storage, *LONG_TRIALS]))
    search_study.open_study(setup, create=True)
    first, second = (search_process("shared", 4, tiny_dir, searches, extra=storage) for _ in range(2))
    for process in (first, second):
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        assert password not in out + err
    trials = [t for t in server_study(postgres_server, "shared").trials if not t.user_attrs.get("surplus")]
    assert len(trials) == 4 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.number for t in trials}) == 4
    assert len({t.user_attrs["worker"] for t in trials}) == 2


def test_enqueued_settings_end_the_same_on_the_server_and_in_the_file(postgres_server, password, searches, tiny_dir):
    """Fixed settings enqueued and fewer trials than the pruner's start: the storage is all that differs."""
    for storage in (postgres_server.url(), None):
        args = ["--study", "same", "--trials", "3", "--epochs", "3", "--workers", "1", "--range", "lr=0.001:0.5:log",
                "--data-dir", str(tiny_dir)] + (["--storage", storage] if storage else [])
        setup = search_study.configure(cli.parser().parse_args(args))
        study = search_study.open_study(setup, create=True)
        for lr in (0.003, 0.03, 0.3):
            study.enqueue_trial({"lr": lr})
        code, _, err = run_program("tools.search.cli", *args)
        assert code == 0, err
    on_server = outcome(server_study(postgres_server, "same").trials)
    assert on_server == outcome(study_of(searches, "same").trials)
    assert [params for params, _, _ in on_server] == [(("lr", 0.003),), (("lr", 0.03),), (("lr", 0.3),)]


def test_a_machine_that_dies_mid_trial_leaves_no_trial_running_past_its_heartbeat(postgres_server, password,
                                                                                   searches, tiny_dir):
    """The machine's command and worker killed mid-trial; another machine's command checks for stale trials as
    every command and worker does (optuna.storages.fail_stale_trials), here every 0.2 s: the trial is FAILED within
    its grace (3 beats) and a beat after the kill."""
    import optuna
    beat = 1
    dying = search_process("dies", 2, tiny_dir, searches, extra=("--storage", postgres_server.url(), "--heartbeat",
                                                                  str(beat)))
    running = wait_for_running(lambda: server_study(postgres_server, "dies")
                               if "dies" in studies(postgres_server) else None)
    os.killpg(dying.pid, signal.SIGKILL)  # the command and its worker, as a machine switched off
    dying.communicate()
    killed = datetime.datetime.now()
    setup = search_study.configure(cli.parser().parse_args(["--study", "dies", "--storage", postgres_server.url(),
                                                         "--heartbeat", str(beat), *LONG_TRIALS]))
    study = search_study.open_study(setup)
    while study.trials[running.number].state.name == "RUNNING":
        assert (datetime.datetime.now() - killed).total_seconds() < 10 * beat, "still running"
        optuna.storages.fail_stale_trials(study)
        time.sleep(0.2)
    noticed = (study.trials[running.number].datetime_complete - killed).total_seconds()
    assert study.trials[running.number].state.name == "FAIL"
    assert noticed <= 4 * beat + 1  # its last beat came at most one beat before the kill; checks every 0.2 s


def studies(server):
    import optuna
    return [s.study_name for s in optuna.get_all_study_summaries(storage_at(server.url()), include_best_trial=False)]


@pytest.mark.parametrize("case", ["wrong password", "unreachable host", "no such database"])
def test_what_goes_wrong_with_the_server_is_one_line_without_the_password(case, postgres_server, monkeypatch,
                                                                         searches):
    monkeypatch.setenv("PGPASSWORD", "wrong secret" if case == "wrong password" else postgres.PASSWORD)
    url = {"wrong password": postgres_server.url(), "unreachable host": postgres_server.url(port=postgres.free_port()),
           "no such database": postgres_server.url(database="nothere")}[case]
    code, out, err = run_program("tools.search.cli", "--storage", url, "--trials", "1")
    said = {"wrong password": "refused user 'lab': wrong or missing password",
            "unreachable host": "cannot reach a PostgreSQL server at 127.0.0.1:",
            "no such database": "has no database 'nothere'"}[case]
    assert code == 1 and err.count("\n") == 1 and said in err, err
    assert "secret" not in out + err and postgres.PASSWORD not in out + err
