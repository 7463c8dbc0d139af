"""The experiment families, their protocol, the runner and the command-line options (see
:mod:`numerics.experiments.protocol`)."""
