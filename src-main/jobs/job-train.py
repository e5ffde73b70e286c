#!/usr/bin/env python3
"""Trains a Fontloom run's model with PyTorch, on one process or many (torchrun, DistributedDataParallel).

Written by `fontloom job export`; it reads job.json and the .npy split beside it and needs only
torch and numpy. The network is the reference's UNet_conditional, its modules named as the
reference names them (so its state_dict is the one Fontloom reads), at the shape of the run's
preset. The recipe is the run's: linear or cosine noise schedule, ε or v prediction, plain MSE
or Min-SNR-γ weights, label dropout for classifier-free guidance, AdamW under OneCycle, an EMA
that copies the model for its first emaStart steps.

  python3 train.py                              one process (CPU, or the first GPU)
  torchrun --nproc_per_node=4 train.py          four processes on this machine (NCCL on GPUs, gloo on CPUs)
  python3 train.py --resume                     continue from checkpoints/ (also under torchrun)

`batch` in job.json is the global batch: each of N processes trains batch/N samples a step.
Rank 0 writes metrics.jsonl (step, loss, lr, val) and checkpoints/: model.safetensors,
ema.safetensors and state.pt (optimizer, scheduler and step, for --resume).
`fontloom job import DIR` brings the result back as a run.
"""
import argparse, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
T_STEPS = 1000


# ── The network: the reference's UNet_conditional at a preset's shape ─────────────────────────

class SelfAttention(nn.Module):
    def __init__(self, channels, size, heads):
        super().__init__()
        self.channels, self.size = channels, size
        self.mha = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.ln = nn.LayerNorm([channels])
        self.ff_self = nn.Sequential(nn.LayerNorm([channels]), nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, channels))

    def forward(self, x):
        x = x.view(-1, self.channels, self.size * self.size).swapaxes(1, 2)
        x_ln = self.ln(x)
        attention_value, _ = self.mha(x_ln, x_ln, x_ln)
        attention_value = attention_value + x
        attention_value = self.ff_self(attention_value) + attention_value
        return attention_value.swapaxes(2, 1).reshape(-1, self.channels, self.size, self.size)


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, mid_channels=None, residual=False):
        super().__init__()
        self.residual = residual
        mid_channels = mid_channels or out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.GroupNorm(1, mid_channels),
            nn.GELU(),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.GroupNorm(1, out_channels),
        )

    def forward(self, x):
        return F.gelu(x + self.double_conv(x)) if self.residual else self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels, emb_dim):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, in_channels, residual=True), DoubleConv(in_channels, out_channels))
        self.emb_layer = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, out_channels))

    def forward(self, x, t):
        return self.maxpool_conv(x) + self.emb_layer(t)[:, :, None, None]


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, emb_dim):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = nn.Sequential(DoubleConv(in_channels, in_channels, residual=True), DoubleConv(in_channels, out_channels, in_channels // 2))
        self.emb_layer = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, out_channels))

    def forward(self, x, skip_x, t):
        x = self.conv(torch.cat([skip_x, self.up(x)], dim=1))
        return x + self.emb_layer(t)[:, :, None, None]


