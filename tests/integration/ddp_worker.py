"""Run under ``torchrun --nproc_per_node=2``: check DDP gradients are equal on every rank, then train via the CLI.

Usage: ``ddp_worker.py CONFIG.yaml RESULT.json [KEY=VALUE …]``. Rank 0 writes ``{"max_grad_diff": …,
"world_size": …}`` to RESULT.json; the exit code is the CLI's (0 on success).
"""

from __future__ import annotations

import json
import sys


def grad_check(config_path: str, overrides: list[str]) -> dict[str, float]:
    import torch
    import torch.distributed as dist
    from torch.utils.data import DataLoader

    from integral_pose.build import build_model, build_train_dataset
    from integral_pose.config.io import load_config
    from integral_pose.data.sampling import MixedSampler
    from integral_pose.engine.distributed import check_global_batch, init_distributed
    from integral_pose.engine.objective import compute_loss, outputs_to_coords
    from integral_pose.engine.seeding import seed_everything

    cfg = load_config(config_path, overrides)
    info = init_distributed("cpu")
    seed_everything(cfg.train.seed)
    dataset, sizes, ratios, length = build_train_dataset(cfg)
    sampler = MixedSampler(sizes, ratios, num_samples=length, seed=cfg.train.seed, world_size=info.world_size,
                           rank=info.rank)  # fmt: skip
    per_rank = check_global_batch(cfg.train.batch_size, info.world_size)
    batch = next(iter(DataLoader(dataset, batch_size=per_rank, sampler=sampler)))
    model = torch.nn.parallel.DistributedDataParallel(build_model(cfg.model))
    out = model(batch["image"])
    loss, _ = compute_loss(outputs_to_coords(out, cfg.model), batch["target"], batch["target_weight"], out, cfg)
    loss.backward()
    flat = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(info.world_size)]
    dist.all_gather(gathered, flat)
    indices = torch.tensor(batch["index"].tolist())
    all_idx = [torch.empty_like(indices) for _ in range(info.world_size)]
    dist.all_gather(all_idx, indices)
    overlap = len(set(all_idx[0].tolist()) & set(all_idx[1].tolist())) if info.world_size == 2 else -1
    diff = max(float((g - gathered[0]).abs().max()) for g in gathered)
    dist.barrier()  # the process group stays up; the trainer below reuses it and tears it down
    return {"max_grad_diff": diff, "grad_norm": float(flat.norm()), "world_size": info.world_size,
            "shard_overlap": overlap}  # fmt: skip


def main() -> int:
    import faulthandler
    import os

    faulthandler.dump_traceback_later(180, exit=True)  # a hang becomes a traceback and a failure
    config_path, result_path, *overrides = sys.argv[1:]
    res = grad_check(config_path, overrides)
    from integral_pose.cli.main import main as ipr

    code = ipr(["train", "--config", config_path, "--quiet", *overrides])
    if os.environ.get("RANK", "0") == "0":
        res["exit_code"] = code
        with open(result_path, "w", encoding="utf-8") as fh:
            json.dump(res, fh)
    return code


if __name__ == "__main__":
    sys.exit(main())
