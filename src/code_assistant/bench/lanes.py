"""Run bench jobs in two lanes: one at a time for local backends, N at once for remote ones."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TypeVar

J = TypeVar("J")
R = TypeVar("R")


def run_in_lanes(
    jobs: Sequence[J],
    concurrent: Callable[[J], bool],
    work: Callable[[J, threading.Event], R | None],
    lanes: int,
    on_result: Callable[[R, int, int], None] | None = None,
) -> tuple[list[R | None], bool]:
    """Every job's result in job order (None: not run), and whether Ctrl-C stopped the rest.

    Local backends hold one model in memory, so their jobs queue in a single lane; jobs on
    remote backends share `lanes` workers. `work` gets the stop event: it is set on Ctrl-C or
    when a job raises, so running jobs can stop their processes and queued ones can skip.
    """
    results: list[R | None] = [None] * len(jobs)
    stop = threading.Event()
    serial = ThreadPoolExecutor(1, thread_name_prefix="bench-local")
    pool = ThreadPoolExecutor(max(1, lanes), thread_name_prefix="bench-remote")
    futures: dict[Future[R | None], int] = {}
    interrupted = False

    def guarded(job: J) -> R | None:
        try:
            return work(job, stop)
        except BaseException:
            stop.set()  # at once, in this lane: the next queued job must not start
            raise

    try:
        for index, job in enumerate(jobs):
            lane = pool if concurrent(job) else serial
            futures[lane.submit(guarded, job)] = index
        for done, future in enumerate(as_completed(futures), 1):
            result = results[futures[future]] = future.result()
            if on_result is not None and result is not None:
                on_result(result, done, len(jobs))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
        for executor in (serial, pool):
            executor.shutdown(wait=True, cancel_futures=True)
    if interrupted:  # jobs that ended while the others were stopping still count
        for future, index in futures.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                results[index] = future.result()
    return results, interrupted
