"""The gated arm of the encoder LoRA sweep (issue 15, item 2): its verdict rules on hand-made
summaries (no torch, no encoder), and one offline trial beside the LoRA arm's.

The offline test needs ``lorank[encoder]`` and is skipped with the reason when it is missing;
the kill/resume/shard contract is in ``test_experiment_contract.py`` (slow).
"""

from __future__ import annotations

import math

import pytest

from numerics.verdicts import encoder_gated as VG

MISSING = None
try:
    from numerics.engine.encoder import missing_ingredients

    MISSING = missing_ingredients()
except ModuleNotFoundError as error:  # pragma: no cover - torch-free installs
    MISSING = str(error)
needs_encoder = pytest.mark.skipif(MISSING is not None,
                                   reason=f"needs lorank[encoder] (pretrained encoder and BBC corpus, "
                                          f"offline): {MISSING}")


def _iv(values):
    from numerics.estimation.estimate import mean_t_interval

    return mean_t_interval(values)


def _lam(maxes, live=None, train=1.0, lam=0.01, closes=True, pruned=None, adapted=None):
    live = maxes if live is None else live
    adapted = [12] * len(maxes) if adapted is None else adapted
    return {"lam": lam, "budget_closes": closes, "trials": len(maxes),
            "pruned_any": len(maxes) if pruned is None else pruned,
            "train_acc": {"mean": train}, "test_acc": _iv([0.9] * len(maxes)),
            "learned_max": _iv(maxes), "learned_max_counts": {},
            "learned_live_mean": _iv(live), "adapted": _iv(adapted), "adapted_min": min(adapted)}


def _task(classes, *lams):
    return {"task": "business/sports" if classes == 2 else "all", "classes": classes,
            "K": 1 if classes == 2 else classes, "band": [1, 1] if classes == 2 else [classes - 1, classes],
            "sizes": [{"per_class": 16, "N": 16 * classes, "lams": list(lams)}]}


def _summary(*tasks):
    return {"tasks": list(tasks), "seeds": {"trials": 5, "global_seed": 0},
            "model": {"training": "t"}, "provenance": {"model_sha256": "0" * 64}}


def _status(summary):
    return {v["claim"]: v["status"] for v in VG.claim_verdicts(summary)}


@pytest.mark.parametrize("classes, maxes, want", [
    (2, [1, 1, 1, 1, 1], "supported"),          # every seed keeps one component: the band [1, 1]
    (2, [3, 4, 3, 4, 3], "contradicted"),       # interval entirely above 1.5
    (2, [1, 1, 2, 1, 3], "open"),               # straddles the widened band's edge
    (5, [4, 5, 4, 4, 5], "supported"),          # inside [3.5, 5.5]
    (5, [1, 1, 1, 1, 1], "contradicted"),       # a 5-class task that keeps one component
])
def test_learned_rank_band_readings(classes, maxes, want):
    # Property: the max reading is the learnable-rank family's band rule on the per-seed largest
    # learned rank over the matrices.
    got = _status(_summary(_task(classes, _lam(maxes))))
    task = "business-sports" if classes == 2 else "all"
    assert got[f"rank.{task}.16.lam-0.01.max"] == want


@pytest.mark.parametrize("change, why", [
    (dict(closes=False), "cannot close a gate"),
    (dict(pruned=0), "did not engage"),
    (dict(train=0.5), "did not fit"),
])
def test_guards_leave_a_band_reading_open(change, why):
    # Property: a reading that would be supported becomes open, with the reason in its text,
    # when the budget cannot close a gate, no gate closed, or the model did not fit.
    s = _summary(_task(2, _lam([1] * 5, **change)))
    entry = next(v for v in VG.claim_verdicts(s) if v["claim"].endswith(".max"))
    assert entry["status"] == "open" and why in entry["text"]
    assert _status(_summary(_task(2, _lam([1] * 5))))["rank.business-sports.16.lam-0.01.max"] \
        == "supported"


def test_live_mean_is_open_when_a_seed_adapts_nothing():
    # Property: a seed whose every matrix was pruned to 0 leaves the live-mean reading open.
    s = _summary(_task(2, _lam([1, 1, 1, 0, 1], live=[1, 1, 1, 1], adapted=[2, 3, 1, 0, 2])))
    entry = next(v for v in VG.claim_verdicts(s) if v["claim"].endswith(".live"))
    assert entry["status"] == "open" and "kept no component" in entry["text"]


