"""Per-site work in parallel on an existing engine: joblib on one machine (``--jobs N``) or a Dask cluster
(``--scheduler tcp://host:8786``, or a ``dask.distributed.Client``). Tasks are module-level functions of
plain arguments, each deterministic (its random draws seeded by the pipeline seed and the site code), so the
results are the same in any order, on any number of workers, with either engine."""

from __future__ import annotations

from typing import Any, Callable, Sequence


def map_sites(fn: Callable, items: Sequence[Any], jobs: int = 1, scheduler: Any = None) -> list:
    """``[fn(x) for x in items]`` in order: on the Dask ``scheduler`` (an address or a Client) when given, else
    on ``jobs`` joblib worker processes (1: in this process; -1: every core)."""
    items = list(items)
    if scheduler is not None:
        from dask.distributed import Client

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            return client.gather(client.map(fn, items, pure=False))
        finally:
            if client is not scheduler:
                client.close()
    if jobs == 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs)(delayed(fn)(x) for x in items)
