"""Tests of the rank advisor (``lorank.prescribe``) and the model shapes (``lorank.models``).

Reference values are the 16-shot numbers of THEORY.md section 6, computed by hand:
r(r+1)/2 > 64 first holds at r = 11 (66 > 64; 10 gives 55), r^2 > 128 at r = 12
(144 > 128; 121 <= 128), r(r+1)/2 > 144 at r = 17 (153; 16 gives 136), and the manifold
count at 768 x 768 holds at r = 1 (1535 > 1.35 * 64 = 86.4).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lorank import prescribe as advisor
from lorank.models import BUILTIN_MODELS, ModelShapes, builtin_model, dims_matrix, from_config, from_config_dict
from proofs.minimal_rank import CRITERIA
from proofs.validation import InvalidArgument

DATA = Path(__file__).parent / "data"

# ----------------------------------------------------------------------------- strategies

MAX_DIM = 2000
MAX_M = 50_000


@st.composite
def st_dims(draw, max_dim=MAX_DIM):
    """An m x n shape, 1 <= m, n <= max_dim."""
    return draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))


@st.composite
def st_cstar(draw):
    """C* as an exact positive fraction between 1/4 and 4, written as a decimal string."""
    return str(Fraction(draw(st.integers(25, 400)), 100))


# ----------------------------------------------------------------------------- helpers


def parser():
    p = argparse.ArgumentParser(prog="lorank prescribe")
    advisor.add_arguments(p)
    return p


def run_cli(argv, capsys):
    code = advisor.run(parser().parse_args(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def peft_rank_for(rank_pattern: dict, r: int, name: str, form: str) -> int:
    """The rank PEFT gives the module ``name``: the first ``rank_pattern`` key that matches,
    by PEFT >= 0.14's regex (``new``) or the older one (``old``), else ``r``."""
    regex = {"new": r"(.*\.)?({key})$", "old": r".*\.{key}$"}[form]
    for key, value in rank_pattern.items():
        if re.match(regex.format(key=key), name):
            return value
    return r


def peft_targets(target_modules, name: str) -> bool:
    """PEFT's list form of ``target_modules``: exact name or a ``"."`` suffix."""
    return name in target_modules or any(name.endswith("." + t) for t in target_modules)


ROBERTA_NAMES = {
    "query": "roberta.encoder.layer.0.attention.self.query",
    "key": "roberta.encoder.layer.0.attention.self.key",
    "value": "roberta.encoder.layer.0.attention.self.value",
    "attention_output": "roberta.encoder.layer.0.attention.output.dense",
    "mlp_up": "roberta.encoder.layer.0.intermediate.dense",
    "mlp_down": "roberta.encoder.layer.0.output.dense",
}
ROBERTA_NAMES_L11 = {k: v.replace("layer.0.", "layer.11.") for k, v in ROBERTA_NAMES.items()}
# Linear layers that must never be adapted by the advisor's configuration.
ROBERTA_OTHERS = ["roberta.pooler.dense", "classifier.dense", "classifier.out_proj", "lm_head.dense"]


# ----------------------------------------------------------------------------- known answers


@pytest.mark.parametrize(
    "convention, criterion, expected",
    [
        ("K=2", "sard", 11),          # r(r+1)/2 > 64
        ("K=2", "sqrt_approx", 12),   # r^2 > 128
        ("K=2", "manifold", 1),       # 1535 > 86.4
        ("K=2", "dimension_count", 1),
        ("K=2", "linear_solve", 1),
        ("K=1", "sard", 8),           # r(r+1)/2 > 32: 36 > 32, 28 <= 32
        ("K=1", "sqrt_approx", 9),    # r^2 > 64: 81 > 64, 64 not > 64
    ],
)
def test_roberta_base_known_answers(convention, criterion, expected):
    p = advisor.prescribe(builtin_model("roberta-base").matrices(), K=2, N=32)
    for kind in ("query", "key", "value", "attention_output"):
        assert p.rank(convention, criterion, kind) == expected


