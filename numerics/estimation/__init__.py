"""Estimation from outcomes: Wilson intervals, binomial GLMs with profile-likelihood intervals,
bootstrap, grid brackets and finite-size fits (:mod:`.estimate`), the capacity sweep's cells and
summary (:mod:`.sweep`), and figures (:mod:`.plots`). No torch."""
