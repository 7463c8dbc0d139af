"""Verdicts: torch-free readers that turn committed summaries into ledger entries
(:mod:`.capacity` for C* and E4, :mod:`.pl`, :mod:`.rademacher`), and the evidence checks that tie
each summary to its record (:mod:`.evidence`)."""
