"""Peak memory of a piece of work: CUDA's allocator statistics on GPUs, peak resident set size on CPUs.

On the CPU the work runs in a spawned child process, so its peak RSS (``ru_maxrss``) is its own; the reported
figure is the peak minus the RSS when the work began (the module, inputs and imports excluded). ``setup`` and
``work`` must therefore be module-level functions (picklable).
"""

from __future__ import annotations

import multiprocessing as mp
import resource
from collections.abc import Callable

import torch


def _child(setup: Callable, work: Callable, args: tuple, queue) -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    state = setup(*args)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    work(state)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((after - before) * 1024)


def peak_memory_bytes(
    setup: Callable[..., object], work: Callable[[object], None], device: torch.device, args: tuple = ()
) -> int:
    """Extra peak memory of ``work(setup(*args))`` in bytes (see the module docstring for how it is measured)."""
    if device.type == "cuda":
        state = setup(*args)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        work(state)
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated() - base)
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(setup, work, args, queue))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"memory measurement child failed with exit code {process.exitcode}")
    return int(queue.get())