def test_mnli_like_sard_17():
    p = advisor.prescribe(builtin_model("roberta-base").matrices(), K=3, N=48)
    assert [c.key for c in p.conventions] == ["K=3"]
    assert p.rank("K=3", "sard", "query") == 17       # 153 > 144 >= 136
    assert p.rank("K=3", "manifold", "query") == 1


def test_margins_are_exact():
    p = advisor.prescribe([dims_matrix(768, 768)], K=2, N=32)
    cells = p.cells["K=2"]
    assert cells["sard"]["matrix"].margin == 2              # 66 - 64
    assert cells["sqrt_approx"]["matrix"].margin == 16      # 144 - 128
    assert cells["manifold"]["matrix"].margin == Fraction(7243, 5)  # 1535 - 86.4
    assert cells["dimension_count"]["matrix"].margin == 1471
    assert cells["linear_solve"]["matrix"].margin == 704


def test_shape_independent_criteria():
    # sard and sqrt_approx ignore the shape (up to the cap min(m, n)).
    p = advisor.prescribe(builtin_model("llama-7b").matrices(), K=2, N=32)
    for crit in ("sard", "sqrt_approx"):
        assert len({p.rank("K=2", crit, mk.kind) for mk in p.matrices}) == 1


def test_none_when_no_rank_suffices():
    p = advisor.prescribe([dims_matrix(8, 8)], K=2, N=32)
    assert p.rank("K=2", "sard", "matrix") is None       # 11 > 8
    assert p.rank("K=2", "manifold", "matrix") is None   # r(16 - r) <= 64 < 86.4
    assert p.cells["K=2"]["manifold"]["matrix"].text() == "none"


def test_canonical_table_and_r12_derivation():
    rows = advisor.canonical_table()
    assert [(r["K"], r["N"], r["M"]) for r in rows] == [(1, 32, 32), (2, 32, 64), (3, 48, 144)]
    assert [r["least_rank"]["sard"] for r in rows] == [8, 11, 17]
    assert [r["least_rank"]["sqrt_approx"] for r in rows] == [9, 12, 17]
    text = "\n".join(advisor.r12_derivation())
    assert "sqrt(128) = 11.313708" in text and "Least r = 11." in text and "Least r = 12." in text


# ----------------------------------------------------------------------------- config.json


def test_config_equals_builtin_roberta():
    from_file = from_config(DATA / "roberta_base_config.json")
    builtin = builtin_model("roberta-base")
    assert [(k.kind, k.m, k.n, k.module, k.pattern) for k in from_file.matrices()] == \
        [(k.kind, k.m, k.n, k.module, k.pattern) for k in builtin.matrices()]
    a = advisor.prescribe(from_file.matrices(), 2, 32)
    b = advisor.prescribe(builtin.matrices(), 2, 32)
    assert a.cells == b.cells


def test_config_and_model_give_same_json(capsys):
    _, out_model, _ = run_cli(["--model", "roberta-base", "--K", "2", "--N", "32", "--json"], capsys)
    _, out_config, _ = run_cli(["--config", str(DATA / "roberta_base_config.json"), "--K", "2", "--N", "32",
                                "--json"], capsys)
    a, b = json.loads(out_model), json.loads(out_config)
    assert a["least_rank"] == b["least_rank"] and a["margin"] == b["margin"] and a["matrices"] == b["matrices"]
    assert b["inputs"]["source"] == "config" and b["inputs"]["model_type"] == "roberta"


def test_gqa_config_shrinks_key_value():
    shapes = from_config(DATA / "llama_gqa_config.json")
    kinds = {k.kind: k for k in shapes.matrices()}
    assert (kinds["query"].out_features, kinds["query"].in_features) == (4096, 4096)
    assert (kinds["key"].out_features, kinds["key"].in_features) == (1024, 4096)   # 8 heads x 128
    assert (kinds["value"].out_features, kinds["value"].in_features) == (1024, 4096)
    assert (kinds["attention_output"].m, kinds["attention_output"].n) == (4096, 4096)
    assert (kinds["mlp_gate"].m, kinds["mlp_up"].m, kinds["mlp_down"].n) == (14336, 14336, 14336)
    assert [k.module for k in shapes.matrices()] == ["q_proj", "k_proj", "v_proj", "o_proj",
                                                     "gate_proj", "up_proj", "down_proj"]
    # A large enough M makes the smaller key/value matrices need more rank under the manifold count.
    p = advisor.prescribe(shapes.matrices(), K=2, N=500_000)
    assert p.rank("K=2", "manifold", "key") > p.rank("K=2", "manifold", "query")


