"""SyncBatchNorm's arithmetic across two real processes on torch.distributed's gloo backend.

Needs torch (`pip install 'razbor[labs-torch]'`). PyTorch's SyncBatchNorm module runs only on
accelerators, so the lab performs its exact communication on the CPU: all-reduce of per-channel
sums, sums of squares and counts, then normalisation with the global statistics.
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import numpy as np

from razbor.labs import Claim, check, lab

SHIFTS = (-2.0, 2.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world: int, port: int, seed: int, folder: str) -> None:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as functional

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    generator = torch.Generator().manual_seed(seed + rank)
    shard = torch.randn(16, 3, generator=generator, dtype=torch.float64) + SHIFTS[rank]
    local = functional.batch_norm(shard, None, None, training=True, eps=1e-5)
    stats = torch.stack([shard.sum(0), (shard ** 2).sum(0),
                         torch.full((3,), float(len(shard)), dtype=torch.float64)])
    dist.all_reduce(stats)
    count = stats[2]
    mean = stats[0] / count
    var = stats[1] / count - mean ** 2
    synced = (shard - mean) / torch.sqrt(var + 1e-5)
    local_var = shard.var(0, unbiased=False).unsqueeze(0)
    gathered_vars = [torch.zeros_like(local_var) for _ in range(world)]
    dist.all_gather(gathered_vars, local_var)
    np.savez(Path(folder) / f"rank{rank}.npz", shard=shard.numpy(), local=local.numpy(),
             synced=synced.numpy(), var=var.numpy(),
             averaged_var=torch.cat(gathered_vars).mean(0).numpy())
    dist.destroy_process_group()


@lab("syncbn-gloo", "SyncBatchNorm across two processes (torch.distributed, gloo)",
     needs=("torch",))
def syncbn_gloo(rng: np.random.Generator) -> list[Claim]:
    import torch
    import torch.multiprocessing as multiprocessing

    seed = int(rng.integers(0, 2**31 - 1))
    with tempfile.TemporaryDirectory() as folder:
        multiprocessing.spawn(_worker, args=(2, _free_port(), seed, folder), nprocs=2)
        results = [dict(np.load(Path(folder) / f"rank{rank}.npz")) for rank in range(2)]
    everything = torch.tensor(np.concatenate([r["shard"] for r in results]))
    full = torch.nn.functional.batch_norm(everything, None, None, training=True, eps=1e-5).numpy()
    synced = np.concatenate([r["synced"] for r in results])
    local = np.concatenate([r["local"] for r in results])
    true_var = everything.var(0, unbiased=False).numpy()
    return [
        check("All-reduced sums, squares and counts reproduce BatchNorm over the global batch",
              np.allclose(synced, full, atol=1e-9), "max difference "
              f"{np.abs(synced - full).max():.1e} across two gloo processes"),
        check("Plain BatchNorm on each process differs: it only sees the local shard",
              np.abs(local - full).max() > 0.5,
              f"max difference {np.abs(local - full).max():.2f}"),
        check("The global variance is not the mean of the two local variances",
              np.all(results[0]["averaged_var"] < true_var - 1.0),
              f"global {np.round(true_var, 2)}, mean of locals "
              f"{np.round(results[0]['averaged_var'], 2)}"),
    ]
