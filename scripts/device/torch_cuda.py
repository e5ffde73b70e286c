#!/usr/bin/env python3
"""The PyTorch twin of the reference UNet (torch_unet.py, beside this file on the accelerator
machine) timed on CUDA: the peer of Fontloom's webgpu figures from scripts/device/run.sh. A
measuring instrument for developers; nothing in Fontloom or its tests runs it.

  torch_cuda.py --width 64 --deep --attn all --batch 4 --steps 20 [--sheet]
"""
import argparse, json, sys, time, os
import torch, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_unet import UNetConditional, count  # noqa: E402


def timed(fn, steps):
    fn(); torch.cuda.synchronize()  # warm-up: cuDNN picks its algorithms, the allocator fills
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / steps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--deep", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--attn", choices=["all", "low", "none"], default="all")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--sheet", action="store_true", help="also a DDIM-50 A-Z step loop at batch 52")
    a = p.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    torch.set_default_device(dev)  # the twin makes its time encoding's frequencies at call time
    torch.backends.cudnn.benchmark = True
    m = UNetConditional(1, 26, a.width, a.deep, a.attn, 32).to(dev)
    opt = torch.optim.AdamW(m.parameters(), 3e-4, weight_decay=1e-3)
    x0 = torch.rand(a.batch, 1, 32, 32, device=dev) * 2 - 1
    y = torch.randint(0, 26, (a.batch,), device=dev)
    t = torch.randint(1, 1000, (a.batch,), device=dev)

    def step():
        eps = torch.randn_like(x0)
        loss = F.mse_loss(m(x0 * 0.7 + eps * 0.7, t, y), eps)
        opt.zero_grad(); loss.backward(); opt.step()

    train = timed(step, a.steps)
    with torch.no_grad():
        fwd = timed(lambda: m(x0, t, y), a.steps)
        row = dict(engine=f"torch-{torch.__version__}-cuda", gpu=torch.cuda.get_device_name(0), width=a.width,
                   deep=a.deep, attn=a.attn, batch=a.batch, params=count(m), train_ms_per_step=round(train * 1e3, 2),
                   train_img_per_s=round(a.batch / train, 1), forward_ms=round(fwd * 1e3, 2))
        if a.sheet:
            # A DDIM 50 A-Z sheet as Fontloom draws it: 26 letters, CFG's two halves in one batch of 52.
            # The twin takes one label tensor for the batch, so the unconditional half is labelled
            # too: the same arithmetic (a table lookup) as a null label.
            xs = torch.randn(26, 1, 32, 32, device=dev)
            letters = torch.arange(26, device=dev)

            def sheet():
                x = xs.clone()
                for i in range(50):
                    tt = torch.full((52,), 999 - i * 20, device=dev)
                    out = m(torch.cat([x, x]), tt, torch.cat([letters, letters]))
                    x = x - 0.01 * out[:26] + 0.01 * out[26:]
                return x

            row["sheet_ddim50_s"] = round(timed(sheet, 3), 4)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