def test_builtin_llama_has_no_gqa():
    kinds = {k.kind: k for k in builtin_model("llama-7b").matrices()}
    assert kinds["key"].m == 4096 and kinds["mlp_up"].m == 11008


def test_alias_config_without_known_family(capsys):
    shapes = from_config(DATA / "gpt2_aliases_config.json")
    assert (shapes.hidden_size, shapes.intermediate_size, shapes.num_hidden_layers) == (768, 3072, 12)
    assert shapes.family is None and all(k.module is None for k in shapes.matrices())
    code, out, _ = run_cli(["--config", str(DATA / "gpt2_aliases_config.json"), "--K", "2", "--N", "32"], capsys)
    assert code == 0 and "11 (+2)" in out


@pytest.mark.parametrize("name", sorted(BUILTIN_MODELS))
def test_builtin_models_have_disjoint_patterns(name):
    # Every kind's rank_pattern key matches its own example names and no other kind's (both
    # PEFT regex forms), and target_modules as a list reaches every example name.
    kinds = builtin_model(name).matrices()
    for form in ("new", "old"):
        for mk in kinds:
            for other in kinds:
                for full in other.example_names:
                    hit = peft_rank_for({mk.pattern: -1}, 0, full, form) == -1
                    assert hit is (other.kind == mk.kind), (form, mk.pattern, full)
    targets = [mk.module for mk in kinds]
    assert all(peft_targets(targets, full) for mk in kinds for full in mk.example_names)


# ----------------------------------------------------------------------------- PEFT file


def _roberta_peft(K, N, criterion="manifold", shapes=None):
    shapes = shapes or builtin_model("roberta-base")
    return advisor.peft_config(advisor.prescribe(shapes.matrices(), K, N), shapes, criterion)


@pytest.mark.parametrize("form", ["new", "old"])
def test_rank_pattern_matches_intended_modules_only(form):
    # N = 100000, K = 2: the 768 x 768 kinds need 203, the 768 x 3072 ones 72 (manifold count).
    cfg, warnings = _roberta_peft(2, 100_000)
    assert warnings == []
    expected = {"query": 203, "key": 203, "value": 203, "attention_output": 203, "mlp_up": 72, "mlp_down": 72}
    assert cfg["r"] == 203 and cfg["lora_alpha"] == 203 and cfg["alpha_pattern"] == cfg["rank_pattern"]
    for names in (ROBERTA_NAMES, ROBERTA_NAMES_L11):
        for kind, full in names.items():
            assert peft_targets(cfg["target_modules"], full)
            assert peft_rank_for(cfg["rank_pattern"], cfg["r"], full, form) == expected[kind], full
    assert not any(peft_targets(cfg["target_modules"], full) for full in ROBERTA_OTHERS)


@pytest.mark.parametrize("form", ["new", "old"])
def test_rank_pattern_survives_key_order(form):
    # The naive key "output.dense" would catch the attention output too; ours cannot, in any order.
    cfg, _ = _roberta_peft(2, 100_000)
    reordered = dict(reversed(list(cfg["rank_pattern"].items())))
    assert peft_rank_for(reordered, cfg["r"], ROBERTA_NAMES["attention_output"], form) == 203
    naive = {"output.dense": 72}
    assert peft_rank_for(naive, 203, ROBERTA_NAMES["attention_output"], form) == 72  # the trap


