"""The committed results, shipped with lorank as the package data ``lorank_results``.

Not code: this file only makes ``results/`` a package so that ``pyproject.toml`` can map it
(``package-dir``) and the ledger finds the same files under ``pip install .`` and
``pip install -e .`` (:func:`numerics.evidence.default_results_dir`). ``MANIFEST.json`` pins
what the ledger expects of each run (``python scripts/evidence_manifest.py --write``).
"""
