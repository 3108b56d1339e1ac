"""Pluggable map for evaluating individuals: serial, local processes (joblib/loky) or Dask distributed.

Every map returns results in input order, and each evaluation's seed comes from the settings themselves
(:func:`wq.tune.evaluation.derive_seed`), so 1 worker, N workers and a cluster give identical results.

Functions and arguments are sent to workers with cloudpickle: the objective must be a top-level function or
an instance of a top-level class (lambdas and closures work with loky and Dask, but may drag large state
along); everything it returns must be picklable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from wq.errors import ConfigError


class ParallelMap:
    """``pmap(fn, list_of_arg_tuples) -> [fn(*args) ...]`` in input order.

    ``kind`` is ``"serial"``, ``"joblib"`` or ``"dask"``; ``slots`` is the number of evaluations that run
    at once. Use as a context manager or call :meth:`close` to release a Dask client it created.
    """

    def __init__(self, kind: str, slots: int, *, n_jobs: int = 1, client: Any = None,
                 cluster: Any = None, owns_client: bool = False) -> None:
        self.kind = kind
        self.slots = int(slots)
        self.n_jobs = n_jobs
        self.client = client
        self.cluster = cluster
        self.owns_client = owns_client

    def __call__(self, fn: Callable[..., Any], args: Sequence[Sequence[Any]]) -> list[Any]:
        args = [tuple(a) for a in args]
        if not args:
            return []
        if self.kind == "serial":
            return [fn(*a) for a in args]
        if self.kind == "joblib":
            from joblib import Parallel, delayed

            return list(Parallel(n_jobs=self.n_jobs, backend="loky")(delayed(fn)(*a) for a in args))
        futures = [self.client.submit(fn, *a, pure=False) for a in args]
        return list(self.client.gather(futures))

    def close(self) -> None:
        """Close the Dask client and local cluster if this map started them."""
        if self.owns_client and self.client is not None:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
            self.client = self.cluster = None

    def __enter__(self) -> "ParallelMap":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ParallelMap(kind={self.kind!r}, slots={self.slots})"


def make_map(workers: int = 1, scheduler: Any = None, *, local_processes: bool = False) -> ParallelMap:
    """A map for ``--workers N`` and ``--scheduler ADDRESS``.

    * ``scheduler=None``, ``workers=1``: serial, in this process.
    * ``scheduler=None``, ``workers=N > 1`` (or -1: all cores): N local processes through joblib's loky backend.
    * ``scheduler="tcp://host:8786"`` (any address): a ``distributed.Client`` connected to an existing Dask
      scheduler, for more than one machine; ``workers`` is ignored (the cluster decides).
    * ``scheduler="local"``: a ``distributed.LocalCluster`` with ``workers`` single-threaded workers, threads
      in this process unless ``local_processes`` (for tests and trials).
    * ``scheduler=<distributed.Client>``: use that client; it is not closed by :meth:`ParallelMap.close`.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or (workers < 1 and workers != -1):
        raise ConfigError(f"workers must be a positive integer or -1 (all cores), got {workers!r}")
    if scheduler is None:
        if workers == 1:
            return ParallelMap("serial", 1)
        slots = (os.cpu_count() or 1) if workers == -1 else workers
        return ParallelMap("joblib", slots, n_jobs=workers)
    if hasattr(scheduler, "submit") and hasattr(scheduler, "gather"):
        return ParallelMap("dask", _client_slots(scheduler), client=scheduler)
    if not isinstance(scheduler, str) or not scheduler:
        raise ConfigError(f"scheduler must be a Dask scheduler address, 'local' or a Client, got {scheduler!r}")
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is in the 'tune' extra
        raise ConfigError("--scheduler needs dask[distributed] (pip install 'wq[tune]')") from exc
    if scheduler == "local":
        n = (os.cpu_count() or 1) if workers == -1 else workers
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=local_processes,
                               dashboard_address=None)
        client = Client(cluster)
        return ParallelMap("dask", n, client=client, cluster=cluster, owns_client=True)
    try:
        client = Client(scheduler, timeout="30s")
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from exc
    return ParallelMap("dask", _client_slots(client), client=client, owns_client=True)


def _client_slots(client: Any) -> int:
    try:
        return max(1, int(sum(client.nthreads().values())))
    except Exception:  # noqa: BLE001 - a client-like object without nthreads: assume one slot
        return 1