def test_excluded_kinds_and_per_layer_targets():
    # K N = 500000: no rank of a 768 x 768 matrix suffices (768^2 < 1.35 * 500000), the
    # 768 x 3072 ones still have one. The down-projection is then targeted per layer.
    cfg, warnings = _roberta_peft(2, 250_000)
    shapes = builtin_model("roberta-base")
    source = advisor.peft_provenance(advisor.prescribe(shapes.matrices(), 2, 250_000), shapes, "manifold")
    assert source["excluded"] == ["query", "key", "value", "attention_output"]
    assert len(warnings) == 4 and all("left out" in w for w in warnings)
    assert "output.dense" not in cfg["target_modules"]
    for names in (ROBERTA_NAMES, ROBERTA_NAMES_L11):
        assert peft_targets(cfg["target_modules"], names["mlp_down"])
        assert peft_targets(cfg["target_modules"], names["mlp_up"])
        for kind in ("query", "key", "value", "attention_output"):
            assert not peft_targets(cfg["target_modules"], names[kind]), names[kind]


def test_peft_fails_when_nothing_fits():
    shapes = ModelShapes("tiny", "bert", 4, 8, 1, 2, 2, 2)
    with pytest.raises(InvalidArgument, match="--criterion sard"):
        advisor.peft_config(advisor.prescribe(shapes.matrices(), 2, 32), shapes, "sard")


def test_peft_file_written_atomically(tmp_path, capsys):
    target = tmp_path / "lora.json"
    code, out, err = run_cli(["--model", "roberta-base", "--K", "2", "--N", "32", "--peft", str(target),
                              "--criterion", "sard"], capsys)
    assert code == 0 and "wrote" in out
    cfg = json.loads(target.read_text())
    assert cfg["r"] == 11 and cfg["rank_pattern"] == {}
    assert cfg["target_modules"] == ["query", "key", "value", "attention.output.dense", "intermediate.dense",
                                     "output.dense"]
    source = json.loads((tmp_path / "lora.provenance.json").read_text())
    assert source["criterion"] == "sard" and source["K"] == 2 and source["N"] == 32
    assert source["cstar"] == "1.35" and source["ranks"]["query"] == 11
    # no temporary file left behind; the config and its sidecar only
    assert sorted(os.listdir(tmp_path)) == ["lora.json", "lora.provenance.json"]


# Fields of peft.LoraConfig (with those of its base PeftConfig) present since peft 0.10, the
# least version of the `peft` extra; read from peft's src/peft/tuners/lora/config.py and
# src/peft/config.py. The file we write must use these names only.
LORA_CONFIG_FIELDS_0_10 = frozenset({
    "r", "target_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias", "use_rslora",
    "modules_to_save", "init_lora_weights", "layers_to_transform", "layers_pattern", "rank_pattern",
    "alpha_pattern", "megatron_config", "megatron_core", "loftq_config", "use_dora", "layer_replication",
    "peft_type", "task_type", "inference_mode", "auto_mapping", "base_model_name_or_path", "revision",
})


def _written_peft(tmp_path, capsys, argv):
    target = tmp_path / "lora.json"
    code, _, _ = run_cli(argv + ["--peft", str(target)], capsys)
    assert code == 0
    return json.loads(target.read_text())


PEFT_RUNS = [
    ["--model", "roberta-base", "--K", "2", "--N", "32"],
    ["--model", "llama-7b", "--K", "2", "--N", "32"],
    ["--model", "roberta-base", "--K", "2", "--N", "250000"],          # kinds left out, per-layer targets
    ["--model", "bert-base", "--K", "3", "--N", "1000", "--criterion", "sard"],
]


@pytest.mark.parametrize("argv", PEFT_RUNS, ids=lambda a: " ".join(a[1:6:2]))
def test_peft_keys_are_lora_config_fields(argv, tmp_path, capsys):
    # Property: every key written is a LoraConfig field (peft 0.10 on), nothing else.
    cfg = _written_peft(tmp_path, capsys, argv)
    assert set(cfg) == set(advisor.PEFT_KEYS)
    assert set(cfg) <= LORA_CONFIG_FIELDS_0_10, set(cfg) - LORA_CONFIG_FIELDS_0_10


