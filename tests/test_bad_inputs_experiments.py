"""Bad input as a contract, for the four experiment commands (``cstar``, ``separability``,
``pl``, ``rademacher``; issue 11, section 4).

Every row of :data:`CASES` is one bad command line. Each runs in-process through
``lorank.cli.main`` with the working directory set to an empty temporary folder, and must

- exit with status 2, with no traceback;
- print one message starting ``lorank <cmd>: error:`` that names the flag and the offending
  value (or path): every ``needles`` string of the row must appear in it;
- leave nothing behind: no file or folder appears in the working directory, in the fixtures, in
  any ``--out`` given, or in the repository's ``results/`` folder.

No case may start a run: the runner is replaced by one that fails the test, so a bad input that
slips through is reported at once instead of computing (or allocating) anything.

The fixtures are small records written once per module with :func:`numerics.experiments.records.open_record`
(a header and no trials), a truncated and a non-gzip ``.gz``, a record of garbage lines and a
plain file. ``test_every_flag_is_covered`` checks that every flag of every experiment command is
exercised by at least one row. The 0.4.0 survey these rows come from is
``bad-inputs-0.4.0.json`` (issue 11).
"""

from __future__ import annotations

import gzip
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lorank.cli import main

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "results"
FIVE_THOUSAND_DIGITS = "7" * 5000
HUGE_TRIALS = str(10**50)
BIG = str(10**30)  # 31 digits: parses as an integer, but far too many of anything
NEW = "{fx}/new-out"  # an --out that does not exist (and must not be created)

