"""Bad input as a contract, for ``lorank prescribe``, ``lorank check`` and ``lorank`` itself.

Every case of ``/work/shared/bad-inputs-0.4.0.json`` (the bad inputs tried on lorank 0.4.0)
for these commands is here, with its kin (lists given to scalar options, options given twice,
empty values, unwritable ``--peft`` paths). Each runs in-process through
:func:`lorank.cli.main` and must:

- exit with status 2 (argparse's errors raise ``SystemExit(2)``; ours return 2);
- print no traceback, and a one-line message on stderr that names the flag and the value;
- print nothing on stdout;
- leave no file or folder behind (the working directory, the fixture folder and the output
  folder are snapshotted before and after);
- return quickly (``--cstar 1e999999999`` hung 0.4.0).

A value written ``{FIX}`` or ``{OUT}`` is a path in the fixture folder (small broken files) or
the output folder.
"""

from __future__ import annotations

import os
import time

import pytest

from lorank.cli import main

MODEL = ["--model", "roberta-base"]
DIMS = ["--m", "768", "--n", "768"]
KN = ["--K", "2", "--N", "32"]
LONG = "1" * 5000          # a 5000-digit number (Python refuses to parse it as an int by default)

#: (id, argv, flag, value): the message must contain both ``flag`` and ``value``.
CASES = [
    # --m / --n: positive integers, one value
    ("m-zero", ["prescribe", "--m", "0", "--n", "768", *KN], "--m", "0"),
    ("m-negative", ["prescribe", "--m", "-5", "--n", "768", *KN], "--m", "-5"),
    ("m-word", ["prescribe", "--m", "abc", "--n", "768", *KN], "--m", "abc"),
    ("m-float", ["prescribe", "--m", "2.5", "--n", "768", *KN], "--m", "2.5"),
    ("m-exponent", ["prescribe", "--m", "1e3", "--n", "768", *KN], "--m", "1e3"),
    ("m-5000-digits", ["prescribe", "--m", LONG, "--n", "768", *KN], "--m", "1111111111"),
    ("m-list", ["prescribe", "--m", "3,5", "--n", "768", *KN], "--m", "3,5"),
    ("m-twice", ["prescribe", "--m", "768", "--m", "64", "--n", "768", *KN], "--m", "64"),
    ("m-empty", ["prescribe", "--m", "", "--n", "768", *KN], "--m", "''"),
    ("n-zero", ["prescribe", "--m", "768", "--n", "0", *KN], "--n", "0"),
    ("n-list", ["prescribe", "--m", "768", "--n", "3,5", *KN], "--n", "3,5"),
    ("m-without-n", ["prescribe", "--m", "768", *KN], "--n", "none"),
    ("n-without-m", ["prescribe", "--n", "768", *KN], "--m", "none"),
    # --K / --N
    ("K-zero", ["prescribe", *MODEL, "--K", "0", "--N", "32"], "--K", "0"),
    ("K-word", ["prescribe", *MODEL, "--K", "two", "--N", "32"], "--K", "two"),
    ("K-list", ["prescribe", *MODEL, "--K", "3,5", "--N", "32"], "--K", "3,5"),
    ("K-list-spaced", ["prescribe", *MODEL, "--K", "3, 5", "--N", "32"], "--K", "3, 5"),
    ("K-twice", ["prescribe", *MODEL, "--K", "3", "--K", "5", "--N", "32"], "--K", "5"),
    ("K-float", ["prescribe", *MODEL, "--K", "2.0", "--N", "32"], "--K", "2.0"),
    ("K-missing", ["prescribe", *MODEL, "--N", "32"], "--K", "none"),
    ("N-nan", ["prescribe", *MODEL, "--K", "2", "--N", "nan"], "--N", "nan"),
    ("N-zero", ["prescribe", *MODEL, "--K", "2", "--N", "0"], "--N", "0"),
    ("N-negative", ["prescribe", *MODEL, "--K", "2", "--N", "-1"], "--N", "-1"),
    ("N-list", ["prescribe", *MODEL, "--K", "2", "--N", "16,32"], "--N", "16,32"),
    ("N-twice", ["prescribe", *MODEL, "--K", "2", "--N", "16", "--N", "32"], "--N", "32"),
    ("N-5000-digits", ["prescribe", *MODEL, "--K", "2", "--N", LONG], "--N", "1111111111"),
    ("N-missing", ["prescribe", *MODEL, "--K", "2"], "--N", "none"),
    # --cstar: an exact positive number of bounded size
    ("cstar-inf", ["prescribe", *DIMS, *KN, "--cstar", "inf"], "--cstar", "inf"),
    ("cstar-nan", ["prescribe", *DIMS, *KN, "--cstar", "nan"], "--cstar", "nan"),
    ("cstar-negative", ["prescribe", *DIMS, *KN, "--cstar", "-1"], "--cstar", "-1"),
    ("cstar-zero", ["prescribe", *DIMS, *KN, "--cstar", "0"], "--cstar", "0"),
    ("cstar-zero-ratio", ["prescribe", *DIMS, *KN, "--cstar", "0/5"], "--cstar", "0/5"),
    ("cstar-word", ["prescribe", *DIMS, *KN, "--cstar", "abc"], "--cstar", "abc"),
    ("cstar-hang-1e999999999", ["prescribe", *DIMS, *KN, "--cstar", "1e999999999"], "--cstar", "1e999999999"),
    ("cstar-huge-1e999999", ["prescribe", *DIMS, *KN, "--cstar", "1e999999"], "--cstar", "1e999999"),
    ("cstar-tiny", ["prescribe", *DIMS, *KN, "--cstar", "1e-999999999"], "--cstar", "1e-999999999"),
    ("cstar-5000-digits", ["prescribe", *DIMS, *KN, "--cstar", LONG], "--cstar", "1111111111"),
    ("cstar-huge-ratio", ["prescribe", *DIMS, *KN, "--cstar", LONG + "/7"], "--cstar", "1111111111"),
    ("cstar-div-zero", ["prescribe", *DIMS, *KN, "--cstar", "1/0"], "--cstar", "1/0"),
    ("cstar-list", ["prescribe", *DIMS, *KN, "--cstar", "1.35,2"], "--cstar", "1.35,2"),
    ("cstar-twice", ["prescribe", *DIMS, *KN, "--cstar", "1.35", "--cstar", "2"], "--cstar", "'2'"),
    ("cstar-empty", ["prescribe", *DIMS, *KN, "--cstar", ""], "--cstar", "''"),
    ("cstar-underscore", ["prescribe", *DIMS, *KN, "--cstar", "1_35"], "--cstar", "1_35"),
    # --criterion / --kinds
    ("criterion-word", ["prescribe", *MODEL, *KN, "--criterion", "foo"], "--criterion", "foo"),
    ("criterion-empty", ["prescribe", *MODEL, *KN, "--criterion", ""], "--criterion", "''"),
    ("criterion-list", ["prescribe", *MODEL, *KN, "--criterion", "sard,manifold"], "--criterion", "sard,manifold"),
    ("kinds-word", ["prescribe", *MODEL, *KN, "--kinds", "foo"], "--kinds", "foo"),
    ("kinds-empty", ["prescribe", *MODEL, *KN, "--kinds", ""], "--kinds", "''"),
    ("kinds-one-bad", ["prescribe", *MODEL, *KN, "--kinds", "query,gate"], "--kinds", "query,gate"),
    # the source: --model / --config / --m --n, exactly one
    ("model-unknown", ["prescribe", "--model", "gpt-5", *KN], "--model", "gpt-5"),
    ("model-empty", ["prescribe", "--model", "", *KN], "--model", "''"),
    ("model-twice", ["prescribe", *MODEL, "--model", "bert-base", *KN], "--model", "bert-base"),
    ("model-and-config", ["prescribe", *MODEL, "--config", "{FIX}/ok.json", *KN], "--config", "--model"),
    ("model-and-dims", ["prescribe", *MODEL, *DIMS, *KN], "--model", "--m/--n"),
    ("no-source", ["prescribe", *KN], "--model", "none"),
    ("config-missing", ["prescribe", "--config", "/no/such/config.json", *KN], "--config", "/no/such/config.json"),
    ("config-malformed", ["prescribe", "--config", "{FIX}/malformed.json", *KN], "--config", "malformed.json"),
    ("config-empty-file", ["prescribe", "--config", "{FIX}/empty.json", *KN], "--config", "empty.json"),
    ("config-binary", ["prescribe", "--config", "{FIX}/binary.json", *KN], "--config", "binary.json"),
    ("config-array", ["prescribe", "--config", "{FIX}/array.json", *KN], "--config", "array.json"),
    ("config-missing-key", ["prescribe", "--config", "{FIX}/missing.json", *KN], "--config", "intermediate_size"),
    ("config-string-value", ["prescribe", "--config", "{FIX}/strval.json", *KN], "hidden_size", "'768'"),
    ("config-negative-value", ["prescribe", "--config", "{FIX}/negval.json", *KN], "hidden_size", "-768"),
    ("config-float-value", ["prescribe", "--config", "{FIX}/floatval.json", *KN], "hidden_size", "768.0"),
    ("config-directory", ["prescribe", "--config", "{FIX}/adir.json", *KN], "--config", "adir.json"),
    ("config-empty-path", ["prescribe", "--config", "", *KN], "--config", "''"),
    # --peft: a writable file path, LoraConfig keyword arguments
    ("peft-with-dims", ["prescribe", *DIMS, *KN, "--peft", "{OUT}/x.json"], "--peft", "x.json"),
    ("peft-proc", ["prescribe", *MODEL, *KN, "--peft", "/proc/lora.json"], "--peft", "/proc/lora.json"),
    ("peft-proc-sub", ["prescribe", *MODEL, *KN, "--peft", "/proc/x/lora.json"], "--peft", "/proc/x/lora.json"),
    ("peft-directory", ["prescribe", *MODEL, *KN, "--peft", "{FIX}/adir.json"], "--peft", "adir.json"),
    ("peft-under-file", ["prescribe", *MODEL, *KN, "--peft", "{FIX}/afile/lora.json"], "--peft", "afile/lora.json"),
    ("peft-no-folder", ["prescribe", *MODEL, *KN, "--peft", "{OUT}/no/such/lora.json"], "--peft", "no/such/lora.json"),
    ("peft-trailing-slash", ["prescribe", *MODEL, *KN, "--peft", "{OUT}/newdir/"], "--peft", "newdir/"),
    ("peft-empty", ["prescribe", *MODEL, *KN, "--peft", ""], "--peft", "''"),
    ("peft-twice", ["prescribe", *MODEL, *KN, "--peft", "{OUT}/a.json", "--peft", "{OUT}/b.json"], "--peft", "b.json"),
    ("peft-sidecar-is-directory", ["prescribe", *MODEL, *KN, "--peft", "{FIX}/side.json"], "--peft",
     "side.provenance.json"),
    ("peft-nothing-fits", ["prescribe", *MODEL, "--K", "2", "--N", "1000000000000", "--peft", "{OUT}/n.json"],
     "--peft", "n.json"),
    ("peft-no-module-names", ["prescribe", "--config", "{FIX}/gptlike.json", *KN, "--peft", "{OUT}/g.json"],
     "--peft", "gptlike"),
    # argparse's own refusals
    ("typo-option", ["prescribe", "--mdl", "roberta-base", *KN], "--mdl", "roberta-base"),
    ("abbreviated-option", ["prescribe", "--mod", "roberta-base", *KN], "--mod", "roberta-base"),
    ("stray-positional", ["prescribe", *MODEL, *KN, "extra"], "unrecognized", "extra"),
    ("option-without-value", ["prescribe", *MODEL, "--K"], "--K", "expected one argument"),
    # check
    ("check-unknown-option", ["check", "--foo"], "--foo", "unrecognized"),
    ("check-stray-positional", ["check", "everything"], "unrecognized", "everything"),
    ("check-json-value", ["check", "--json=yes"], "--json", "yes"),
    # top level
    ("no-subcommand", [], "command", "required"),
    ("bogus-subcommand", ["frobnicate"], "command", "frobnicate"),
    ("unknown-top-option", ["--frobnicate", "check"], "--frobnicate", "unrecognized"),
]