@pytest.mark.parametrize("multi, binary, want", [
    ([4, 5, 4, 5, 4], [1, 1, 1, 1, 1], "supported"),
    ([1, 1, 1, 1, 1], [1, 1, 1, 1, 1], "contradicted"),   # equal: multi-class is not higher
    ([2, 1, 3, 1, 2], [1, 1, 2, 1, 1], "open"),
])
def test_ordering_reading(multi, binary, want):
    got = _status(_summary(_task(5, _lam(multi)), _task(2, _lam(binary))))
    assert got["ordering.16.lam-0.01"] == want


def test_ordering_is_open_when_a_task_is_guarded_and_method_check_names_it():
    got = VG.claim_verdicts(_summary(_task(5, _lam([4] * 5, train=0.4)), _task(2, _lam([1] * 5))))
    by = {v["claim"]: v for v in got}
    assert by["ordering.16.lam-0.01"]["status"] == "open"
    assert by["gated-trains"]["status"] == "contradicted" and "all 16 per class" in by["gated-trains"]["text"]


# ---------------------------------------------------------------------------------- offline


@needs_encoder
def test_gated_trial_starts_from_the_encoder_and_counts_live_gates(monkeypatch):
    # Properties: (1) the gated arm starts from the encoder's own function (B = 0) on the trial's
    # documents and head (numerics.engine.encoder_lora.trial_data, shared with the LoRA arm), so
    # its starting loss is that of the unadapted encoder, to the last bit; (2) a lambda whose
    # threshold exceeds every gate closes all of them in one step, and pruning leaves the
    # unadapted encoder (learned rank 0 everywhere, the loss back at its start); (3) without
    # pruning pressure every matrix keeps its initial rank, the float64 update's numerical rank
    # never exceeds the live count, and the last pruning changes nothing.
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from numerics.engine import encoder as E
    from numerics.engine.encoder_gated import GatedConfig, gated_trials
    from numerics.engine.encoder_lora import loss, trial_data

    dirs = E.resolve_dirs(None, None)
    cfg = GatedConfig(tasks=(("business", "sports"),), per_class=(2,), steps=1, train_batch=2,
                      max_len=8, test_per_class=1, trials=1, rank=2, lams=(1e-9, 1e3), gate_lr=1.0,
                      prune_every=1, patience=1)
    data = trial_data(cfg, dirs, ("business", "sports"), 2, 0)
    with torch.no_grad():
        base = float(loss(E.logits(data.base, data.a, data.ids, data.mask), data.labels, data.K))
    keep, = gated_trials(cfg, dirs, (1, 2, 1, 1), [0])
    shut, = gated_trials(cfg, dirs, (1, 2, 2, 1), [0])
    assert keep["loss_start"] == shut["loss_start"] == base
    assert keep["learned_ranks"] == [2] * 12 and keep["adapted"] == 12
    assert all(d <= r for d, r in zip(keep["delta_ranks"], keep["learned_ranks"]))
    assert keep["prune_change"] == 0.0 and math.isfinite(keep["loss_end"])
    assert shut["learned_ranks"] == [0] * 12 and shut["gates"]["live"] == 0
    assert shut["loss_end"] == pytest.approx(base, rel=1e-6)
    assert shut["sr_mean"] is None and shut["rank_max"] == 0


@pytest.mark.slow
@needs_encoder
def test_gated_and_lora_arms_train_on_the_same_documents(monkeypatch):
    # Property: with the same seed, sizes and trial index, the two arms start from the same loss
    # (the same documents, head and encoder), bit for bit.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from numerics.engine import encoder as E
    from numerics.engine.encoder_gated import GatedConfig, gated_trials
    from numerics.engine.encoder_lora import LoRAConfig, lora_trials

    dirs = E.resolve_dirs(None, None)
    common = dict(tasks=(("entertainment", "tech"),), per_class=(3,), steps=2, train_batch=2,
                  max_len=16, test_per_class=2, trials=2)
    lora = lora_trials(LoRAConfig(ranks=(2,), **common), dirs, (1, 3, 3, 1), [0, 1])
    gated = gated_trials(GatedConfig(rank=2, lams=(0.1,), prune_every=1, patience=1, **common), dirs,
                         (1, 3, 1, 1), [0, 1])
    assert [x["loss_start"] for x in lora] == [x["loss_start"] for x in gated]
    assert lora[0]["loss_start"] != lora[1]["loss_start"]  # two trials, two draws of documents
