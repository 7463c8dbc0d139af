"""Tests of sweeps spread over processes (``lorank cstar --distributed`` under torchrun, gloo).

Each property is stated in a comment, then asserted. The launches use ``torchrun --standalone``
with 2 or 3 CPU processes and the gloo backend, at sizes that run in a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lorank.cli import main
from numerics.experiments.distributed import DistributedContext, shard_record_path, shard_records
from numerics.experiments.protocol import family_of_spec
from numerics.experiments.runner import load
from numerics.experiments.records import read_record
from proofs.validation import InvalidArgument

REPO = Path(__file__).resolve().parent.parent
ARGS = ["--sizes", "4x4,5x5", "--ranks", "1", "--kn", "6,8,11", "--trials", "7", "--restarts", "2",
        "--batch-size", "2", "--seed", "11", "--no-plot", "--no-progress"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.pop("RANK", None), env.pop("WORLD_SIZE", None), env.pop("LOCAL_RANK", None)
    return env


def _torchrun(nproc: int, *args, check=True):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           *args]
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"torchrun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def load_outcomes(paths):
    """The (merged) outcomes of one or several records, read with the config of the first
    record's header (the runner's :func:`~numerics.experiments.runner.load`)."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    spec = read_record(paths[0]).spec
    family = family_of_spec(spec)
    return load(family, family.from_spec(spec), paths)


def _trials(outcomes) -> dict:
    """(cell, trial) -> outcome, for comparing runs trial by trial."""
    return {(tuple(cell), o["trial"]): o for cell, trials in outcomes.items() for o in trials}


def _estimates(summary: dict) -> dict:
    return {name: est["sizes"] for name, est in summary["estimands"].items()}


@pytest.fixture(scope="session")  # the 2-rank launch's test runs last (a background job)
def single_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    assert main(["cstar", *ARGS, "--out", str(out)]) == 0
    return out


