import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import common
from tools import board
from tools.bench import bench, board as board_bench, parallel, step


@pytest.mark.parametrize("hidden", [(128, 64), (512, 256)])
def test_the_limit_counts_the_flops_torch_counts(hidden):
    """bench's FLOP formula against torch's own counter, on one training step and one evaluation pass."""
    model = common.make_model(common.Config(hidden=hidden))
    x, y = torch.rand(32, 784), torch.randint(0, 10, (32,))
    with FlopCounterMode(display=False) as step:
        F.cross_entropy(model(x), y).backward()
    with FlopCounterMode(display=False) as forward, torch.no_grad():
        model(x)
    counted = step.get_total_flops() * 60_000 / 32 + forward.get_total_flops() * 70_000 / 32
    assert bench.epoch_flops(hidden) == pytest.approx(counted, rel=1e-9)


def test_the_whole_lab_table_keeps_other_rows_and_reads_back_what_it_wrote(tmp_path):
    old = [dict(date="2026-11-30", experiments=8, seeds=3, workers=2, wall=3077, own=5978, limits=1128, rate=69),
           dict(date="2026-11-30", experiments=8, seeds=3, workers=1, wall=5600, own=5590, limits=1128, rate=69)]
    page = tmp_path / "PARALLEL.md"
    page.write_text("# x\n\n<!-- whole lab: -->\n" + "\n".join(parallel.lab_section(old)) + "\n<!-- end of whole lab -->\n")
    assert sorted(parallel.lab_rows(page), key=str) == sorted(old, key=str)
    assert "| **2.7x** |" in page.read_text() and "| **5.0x** |" in page.read_text()
    new = dict(old[0], date="2026-12-01", wall=2900)
    assert parallel.with_row(parallel.lab_rows(page), new) == [old[1], new]  # the same workers and seeds: replaced
    assert len(parallel.with_row(old, dict(new, seeds=1))) == 3


def test_the_step_benchmark_tells_a_variant_that_changes_the_numbers_from_one_that_does_not(tiny_dir):
    """tools/bench/step.py's 'same numbers' column: foreach SGD does the same arithmetic, momentum does not."""
    data = common.load_data(tiny_dir)
    *_, same = step.compare("base", dict(optimizer_options=dict(foreach=True)), data, pairs=2)
    *_, changed = step.compare("base", dict(optimizer_options=dict(momentum=0.9)), data, pairs=2)
    assert same is True and changed is False


def test_side_by_side_processes_are_each_timed_to_their_own_end():
    """parallel.timed notes each process's end as it comes: the one listed second, which ends first, is not
    given the end of the one listed before it."""
    def sleeper(seconds):
        return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    since = time.perf_counter()
    slow, quick = parallel.timed([sleeper(1.5), sleeper(0.2)], since)
    assert quick < 0.9 < slow


def test_the_step_benchmark_leaves_torchs_thread_count_as_it_was(tiny_dir):
    """compare sets the lab's one thread for its passes, and puts back the count its caller had."""
    data = common.load_data(tiny_dir)
    torch.set_num_threads(2)
    step.compare("base", dict(optimizer_options=dict(foreach=True)), data, pairs=1)
    assert torch.get_num_threads() == 2


def test_the_events_benchmark_times_a_training_and_its_events_apart(lab, tiny_dir):
    write = board.write
    measured = board_bench.one("04_batch1000", str(tiny_dir))
    assert measured["train"] > 0 and measured["write"] > 0
    assert board.write is write  # as it was: the next training on this worker writes its events untimed