# (command, arguments, needles): the arguments are a shell-like string whose {placeholders}
# are fixture paths (see `fx`); every needle must appear in the error message.
CASES = [
    # ---------------------------------------------------------------- cstar: sizes and ranks
    ("cstar", "--sizes abc", ["--sizes", "'abc'"]),
    ("cstar", "--sizes -8x8", ["--sizes", "'-8x8'"]),
    ("cstar", "--sizes=-8x8", ["--sizes", "'-8x8'"]),
    ("cstar", "--sizes 8x", ["--sizes", "'8x'"]),
    ("cstar", "--sizes 0x8", ["--sizes", "'0x8'"]),
    ("cstar", "--sizes 8x8x8", ["--sizes", "'8x8x8'"]),
    ("cstar", "--sizes ''", ["--sizes", "''"]),
    ("cstar", "--sizes 8,8", ["--sizes", "'8'"]),
    ("cstar", "--sizes 8x8,", ["--sizes", "'8x8,'"]),
    ("cstar", "--sizes 8x8,8x8", ["--sizes", "'8x8,8x8'"]),
    ("cstar", "--sizes 1234567890x8", ["--sizes", "'1234567890x8'"]),
    ("cstar", "--sizes 100000x100000 --ranks 1 --trials 1", ["--sizes", "100000x100000"]),
    ("cstar", "--features structured --K 1 --sizes 100000x100000 --ranks 1 --rho 1 --trials 1",
     ["--sizes", "100000x100000"]),
    ("cstar", "--sizes 8x8 --ranks 9", ["--ranks", "r=9", "8x8"]),
    ("cstar", "--ranks 0", ["--ranks", "'0'"]),
    ("cstar", "--ranks -1", ["--ranks", "'-1'"]),
    ("cstar", "--ranks 1.5", ["--ranks", "'1.5'"]),
    ("cstar", "--ranks ''", ["--ranks", "''"]),
    ("cstar", "--ranks 1,1", ["--ranks", "'1,1'"]),
    ("cstar", "--ranks " + FIVE_THOUSAND_DIGITS, ["--ranks", "777777777777"]),
    # ---------------------------------------------------------------- cstar: grids
    ("cstar", "--rho nan", ["--rho", "'nan'"]),
    ("cstar", "--rho inf", ["--rho", "'inf'"]),
    ("cstar", "--rho -1", ["--rho", "-1"]),
    ("cstar", "--rho 0", ["--rho", "'0'"]),
    ("cstar", "--rho ''", ["--rho", "''"]),
    ("cstar", "--rho 1e400", ["--rho", "'1e400'"]),
    ("cstar", "--rho 1e-400", ["--rho", "'1e-400'"]),
    ("cstar", "--rho 0.5:2:1e-9", ["--rho", "'0.5:2:1e-9'", "10000"]),
    ("cstar", "--rho 2:1:0.1", ["--rho", "'2:1:0.1'"]),
    ("cstar", "--rho 1:2:0", ["--rho", "'1:2:0'"]),
    ("cstar", "--rho a:b:c", ["--rho", "'a'"]),
    ("cstar", "--rho 0.5:2", ["--rho", "'0.5:2'"]),
    ("cstar", "--rho 1,1", ["--rho", "'1,1'"]),
    ("cstar", "--rho 1,,2", ["--rho", "'1,,2'"]),
    ("cstar", "--rho 1 --kn 5", ["--kn", "--rho"]),
    ("cstar", "--kn 0", ["--kn", "'0'"]),
    ("cstar", "--kn 2.5", ["--kn", "'2.5'"]),
    ("cstar", "--kn 4,4", ["--kn", "'4,4'"]),
    ("cstar", "--sizes 4x4 --ranks 1 --kn 10**3", ["--kn", "'10**3'"]),
    # ---------------------------------------------------------------- cstar: features
    ("cstar", "--features foo", ["--features", "'foo'"]),
    ("cstar", "--features structured", ["--features structured", "--K"]),
    ("cstar", "--K 3", ["--K", "3"]),
    ("cstar", "--features structured --K 3,5", ["--K", "'3,5'"]),
    ("cstar", "--features structured --K 0", ["--K", "'0'"]),
    # ---------------------------------------------------------------- cstar: scalar ints
    ("cstar", "--trials 0", ["--trials", "'0'"]),
    ("cstar", "--trials abc", ["--trials", "'abc'"]),
    ("cstar", "--trials -3", ["--trials", "'-3'"]),
    ("cstar", "--trials 4,5", ["--trials", "'4,5'"]),
    ("cstar", "--trials 2.5", ["--trials", "'2.5'"]),
    ("cstar", "--trials 1e3", ["--trials", "'1e3'"]),
    ("cstar", "--trials " + HUGE_TRIALS, ["--trials", HUGE_TRIALS[:12]]),
    ("cstar", "--trials " + FIVE_THOUSAND_DIGITS, ["--trials", "777777777777"]),
    ("cstar", "--trials ''", ["--trials", "''"]),
    ("cstar", "--trials " + BIG, ["--trials", BIG]),
    ("cstar", "--kn " + BIG + " --sizes 4x4 --ranks 1 --trials 1", ["--sizes", "4x4", "--kn", "1e+30"]),
    ("cstar", "--rho 1e-299 --sizes 4x4 --ranks 1 --trials 1", ["--sizes", "4x4", "--rho", "7e+299"]),
    ("cstar", "--rho 1e299 --sizes 4x4 --ranks 1 --trials 1", ["--rho", "1e+299", "(4, 4, 1)"]),
    ("cstar", "--features structured --K 3 --kn 4", ["--kn", "4", "K = 3"]),
    ("pl", "--rho 1e299 --sizes 4x4 --ranks 1 --trials 1", ["--rho", "1e+299", "(4, 4, 1)"]),
    ("cstar", "--seed -1", ["--seed", "'-1'"]),
    ("cstar", "--seed x", ["--seed", "'x'"]),
    ("cstar", "--seed 1,2", ["--seed", "'1,2'"]),
    ("cstar", "--batch-size 0", ["--batch-size", "'0'"]),
    ("cstar", "--batch-size 8,16", ["--batch-size", "'8,16'"]),
    ("cstar", "--threads 0", ["--threads", "'0'"]),
    ("cstar", "--threads many", ["--threads", "'many'"]),
    ("cstar", "--threads " + BIG, ["--threads", BIG]),
    ("cstar", "--bootstrap -1", ["--bootstrap", "'-1'"]),
    ("cstar", "--bootstrap 1,2", ["--bootstrap", "'1,2'"]),
    ("cstar", "--restarts 2,9", ["--restarts", "'2,9'"]),
    ("cstar", "--restarts 0", ["--restarts", "'0'"]),
    ("cstar", "--restarts 100000", ["--restarts", "'100000'"]),
    ("cstar", "--max-iters " + BIG, ["--max-iters", BIG]),
    ("cstar", "--bootstrap " + BIG, ["--bootstrap", BIG]),
    ("cstar", "--max-iters 0", ["--max-iters", "'0'"]),
    ("cstar", "--max-iters 1.5", ["--max-iters", "'1.5'"]),
    # ---------------------------------------------------------------- cstar: device, dtype
    ("cstar", "--device tpu", ["--device", "'tpu'"]),
    ("cstar", "--device gpu:0", ["--device", "'gpu:0'"]),
    ("cstar", "--device cuda --sizes 4x4 --ranks 1 --kn 3 --trials 1", ["--device", "'cuda'"]),
    ("cstar", "--device cuda:1 --sizes 4x4 --ranks 1 --kn 3 --trials 1", ["--device", "'cuda:1'"]),
    ("cstar", "--dtype float16", ["--dtype", "'float16'"]),
    ("cstar", "--dtype ''", ["--dtype", "''"]),
    # ---------------------------------------------------------------- cstar: estimands
    ("cstar", "--estimand foo", ["--estimand", "'foo'"]),
    ("cstar", "--estimand lm --budgets 10", ["--budgets", "'10'", "lm"]),
    ("cstar", "--eps 1e-3", ["--eps", "'1e-3'", "lm"]),
    ("cstar", "--estimand recipe --restarts 2", ["--restarts", "'2'", "recipe"]),
    ("cstar", "--estimand recipe --max-iters 10", ["--max-iters", "'10'", "recipe"]),
    ("cstar", "--estimand recipe --budgets 0", ["--budgets", "'0'"]),
    ("cstar", "--estimand recipe --budgets 10,10", ["--budgets", "'10,10'"]),
    ("cstar", "--estimand recipe --budgets 10," + BIG, ["--budgets", BIG]),
    ("cstar", "--estimand recipe --eps 0", ["--eps", "'0'"]),
    ("cstar", "--estimand recipe --eps nan", ["--eps", "'nan'"]),
    ("cstar", "--estimand recipe --eps 1e-3,1e-3", ["--eps", "'1e-3,1e-3'"]),
    # ---------------------------------------------------------------- cstar: output folder
    ("cstar", "--out /proc/x", ["--out", "'/proc/x'"]),
    ("cstar", "--out {afile}", ["--out", "'{afile}'"]),
    ("cstar", "--out {afile}/sub", ["--out", "'{afile}/sub'"]),
    ("cstar", "--out {results}/bad-input-probe", ["--out", "results/bad-input-probe", "results/"]),
    ("cstar", "--out {cstar_rec}", ["--out", "'{cstar_rec}'", "--resume"]),
    ("cstar", "--out {cstar_run}", ["--out", "'{cstar_run}'", "summary"]),
    ("cstar", "--out {gz_run}", ["--out", "'{gz_run}'", "compressed"]),
    ("cstar", "--out=", ["--out", "''"]),
    ("cstar", "--json=yes", ["--json", "'yes'"]),
    ("cstar", "--no-plot=1", ["--no-plot", "'1'"]),
    ("cstar", "--no-progress=0", ["--no-progress", "'0'"]),
    ("cstar", "--resume=please", ["--resume", "'please'"]),
    ("cstar", "--distributed=4", ["--distributed", "'4'"]),
    # ---------------------------------------------------------------- cstar: --summarise
    ("cstar", "--summarise {fx}/no-such-dir --out " + NEW, ["--summarise", "'{fx}/no-such-dir'"]),
    ("cstar", "--summarise {empty} --out " + NEW, ["--summarise", "'{empty}'"]),
    ("cstar", "--summarise {afile} --out " + NEW, ["--summarise", "'{afile}'"]),
    ("cstar", "--summarise {trunc_gz} --out " + NEW, ["{trunc_gz}/record.jsonl.gz"]),
    ("cstar", "--summarise {bad_gz} --out " + NEW, ["{bad_gz}/record.jsonl.gz"]),
    ("cstar", "--summarise {garbage} --out " + NEW, ["{garbage}/record.jsonl", "line 2"]),
    ("cstar", "--summarise {no_header} --out " + NEW, ["{no_header}/record.jsonl", "line 1"]),
    ("cstar", "--summarise {empty_rec} --out " + NEW, ["{empty_rec}/record.jsonl"]),
    ("cstar", "--summarise {pl_run} --out " + NEW, ["{pl_run}/record.jsonl", "pl", "cstar"]),
    ("cstar", "--summarise {rad_run} --out " + NEW,
     ["{rad_run}/record.jsonl", "rademacher", "cstar"]),
    ("cstar", "--summarise {sep_run} --out " + NEW,
     ["{sep_run}/record.jsonl", "separability", "cstar"]),
    ("cstar", "--summarise {cstar_run}", ["--summarise", "--out"]),
    ("cstar", "--summarise {cstar_run} --out {cstar_run}", ["--out", "'{cstar_run}'"]),
    ("cstar", "--summarise {cstar_run} --out {afile}", ["--out", "'{afile}'"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --resume", ["--resume", "--summarise"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --distributed",
     ["--distributed", "--summarise"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --sizes 99x99",
     ["--sizes", "'99x99'", "--summarise"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --resume --sizes 99x99",
     ["--sizes", "'99x99'"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --trials 5", ["--trials", "'5'"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --device cpu", ["--device", "'cpu'"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --estimand recipe",
     ["--estimand", "recipe", "cstar-lm"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --eps 1e-2", ["--eps", "'1e-2'"]),
    ("cstar", "--summarise {cstar_run} --out " + NEW + " --bootstrap -1", ["--bootstrap", "'-1'"]),
    ("cstar", "--summarise {cstar_run} --out {results}/bad-input-probe", ["--out", "results/"]),
    ("cstar", "--summarise", ["--summarise"]),
    ("cstar", "--summarise= --out " + NEW, ["--summarise", "''"]),
    # ---------------------------------------------------------------- separability
    ("separability", "--sizes 4x4 --ranks 5", ["--ranks", "r=5", "4x4"]),
    ("separability", "--sizes 4x", ["--sizes", "'4x'"]),
    ("separability", "--sizes 100000x100000 --ranks 1 --trials 1", ["--sizes", "100000x100000"]),
    ("separability", "--ranks 1,x", ["--ranks", "'x'"]),
    ("separability", "--rho 0.5:2:1e-9", ["--rho", "'0.5:2:1e-9'"]),
    ("separability", "--rho 0.3,-0.1", ["--rho", "-0.1"]),
    ("separability", "--kn 0", ["--kn", "'0'"]),
    ("separability", "--trials 4,5", ["--trials", "'4,5'"]),
    ("separability", "--restarts 2,9", ["--restarts", "'2,9'"]),
    ("separability", "--restarts 0", ["--restarts", "'0'"]),
    ("separability", "--max-iters -5", ["--max-iters", "'-5'"]),
    ("separability", "--budgets 0", ["--budgets", "'0'"]),
    ("separability", "--budgets ''", ["--budgets", "''"]),
    ("separability", "--budgets 10,10", ["--budgets", "'10,10'"]),
    ("separability", "--margin -1", ["--margin", "-1"]),
    ("separability", "--margin 0", ["--margin", "'0'"]),
    ("separability", "--margin 1e-8,1e-6", ["--margin", "'1e-8,1e-6'"]),
    ("separability", "--margin abc", ["--margin", "'abc'"]),
    ("separability", "--canonical abc", ["--canonical", "'abc'"]),
    ("separability", "--canonical 0", ["--canonical", "'0'"]),
    ("separability", "--canonical 32,32", ["--canonical", "'32,32'"]),
    ("separability", "--canonical-trials 0", ["--canonical-trials", "'0'"]),
    ("separability", "--canonical-trials 2,3", ["--canonical-trials", "'2,3'"]),
    ("separability", "--seed -1", ["--seed", "'-1'"]),
    ("separability", "--device tpu", ["--device", "'tpu'"]),
    ("separability", "--device cuda --sizes 4x4 --ranks 1 --kn 3 --trials 1", ["--device", "'cuda'"]),
    ("separability", "--dtype float16", ["--dtype", "'float16'"]),
    ("separability", "--batch-size 0", ["--batch-size", "'0'"]),
    ("separability", "--threads 1.5", ["--threads", "'1.5'"]),
    ("separability", "--estimand lm", ["--estimand", "lm"]),
    ("separability", "--max-iters " + BIG, ["--max-iters", BIG]),
    ("separability", "--threads " + BIG, ["--threads", BIG]),
    ("separability", "--resume=1", ["--resume", "'1'"]),
    ("separability", "--json=1", ["--json", "'1'"]),
    ("separability", "--no-plot=yes", ["--no-plot", "'yes'"]),
    ("separability", "--no-progress=x", ["--no-progress", "'x'"]),
    ("separability", "--summarise {sep_run} --out " + NEW + " --distributed", ["--distributed"]),
    ("separability", "--summarise {sep_run} --out " + NEW + " --resume", ["--resume"]),
    ("separability", "--out /proc/x", ["--out", "'/proc/x'"]),
    ("separability", "--out {afile}/sub", ["--out", "'{afile}/sub'"]),
    ("separability", "--out {results}/separability/bad-input-probe", ["--out", "results/"]),
    ("separability", "--summarise {cstar_run} --out " + NEW,
     ["{cstar_run}/record.jsonl", "cstar-lm", "separability"]),
    ("separability", "--summarise {trunc_gz} --out " + NEW, ["{trunc_gz}/record.jsonl.gz"]),
    ("separability", "--summarise {sep_run} --out " + NEW + " --margin 1e-6", ["--margin", "'1e-6'"]),
    ("separability", "--summarise {sep_run} --out " + NEW + " --canonical abc",
     ["--canonical", "'abc'"]),
    ("separability", "--summarise {sep_run} --out {sep_run}", ["--out", "'{sep_run}'"]),
    # ---------------------------------------------------------------- pl
    ("pl", "--gd-c -1", ["--gd-c", "-1"]),
    ("pl", "--gd-c 0", ["--gd-c", "'0'"]),
    ("pl", "--gd-c nan", ["--gd-c", "'nan'"]),
    ("pl", "--gd-c 0.5,1", ["--gd-c", "'0.5,1'"]),
    ("pl", "--gd-c 1e999", ["--gd-c", "'1e999'"]),
    ("pl", "--gd-steps -1", ["--gd-steps", "'-1'"]),
    ("pl", "--gd-steps 1.5", ["--gd-steps", "'1.5'"]),
    ("pl", "--gd-trials -1", ["--gd-trials", "'-1'"]),
    ("pl", "--gd-trials 2,3", ["--gd-trials", "'2,3'"]),
    ("pl", "--sizes 4x4 --ranks 5", ["--ranks", "r=5", "4x4"]),
    ("pl", "--sizes 8X", ["--sizes", "'8X'"]),
    ("pl", "--sizes 100000x100000 --ranks 1 --trials 1", ["--sizes", "100000x100000"]),
    ("pl", "--ranks 0", ["--ranks", "'0'"]),
    ("pl", "--rho inf", ["--rho", "'inf'"]),
    ("pl", "--rho 2:1:0.1", ["--rho", "'2:1:0.1'"]),
    ("pl", "--kn 3,3", ["--kn", "'3,3'"]),
    ("pl", "--trials 0", ["--trials", "'0'"]),
    ("pl", "--trials 4,5", ["--trials", "'4,5'"]),
    ("pl", "--seed 1e3", ["--seed", "'1e3'"]),
    ("pl", "--device cuda --sizes 4x4 --ranks 1 --kn 3 --trials 1", ["--device", "'cuda'"]),
    ("pl", "--device tpu", ["--device", "'tpu'"]),
    ("pl", "--dtype float16", ["--dtype", "'float16'"]),
    ("pl", "--batch-size -1", ["--batch-size", "'-1'"]),
    ("pl", "--threads 0", ["--threads", "'0'"]),
    ("pl", "--bootstrap 5", ["--bootstrap", "5"]),
    ("pl", "--gd-steps " + BIG, ["--gd-steps", BIG]),
    ("pl", "--threads " + BIG, ["--threads", BIG]),
    ("pl", "--trials " + BIG, ["--trials", BIG]),
    ("pl", "--distributed=yes", ["--distributed", "'yes'"]),
    # ---------------------------------------------------------------- xent
    ("xent", "--labels random", ["--labels", "'random'"]),
    ("xent", "--teacher-rank 0", ["--teacher-rank", "'0'"]),
    ("xent", "--teacher-rank 2 --ranks 1,2", ["--teacher-rank", "2", "--ranks"]),
    ("xent", "--teacher-rank 9 --sizes 8x8 --ranks 8", ["--teacher-rank", "9", "8x8"]),
    ("xent", "--budgets 100,10", ["--budgets", "'100,10'"]),
    ("xent", "--budgets 0", ["--budgets", "'0'"]),
    ("xent", "--budgets " + BIG, ["--budgets", BIG]),
    ("xent", "--restarts 0", ["--restarts", "'0'"]),
    ("xent", "--max-iters -1", ["--max-iters", "'-1'"]),
    ("xent", "--sizes 8X", ["--sizes", "'8X'"]),
    ("xent", "--ranks 9 --sizes 8x8", ["--ranks", "r=9", "8x8"]),
    ("xent", "--rho 0", ["--rho", "'0'"]),
    ("xent", "--kn 3,3", ["--kn", "'3,3'"]),
    ("xent", "--trials 0", ["--trials", "'0'"]),
    ("xent", "--seed -1", ["--seed", "'-1'"]),
    ("xent", "--device tpu", ["--device", "'tpu'"]),
    ("xent", "--dtype float16", ["--dtype", "'float16'"]),
    ("xent", "--batch-size 0", ["--batch-size", "'0'"]),
    ("xent", "--threads 0", ["--threads", "'0'"]),
    ("xent", "--json=", ["--json", "''"]),
    ("xent", "--no-plot=0", ["--no-plot", "'0'"]),
    ("xent", "--no-progress=1", ["--no-progress", "'1'"]),
    ("xent", "--distributed=yes", ["--distributed", "'yes'"]),
    ("xent", "--resume=1", ["--resume", "'1'"]),
    ("xent", "--out /proc/x", ["--out", "'/proc/x'"]),
    ("xent", "--summarise {pl_run} --out " + NEW, ["{pl_run}/record.jsonl", "pl", "xent"]),
    ("pl", "--json=", ["--json", "''"]),
    ("pl", "--no-plot=0", ["--no-plot", "'0'"]),
    ("pl", "--no-progress=1", ["--no-progress", "'1'"]),
    ("pl", "--summarise {pl_run} --out " + NEW + " --distributed", ["--distributed"]),
    ("pl", "--out /proc/x", ["--out", "'/proc/x'"]),
    ("pl", "--out {afile}", ["--out", "'{afile}'"]),
    ("pl", "--out {pl_rec}", ["--out", "'{pl_rec}'", "--resume"]),
    ("pl", "--summarise {cstar_run} --out " + NEW, ["{cstar_run}/record.jsonl", "cstar-lm", "pl"]),
    ("pl", "--summarise {trunc_gz} --out " + NEW, ["{trunc_gz}/record.jsonl.gz"]),
    ("pl", "--summarise {garbage} --out " + NEW, ["{garbage}/record.jsonl"]),
    ("pl", "--summarise {pl_run}", ["--summarise", "--out"]),
    ("pl", "--summarise {pl_run} --out {pl_run}", ["--out", "'{pl_run}'"]),
    ("pl", "--summarise {pl_run} --out " + NEW + " --resume", ["--resume"]),
    ("pl", "--summarise {pl_run} --out " + NEW + " --gd-c 2", ["--gd-c", "'2'"]),
    # ---------------------------------------------------------------- rademacher
    ("rademacher", "--m 0", ["--m", "'0'"]),
    ("rademacher", "--m 2", ["--m", "'2'"]),
    ("rademacher", "--m abc", ["--m", "'abc'"]),
    ("rademacher", "--m 3,4", ["--m", "'3,4'"]),
    ("rademacher", "--n 0", ["--n", "'0'"]),
    ("rademacher", "--n 1.5", ["--n", "'1.5'"]),
    ("rademacher", "--m 16 --n 16 --ranks 20", ["--ranks", "20", "16"]),
    ("rademacher", "--ranks 0", ["--ranks", "'0'"]),
    ("rademacher", "--ranks 2,2", ["--ranks", "'2,2'"]),
    ("rademacher", "--m 100000 --n 100000 --ranks 1 --trials 1", ["--m", "100000"]),
    ("rademacher", "--tasks foo", ["--tasks", "'foo'"]),
    ("rademacher", "--tasks ''", ["--tasks", "''"]),
    ("rademacher", "--tasks 3-class,3-class", ["--tasks", "'3-class,3-class'"]),
    ("rademacher", "--n-train ''", ["--n-train", "''"]),
    ("rademacher", "--n-train 0", ["--n-train", "'0'"]),
    ("rademacher", "--n-train 16,16", ["--n-train", "'16,16'"]),
    ("rademacher", "--n-test 0", ["--n-test", "'0'"]),
    ("rademacher", "--n-test 5,6", ["--n-test", "'5,6'"]),
    ("rademacher", "--n-test " + HUGE_TRIALS, ["--n-test", HUGE_TRIALS[:12]]),
    ("rademacher", "--noise -1", ["--noise", "-1"]),
    ("rademacher", "--noise nan", ["--noise", "'nan'"]),
    ("rademacher", "--noise 1,1", ["--noise", "'1,1'"]),
    ("rademacher", "--trials 0", ["--trials", "'0'"]),
    ("rademacher", "--trials 4,5", ["--trials", "'4,5'"]),
    ("rademacher", "--weight-decay -1", ["--weight-decay", "-1"]),
    ("rademacher", "--weight-decay nan", ["--weight-decay", "'nan'"]),
    ("rademacher", "--weight-decay 1,2", ["--weight-decay", "'1,2'"]),
    ("rademacher", "--w0-scale -1", ["--w0-scale", "-1"]),
    ("rademacher", "--w0-scale x", ["--w0-scale", "'x'"]),
    ("rademacher", "--noise 1e299 --w0-scale 1e299", ["--noise", "'1e299'"]),
    ("rademacher", "--w0-scale 1e299", ["--w0-scale", "'1e299'"]),
    ("rademacher", "--weight-decay 1e299", ["--weight-decay", "'1e299'"]),
    ("rademacher", "--seed -2", ["--seed", "'-2'"]),
    ("rademacher", "--device cuda", ["--device", "'cuda'"]),
    ("rademacher", "--device tpu", ["--device", "'tpu'"]),
    ("rademacher", "--dtype float16", ["--dtype", "'float16'"]),
    ("rademacher", "--batch-size 0", ["--batch-size", "'0'"]),
    ("rademacher", "--threads 0", ["--threads", "'0'"]),
    ("rademacher", "--bootstrap 0", ["--bootstrap", "'0'"]),
    ("rademacher", "--bootstrap -1", ["--bootstrap", "'-1'"]),
    ("rademacher", "--kn 3", ["--kn", "3"]),
    ("rademacher", "--n-test " + BIG, ["--n-test", BIG]),
    ("rademacher", "--n-train 16," + BIG, ["--n-train", BIG]),
    ("rademacher", "--bootstrap " + BIG, ["--bootstrap", BIG]),
    ("rademacher", "--threads " + BIG, ["--threads", BIG]),
    ("rademacher", "--resume=no", ["--resume", "'no'"]),
    ("rademacher", "--json=1", ["--json", "'1'"]),
    ("rademacher", "--no-plot=1", ["--no-plot", "'1'"]),
    ("rademacher", "--no-progress=1", ["--no-progress", "'1'"]),
    ("rademacher", "--summarise {rad_run} --out " + NEW + " --distributed", ["--distributed"]),
    ("rademacher", "--summarise {rad_run} --out " + NEW + " --resume", ["--resume"]),
    ("rademacher", "--out /proc/x", ["--out", "'/proc/x'"]),
    ("rademacher", "--out {afile}", ["--out", "'{afile}'"]),
    ("rademacher", "--out {results}/rademacher/cpu-default", ["--out", "results/"]),
    ("rademacher", "--summarise {cstar_run} --out " + NEW,
     ["{cstar_run}/record.jsonl", "cstar-lm", "rademacher"]),
    ("rademacher", "--summarise {trunc_gz} --out " + NEW, ["{trunc_gz}/record.jsonl.gz"]),
    ("rademacher", "--summarise {rad_run} --out " + NEW + " --m 8", ["--m", "'8'"]),
    ("rademacher", "--summarise {rad_run} --out " + NEW + " --bootstrap 0", ["--bootstrap", "'0'"]),
    # ---------------------------------------------------------------- rank-sweep
    ("rank-sweep", "--m 0", ["--m", "'0'"]),
    ("rank-sweep", "--m 3,4", ["--m", "'3,4'"]),
    ("rank-sweep", "--n x", ["--n", "'x'"]),
    ("rank-sweep", "--m 4 --n 4 --max-rank 5", ["--max-rank", "5", "4"]),
    ("rank-sweep", "--max-rank 0", ["--max-rank", "'0'"]),
    ("rank-sweep", "--teacher-ranks 0", ["--teacher-ranks", "'0'"]),
    ("rank-sweep", "--teacher-ranks 1,1", ["--teacher-ranks", "'1,1'"]),
    ("rank-sweep", "--max-rank 3 --teacher-ranks 3", ["--teacher-ranks", "3", "--max-rank"]),
    ("rank-sweep", "--n-train 1", ["--n-train", "1"]),
    ("rank-sweep", "--n-train ''", ["--n-train", "''"]),
    ("rank-sweep", "--n-train 16," + BIG, ["--n-train", BIG]),
    ("rank-sweep", "--n-test 0", ["--n-test", "'0'"]),
    ("rank-sweep", "--n-test " + BIG, ["--n-test", BIG]),
    ("rank-sweep", "--noise -1", ["--noise", "-1"]),
    ("rank-sweep", "--noise nan", ["--noise", "'nan'"]),
    ("rank-sweep", "--noise 1e299", ["--noise", "'1e299'"]),
    ("rank-sweep", "--trials 0", ["--trials", "'0'"]),
    ("rank-sweep", "--iters 0", ["--iters", "'0'"]),
    ("rank-sweep", "--iters " + BIG, ["--iters", BIG]),
    ("rank-sweep", "--stop-rtol 0", ["--stop-rtol", "'0'"]),
    ("rank-sweep", "--stop-rtol nan", ["--stop-rtol", "'nan'"]),
    ("rank-sweep", "--stop-rtol 2", ["--stop-rtol", "'2'"]),
    ("rank-sweep", "--restarts -1", ["--restarts", "'-1'"]),
    ("rank-sweep", "--restarts " + BIG, ["--restarts", BIG]),
    ("rank-sweep", "--ridge -1", ["--ridge", "-1"]),
    ("rank-sweep", "--ridge nan", ["--ridge", "'nan'"]),
    ("rank-sweep", "--seed -2", ["--seed", "'-2'"]),
    ("rank-sweep", "--device cuda", ["--device", "'cuda'"]),
    ("rank-sweep", "--device tpu", ["--device", "'tpu'"]),
    ("rank-sweep", "--batch-size 0", ["--batch-size", "'0'"]),
    ("rank-sweep", "--threads 0", ["--threads", "'0'"]),
    ("rank-sweep", "--bootstrap 0", ["--bootstrap", "'0'"]),
    ("rank-sweep", "--m 100000 --n 100000 --max-rank 1 --teacher-ranks 1", ["--teacher-ranks", "1"]),
    ("rank-sweep", "--m 30000 --n 30000 --n-test 100000", ["--m", "30000"]),
    ("rank-sweep", "--resume=no", ["--resume", "'no'"]),
    ("rank-sweep", "--json=1", ["--json", "'1'"]),
    ("rank-sweep", "--no-plot=1", ["--no-plot", "'1'"]),
    ("rank-sweep", "--no-progress=1", ["--no-progress", "'1'"]),
    ("rank-sweep", "--distributed=4", ["--distributed", "'4'"]),
    ("rank-sweep", "--out {results}/rank-sweep/x", ["--out", "results/"]),
    ("rank-sweep", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher", "rank-sweep"]),
    # ---------------------------------------------------------------- gradient-flow
    ("gradient-flow", "--m 0", ["--m", "'0'"]),
    ("gradient-flow", "--m 5000", ["--m", "'5000'"]),
    ("gradient-flow", "--n x", ["--n", "'x'"]),
    ("gradient-flow", "--m 4 --n 4 --rank 5", ["--rank", "5", "min(m, n)"]),
    ("gradient-flow", "--rank 0", ["--rank", "'0'"]),
    ("gradient-flow", "--examples 0", ["--examples", "'0'"]),
    ("gradient-flow", "--examples " + BIG, ["--examples", BIG]),
    ("gradient-flow", "--m 4000 --n 4000 --examples 100000", ["--m/--n/--examples", "GiB"]),
    ("gradient-flow", "--horizon 0", ["--horizon", "'0'"]),
    ("gradient-flow", "--horizon nan", ["--horizon", "'nan'"]),
    ("gradient-flow", "--horizon 1e9", ["--horizon", "'1e9'"]),
    ("gradient-flow", "--etas 0.1", ["--etas", "'0.1'", "two"]),
    ("gradient-flow", "--etas 0.1,-0.05", ["--etas", "-0.05"]),
    ("gradient-flow", "--etas 2,1", ["--etas", "'2,1'"]),
    ("gradient-flow", "--etas 0.3,0.1", ["--etas", "0.3", "--horizon"]),
    ("gradient-flow", "--etas 0.1,0.1", ["--etas", "'0.1,0.1'"]),
    ("gradient-flow", "--ref-step 0", ["--ref-step", "'0'"]),
    ("gradient-flow", "--ref-step 0.01 --etas 0.1,0.005", ["--ref-step", "0.01", "--etas", "0.005"]),
    ("gradient-flow", "--ref-step 0.003", ["--ref-step", "0.003", "whole number"]),
    ("gradient-flow", "--ref-step 1e-7", ["--ref-step", "1e-07", "more than"]),
    ("gradient-flow", "--trials 0", ["--trials", "'0'"]),
    ("gradient-flow", "--trials " + BIG, ["--trials", BIG]),
    ("gradient-flow", "--trace-n 0", ["--trace-n", "'0'"]),
    ("gradient-flow", "--trace-n 5000", ["--trace-n", "'5000'"]),
    ("gradient-flow", "--trace-n 4 --trace-rank 5", ["--trace-rank", "5", "--trace-n"]),
    ("gradient-flow", "--trace-rank x", ["--trace-rank", "'x'"]),
    ("gradient-flow", "--m 2 --n 2 --rank 1 --examples 1 --trace-n 4000 --trials 100000 "
     "--batch-size 100000", ["--trace-n", "GiB"]),
    ("gradient-flow", "--trace-horizon -1", ["--trace-horizon", "-1"]),
    ("gradient-flow", "--trace-step 0.03", ["--trace-step", "0.03", "whole number"]),
    ("gradient-flow", "--trace-step 0.4", ["--trace-step", "0.4", "multiple of 10"]),
    ("gradient-flow", "--ey-n 0", ["--ey-n", "'0'"]),
    ("gradient-flow", "--ey-n 16", ["--ey-ranks", "16", "--ey-n"]),
    ("gradient-flow", "--ey-n 4000 --ey-trials 1000 --batch-size 1000", ["--ey-n", "GiB"]),
    ("gradient-flow", "--ey-ranks 0", ["--ey-ranks", "'0'"]),
    ("gradient-flow", "--ey-ranks 1,1", ["--ey-ranks", "'1,1'"]),
    ("gradient-flow", "--alphas 0.5", ["--alphas", "0.5"]),
    ("gradient-flow", "--alphas 5", ["--alphas", "5"]),
    ("gradient-flow", "--alphas nan", ["--alphas", "'nan'"]),
    ("gradient-flow", "--alphas 0.5:4:1e-6", ["--alphas", "more than 10000"]),
    ("gradient-flow", "--alphas 0.6:4:0.001 --ey-n 200 --ey-ranks " + ",".join(map(str, range(1, 41))),
     ["--alphas", "--ey-ranks", "more than 100000"]),
    ("gradient-flow", "--ey-horizon 0", ["--ey-horizon", "'0'"]),
    ("gradient-flow", "--ey-step 0.07", ["--ey-step", "0.07", "whole number"]),
    ("gradient-flow", "--ey-step 2", ["--ey-step", "'2'"]),
    ("gradient-flow", "--spectral-scale 0", ["--spectral-scale", "'0'"]),
    ("gradient-flow", "--spectral-scale 1e9", ["--spectral-scale", "'1e9'"]),
    ("gradient-flow", "--ey-trials 0", ["--ey-trials", "'0'"]),
    ("gradient-flow", "--seed -1", ["--seed", "'-1'"]),
    ("gradient-flow", "--device tpu", ["--device", "'tpu'"]),
    ("gradient-flow", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("gradient-flow", "--batch-size 0", ["--batch-size", "'0'"]),
    ("gradient-flow", "--threads 0", ["--threads", "'0'"]),
    ("gradient-flow", "--slope-margin 0", ["--slope-margin", "'0'"]),
    ("gradient-flow", "--slope-margin 2", ["--slope-margin", "'2'"]),
    ("gradient-flow", "--resume=no", ["--resume", "'no'"]),
    ("gradient-flow", "--json=1", ["--json", "'1'"]),
    ("gradient-flow", "--no-plot=1", ["--no-plot", "'1'"]),
    ("gradient-flow", "--no-progress=1", ["--no-progress", "'1'"]),
    ("gradient-flow", "--distributed=4", ["--distributed", "'4'"]),
    ("gradient-flow", "--out {results}/gradient-flow/x", ["--out", "results/"]),
    ("gradient-flow", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                            "gradient-flow"]),
    # ---------------------------------------------------------------- jang
    ("jang", "--sizes 0x4", ["--sizes", "'0x4'"]),
    ("jang", "--sizes 513x4", ["--sizes", "513x4"]),
    ("jang", "--sizes 8x8,8x8", ["--sizes", "'8x8,8x8'"]),
    ("jang", "--sizes 512x512 --examples 3", ["--sizes/--examples", "GiB"]),
    ("jang", "--examples 0", ["--examples", "'0'"]),
    ("jang", "--examples 3,3", ["--examples", "'3,3'"]),
    ("jang", "--sizes 4x4 --examples 16", ["--examples", "16", "m n = 16"]),
    ("jang", "--examples " + BIG, ["--examples", BIG]),
    ("jang", "--trials 0", ["--trials", "'0'"]),
    ("jang", "--trials " + BIG, ["--trials", BIG]),
    ("jang", "--sdp-trials -1", ["--sdp-trials", "'-1'"]),
    ("jang", "--trials 2 --sdp-trials 3", ["--sdp-trials", "3", "--trials"]),
    ("jang", "--admm-iters 0", ["--admm-iters", "'0'"]),
    ("jang", "--admm-iters " + BIG, ["--admm-iters", BIG]),
    ("jang", "--land-m 0", ["--land-m", "'0'"]),
    ("jang", "--land-m 5000", ["--land-m", "'5000'"]),
    ("jang", "--land-n x", ["--land-n", "'x'"]),
    ("jang", "--land-examples 0", ["--land-examples", "'0'"]),
    ("jang", "--land-m 2 --land-n 2 --land-examples 4 --land-ranks 1", ["--land-examples", "4", "m n = 4"]),
    ("jang", "--land-ranks 7", ["--land-ranks", "7", "min(m, n)"]),
    ("jang", "--land-ranks 1,1", ["--land-ranks", "'1,1'"]),
    ("jang", "--land-ranks 0", ["--land-ranks", "'0'"]),
    ("jang", "--land-m 400 --land-n 400 --land-ranks 400 --starts 1000", ["--land-m/--land-n/--land-ranks/--starts", "GiB"]),
    ("jang", "--land-trials 0", ["--land-trials", "'0'"]),
    ("jang", "--starts 0", ["--starts", "'0'"]),
    ("jang", "--starts " + BIG, ["--starts", BIG]),
    ("jang", "--weight-decay 0", ["--weight-decay", "'0'"]),
    ("jang", "--weight-decay 1", ["--weight-decay", "'1'", "(0, 1)"]),
    ("jang", "--weight-decay nan", ["--weight-decay", "'nan'"]),
    ("jang", "--init-scale 0", ["--init-scale", "'0'"]),
    ("jang", "--init-scale 1e9", ["--init-scale", "'1e9'"]),
    ("jang", "--step 0", ["--step", "'0'"]),
    ("jang", "--step 1.5", ["--step", "'1.5'"]),
    ("jang", "--gd-iters 0", ["--gd-iters", "'0'"]),
    ("jang", "--gd-iters 1e3", ["--gd-iters", "'1e3'"]),
    ("jang", "--prox-iters 0", ["--prox-iters", "'0'"]),
    ("jang", "--seed -1", ["--seed", "'-1'"]),
    ("jang", "--device tpu", ["--device", "'tpu'"]),
    ("jang", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("jang", "--batch-size 0", ["--batch-size", "'0'"]),
    ("jang", "--threads 0", ["--threads", "'0'"]),
    ("jang", "--value-tol 0", ["--value-tol", "'0'"]),
    ("jang", "--value-tol 2", ["--value-tol", "'2'"]),
    ("jang", "--grad-tol -1e-6", ["--grad-tol", "'-1e-6'"]),
    ("jang", "--hess-tol inf", ["--hess-tol", "'inf'"]),
    ("jang", "--resume=no", ["--resume", "'no'"]),
    ("jang", "--json=1", ["--json", "'1'"]),
    ("jang", "--no-plot=1", ["--no-plot", "'1'"]),
    ("jang", "--no-progress=1", ["--no-progress", "'1'"]),
    ("jang", "--distributed=4", ["--distributed", "'4'"]),
    ("jang", "--out {results}/jang/x", ["--out", "results/"]),
    ("jang", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher", "jang"]),
    # ---------------------------------------------------------------- stable-rank
    ("stable-rank", "--d 0", ["--d", "'0'"]),
    ("stable-rank", "--d 5000", ["--d", "'5000'"]),
    ("stable-rank", "--d x", ["--d", "'x'"]),
    ("stable-rank", "--d 4", ["--ranks", "5", "--d", "4"]),
    ("stable-rank", "--ranks 0", ["--ranks", "'0'"]),
    ("stable-rank", "--ranks 1,1", ["--ranks", "'1,1'"]),
    ("stable-rank", "--ranks 2000", ["--ranks", "'2000'"]),
    ("stable-rank", "--examples 0", ["--examples", "'0'"]),
    ("stable-rank", "--examples " + BIG, ["--examples", BIG]),
    ("stable-rank", "--d 1000 --ranks 1 --examples 100000 --trials 100 --batch-size 100",
     ["--d", "--examples", "GiB"]),
    ("stable-rank", "--scalings rs", ["--scalings", "'rs'"]),
    ("stable-rank", "--scalings r,r", ["--scalings", "'r,r'"]),
    ("stable-rank", "--scalings ,", ["--scalings", "','"]),
    ("stable-rank", "--alpha 0", ["--alpha", "'0'"]),
    ("stable-rank", "--alpha nan", ["--alpha", "'nan'"]),
    ("stable-rank", "--alpha 1e9", ["--alpha", "'1e9'"]),
    ("stable-rank", "--lr -1", ["--lr", "-1"]),
    ("stable-rank", "--lr 1e5", ["--lr", "'1e5'"]),
    ("stable-rank", "--steps 0", ["--steps", "'0'"]),
    ("stable-rank", "--steps " + BIG, ["--steps", BIG]),
    ("stable-rank", "--steps 1000000", ["--steps", "1000000", "more than"]),
    ("stable-rank", "--noise -0.1", ["--noise", "-0.1"]),
    ("stable-rank", "--noise inf", ["--noise", "'inf'"]),
    ("stable-rank", "--teacher-decay -1", ["--teacher-decay", "-1"]),
    ("stable-rank", "--teacher-decay 9", ["--teacher-decay", "'9'"]),
    ("stable-rank", "--trials 0", ["--trials", "'0'"]),
    ("stable-rank", "--trials " + BIG, ["--trials", BIG]),
    ("stable-rank", "--seed -1", ["--seed", "'-1'"]),
    ("stable-rank", "--device tpu", ["--device", "'tpu'"]),
    ("stable-rank", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("stable-rank", "--batch-size 0", ["--batch-size", "'0'"]),
    ("stable-rank", "--threads 0", ["--threads", "'0'"]),
    ("stable-rank", "--resume=no", ["--resume", "'no'"]),
    ("stable-rank", "--json=1", ["--json", "'1'"]),
    ("stable-rank", "--no-plot=1", ["--no-plot", "'1'"]),
    ("stable-rank", "--no-progress=1", ["--no-progress", "'1'"]),
    ("stable-rank", "--distributed=4", ["--distributed", "'4'"]),
    ("stable-rank", "--out {results}/stable-rank/x", ["--out", "results/"]),
    ("stable-rank", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                          "stable-rank"]),
    # ---------------------------------------------------------------- learnable-rank
    ("learnable-rank", "--classes 1", ["--classes", "1", "at least 2"]),
    ("learnable-rank", "--classes 2,2", ["--classes", "'2,2'"]),
    ("learnable-rank", "--classes 5000", ["--classes", "'5000'"]),
    ("learnable-rank", "--classes x", ["--classes", "'x'"]),
    ("learnable-rank", "--n 0", ["--n", "'0'"]),
    ("learnable-rank", "--n 5000", ["--n", "'5000'"]),
    ("learnable-rank", "--m x", ["--m", "'x'"]),
    ("learnable-rank", "--m 4 --n 4 --rank 5", ["--rank", "5", "min(m, n)"]),
    ("learnable-rank", "--per-class 0", ["--per-class", "'0'"]),
    ("learnable-rank", "--per-class " + BIG, ["--per-class", BIG]),
    ("learnable-rank", "--classes 1000 --per-class 1000000 --n 4096 --m 4096",
     ["--classes", "--per-class", "GiB"]),
    ("learnable-rank", "--rank 0", ["--rank", "'0'"]),
    ("learnable-rank", "--lams -0.1", ["--lams", "-0.1"]),
    ("learnable-rank", "--lams 0.1,0.1", ["--lams", "'0.1,0.1'"]),
    ("learnable-rank", "--lams 1e9", ["--lams", "'1e9'"]),
    ("learnable-rank", "--lams 0.001:1:1e-7", ["--lams", "more than 10000"]),
    ("learnable-rank", "--optimizer sgd", ["--optimizer", "'sgd'"]),
    ("learnable-rank", "--sep 0", ["--sep", "'0'"]),
    ("learnable-rank", "--sigma -1", ["--sigma", "-1"]),
    ("learnable-rank", "--lora-alpha 0", ["--lora-alpha", "'0'"]),
    ("learnable-rank", "--lr 0", ["--lr", "'0'"]),
    ("learnable-rank", "--gate-lr nan", ["--gate-lr", "'nan'"]),
    ("learnable-rank", "--wd -1", ["--wd", "-1"]),
    ("learnable-rank", "--steps 0", ["--steps", "'0'"]),
    ("learnable-rank", "--steps " + BIG, ["--steps", BIG]),
    ("learnable-rank", "--steps 10000000 --trials 1000", ["--steps", "--trials", "more than"]),
    ("learnable-rank", "--prune-every 0", ["--prune-every", "'0'"]),
    ("learnable-rank", "--prune-every 500", ["--prune-every", "500", "--steps"]),
    ("learnable-rank", "--patience 0", ["--patience", "'0'"]),
    ("learnable-rank", "--patience 400", ["--patience", "400", "--steps"]),
    ("learnable-rank", "--trials 0", ["--trials", "'0'"]),
    ("learnable-rank", "--seed x", ["--seed", "'x'"]),
    ("learnable-rank", "--device gpu", ["--device", "'gpu'"]),
    ("learnable-rank", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("learnable-rank", "--batch-size 0", ["--batch-size", "'0'"]),
    ("learnable-rank", "--threads 0", ["--threads", "'0'"]),
    ("learnable-rank", "--resume=no", ["--resume", "'no'"]),
    ("learnable-rank", "--json=1", ["--json", "'1'"]),
    ("learnable-rank", "--no-plot=1", ["--no-plot", "'1'"]),
    ("learnable-rank", "--no-progress=1", ["--no-progress", "'1'"]),
    ("learnable-rank", "--distributed=4", ["--distributed", "'4'"]),
    ("learnable-rank", "--out {results}/learnable-rank/x", ["--out", "results/"]),
    # ---------------------------------------------------------------- exact (E0)
    ("exact", "--sizes abc", ["--sizes", "'abc'"]),
    ("exact", "--sizes 0x3", ["--sizes", "'0x3'"]),
    ("exact", "--sizes 3x3,3x3", ["--sizes", "'3x3,3x3'"]),
    ("exact", "--sizes 10x10", ["--sizes", "10x10", "degree"]),
    ("exact", "--sizes 999999999x999999999", ["--sizes", "999999999x999999999", "degree"]),
    ("exact", "--sizes 1x1000000 --trials 1", ["--sizes", "1x1000000", "TiB"]),
    ("exact", "--sizes 2x2 --ranks 3", ["--ranks", "r=3", "2x2"]),
    ("exact", "--sizes 7x8 --ranks 2", ["--sizes", "7x8", "r = 2", "degree"]),
    ("exact", "--retries -1", ["--retries", "'-1'"]),
    ("exact", "--retries 9", ["--retries", "'9'"]),
    ("exact", "--retries x", ["--retries", "'x'"]),
    ("exact", "--tracking-chart bogus", ["--tracking-chart", "'bogus'"]),
    ("exact", "--tracking-chart ''", ["--tracking-chart", "''"]),
    ("exact", "--sizes 200x201 --ranks 2", ["--sizes", "200x201", "m + n"]),
    ("exact", "--ranks 0", ["--ranks", "'0'"]),
    ("exact", "--ranks 1,1", ["--ranks", "'1,1'"]),
    ("exact", "--trials 0", ["--trials", "'0'"]),
    ("exact", "--trials " + BIG, ["--trials", BIG]),
    ("exact", "--restarts 0", ["--restarts", "'0'"]),
    ("exact", "--restarts 5000", ["--restarts", "'5000'"]),
    ("exact", "--max-iters 0", ["--max-iters", "'0'"]),
    ("exact", "--max-iters " + BIG, ["--max-iters", BIG]),
    ("exact", "--start-seed -1", ["--start-seed", "'-1'"]),
    ("exact", "--start-seed x", ["--start-seed", "'x'"]),
    ("exact", "--seed -1", ["--seed", "'-1'"]),
    ("exact", "--device tpu", ["--device", "'tpu'"]),
    ("exact", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("exact", "--batch-size 0", ["--batch-size", "'0'"]),
    ("exact", "--max-paths 0", ["--max-paths", "'0'"]),
    ("exact", "--max-paths " + BIG, ["--max-paths", BIG]),
    ("exact", "--sizes 9x9 --trials 100000 --batch-size 100000 --max-paths 1000000000",
     ["--max-paths", "9x9", "GiB"]),
    ("exact", "--threads 0", ["--threads", "'0'"]),
    ("exact", "--resume=no", ["--resume", "'no'"]),
    ("exact", "--json=1", ["--json", "'1'"]),
    ("exact", "--no-plot=1", ["--no-plot", "'1'"]),
    ("exact", "--no-progress=1", ["--no-progress", "'1'"]),
    ("exact", "--distributed=4", ["--distributed", "'4'"]),
    ("exact", "--out {results}/exact-existence/x", ["--out", "results/"]),
    ("exact", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                     "exact"]),
    ("exact", "--summarise {rad_run} --out " + NEW + " --trials 3", ["--trials", "'3'"]),
    ("learnable-rank", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                             "learnable-rank"]),
    # ---------------------------------------------------------------- exact-above (issue 16 item 5)
    ("exact-above", "--sizes abc", ["--sizes", "'abc'"]),
    ("exact-above", "--sizes 0x3", ["--sizes", "'0x3'"]),
    ("exact-above", "--sizes 2x3,2x3", ["--sizes", "'2x3,2x3'"]),
    ("exact-above", "--sizes 9x9 --ranks 4", ["--deficits", "9x9", "unknowns"]),
    ("exact-above", "--sizes 2x2 --ranks 3", ["--ranks", "r=3", "2x2"]),
    ("exact-above", "--sizes 3x3 --ranks 2 --deficits 3", ["--deficits", "d=3", "3x3", "rank below r"]),
    ("exact-above", "--sizes 2x2 --deficits 3", ["--deficits", "d=3", "M = 0"]),
    ("exact-above", "--deficits 0", ["--deficits", "'0'"]),
    ("exact-above", "--deficits 1,1", ["--deficits", "'1,1'"]),
    ("exact-above", "--deficits x", ["--deficits", "'x'"]),
    ("exact-above", "--ranks 0", ["--ranks", "'0'"]),
    ("exact-above", "--ranks 1,1", ["--ranks", "'1,1'"]),
    ("exact-above", "--trials 0", ["--trials", "'0'"]),
    ("exact-above", "--trials " + BIG, ["--trials", BIG]),
    ("exact-above", "--restarts 0", ["--restarts", "'0'"]),
    ("exact-above", "--restarts 5000", ["--restarts", "'5000'"]),
    ("exact-above", "--max-iters 0", ["--max-iters", "'0'"]),
    ("exact-above", "--max-iters " + BIG, ["--max-iters", BIG]),
    ("exact-above", "--start-seed -1", ["--start-seed", "'-1'"]),
    ("exact-above", "--start-seed x", ["--start-seed", "'x'"]),
    ("exact-above", "--retries -1", ["--retries", "'-1'"]),
    ("exact-above", "--retries 9", ["--retries", "'9'"]),
    ("exact-above", "--seed -1", ["--seed", "'-1'"]),
    ("exact-above", "--device tpu", ["--device", "'tpu'"]),
    ("exact-above", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("exact-above", "--batch-size 0", ["--batch-size", "'0'"]),
    ("exact-above", "--threads 0", ["--threads", "'0'"]),
    ("exact-above", "--resume=no", ["--resume", "'no'"]),
    ("exact-above", "--json=1", ["--json", "'1'"]),
    ("exact-above", "--no-plot=1", ["--no-plot", "'1'"]),
    ("exact-above", "--no-progress=1", ["--no-progress", "'1'"]),
    ("exact-above", "--distributed=4", ["--distributed", "'4'"]),
    ("exact-above", "--out {results}/exact-above/x", ["--out", "results/"]),
    ("exact-above", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                           "exact-above"]),
    ("exact-above", "--summarise {rad_run} --out " + NEW + " --trials 3", ["--trials", "'3'"]),
    # ---------------------------------------------------------------- encoder-ntk (issue 15)
    # Rows that reach the preflight give a stand-in model folder ({fake_model}: config.json of
    # MiniLM-L6's sizes, empty weight files) and corpus folder ({fake_corpus}), so that they fail
    # on their own flag whether or not lorank[encoder] is installed.
    ("encoder-ntk", "--tasks sport/tech", ["--tasks", "'sport'"]),
    ("encoder-ntk", "--tasks tech", ["--tasks", "'tech'", "at least two"]),
    ("encoder-ntk", "--matrices key", ["--matrices", "'key'"]),
    ("encoder-ntk", "--layer -1", ["--layer", "'-1'"]),
    ("encoder-ntk", "--layer 6 --model-dir {fake_model} --corpus-dir {fake_corpus}",
     ["--layer", "6", "6 layers"]),
    ("encoder-ntk", "--per-class 0", ["--per-class", "'0'"]),
    ("encoder-ntk", "--blocks x", ["--blocks", "'x'"]),
    ("encoder-ntk", "--blocks 500 --model-dir {fake_model} --corpus-dir {fake_corpus}",
     ["--blocks", "500", "384"]),
    ("encoder-ntk", "--blocks 4 --ranks 5 --model-dir {fake_model} --corpus-dir {fake_corpus}",
     ["--ranks", "5", "4"]),
    ("encoder-ntk", "--ranks 0", ["--ranks", "'0'"]),
    ("encoder-ntk", "--restarts 0", ["--restarts", "'0'"]),
    ("encoder-ntk", "--max-iters 0", ["--max-iters", "'0'"]),
    ("encoder-ntk", "--max-len 1000", ["--max-len", "'1000'"]),
    ("encoder-ntk", "--test-per-class 510", ["--test-per-class", "510", "--per-class"]),
    ("encoder-ntk", "--trials 0", ["--trials", "'0'"]),
    ("encoder-ntk", "--seed -1", ["--seed", "'-1'"]),
    ("encoder-ntk", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("encoder-ntk", "--model-dir {fx}/nowhere", ["--model-dir", "{fx}/nowhere"]),
    ("encoder-ntk", "--model-dir {empty}", ["--model-dir", "{empty}", "config.json"]),
    ("encoder-ntk", "--model-dir {fake_model} --corpus-dir {empty}",
     ["--corpus-dir", "{empty}", "business"]),
    ("encoder-ntk", "--corpus-dir ''", ["--corpus-dir", "''"]),
    ("encoder-ntk", "--batch-size 0", ["--batch-size", "'0'"]),
    ("encoder-ntk", "--threads 0", ["--threads", "'0'"]),
    ("encoder-ntk", "--resume=no", ["--resume", "'no'"]),
    ("encoder-ntk", "--json=1", ["--json", "'1'"]),
    ("encoder-ntk", "--no-plot=1", ["--no-plot", "'1'"]),
    ("encoder-ntk", "--no-progress=1", ["--no-progress", "'1'"]),
    ("encoder-ntk", "--distributed=4", ["--distributed", "'4'"]),
    ("encoder-ntk", "--out {results}/encoder-ntk/x", ["--out", "results/"]),
    ("encoder-ntk", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                          "encoder-ntk"]),
    # ---------------------------------------------------------------- encoder-lora (issue 15)
    ("encoder-lora", "--tasks business/weather", ["--tasks", "'weather'"]),
    ("encoder-lora", "--tasks business/sports,sports/business", ["--tasks", "repeat"]),
    ("encoder-lora", "--per-class 0", ["--per-class", "'0'"]),
    ("encoder-lora", "--ranks -1", ["--ranks", "'-1'"]),
    ("encoder-lora", "--ranks 5000", ["--ranks", "'5000'"]),
    ("encoder-lora", "--ranks 400 --model-dir {fake_model} --corpus-dir {fake_corpus}",
     ["--ranks", "400", "384"]),
    ("encoder-lora", "--lora-alpha 0", ["--lora-alpha", "'0'"]),
    ("encoder-lora", "--lr -1", ["--lr", "-1"]),
    ("encoder-lora", "--full-lr 0", ["--full-lr", "'0'"]),
    ("encoder-lora", "--steps 0", ["--steps", "'0'"]),
    ("encoder-lora", "--train-batch 0", ["--train-batch", "'0'"]),
    ("encoder-lora", "--max-len 0", ["--max-len", "'0'"]),
    ("encoder-lora", "--test-per-class 0", ["--test-per-class", "'0'"]),
    ("encoder-lora", "--per-class 400 --test-per-class 200", ["--per-class", "400",
                                                              "--test-per-class"]),
    ("encoder-lora", "--trials " + BIG, ["--trials", BIG]),
    ("encoder-lora", "--seed x", ["--seed", "'x'"]),
    ("encoder-lora", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("encoder-lora", "--model-dir {afile}", ["--model-dir", "{afile}"]),
    ("encoder-lora", "--model-dir {fake_model} --corpus-dir {fx}/nowhere",
     ["--corpus-dir", "{fx}/nowhere"]),
    ("encoder-lora", "--corpus-dir ' '", ["--corpus-dir", "' '"]),
    ("encoder-lora", "--batch-size 0", ["--batch-size", "'0'"]),
    ("encoder-lora", "--threads 5000", ["--threads", "'5000'"]),
    ("encoder-lora", "--resume=no", ["--resume", "'no'"]),
    ("encoder-lora", "--json=1", ["--json", "'1'"]),
    ("encoder-lora", "--no-plot=1", ["--no-plot", "'1'"]),
    ("encoder-lora", "--no-progress=1", ["--no-progress", "'1'"]),
    ("encoder-lora", "--distributed=4", ["--distributed", "'4'"]),
    ("encoder-lora", "--out {results}/encoder-lora/x", ["--out", "results/"]),
    ("encoder-lora", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                           "encoder-lora"]),
    # ---------------------------------------------------------------- encoder-gated (issue 15)
    ("encoder-gated", "--tasks business/weather", ["--tasks", "'weather'"]),
    ("encoder-gated", "--tasks all,all", ["--tasks", "repeat"]),
    ("encoder-gated", "--per-class 0", ["--per-class", "'0'"]),
    ("encoder-gated", "--rank 0", ["--rank", "'0'"]),
    ("encoder-gated", "--rank 5000", ["--rank", "'5000'"]),
    ("encoder-gated", "--rank 400 --model-dir {fake_model} --corpus-dir {fake_corpus}",
     ["--rank", "400", "384"]),
    ("encoder-gated", "--lams 0.1,-1", ["--lams", "-1"]),
    ("encoder-gated", "--lams 0.1,0.1", ["--lams", "repeat"]),
    ("encoder-gated", "--lams x", ["--lams", "'x'"]),
    ("encoder-gated", "--lora-alpha 0", ["--lora-alpha", "'0'"]),
    ("encoder-gated", "--lr -1", ["--lr", "-1"]),
    ("encoder-gated", "--gate-lr 0", ["--gate-lr", "'0'"]),
    ("encoder-gated", "--gate-lr inf", ["--gate-lr", "inf"]),
    ("encoder-gated", "--steps 0", ["--steps", "'0'"]),
    ("encoder-gated", "--train-batch 0", ["--train-batch", "'0'"]),
    ("encoder-gated", "--prune-every 0", ["--prune-every", "'0'"]),
    ("encoder-gated", "--steps 4 --prune-every 5", ["--prune-every", "5", "--steps"]),
    ("encoder-gated", "--patience 0", ["--patience", "'0'"]),
    ("encoder-gated", "--steps 4 --prune-every 2 --patience 5", ["--patience", "5", "--steps"]),
    ("encoder-gated", "--max-len 0", ["--max-len", "'0'"]),
    ("encoder-gated", "--test-per-class 0", ["--test-per-class", "'0'"]),
    ("encoder-gated", "--per-class 400 --test-per-class 200", ["--per-class", "400",
                                                               "--test-per-class"]),
    ("encoder-gated", "--trials " + BIG, ["--trials", BIG]),
    ("encoder-gated", "--seed x", ["--seed", "'x'"]),
    ("encoder-gated", "--device cuda:99", ["--device", "'cuda:99'"]),
    ("encoder-gated", "--model-dir {afile}", ["--model-dir", "{afile}"]),
    ("encoder-gated", "--model-dir {fake_model} --corpus-dir {fx}/nowhere",
     ["--corpus-dir", "{fx}/nowhere"]),
    ("encoder-gated", "--corpus-dir ' '", ["--corpus-dir", "' '"]),
    ("encoder-gated", "--batch-size 0", ["--batch-size", "'0'"]),
    ("encoder-gated", "--threads 5000", ["--threads", "'5000'"]),
    ("encoder-gated", "--resume=no", ["--resume", "'no'"]),
    ("encoder-gated", "--json=1", ["--json", "'1'"]),
    ("encoder-gated", "--no-plot=1", ["--no-plot", "'1'"]),
    ("encoder-gated", "--no-progress=1", ["--no-progress", "'1'"]),
    ("encoder-gated", "--distributed=4", ["--distributed", "'4'"]),
    ("encoder-gated", "--out {results}/encoder-gated/x", ["--out", "results/"]),
    ("encoder-gated", "--summarise {rad_run} --out " + NEW, ["{rad_run}/record.jsonl", "rademacher",
                                                            "encoder-gated"]),
]


def _ids():
    return [f"{i:03d}-{cmd} {args}"[:80] for i, (cmd, args, _) in enumerate(CASES)]


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    """The fixture folders, by placeholder name."""
    from numerics.experiments.protocol import family_named
    from numerics.experiments.records import open_record

    root = tmp_path_factory.mktemp("bad-input-fixtures")
    paths = {"fx": root, "results": RESULTS}
    (root / "afile").write_text("not a folder\n")
    paths["afile"] = root / "afile"
    (root / "empty").mkdir()
    paths["empty"] = root / "empty"
    # stand-ins of an encoder folder (MiniLM-L6's config.json, empty weight and tokenizer files)
    # and of a corpus folder (the five BBC class folders, empty), for the encoder rows
    model = root / "fake_model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 384, "intermediate_size": 1536, '
                                       '"num_hidden_layers": 6, "max_position_embeddings": 512}')
    (model / "model.safetensors").write_bytes(b"")
    (model / "tokenizer.json").write_text("{}")
    paths["fake_model"] = model
    corpus = root / "fake_corpus"
    for c in ("business", "entertainment", "politics", "sports", "tech"):
        (corpus / c).mkdir(parents=True)
    paths["fake_corpus"] = corpus
    tiny = {
        "cstar": ("cstar-lm", dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4,), trials=2,
                                   restarts=1, max_iters=20)),
        "pl": ("pl", dict(sizes=((4, 4),), ranks=(1,), rho=None, kn=(3,), trials=2)),
        "sep": ("separability", dict(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4,), trials=2,
                                     restarts=1, canonical=())),
        "rad": ("rademacher", dict(m=3, n=3, ranks=(1,), tasks=("binary-1-logit",), n_train=(2,),
                                   n_test=2, noise=(1.0,), trials=2, bootstrap=10)),
    }
    for key, (name, settings) in tiny.items():
        fam = family_named(name)
        spec = fam.record_spec(fam.config(**settings))
        for suffix, with_summary in (("run", True), ("rec", False)):
            folder = root / f"{key}_{suffix}"
            folder.mkdir()
            with open_record(folder / "record.jsonl", spec):
                pass
            if with_summary:
                (folder / "summary.json").write_text("{}\n")
            paths[f"{key}_{suffix}"] = folder
    record = (paths["cstar_run"] / "record.jsonl").read_bytes()
    for key, name, data in (
            ("trunc_gz", "record.jsonl.gz", gzip.compress(record)[:-12]),
            ("bad_gz", "record.jsonl.gz", b"this is not gzip\n"),
            ("gz_run", "record.jsonl.gz", gzip.compress(record)),
            ("garbage", "record.jsonl", record.split(b"\n")[0] + b"\n{not json\n]]]\n"),
            ("no_header", "record.jsonl", b'{"kind": "trial"}\n'),
            ("empty_rec", "record.jsonl", b""),
    ):
        (root / key).mkdir()
        (root / key / name).write_bytes(data)
        paths[key] = root / key
    return {k: str(v) for k, v in paths.items()}


def _snapshot(*folders) -> dict:
    """Every file and folder below ``folders`` (links not followed): path -> (size, mtime)."""
    out = {}
    stack = [os.fspath(f) for f in folders]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:  # as os.walk: a folder that cannot be listed is skipped
            continue
        with entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                out[entry.path] = (st.st_size, st.st_mtime_ns)
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return out


@pytest.fixture
def no_runs(monkeypatch):
    """Fail the test if a case reaches the runner (a bad input must be refused before it)."""
    import numerics.experiments.runner as runner

    def refuse(*args, **kwargs):
        raise AssertionError("a bad input started a run")

    monkeypatch.setattr(runner, "run", refuse)
    monkeypatch.setattr(runner, "run_distributed", refuse)


def _call(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return exc.code


@pytest.mark.parametrize("command, args, needles", CASES, ids=_ids())
def test_bad_input(command, args, needles, fx, tmp_path, monkeypatch, capsys, no_runs):
    argv = [command] + [a.format(**fx) for a in shlex.split(args)]
    needles = [n.format(**fx) for n in needles]
    monkeypatch.chdir(tmp_path)
    watched = [tmp_path, fx["fx"], RESULTS]
    before = _snapshot(*watched)
    outs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--out"]
    outs += [a.split("=", 1)[1] for a in argv if a.startswith("--out=")]
    existed = {o: os.path.lexists(o) for o in outs if o}

    code = _call(argv)

    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, f"exit {code}; stderr: {err!r}; stdout: {captured.out[-500:]!r}"
    assert "Traceback" not in err and "Traceback" not in captured.out
    assert err.startswith(f"lorank {command}: error: "), err
    assert err.count("\n") == 1, f"not one line: {err!r}"
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert _snapshot(*watched) == before, "a file or folder was left behind"
    for o, was in existed.items():
        assert os.path.lexists(o) == was, f"--out {o} was created"


# --resume of a record that does not match the run: refused by the runner when it opens the
# record, before any trial (so these rows run without the `no_runs` guard).
RESUME_CASES = [
    ("cstar", "--resume --out {pl_rec} --sizes 3x3 --ranks 1 --kn 4 --trials 2 --restarts 1",
     ["{pl_rec}/record.jsonl", "pl record", "cstar-lm"]),
    ("cstar", "--resume --out {sep_rec} --sizes 3x3 --ranks 1 --kn 4 --trials 2 --restarts 1",
     ["{sep_rec}/record.jsonl", "separability record", "cstar-lm"]),
    ("cstar", "--resume --out {cstar_rec} --estimand recipe --sizes 3x3 --ranks 1 --kn 4 --trials 2",
     ["{cstar_rec}/record.jsonl", "cstar-lm record", "cstar-recipe"]),
    ("cstar", "--resume --out {cstar_rec} --sizes 3x3 --ranks 1 --kn 4 --trials 2 --restarts 1 "
     "--max-iters 20 --seed 5", ["{cstar_rec}/record.jsonl", "spec.seed", "5"]),
    ("separability", "--resume --out {cstar_rec} --sizes 3x3 --ranks 1 --kn 4 --trials 2",
     ["{cstar_rec}/record.jsonl", "cstar-lm record", "separability"]),
    ("pl", "--resume --out {cstar_rec} --sizes 4x4 --ranks 1 --kn 3 --trials 2",
     ["{cstar_rec}/record.jsonl", "cstar-lm record", "pl"]),
    ("pl", "--resume --out {pl_rec} --sizes 4x4 --ranks 1 --kn 3 --trials 3",
     ["{pl_rec}/record.jsonl", "trials_per_cell", "3"]),
    ("rademacher", "--resume --out {pl_rec} --m 3 --n 3 --ranks 1", ["{pl_rec}/record.jsonl",
                                                                      "pl record", "rademacher"]),
]


@pytest.mark.parametrize("command, args, needles", RESUME_CASES,
                         ids=[f"{c} {a}"[:60] for c, a, _ in RESUME_CASES])
def test_bad_resume(command, args, needles, fx, tmp_path, monkeypatch, capsys):
    argv = [command] + [a.format(**fx) for a in shlex.split(args)] + ["--no-plot", "--no-progress"]
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path, fx["fx"])
    code = _call(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith(f"lorank {command}: error: "), err
    for needle in needles:
        assert needle.format(**fx) in err, f"{needle!r} not in {err!r}"
    assert _snapshot(tmp_path, fx["fx"]) == before, "a record was changed or a file left behind"


def test_enough_cases():
    assert len(CASES) + len(RESUME_CASES) >= 110
    assert len({(c, a) for c, a, _ in CASES}) == len(CASES), "a case is listed twice"


@pytest.mark.parametrize("command", ["cstar", "separability", "pl", "rademacher", "xent", "rank-sweep",
                                     "gradient-flow", "jang", "stable-rank", "learnable-rank", "exact", "exact-above",
                                     "encoder-ntk", "encoder-lora", "encoder-gated"])
def test_every_flag_is_covered(command):
    """Every flag of every experiment command appears in at least one bad-input row."""
    from lorank.cli import build_parser

    sub = build_parser(command).subcommands[command]
    flags = {s for action in sub._actions for s in action.option_strings if s.startswith("--")}
    flags.discard("--help")
    used = set()
    for cmd, args, _ in CASES:
        if cmd == command:
            used.update(a.split("=", 1)[0] for a in shlex.split(args) if a.startswith("--"))
    assert flags - used == set(), f"{command}: flags without a bad-input case"


@pytest.mark.parametrize("command", ["cstar", "separability", "pl", "rademacher", "xent", "rank-sweep",
                                     "gradient-flow", "jang", "stable-rank", "learnable-rank", "exact", "exact-above",
                                     "encoder-ntk", "encoder-lora", "encoder-gated"])
def test_help(command, capsys):
    """``--help`` of every experiment command prints its flags (it once raised "empty group")."""
    assert _call([command, "--help"]) == 0
    assert "--summarise" in capsys.readouterr().out


def test_cstar_without_torch(tmp_path):
    """Without torch, an experiment command says how to install it and leaves no --out."""
    wrapper = textwrap.dedent("""
        import importlib.abc, sys

        class NoTorch(importlib.abc.MetaPathFinder):  # `import torch` fails as if not installed
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] == "torch":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)

        sys.meta_path.insert(0, NoTorch())
        from lorank.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", wrapper, "cstar", "--sizes", "4x4", "--ranks", "1",
                           "--kn", "3", "--trials", "1", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("lorank cstar: error: "), proc.stderr
    assert "torch" in proc.stderr and "pip install" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
