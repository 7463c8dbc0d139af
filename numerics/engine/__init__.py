"""The engine: instances and seeding, batched solvers and kernels, and each family's trial
functions (:mod:`.capacity` for C* and E4, :mod:`.pl`, :mod:`.separability`, :mod:`.rademacher`).
Everything here uses torch; nothing here knows about records, command lines or verdicts."""
