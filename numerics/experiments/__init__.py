"""Experiments: one protocol (:mod:`.protocol`), one runner (:mod:`.runner`), config fields that
carry their flags (:mod:`.options`), and one module per family (:mod:`.cstar`,
:mod:`.separability`, :mod:`.pl`, :mod:`.rademacher`, :mod:`.rank_sweep`, :mod:`.gradient_flow`, :mod:`.jang`, :mod:`.stable_rank`, :mod:`.learnable_rank`, :mod:`.exact_existence`, :mod:`.exact_above`, :mod:`.encoder_ntk`, :mod:`.encoder_lora`, :mod:`.encoder_gated`; shared options of the last three in :mod:`.encoder_common`). Importing this package needs no torch.

>>> from numerics.experiments import families
>>> [f.command for f in families()]
['cstar', 'cstar', 'separability', 'pl', 'rademacher', 'xent', 'rank-sweep', 'gradient-flow', 'jang', 'stable-rank', 'learnable-rank', 'exact', 'exact-above', 'encoder-ntk', 'encoder-lora', 'encoder-gated']
"""

from .protocol import Family, families, family_named, family_of_spec

__all__ = ["Family", "families", "family_named", "family_of_spec"]
