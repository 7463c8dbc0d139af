"""Device diagnosis of the E0 rank tracker: start time, track time per cell, a kernel profile,
and batched complex solve micro-benchmarks. Writes ``$OUT/prof16.json`` and
``$OUT/prof16-kernels.txt``:

    OUT=/tmp PYTHONPATH=. python benchmarks/profile_e0_tracker.py cuda

``results/bench/e0-tracker-profile-h100.json`` (and ``-kernels.txt``) were made by this body,
run as a script on one H100 at commit a651a34 (before it was wrapped in ``main``)."""
import json, os, sys, time
import torch
from numerics.engine import homotopy_rank as hr
from numerics.engine import homotopy_track as ht


def main():
    dev = sys.argv[1] if len(sys.argv) > 1 else "cuda"
    out = os.environ.get("OUT", "/tmp")
    sync = (lambda: torch.cuda.synchronize()) if dev == "cuda" else (lambda: None)
    rec = {"device": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "torch": torch.__version__}
    print(rec, flush=True)

    # 1. batched solve micro-benchmarks
    mb = []
    for M in (20, 32, 45, 60):
        for N in (1000, 10000, 50000):
            if N * M * M * 16 > 4e9:
                continue
            A = torch.randn(N, M, M, dtype=torch.complex128, device=dev)
            b = torch.randn(N, M, dtype=torch.complex128, device=dev)
            row = {"M": M, "N": N}
            for name, fn in [("solve_ex", lambda: ht.solve_or_nan(A, b)),
                             ("lu_factor_ex", lambda: torch.linalg.lu_factor_ex(A)),
                             ("bmm_MxM", lambda: A @ A),
                             ("real_solve", lambda: torch.linalg.solve_ex(torch.view_as_real(A).flatten(-2), torch.view_as_real(b).flatten(-2)[..., None]))]:
                try:
                    fn(); sync(); t0 = time.perf_counter()
                    for _ in range(3):
                        fn()
                    sync(); row[name] = (time.perf_counter() - t0) / 3
                except Exception as e:
                    row[name] = repr(e)[:80]
            mb.append(row); print(row, flush=True)
    rec["microbench"] = mb

    # 2. cells: start, track
    cells = [(6, 6, 4, 64), (5, 7, 3, 16), (7, 7, 5, 32)]
    rec["cells"] = []
    for (m, n, r, T) in cells:
        row = {"cell": f"{m}x{n} r{r}", "T": T}
        sync(); t0 = time.perf_counter()
        hr.start_solutions_rank(m, n, r, 0, device=dev); sync()
        row["start_s"] = time.perf_counter() - t0
        print(row, flush=True)
        for T_ in (T // 4, T):
            sync(); t0 = time.perf_counter()
            res = hr.e0_rank_on_e1_instances(m, n, r, range(T_), device=dev, retries=0); sync()
            row[f"track_s_T{T_}"] = time.perf_counter() - t0
            row[f"last_track_T{T_}"] = dict(ht.LAST_TRACK)
            row[f"certified_T{T_}"] = int(res.certified.sum())
            print(row, flush=True)
        rec["cells"].append(row)
        json.dump(rec, open(f"{out}/prof16.json", "w"), indent=1)
        if (m, n, r) == (6, 6, 4) and dev == "cuda":
            from torch.profiler import profile, ProfilerActivity
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                hr.e0_rank_on_e1_instances(m, n, r, range(16), device=dev, retries=0); sync()
            tab = prof.key_averages().table(sort_by="cuda_time_total", row_limit=30)
            print(tab, flush=True)
            open(f"{out}/prof16-kernels.txt", "w").write(tab + "\n\n" + prof.key_averages().table(sort_by="cpu_time_total", row_limit=30))
    json.dump(rec, open(f"{out}/prof16.json", "w"), indent=1)


if __name__ == "__main__":
    main()
