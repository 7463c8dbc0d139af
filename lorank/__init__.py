"""lorank: a symbolic and numeric proof-checking companion for the theory of LoRA rank.

The exact side lives in :mod:`proofs`, the sampled side in :mod:`numerics`; this package only
gathers them (the ledger, the rank advisor and the command line).
"""

__version__ = "0.5.0"