def test_context_reads_torchrun_environment():
    # torchrun's variables give the rank, the world size and, for CUDA, one GPU per local rank.
    ctx = DistributedContext.from_environment("cuda", {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (ctx.rank, ctx.world_size, ctx.device, ctx.backend) == (3, 4, "cuda:1", "nccl")
    assert DistributedContext.from_environment("cpu", {}).world_size == 1
    with pytest.raises(InvalidArgument, match="WORLD_SIZE"):
        DistributedContext.from_environment("cpu", {"RANK": "0", "WORLD_SIZE": "two"})
    with pytest.raises(InvalidArgument, match="plain 'cuda'"):
        DistributedContext.from_environment("cuda:1", {"RANK": "0", "WORLD_SIZE": "2"})


def test_one_process_distributed_equals_plain_run(single_run, tmp_path):
    # Without torchrun, --distributed is one process of world size 1 and gives the same outcomes
    # and estimates as the plain command.
    out = tmp_path / "d1"
    assert main(["cstar", *ARGS, "--distributed", "--out", str(out)]) == 0
    assert [p.name for p in shard_records(out)] == ["record.rank0-of-1.jsonl"]
    assert _trials(load_outcomes(shard_records(out))) == _trials(load_outcomes(single_run / "record.jsonl"))
    a = json.loads((out / "summary.json").read_text())
    b = json.loads((single_run / "summary.json").read_text())
    assert _estimates(a) == _estimates(b)


def gloo_launch(nproc: int, folder: Path) -> Path:
    """``lorank cstar ARGS --distributed`` under torchrun with ``nproc`` gloo processes into
    ``folder/d<nproc>``; that folder."""
    out = folder / f"d{nproc}"
    _torchrun(nproc, "-m", "lorank", "cstar", *ARGS, "--distributed", "--out", str(out))
    return out


# Three ranks (7 trials over 3 shards) behind slow: each launch is mostly its processes'
# imports of torch (4 processes on the 2-core machine: about 8 s); 2 ranks check the same.
@pytest.mark.parametrize("nproc", [pytest.param(2, marks=pytest.mark.background("gloo-2")),
                                   pytest.param(3, marks=pytest.mark.slow)])
def test_torchrun_gloo_merge_equals_single_process(single_run, nproc, background, request):
    # Under torchrun with N gloo processes each rank writes a disjoint share (index % N == rank)
    # and rank 0's merged summary equals the single-process one with the same seed. (The
    # 2-rank launch is a background job: it runs while the other tests do.)
    out = background.result(request.module, f"gloo-{nproc}", lambda folder: gloo_launch(nproc, folder))
    paths = shard_records(out)
    assert len(paths) == nproc
    for rank, path in enumerate(paths):
        shares = {o["trial"] % nproc for trials in load_outcomes(path).values() for o in trials}
        assert shares == {rank}
        assert read_record(path).sessions[0]["shard"] == [rank, nproc]
    assert _trials(load_outcomes(paths)) == _trials(load_outcomes(single_run / "record.jsonl"))
    a = json.loads((out / "summary.json").read_text())
    b = json.loads((single_run / "summary.json").read_text())
    assert _estimates(a) == _estimates(b)
    assert a["trials_found"] == b["trials_found"] == a["trials_expected"]
    # the launch's report: N ranks whose trials add up to all trials
    report = a["distributed"]
    assert report["world_size"] == nproc and len(report["per_rank"]) == nproc
    assert sum(r["trials"] for r in report["per_rank"]) == a["trials_found"]


#: The killed-rank test's sweep: 2 cells of 8 trials, batches of 2.
WORKER_CONFIG = dict(sizes=((4, 4),), ranks=(1,), rho=None, kn=(6, 9), trials=8, restarts=2,
                     batch_size=2, seed=5)

WORKER = textwrap.dedent(f"""
    import os, sys
    from numerics.experiments.distributed import DistributedContext
    from numerics.experiments.protocol import family_named
    from numerics.experiments.runner import run_distributed

    out, fail_after = sys.argv[1], int(sys.argv[2])
    family = family_named("cstar-lm")
    config = family.config(**{WORKER_CONFIG!r})
    ctx = DistributedContext.from_environment("cpu")
    ctx.init()
    inner = family.run_batch
    calls = []

    def run_batch(config, cell, idx):
        # rank 1 dies (no clean shutdown) when it starts its batch number fail_after + 1
        if ctx.rank == 1 and fail_after >= 0 and len(calls) == fail_after:
            os._exit(17)
        calls.append(1)
        return inner(config, cell, idx)

    family.run_batch = run_batch
    run_distributed(family, config, out, ctx,
                    resume=os.path.exists(os.path.join(out, "record.rank1-of-2.jsonl")),
                    progress=False)
    ctx.close()
""")


def killed_rank_launches(folder: Path) -> dict:
    """Two torchrun launches of WORKER with 2 ranks into ``folder/broken``: rank 1 killed after
    two finished batches, then a resumed launch; what the records hold after each."""
    worker = folder / "worker.py"
    worker.write_text(WORKER)
    broken = folder / "broken"
    proc = _torchrun(2, str(worker), str(broken), "2", check=False)
    kept = load_outcomes(shard_record_path(broken, 1, 2))
    _torchrun(2, str(worker), str(broken), "-1")
    return {"returncode": proc.returncode, "kept": kept,
            "resumed": load_outcomes(shard_record_path(broken, 1, 2)),
            "merged": load_outcomes(shard_records(broken))}


#: The launches run while the other tests do (``conftest.Background``).
BACKGROUND_JOBS = {"gloo-2": lambda folder: gloo_launch(2, folder),
                   "killed-rank": killed_rank_launches}


@pytest.mark.background("killed-rank")
def test_killed_rank_resumes_without_losing_trials(background, request, tmp_path):
    # Rank 1 is killed after two finished batches; the launch fails. Its record keeps those
    # batches; launching again resumes every rank, and the merged outcomes equal an
    # uninterrupted run trial by trial (run here in one process: a launch's merge equals the
    # single-process run, test_torchrun_gloo_merge_equals_single_process).
    from numerics.experiments.protocol import family_named
    from numerics.experiments.runner import run

    launches = background.result(request.module, "killed-rank")
    assert launches["returncode"] != 0
    kept = launches["kept"]
    assert kept.n_trials() == 4  # two batches of two trials, finished before the kill
    assert _trials(kept).items() <= _trials(launches["resumed"]).items()
    family = family_named("cstar-lm")
    clean = run(family, family.config(**WORKER_CONFIG), tmp_path / "clean.jsonl", progress=False)
    assert clean.n_trials() == 16
    assert _trials(launches["merged"]) == _trials(clean)


def test_refuses_mixed_world_sizes_and_fresh_run_over_records(tmp_path):
    # A folder with per-rank records of another world size is refused (one-line error, exit 2),
    # as is a fresh (non --resume) run over existing per-rank records.
    out = tmp_path / "w"
    assert main(["cstar", *ARGS, "--distributed", "--out", str(out)]) == 0
    assert main(["cstar", *ARGS, "--distributed", "--out", str(out)]) == 2
    (out / "record.rank0-of-2.jsonl").write_text((out / "record.rank0-of-1.jsonl").read_text())
    assert main(["cstar", *ARGS, "--distributed", "--resume", "--out", str(out)]) == 2
    with pytest.raises(InvalidArgument, match="several world sizes"):
        shard_records(out)


def test_summarise_reads_per_rank_records(single_run, tmp_path):
    # --summarise DIR --out NEW re-derives the summary from per-rank records as from a single
    # record, into NEW; DIR (records and rank 0's summary) is left byte-identical.
    out = tmp_path / "s"
    assert main(["cstar", *ARGS, "--distributed", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    new = tmp_path / "s-summary"
    assert main(["cstar", "--summarise", str(out), "--out", str(new), "--no-plot"]) == 0
    a = json.loads((new / "summary.json").read_text())
    assert _estimates(a) == _estimates(json.loads((single_run / "summary.json").read_text()))
    assert a["derived_from"]["records"] == [f"../{out.name}/record.rank0-of-1.jsonl"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
