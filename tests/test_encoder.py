"""Real-encoder evidence (issue 15): the verdict rules, the NTK features, and one offline step.

The rules of :mod:`numerics.verdicts.encoder_lora` and :mod:`numerics.verdicts.encoder_ntk` are
tested on hand-made summaries (no torch, no encoder). The tests that load the pretrained encoder
and the BBC corpus need ``lorank[encoder]`` and are skipped with the reason when it is missing
(CI installs ``.[test,kernels]`` only); the kill/resume/shard contract of both families is in
``test_experiment_contract.py`` (slow).
"""

from __future__ import annotations

import math

import pytest

from lorank.cli import main
from numerics.verdicts import encoder_lora as VL
from numerics.verdicts import encoder_ntk as VN

MISSING = None
try:
    from numerics.engine.encoder import missing_ingredients

    MISSING = missing_ingredients()
except ModuleNotFoundError as error:  # pragma: no cover - torch-free installs
    MISSING = str(error)
needs_encoder = pytest.mark.skipif(MISSING is not None,
                                   reason=f"needs lorank[encoder] (pretrained encoder and BBC corpus, "
                                          f"offline): {MISSING}")


# ---------------------------------------------------------------------------------- verdicts


def _rank(r, accs, train=1.0):
    from numerics.estimation.estimate import mean_t_interval

    return {"r": r, "label": str(r) if r else "full", "trials": len(accs),
            "test_acc": mean_t_interval(accs), "by_trial": {str(i): a for i, a in enumerate(accs)},
            "train_acc": {"mean": train}}


def _summary(classes, ranks):
    return {"tasks": [{"task": "business/sports" if classes == 2 else "all", "classes": classes,
                       "K": 1 if classes == 2 else classes,
                       "sizes": [{"per_class": 16, "N": 16 * classes,
                                  "ranks": [_rank(r, a) for r, a in ranks.items()]}]}],
            "seeds": {"trials": 5, "global_seed": 0}, "model": {"training": "t"},
            "provenance": {"model_sha256": "0" * 64}}


def _status(summary, suffix):
    return {v["claim"].rsplit(".", 1)[-1]: v["status"] for v in VL.claim_verdicts(summary)
            if v["claim"].endswith(suffix) and v["kind"] == "paper claim"}


def test_undertrained_sweeps_are_not_judged():
    # Property: when no LoRA rank fits its training set, every reading is open and the method
    # check says the budget did not train; one rank that fits is enough to judge.
    s = _summary(5, {1: [0.9, 0.1, 0.1], 4: [0.1, 0.2, 0.1]})
    for p in s["tasks"][0]["sizes"][0]["ranks"]:
        p["train_acc"] = {"mean": 0.3}
    got = {v["claim"]: v["status"] for v in VL.claim_verdicts(s)}
    assert set(got.values()) == {"open", "contradicted"} and got["lora-trains"] == "contradicted"
    s["tasks"][0]["sizes"][0]["ranks"][1]["train_acc"] = {"mean": 0.95}
    got = {v["claim"]: v["status"] for v in VL.claim_verdicts(s)}
    assert got["lora-trains"] == "supported" and got["best-rank-multiclass.all.16.argmax"] == "contradicted"


@pytest.mark.parametrize("one, twelve, spread, paired", [
    # rank one equal to r = 12 seed by seed: inside the spread; the paired difference is 0 on
    # every seed, an interval of zero width below the margin
    ([0.9, 0.8, 0.85, 0.95, 0.9], [0.9, 0.8, 0.85, 0.95, 0.9], "supported", "supported"),
    # r = 12 better by ~10 points on every seed: below every seed of r = 12, and the paired
    # interval lies above the one-point margin
    ([0.70, 0.71, 0.69, 0.70, 0.72], [0.80, 0.82, 0.79, 0.81, 0.80], "contradicted", "contradicted"),
    # r = 12 better by a little and noisy: within the spread, interval straddles the margin
    ([0.80, 0.78, 0.83, 0.79, 0.81], [0.82, 0.76, 0.86, 0.78, 0.85], "supported", "open"),
    # rank one a little better, tightly: the paired interval lies below the margin
    ([0.91, 0.92, 0.90, 0.91, 0.92], [0.900, 0.912, 0.893, 0.901, 0.908], "supported", "supported"),
])
def test_binary_readings(one, twelve, spread, paired):
    # Property: each reading of "rank one within the seeds' spread of r = 12" follows its rule.
    got = _status(_summary(2, {1: one, 12: twelve, 0: twelve}), "")
    assert got == {"spread": spread, "paired": paired}


