"""Many sites, hourly data, week-ahead horizons (issue 14): a multi-site pipeline engine.

- :mod:`wq.sites.data`: a long file (time, site, value, drivers) or wide columns per site -> one regular grid.
- :mod:`wq.sites.features`: vectorised features of (origin, lead time, site) for week-ahead models.
- :mod:`wq.sites.model`: the week-ahead gradient-boosting forecaster (direct with a lead-time feature, or
  recursive), fitted per site (local) or across sites (global); the weekly baselines.
- :mod:`wq.sites.engine`: per-site work in parallel on joblib or a Dask cluster (same results on both).
- :mod:`wq.sites.run`: ``wq run`` for a pipeline with ``[data] site`` / ``sites``: split, choices on validation
  (strategy, pooling), backtest on held-out weeks, per-site and lead-time-block metrics, report.
- :mod:`wq.sites.artifact`: ``wq train`` for such a pipeline: every site's model in one verified artifact.
- :mod:`wq.sites.forecast`: ``wq forecast`` with that artifact: every site from one origin, one transaction.
"""
