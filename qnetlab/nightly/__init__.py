"""The nightly calibration job: its config, the run of its steps, suspenders and the per-night report.

Modules: :mod:`~qnetlab.nightly.config` (the nightly YAML), :mod:`~qnetlab.nightly.job`
(running the steps), :mod:`~qnetlab.nightly.outcome` (a step's outcome read back),
:mod:`~qnetlab.nightly.suspenders` (latched SNSPD, tagger overflow),
:mod:`~qnetlab.nightly.report` (the HTML report), :mod:`~qnetlab.nightly.cli`
(``qnetlab nightly``). Nothing heavy is imported here.
"""