TINY_MODELS = {  # (ModelShapes, the transformers config of the same model)
    "tiny-roberta": (ModelShapes("tiny-roberta", "roberta", 32, 64, 2, 4, 4, 8),
                     ("RobertaModel", "RobertaConfig",
                      dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           vocab_size=50, max_position_embeddings=40))),
    "tiny-llama": (ModelShapes("tiny-llama", "llama", 32, 64, 2, 4, 2, 8),
                   ("LlamaModel", "LlamaConfig",
                    dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=50))),
}
# K N = 400: 32 x 32 needs r(64 - r) > 540 -> 11; 64 x 32 needs r(96 - r) > 540 -> 7;
#   the GQA key/value (16 x 32) cannot reach 540 (max 16 * 32 = 512): left out.
# K N = 800 (roberta): 32 x 32 cannot reach 1080 (max 1024): attention left out.
TINY_CASES = (("tiny-roberta", 200, False), ("tiny-roberta", 400, True), ("tiny-llama", 200, True))


def peft_checks(folder: str) -> dict | None:
    """What the real peft makes of our files and configurations (None without peft and
    transformers). Runs in a fresh Python (:func:`peft_job`): importing peft and transformers
    takes seconds, spent on the other core while the other tests run.

    - ``runs``: for each of :data:`PEFT_RUNS`, the file ``prescribe --peft`` wrote, LoraConfig's
      keyword names, and what ``LoraConfig(**json.load(file))`` holds;
    - ``models``: for each of :data:`TINY_CASES`, every adapter's rank after
      ``get_peft_model(model, LoraConfig(**cfg))`` on a tiny model built by transformers."""
    import contextlib
    import inspect
    import io

    try:
        import peft
        import transformers
    except ImportError:
        return None
    runs = []
    for i, argv in enumerate(PEFT_RUNS):
        path = Path(folder) / f"lora{i}.json"
        with contextlib.redirect_stdout(io.StringIO()):
            assert advisor.run(parser().parse_args(argv + ["--peft", str(path)])) == 0
        with open(path, encoding="utf-8") as handle:
            lora = peft.LoraConfig(**json.load(handle))
        runs.append({"cfg": json.loads(path.read_text()),
                     "fields": sorted(inspect.signature(peft.LoraConfig).parameters),
                     "r": lora.r, "lora_alpha": lora.lora_alpha, "rank_pattern": dict(lora.rank_pattern),
                     "target_modules": sorted(lora.target_modules)})
    built = {name: getattr(transformers, model_class)(getattr(transformers, config_class)(**kwargs))
             for name, (_, (model_class, config_class, kwargs)) in TINY_MODELS.items()}
    models = []
    for name, N, _ in TINY_CASES:  # each model adapted, read and unloaded in turn
        shapes = TINY_MODELS[name][0]
        cfg, _ = advisor.peft_config(advisor.prescribe(shapes.matrices(), 2, N), shapes, "manifold")
        lora = peft.get_peft_model(built[name], peft.LoraConfig(**cfg))
        models.append({module_name: module.lora_A["default"].out_features
                       for module_name, module in lora.named_modules()
                       if hasattr(module, "lora_A") and "default" in module.lora_A})
        lora.unload()
    return {"runs": runs, "models": models}


def peft_job(folder: Path) -> dict | None:
    """:func:`peft_checks` in a fresh Python, through JSON (a background job of the session,
    ``conftest.Background``)."""
    import subprocess
    import sys

    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import test_prescribe as t; print('RESULT', json.dumps(t.peft_checks({str(folder)!r})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1].removeprefix("RESULT "))


BACKGROUND_JOBS = {"peft": peft_job}


@pytest.fixture(scope="module")
def real_peft(background, request):
    out = background.result(request.module, "peft")
    if out is None:
        pytest.skip("needs peft and transformers (the `test` extra)")
    return out