def test_a_mean_equal_to_the_lowest_seed_is_inside_the_spread():
    # Property: the mean of 0.95, 0.875, 0.95 is 0.925 (numpy's mean rounds it to 0.92499...);
    # equal to the lowest seed of r = 12, it lies within the spread (the committed CPU run's case).
    import numpy as np

    got = _status(_summary(2, {1: [0.95, 0.875, 0.95], 12: [0.95, 0.95, 0.925]}), "spread")
    assert np.mean([0.95, 0.875, 0.95]) < 0.925 and got == {"spread": "supported"}


def test_binary_without_r12_is_open():
    got = {v["status"] for v in VL.claim_verdicts(_summary(2, {1: [0.9, 0.8], 4: [0.9, 0.8]}))
           if v["kind"] == "paper claim"}
    assert got == {"open"}


@pytest.mark.parametrize("accs, argmax, paired", [
    ({1: [0.5, 0.52, 0.48], 4: [0.7, 0.71, 0.69], 12: [0.6, 0.62, 0.61]}, "supported", "supported"),
    ({1: [0.7, 0.72, 0.68], 4: [0.6, 0.61, 0.59], 12: [0.5, 0.52, 0.51]}, "contradicted", "contradicted"),
    # r = 4 best on average, but its paired gain over r = 1 is noisy, and r = 12 is not below r = 1
    # with confidence either
    ({1: [0.6, 0.7, 0.5], 4: [0.64, 0.62, 0.60], 12: [0.5, 0.52, 0.51]}, "supported", "open"),
])
def test_multiclass_readings(accs, argmax, paired):
    # Property: "the best rank is above one" on the 5-class task, in both readings.
    got = _status(_summary(5, {**accs, 0: accs[1]}), "")
    assert got == {"argmax": argmax, "paired": paired}


