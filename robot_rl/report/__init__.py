"""The training report: per-episode statistics of a store and the learner's log, as plots in one
self-contained HTML file (:mod:`~robot_rl.report.html`), checked in headless Chromium
(:mod:`~robot_rl.report.browser`)."""
