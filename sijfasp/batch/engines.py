"""What runs the cases of a batch: this process (`InProcess`), N processes of this machine
(`Processes`) or a Dask cluster (`Dask`). Each takes cases (`submit`), says which have finished
(`wait`) and gives their outcomes (`result`); the order of the output is the run's business.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from .evaluate import Config, Item, Outcome, evaluate_items, usage

PARENT_POLL = 0.2  # seconds between a worker's checks that the batch still runs


class InProcess:
    """Evaluates each case when asked: the batch without workers."""

    def __init__(self, config: Config):
        self.config = config
        self.capacity = 1
        self.synchronous = True  # a task is done when submitted: one at a time (in_order)

    def submit(self, items: list[Item]) -> Any:
        return tuple(evaluate_items(self.config, items))  # a task is kept in a set

    def wait(self, pending: set[Any]) -> set[Any]:
        return set(pending)

    @staticmethod
    def result(task: Any) -> list[Outcome]:
        return list(task)

    def close(self) -> None:
        pass


def _start_worker() -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent stopped at once (Ctrl-C, killed) cannot shut the pool down: end with it.
    parent = os.getppid()
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


class Processes:
    """N processes of this machine (concurrent.futures, started by spawn: a clean process,
    which loads the policies once for all its cases)."""

    def __init__(self, config: Config, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.config = config
        self.capacity = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )

    def submit(self, items: list[Item]) -> Any:
        return self.pool.submit(evaluate_items, self.config, items)

    def wait(self, pending: set[Any]) -> set[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for task in done:
            if isinstance(task.exception(), BrokenProcessPool):
                raise usage("a worker process stopped (see the message above); the batch stops")
        return done

    @staticmethod
    def result(task: Any) -> list[Outcome]:
        return list(task.result())

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class Dask:
    """A Dask cluster: the scheduler at `address`, or a local cluster of `workers` processes."""

    def __init__(self, config: Config, workers: int, address: str | None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise usage(
                "--engine dask needs Dask: pip install 'sijfasp[cluster]'", "--engine"
            ) from None
        self.config = config
        self.cluster = None
        if address is None:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout=30)
            except OSError as error:
                raise usage(
                    f"cannot reach the Dask scheduler at {address}: {error}", "--scheduler"
                ) from None
        threads = sum(self.client.nthreads().values())
        self.capacity = max(1, threads)

    def submit(self, items: list[Item]) -> Any:
        # pure=False: two identical lines of the input are two cases, each with its line.
        return self.client.submit(evaluate_items, self.config, items, pure=False)

    def wait(self, pending: set[Any]) -> set[Any]:
        from distributed import wait

        return set(wait(list(pending), return_when="FIRST_COMPLETED").done)

    @staticmethod
    def result(task: Any) -> list[Outcome]:
        return list(task.result())

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