@pytest.mark.background("peft")
@pytest.mark.parametrize("i", range(len(PEFT_RUNS)), ids=[" ".join(a[1:6:2]) for a in PEFT_RUNS])
def test_peft_file_is_lora_config_kwargs(i, real_peft, tmp_path, capsys):
    # The README's promise, against the installed peft (an extra of `test`): the file as it
    # stands is LoraConfig's keyword arguments, and the object carries our ranks.
    run = real_peft["runs"][i]
    cfg = _written_peft(tmp_path, capsys, PEFT_RUNS[i])
    assert run["cfg"] == cfg  # the file peft read is the one the command writes here
    assert set(cfg) <= set(run["fields"])
    assert run["r"] == cfg["r"] and run["lora_alpha"] == cfg["lora_alpha"]
    assert run["rank_pattern"] == cfg["rank_pattern"]
    assert set(run["target_modules"]) == set(cfg["target_modules"])


@pytest.mark.background("peft")
def test_peft_with_real_library(real_peft):
    # Build a tiny RoBERTa and a tiny GQA Llama, apply the advisor's configuration with PEFT
    # itself, and read back every adapter's rank.
    for (name, N, some_left_out), got in zip(TINY_CASES, real_peft["models"], strict=True):
        shapes = TINY_MODELS[name][0]
        source = advisor.peft_provenance(advisor.prescribe(shapes.matrices(), 2, N), shapes, "manifold")
        expected = {}
        layer = "layers" if shapes.family == "llama" else "encoder.layer"
        for mk in shapes.matrices():
            tail = re.sub(r"^.*layers?\.0\.", "", mk.example_names[0])
            for i in range(shapes.num_hidden_layers):
                expected[f"{layer}.{i}.{tail}"] = source["ranks"][mk.kind]
        got = {re.sub(r"^base_model\.model\.", "", name): r for name, r in got.items()}
        assert got == {name: r for name, r in expected.items() if r is not None}, (shapes.name, N)
        assert any(r is None for r in expected.values()) is some_left_out


# ----------------------------------------------------------------------------- argparse / run