class UNetConditional(nn.Module):
    """`shape`: width, deep, attention (feature-map sizes of a 32×32 input), heads, timeDim, channels, classes, size."""

    def __init__(self, shape):
        super().__init__()
        W, T, size, heads = shape["width"], shape["timeDim"], shape["size"], shape["heads"]
        attention = set(shape["attention"])
        attn = lambda c, res: SelfAttention(c, res, heads) if res * 32 // size in attention else nn.Identity()
        self.time_dim = T
        self.inc = DoubleConv(shape["channels"], W)
        self.down1, self.sa1 = Down(W, 2 * W, T), attn(2 * W, size // 2)
        self.down2, self.sa2 = Down(2 * W, 4 * W, T), attn(4 * W, size // 4)
        self.down3, self.sa3 = Down(4 * W, 4 * W, T), attn(4 * W, size // 8)
        if shape["deep"]:
            self.bot1, self.bot2, self.bot3 = DoubleConv(4 * W, 8 * W), DoubleConv(8 * W, 8 * W), DoubleConv(8 * W, 4 * W)
            self.bottleneck = [self.bot1, self.bot2, self.bot3]
        else:
            self.bot1, self.bot2 = DoubleConv(4 * W, 4 * W), DoubleConv(4 * W, 4 * W)
            self.bottleneck = [self.bot1, self.bot2]
        self.up1, self.sa4 = Up(8 * W, 2 * W, T), attn(2 * W, size // 4)
        self.up2, self.sa5 = Up(4 * W, W, T), attn(W, size // 2)
        self.up3, self.sa6 = Up(2 * W, W, T), attn(W, size)
        self.outc = nn.Conv2d(W, shape["channels"], kernel_size=1)
        self.label_emb = nn.Embedding(shape["classes"], T)

    def pos_encoding(self, t, channels):
        inv_freq = 1.0 / (10000 ** (torch.arange(0, channels, 2, device=t.device, dtype=t.dtype) / channels))
        return torch.cat([torch.sin(t.repeat(1, channels // 2) * inv_freq), torch.cos(t.repeat(1, channels // 2) * inv_freq)], dim=-1)

    def forward(self, x, t, onehot):
        # Labels as one-hot rows; an all-zero row is "no label", so one batch mixes both (label dropout).
        t = self.pos_encoding(t.unsqueeze(-1), self.time_dim) + onehot @ self.label_emb.weight
        x1 = self.inc(x)
        x2 = self.sa1(self.down1(x1, t))
        x3 = self.sa2(self.down2(x2, t))
        x4 = self.sa3(self.down3(x3, t))
        for block in self.bottleneck:
            x4 = block(x4)
        x = self.sa4(self.up1(x4, x3, t))
        x = self.sa5(self.up2(x, x2, t))
        x = self.sa6(self.up3(x, x1, t))
        return self.outc(x)


# ── The recipe ────────────────────────────────────────────────────────────────────────────────

def alpha_bar(kind):
    """ᾱ_t for t = 0..T−1 in float64, as Fontloom's schedule.ts computes it."""
    if kind == "linear":
        beta = np.linspace(1e-4, 0.02, T_STEPS, dtype=np.float64)
    else:
        s = 0.008
        f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
        beta = np.array([min(1 - f((t + 1) / T_STEPS) / f(t / T_STEPS), 0.999) for t in range(T_STEPS)], dtype=np.float64)
    return np.cumprod(1 - beta)


def loss_weights(ab, recipe):
    """Min-SNR-γ: min(SNR, γ)/SNR for ε, min(SNR, γ)/(SNR + 1) for v; all 1 for plain MSE."""
    if recipe["weighting"] != "min-snr":
        return np.ones_like(ab)
    snr = ab / (1 - ab)
    return np.minimum(snr, recipe["snrGamma"]) / (snr + 1 if recipe["prediction"] == "v" else snr)


def one_hot(labels, classes):
    """−1 (no label) becomes an all-zero row."""
    return F.one_hot(labels.clamp(min=0), classes).float() * (labels >= 0).float()[:, None]


def to_images(pixels):
    """uint8 NHWC → float NCHW in [−1, 1]."""
    return pixels.permute(0, 3, 1, 2).float() / 127.5 - 1


class Ema:
    """The reference's EMA: a hard copy for the first `start` steps, then ema ← β·ema + (1−β)·θ."""

    def __init__(self, beta, start):
        self.beta, self.start, self.step = beta, start, 0

    @torch.no_grad()
    def update(self, ema, model):
        for e, p in zip(ema.parameters(), model.parameters()):
            if self.step < self.start:
                e.copy_(p)
            else:
                e.mul_(self.beta).add_(p, alpha=1 - self.beta)
        self.step += 1


# ── Files ─────────────────────────────────────────────────────────────────────────────────────

def write_atomic(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def safetensors_bytes(state, metadata):
    """A safetensors file: 8-byte little-endian header length, the JSON header, raw float32 data
    (float64 where a tensor is float64)."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, t in state.items():
        dtype, little_endian = ("F64", "<f8") if t.dtype == torch.float64 else ("F32", "<f4")
        data = t.detach().cpu().contiguous().numpy().astype(little_endian).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, h in header.items():
        if h["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {h['dtype']}, expected F32")
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").copy().reshape(h["shape"]))
    return out


def checkpoint_metadata(job, which, step):
    c = job["config"]
    return {
        "format": "pt", "fontloom_job": "1", "weights": which, "step": str(step),
        "preset": c["preset"], "recipe": json.dumps(c["recipe"]), "classes": json.dumps(job["classNames"]),
        "channels": str(job["shape"]["channels"]), "size": str(job["shape"]["size"]), "style": "none",
        "config": json.dumps(c), "torch_version": torch.__version__,
    }


def save_checkpoint(out, job, model, ema, optimizer, scheduler, ema_state, step):
    os.makedirs(out, exist_ok=True)
    write_atomic(os.path.join(out, "model.safetensors"), safetensors_bytes(model.state_dict(), checkpoint_metadata(job, "model", step)))
    write_atomic(os.path.join(out, "ema.safetensors"), safetensors_bytes(ema.state_dict(), checkpoint_metadata(job, "ema", step)))
    tmp = os.path.join(out, f"state.pt.tmp-{os.getpid()}")
    torch.save({"step": step, "ema_step": ema_state.step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp)
    os.replace(tmp, os.path.join(out, "state.pt"))


PROBE_IMAGES = 8


def write_probe(folder, job, weights, step):
    """checkpoints/probe.safetensors: a fixed batch (x, t, labels; −1 is no label) and this network's
    output for it with the given (EMA) weights, computed in float64. `fontloom job import` runs
    Fontloom's forward pass on the same batch and reports how far the two are apart."""
    shape = job["shape"]
    probe = UNetConditional(shape).double()
    probe.load_state_dict({k: v.double() for k, v in weights.items()})
    probe.eval()
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(PROBE_IMAGES, shape["channels"], shape["size"], shape["size"], generator=g)
    t = torch.linspace(1, T_STEPS - 1, PROBE_IMAGES).round()
    labels = torch.arange(PROBE_IMAGES) % shape["classes"]
    labels[-1] = -1
    with torch.no_grad():
        y = probe(x.double(), t.double(), one_hot(labels, shape["classes"]).double())
    tensors = {"x": x, "t": t, "labels": labels.float(), "y": y}
    write_atomic(os.path.join(folder, "probe.safetensors"), safetensors_bytes(tensors, {"format": "pt", "fontloom_probe": "1", "step": str(step), "weights": "ema", "torch_version": torch.__version__}))


def load_split(folder, name):
    return [np.load(os.path.join(folder, f"{name}_{part}.npy")) for part in ("images", "labels", "fonts")]


# ── Training ─────────────────────────────────────────────────────────────────────────────────

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", default=HERE, help="the job folder (default: this script's)")
    ap.add_argument("--resume", action="store_true", help="continue from checkpoints/state.pt")
    ap.add_argument("--out", default=None, help="where checkpoints and metrics go (default: the job folder)")
    ap.add_argument("--probe", action="store_true", help="only write checkpoints/probe.safetensors for the EMA weights there (training writes it at the end)")
    args = ap.parse_args()
    with open(os.path.join(args.job, "job.json")) as f:
        job = json.load(f)
    cfg, shape, recipe = job["config"], job["shape"], job["config"]["recipe"]
    out = args.out or args.job
    ckpt_dir = os.path.join(out, "checkpoints")
    if args.probe:
        ema_path = os.path.join(ckpt_dir, "ema.safetensors")
        if not os.path.exists(ema_path):
            raise SystemExit(f"--probe: {ema_path} does not exist; train first")
        with open(ema_path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            step = int(json.loads(f.read(n)).get("__metadata__", {}).get("step", 0))
        write_probe(ckpt_dir, job, read_safetensors(ema_path), step)
        print(f"wrote {os.path.join(ckpt_dir, 'probe.safetensors')} for the EMA weights at step {step}", flush=True)
        return 0

    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group("nccl" if cuda else "gloo")
        rank, world, local = dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
    else:
        rank, world, local = 0, 1, 0
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    elif "OMP_NUM_THREADS" not in os.environ:
        # Processes on one machine share its cores.
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // int(os.environ.get("LOCAL_WORLD_SIZE", 1))))

    x_train, y_train, _ = load_split(args.job, "train")
    x_val, y_val, _ = load_split(args.job, "val")
    steps, global_batch = cfg["steps"], min(cfg["batch"], len(y_train))
    per_rank = max(1, global_batch // world)
    data = TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=cfg["seed"], drop_last=True)
    loader = DataLoader(data, batch_size=per_rank, sampler=sampler, drop_last=True)
    if len(loader) == 0:
        raise SystemExit(f"the training split has {len(y_train)} glyphs: too few for {world} processes of {per_rank}")

    torch.manual_seed(cfg["seed"])
    net = UNetConditional(shape).to(device)
    ema = UNetConditional(shape).to(device)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False)
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg["weightDecay"])
    # PyTorch's OneCycle defaults are Fontloom's: 30% warm-up, lr/25 → lr → lr/25e4, β1 cycled 0.95 ↔ 0.85.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg["lr"], total_steps=steps)
    ema_state = Ema(cfg["emaBeta"], cfg["emaStart"])
    step = 0
    metrics_path = os.path.join(out, "metrics.jsonl")
    if args.resume:
        state_path = os.path.join(ckpt_dir, "state.pt")
        if not os.path.exists(state_path):
            raise SystemExit(f"--resume: {state_path} does not exist; start without --resume")
        net.load_state_dict(read_safetensors(os.path.join(ckpt_dir, "model.safetensors")))
        ema.load_state_dict(read_safetensors(os.path.join(ckpt_dir, "ema.safetensors")))
        state = torch.load(state_path, map_location=device)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, ema_state.step = state["step"], state["ema_step"]
        if rank == 0 and os.path.exists(metrics_path):
            # Metrics written after the last checkpoint are trained again: drop them.
            with open(metrics_path) as f:
                kept = [line for line in f if line.strip() and json.loads(line)["step"] <= step]
            write_atomic(metrics_path, "".join(kept).encode())
    elif rank == 0 and os.path.exists(metrics_path):
        os.remove(metrics_path)
    model = DistributedDataParallel(net, device_ids=[local] if cuda else None) if distributed else net

    ab = torch.tensor(alpha_bar(recipe["schedule"]), dtype=torch.float64)
    weights_of_t = torch.tensor(loss_weights(ab.numpy(), recipe), dtype=torch.float32, device=device)
    sqrt_ab = ab.sqrt().float().to(device)
    sqrt_1m = (1 - ab).sqrt().float().to(device)
    classes = shape["classes"]
    val_every = cfg.get("valEvery") or max(1, steps // 20)
    ckpt_every = cfg.get("checkpointEvery") or 0
    val_items = min(len(y_val), cfg.get("valMax", 256))
    noise = torch.Generator(device="cpu").manual_seed(cfg["seed"] * 1000 + rank + 1)

    @torch.no_grad()
    def validate():
        """Mean squared ε error on the held-out fonts, fixed timesteps and noise; v read as ε, unweighted."""
        if val_items == 0:
            return None
        g = torch.Generator(device="cpu").manual_seed(cfg["seed"])
        net.eval()
        total = 0.0
        for start in range(0, val_items, per_rank * world):
            x0 = to_images(torch.from_numpy(x_val[start : start + per_rank * world]))
            labels = torch.from_numpy(y_val[start : start + per_rank * world])
            t = torch.randint(1, T_STEPS, (len(labels),), generator=g)
            eps = torch.randn(x0.shape, generator=g)
            x0, eps, t, labels = x0.to(device), eps.to(device), t.to(device), labels.to(device)
            a, b = sqrt_ab[t][:, None, None, None], sqrt_1m[t][:, None, None, None]
            xt = a * x0 + b * eps
            y = net(xt, t.float(), one_hot(labels, classes))
            eps_hat = b * xt + a * y if recipe["prediction"] == "v" else y
            total += ((eps_hat - eps) ** 2).sum().item()
        net.train()
        return total / (val_items * x_val[0].size)

    metrics = open(metrics_path, "a") if rank == 0 else None
    started, epoch = time.time(), step // len(loader)
    net.train()
    while step < steps:
        sampler.set_epoch(epoch)
        for pixels, labels in loader:
            if step >= steps:
                break
            x0, labels = to_images(pixels).to(device), labels.to(device)
            n = len(labels)
            t = torch.randint(1, T_STEPS, (n,), generator=noise).to(device)
            drop = torch.rand(n, generator=noise).to(device) < cfg["cfgDropout"]
            labels = torch.where(drop, torch.full_like(labels, -1), labels)
            eps = torch.randn(x0.shape, generator=noise).to(device)
            a, b = sqrt_ab[t][:, None, None, None], sqrt_1m[t][:, None, None, None]
            xt = a * x0 + b * eps
            target = a * eps - b * x0 if recipe["prediction"] == "v" else eps
            y = model(xt, t.float(), one_hot(labels, classes))
            loss = (((y - target) ** 2).mean(dim=(1, 2, 3)) * weights_of_t[t]).mean()
            lr = scheduler.get_last_lr()[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            ema_state.update(ema, net)
            step += 1
            shown = loss.detach()
            if distributed:
                dist.all_reduce(shown)
                shown /= world
            val = validate() if rank == 0 and (step % val_every == 0 or step == steps) else None
            if rank == 0:
                metrics.write(json.dumps({"step": step, "loss": shown.item(), "lr": lr, "val": val}) + "\n")
                metrics.flush()
                if val is not None:
                    print(f"step {step}/{steps}  loss {shown.item():.4f}  val {val:.4f}  lr {lr:.2e}  {time.time() - started:.0f}s", flush=True)
            if rank == 0 and ((ckpt_every and step % ckpt_every == 0) or step == steps):
                save_checkpoint(ckpt_dir, job, net, ema, optimizer, scheduler, ema_state, step)
            if distributed and (step % val_every == 0 or step == steps or (ckpt_every and step % ckpt_every == 0)):
                dist.barrier()  # the others wait while rank 0 validates or checkpoints
        epoch += 1
    if rank == 0:
        metrics.close()
        write_probe(ckpt_dir, job, ema.state_dict(), step)
        print(f"done: {steps} steps on {world} process(es) ({device.type}) in {time.time() - started:.1f}s; bring it back with: fontloom job import {os.path.abspath(out)}", flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