def test_j1_bound_is_the_largest_admissible_rank():
    # Property: j1_bound(M) is the largest r with r (r + 1) / 2 <= M (brute force).
    for M in range(1, 400):
        assert VN.j1_bound(M) == max(r for r in range(1, M + 1) if r * (r + 1) // 2 <= M)


def _ntk_summary(real, gauss, rho=2.0, least=(1, 1)):
    n = 4
    cell = {"task": "business/sports", "matrix": "query", "block": 8, "M": 8, "m": 8, "n": 8,
            "ranks": [{"r": 1, "rho": rho, "real": {"successes": real, "trials": n},
                       "gauss": {"successes": gauss, "trials": n}}],
            "least_rank_real": list(least), "least_rank_gauss": [1, 1]}
    return {"cells": [cell], "sizes": {"tasks": ["business/sports"], "matrices": ["query"],
                                       "layer": 5, "per_class": [4], "blocks": [8]},
            "seeds": {"trials": n}, "provenance": {"model_sha256": "0" * 64}}


@pytest.mark.parametrize("real, gauss, rho, want", [
    (4, 4, 2.0, ("supported", "supported")),
    (0, 4, 2.0, ("contradicted", "supported")),  # 0/4: upper bound 0.53 < 0.95
    (3, 4, 2.0, ("open", "supported")),
    (4, 2, 2.0, ("supported", "contradicted")),
    (0, 0, 0.5, ("open", "open")),  # no cell at rho >= 1.35
])
def test_ntk_sufficiency_rules(real, gauss, rho, want):
    got = {v["claim"]: v["status"] for v in VN.claim_verdicts(_ntk_summary(real, gauss, rho))}
    assert (got["real-features-sufficiency"], got["control-certifies"]) == want


def _least_rank_status(least, ranks=(1,), m=8, n=8, M=8):
    summary = _ntk_summary(4, 4, least=least)
    cell = summary["cells"][0]
    cell.update(m=m, n=n, M=M, ranks=[dict(cell["ranks"][0], r=r) for r in ranks])
    return {v["claim"]: v["status"] for v in VN.claim_verdicts(summary)}["least-rank"]


def test_ntk_least_rank_rule():
    # M = 8: J1's bound is 3. Property: a least rank above the bound contradicts; a trial without
    # a rank is judged (a shortfall against J1) only on a consistent system whose grid reaches
    # min(bound, m, n); the entry is open when no trial can be judged.
    assert _least_rank_status((1, 4)) == "contradicted"
    assert _least_rank_status((1, None)) == "supported"  # the grid (r = 1) stops short of 3
    assert _least_rank_status((None, None)) == "open"
    assert _least_rank_status((1, None), ranks=(1, 2, 4)) == "contradicted"  # the grid reaches 3
    assert _least_rank_status((None, None), ranks=(1, 2), m=2, n=2, M=8) == "open"  # M > m n
    assert _least_rank_status((2, None), ranks=(1, 2), m=2, n=2, M=4) == "contradicted"  # full rank


# ---------------------------------------------------------------------------------- engine


def test_spectrum_statistics_tell_gaussian_from_rank_one_features():
    # Property: Gaussian-iid rows have a flat Gram spectrum (participation ratio near M); rows
    # that are multiples of one vector have participation ratio 1.
    torch = pytest.importorskip("torch")
    from numerics.engine.encoder_ntk import spectrum_stats

    g = torch.Generator().manual_seed(0)
    F = torch.randn(8, 4000, generator=g, dtype=torch.float64)
    flat = spectrum_stats(F)
    assert flat["participation"] > 7.5 and abs(sum(flat["spectrum"]) / 8 - 1) < 1e-12
    one = spectrum_stats(torch.randn(8, 1, generator=g, dtype=torch.float64) * F[:1])
    assert one["participation"] == pytest.approx(1.0, abs=1e-9)


def test_missing_encoder_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    # Property: without the encoder package and without --model-dir, the command says what to
    # install or pass (exit 2, no traceback) and writes nothing.
    pytest.importorskip("torch")
    from numerics.engine import encoder

    monkeypatch.setattr(encoder, "default_model_dir", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert main(["encoder-lora", "--out", "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lorank encoder-lora: error: ") and "--model-dir" in err
    assert "lorank[encoder]" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- offline


@needs_encoder
def test_encoder_and_corpus_load_offline_and_one_step_runs(monkeypatch):
    # Property: with no network (HF_HUB_OFFLINE), the encoder and the corpus load from their
    # folders; the hook-based Jacobian equals autograd's gradient on one example; one LoRA step
    # on a handful of examples gives a finite outcome whose rank-one update has sr = 1 exactly.
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from numerics.engine import encoder as E
    from numerics.engine.encoder_lora import LoRAConfig, lora_trials

    model_dir, corpus_dir = E.resolve_dirs(None, None)
    docs = E.read_corpus(corpus_dir)
    assert {c: len(v) for c, v in docs.items()} == {"business": 510, "entertainment": 386,
                                                   "politics": 417, "sports": 511, "tech": 401}
    assert len(E.model_digest(model_dir)) == len(E.corpus_digest(corpus_dir)) == 64
    tok, model = E.load_encoder(model_dir)
    ids, mask = E.tokenize(tok, [docs["sports"][0], docs["tech"][0]], 16)
    a = E.head(model.config.hidden_size, 2, 0)
    J = E.jacobian_features(model, a, ids, mask, 5, ("query", "mlp"))
    for matrix in ("query", "mlp"):
        lin = E.adapted_linear(model, 5, matrix)
        lin.weight.requires_grad_(True)
        try:
            grad, = torch.autograd.grad(E.logits(model, a, ids[1:], mask[1:])[0, 1], lin.weight)
        finally:
            lin.weight.requires_grad_(False)
        assert torch.allclose(J[matrix][1, 1], grad, rtol=1e-5, atol=1e-7 * float(grad.abs().max()))
    cfg = LoRAConfig(tasks=(("business", "sports"),), per_class=(2,), ranks=(1,), steps=1,
                     train_batch=4, max_len=16, test_per_class=2, trials=1)
    out, = lora_trials(cfg, (model_dir, corpus_dir), (1, 2, 2, 1), [0])
    assert 0.0 <= out["test_acc"] <= 1.0 and math.isfinite(out["loss_end"])
    assert out["matrices"] == 2 * model.config.num_hidden_layers
    assert out["sr_max"] == pytest.approx(1.0, abs=1e-9) and out["rank_max"] == 1