def test_run_json_through_argparse(capsys):
    code, out, _ = run_cli(["--model", "roberta-base", "--K", "2", "--N", "32", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["inputs"]["K"] == 2 and data["inputs"]["N"] == 32 and data["inputs"]["binary"] is True
    assert data["inputs"]["cstar_exact"] == "27/20"
    assert set(data["least_rank"]) == {"K=1", "K=2"}
    assert data["conventions"]["K=2"]["M"] == 64 and data["conventions"]["K=1"]["M"] == 32
    assert data["least_rank"]["K=2"]["sard"]["query"] == 11
    assert data["least_rank"]["K=2"]["sqrt_approx"]["value"] == 12
    assert data["least_rank"]["K=2"]["manifold"]["mlp_down"] == 1
    assert data["margin"]["K=2"]["manifold"]["query"] == "7243/5"
    assert data["matrices"]["mlp_down"] == {"out_features": 768, "in_features": 3072, "target_module": "output.dense",
                                            "rank_pattern_key": r"layer\.\d+\.output\.dense"}
    assert [row["least_rank"]["sard"] for row in data["canonical"]] == [8, 11, 17]


def test_run_json_null_for_none(capsys):
    _, out, _ = run_cli(["--m", "8", "--n", "8", "--K", "2", "--N", "32", "--json"], capsys)
    data = json.loads(out)
    assert data["least_rank"]["K=2"]["sard"] == {"matrix": None}
    assert data["margin"]["K=2"]["sard"] == {"matrix": None}


def test_run_table(capsys):
    code, out, _ = run_cli(["--model", "roberta-base", "--K", "2", "--N", "32"], capsys)
    assert code == 0
    for needle in ("K=1", "K=2", "11 (+2)", "12 (+16)", "1 (+1448.6)", "Canonical few-shot table",
                   "sqrt(128) = 11.313708", "MLP down", "768 x 3072"):
        assert needle in out, needle


def test_run_k_greater_than_two(capsys):
    _, out, _ = run_cli(["--model", "minilm-l6", "--K", "3", "--N", "48", "--json"], capsys)
    data = json.loads(out)
    assert list(data["least_rank"]) == ["K=3"] and data["inputs"]["binary"] is False
    assert data["least_rank"]["K=3"]["sard"]["query"] == 17


def test_run_kinds_filter(tmp_path, capsys):
    target = tmp_path / "qv.json"
    run_cli(["--model", "roberta-base", "--K", "2", "--N", "32", "--kinds", "query,value", "--peft", str(target)],
            capsys)
    assert json.loads(target.read_text())["target_modules"] == ["query", "value"]


def test_cstar_changes_manifold_only(capsys):
    _, out, _ = run_cli(["--m", "16", "--n", "16", "--K", "3", "--N", "48", "--cstar", "1", "--json"], capsys)
    data = json.loads(out)
    assert data["least_rank"]["K=3"]["manifold"] == {"matrix": 6}   # r(32 - r) > 144: 6 * 26 = 156, 5 * 27 = 135
    assert data["least_rank"]["K=3"]["dimension_count"] == {"matrix": 6}


# ----------------------------------------------------------------------------- bad input

BASE = ["--K", "2", "--N", "32"]


@pytest.mark.parametrize(
    "argv, argument",
    [
        (["--m", "0", "--n", "768"] + BASE, "--m"),
        (["--m", "-3", "--n", "768"] + BASE, "--m"),
        (["--m", "abc", "--n", "768"] + BASE, "--m"),
        (["--m", "2.5", "--n", "768"] + BASE, "--m"),
        (["--m", "768", "--n", "0"] + BASE, "--n"),
        (["--m", "768", "--n", "1e3"] + BASE, "--n"),
        (["--m", "768"] + BASE, "--n"),
        (["--n", "768"] + BASE, "--m"),
        (["--model", "roberta-base", "--K", "0", "--N", "32"], "--K"),
        (["--model", "roberta-base", "--K", "two", "--N", "32"], "--K"),
        (["--model", "roberta-base", "--K", "2", "--N", "-1"], "--N"),
        (["--model", "roberta-base", "--K", "2", "--N", "3.0"], "--N"),
        (["--model", "roberta-base", "--N", "32"], "--K"),
        (["--model", "roberta-base", "--K", "2"], "--N"),
        (["--model", "roberta-base", "--cstar", "0"] + BASE, "--cstar"),
        (["--model", "roberta-base", "--cstar", "-1.35"] + BASE, "--cstar"),
        (["--model", "roberta-base", "--cstar", "abc"] + BASE, "--cstar"),
        (["--model", "roberta-base", "--cstar", "nan"] + BASE, "--cstar"),
        (["--model", "gpt-5"] + BASE, "--model"),
        (["--model", "roberta-base", "--criterion", "vibes"] + BASE, "--criterion"),
        (["--model", "roberta-base", "--kinds", "query,gate"] + BASE, "--kinds"),
        (["--config", "/no/such/config.json"] + BASE, "--config"),
        (["--config", str(DATA / "not_json.json")] + BASE, "--config"),
        (["--config", str(DATA / "missing_intermediate_config.json")] + BASE, "intermediate_size"),
        (["--config", str(DATA / "bad_value_config.json")] + BASE, "hidden_size"),
        (["--config", str(DATA)] + BASE, "--config"),
        (["--model", "roberta-base", "--m", "768", "--n", "768"] + BASE, "exactly one"),
        (BASE, "exactly one"),
        (["--m", "768", "--n", "768", "--peft", "x.json"] + BASE, "--peft"),
        (["--config", str(DATA / "gpt2_aliases_config.json"), "--peft", "x.json"] + BASE, "--peft"),
        (["--model", "roberta-base", "--peft", "/no/such/dir/x.json"] + BASE, "--peft"),
    ],
)
def test_bad_input_names_the_argument(argv, argument, capsys):
    with pytest.raises(InvalidArgument) as info:
        advisor.run(parser().parse_args(argv))
    message = str(info.value)
    assert argument in message and "\n" not in message, message
    value = next((argv[i + 1] for i, a in enumerate(argv) if a == argument and i + 1 < len(argv)), None)
    if value is not None:
        assert value in message, message


def test_bad_input_reports_the_value_verbatim():
    with pytest.raises(InvalidArgument, match=r"--m must be a positive integer, got 'abc'"):
        advisor.run(parser().parse_args(["--m", "abc", "--n", "8"] + BASE))
    with pytest.raises(InvalidArgument, match=r"--m must be a positive integer, got 0"):
        advisor.run(parser().parse_args(["--m", "0", "--n", "8"] + BASE))


def test_config_dict_checks():
    with pytest.raises(InvalidArgument, match="num_key_value_heads"):
        from_config_dict({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                          "num_attention_heads": 8, "num_key_value_heads": 3})
    with pytest.raises(InvalidArgument, match="head_dim"):
        from_config_dict({"hidden_size": 100, "intermediate_size": 128, "num_hidden_layers": 2,
                          "num_attention_heads": 8})
    with pytest.raises(InvalidArgument, match="JSON object"):
        from_config_dict([1, 2])


def test_api_names_python_arguments():
    with pytest.raises(InvalidArgument, match="^K must be"):
        advisor.prescribe([dims_matrix(8, 8)], K=0, N=4)
    with pytest.raises(InvalidArgument, match="^cstar must be"):
        advisor.prescribe([dims_matrix(8, 8)], K=1, N=4, cstar=0)


# ----------------------------------------------------------------------------- properties


@given(dims=st_dims(), K=st.integers(1, 5), N=st.integers(1, MAX_M // 5), cstar=st_cstar())
def test_advisor_rank_is_least(dims, K, N, cstar):
    # Property: for every criterion and convention, the advisor's rank r satisfies the
    # criterion (and its margin has the right sign), r - 1 does not; "none" means even
    # min(m, n) fails.
    m, n = dims
    p = advisor.prescribe([dims_matrix(m, n)], K, N, cstar)
    c = Fraction(cstar)
    for conv in p.conventions:
        for name, crit in CRITERIA.items():
            cell = p.cells[conv.key][name]["matrix"]
            strict = advisor._SIDES[name][2]
            if cell.rank is None:
                assert not crit.holds(min(m, n), m, n, conv.M, c)
                continue
            r = cell.rank
            assert 1 <= r <= min(m, n)
            assert crit.holds(r, m, n, conv.M, c) is True
            assert (cell.margin > 0) if strict else (cell.margin >= 0)
            if r > 1:
                assert crit.holds(r - 1, m, n, conv.M, c) is False
                below = advisor.margin(name, r - 1, m, n, conv.M, c)
                assert (below <= 0) if strict else (below < 0)


@given(dims=st_dims(max_dim=300), K=st.integers(1, 2), N=st.integers(1, 3000))
def test_binary_conventions_are_ordered(dims, K, N):
    # Property: every criterion is monotone in M, so the K = 2 count never asks for less
    # rank than the K = 1 count (None counts as infinite).
    m, n = dims
    p = advisor.prescribe([dims_matrix(m, n)], K, N)
    inf = float("inf")
    for name in CRITERIA:
        one, two = (p.rank(k, name, "matrix") for k in ("K=1", "K=2"))
        assert (inf if two is None else two) >= (inf if one is None else one)


@given(st.data())
def test_config_roundtrip_matches_builtin(data):
    # Property: writing a built-in model's numbers as a config dict gives the same shapes.
    name = data.draw(st.sampled_from(sorted(BUILTIN_MODELS)))
    s = BUILTIN_MODELS[name]
    cfg = {"model_type": s.model_type, "hidden_size": s.hidden_size, "intermediate_size": s.intermediate_size,
           "num_hidden_layers": s.num_hidden_layers, "num_attention_heads": s.num_attention_heads}
    assume(s.hidden_size % s.num_attention_heads == 0)
    t = from_config_dict(cfg)
    assert [(k.kind, k.m, k.n) for k in t.matrices()] == [(k.kind, k.m, k.n) for k in s.matrices()]