def _fixtures(folder):
    """The small broken files of the 0.4.0 run, and two that are fine."""
    files = {
        "ok.json": '{"model_type": "roberta", "hidden_size": 32, "intermediate_size": 64, '
                   '"num_hidden_layers": 2, "num_attention_heads": 4}',
        "malformed.json": '{"hidden_size": 768,\n  oops}',
        "empty.json": "",
        "array.json": "[1, 2, 3]",
        "missing.json": '{"model_type": "roberta", "hidden_size": 768, "num_hidden_layers": 12, '
                        '"num_attention_heads": 12}',
        "strval.json": '{"model_type": "roberta", "hidden_size": "768", "intermediate_size": 3072, '
                       '"num_hidden_layers": 12, "num_attention_heads": 12}',
        "negval.json": '{"model_type": "roberta", "hidden_size": -768, "intermediate_size": 3072, '
                       '"num_hidden_layers": 12, "num_attention_heads": 12}',
        "floatval.json": '{"model_type": "roberta", "hidden_size": 768.0, "intermediate_size": 3072, '
                         '"num_hidden_layers": 12, "num_attention_heads": 12}',
        "gptlike.json": '{"model_type": "gptlike", "n_embd": 64, "n_inner": 256, "n_layer": 2, "n_head": 4}',
        "afile": "not a folder",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "binary.json").write_bytes(bytes(range(256)) * 4)
    (folder / "adir.json").mkdir()
    (folder / "side.provenance.json").mkdir()   # the sidecar of side.json is taken by a folder


def _tree(*roots):
    return sorted((str(root), os.path.relpath(os.path.join(d, name), root))
                  for root in roots for d, dirs, files in os.walk(root) for name in dirs + files)


def _run(argv):
    """``main(argv)``'s exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.fixture
def folders(tmp_path, monkeypatch):
    fix, out, cwd = tmp_path / "fix", tmp_path / "out", tmp_path / "cwd"
    for folder in (fix, out, cwd):
        folder.mkdir()
    _fixtures(fix)
    monkeypatch.chdir(cwd)      # anything written relative to the working directory lands here
    return fix, out, cwd


def test_enough_cases():
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("argv, flag, value", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exit_2_one_line_no_file(argv, flag, value, folders, capsys):
    fix, out, cwd = folders
    argv = [a.replace("{FIX}", str(fix)).replace("{OUT}", str(out)) for a in argv]
    before = _tree(fix, out, cwd)
    start = time.perf_counter()
    status = _run(argv)
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    err = captured.err
    assert status == 2, (status, err)
    assert "Traceback" not in err and "Traceback" not in captured.out
    lines = err.strip().splitlines()
    message = lines[-1]
    assert message.startswith("lorank") and ": error: " in message, err
    # argparse puts its usage line first; our own errors are the one line alone
    assert len(lines) == 1 or lines[0].startswith("usage:"), err
    assert flag in message and value in message, (flag, value, message)
    assert captured.out == ""
    assert _tree(fix, out, cwd) == before, "a file or folder was left behind"
    assert seconds < 5, f"took {seconds:.1f} s"


#: Inputs 0.4.0 accepted that stay valid (exit 0): huge but exact integers; the bounds on
#: exact numbers (100 digits, decimal exponent within 300) still let them through.
VALID = [
    ("m-10^40", ["prescribe", "--m", "1" + "0" * 40, "--n", "768", *KN]),
    ("N-10^30", ["prescribe", *MODEL, "--K", "2", "--N", "1" + "0" * 30]),
    ("cstar-ratio", ["prescribe", *DIMS, *KN, "--cstar", "27/20"]),
    ("cstar-1e300", ["prescribe", *DIMS, *KN, "--cstar", "1e300"]),
    ("cstar-spaces", ["prescribe", *DIMS, *KN, "--cstar", " 1.35 "]),
    ("version", ["--version"]),
]


@pytest.mark.parametrize("argv", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_edge_input_exit_0_no_file(argv, folders, capsys):
    fix, out, cwd = folders
    before = _tree(fix, out, cwd)
    assert _run(argv) in (0, None)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "error" not in captured.err
    assert _tree(fix, out, cwd) == before


def test_peft_writes_only_the_config_and_its_sidecar(folders, capsys):
    fix, out, cwd = folders
    assert _run(["prescribe", *MODEL, *KN, "--peft", str(out / "lora.json")]) == 0
    assert sorted(os.listdir(out)) == ["lora.json", "lora.provenance.json"]
