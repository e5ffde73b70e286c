#!/usr/bin/env python3
"""Makes test/fixtures/torch/: a `micro` model's weights as PyTorch writes them, an input batch,
and PyTorch's output for it. test/weights.test.ts imports the weights with Fontloom and checks
that its forward pass computes the same output. Run once, with Debian's PyTorch:

  apt-get install -y python3-torch
  /usr/bin/python3 scripts/make-torch-fixture.py test/fixtures/torch

The network is the training job's (src-main/jobs/job-train.py): the reference's UNet_conditional
module tree (DoubleConv, Down, Up, SelfAttention, with the reference's attribute names, so its
state_dict keys are the reference's), here built at the shape of Fontloom's `micro` preset: width 8, a 64-wide time embedding, the two-block bottleneck,
and self-attention only where feature maps are 8×8 or 4×4 (sa2, sa3, sa4; the others hold no
weights). Weights are PyTorch's default initialisation (seed 0), with every bias and norm scale
moved off its default so each of them matters to the output.

Writes:
  micro.pt            torch.save(model.state_dict()): the zip format a reference user's ckpt.pt has
  micro.safetensors   the same weights as safetensors (written here by hand, no library)
  batch.safetensors   x [4,1,32,32] F32, t [4] F32, labels [4] F32 (−1: no label), and y, the
                      model's output for them computed in float64, [4,1,32,32] F64
"""
import importlib.util, json, os, struct, sys
import torch

WIDTH, TIME_DIM, CHANNELS, CLASSES, SIZE = 8, 64, 1, 26, 32
ATTENTION = {8, 4}  # feature-map sizes (of a 32×32 input) that have self-attention


def micro_unet():
    """The job's own network (src-main/jobs/job-train.py), one module tree for both, at `micro`'s shape."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src-main", "jobs", "job-train.py")
    spec = importlib.util.spec_from_file_location("fontloom_job_train", path)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    shape = {"width": WIDTH, "deep": False, "attention": sorted(ATTENTION), "heads": 4, "timeDim": TIME_DIM, "channels": CHANNELS, "classes": CLASSES, "size": SIZE}
    return job.UNetConditional(shape)


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        dtype, little_endian = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8")}[t.dtype]
        data = t.detach().contiguous().numpy().astype(little_endian).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = micro_unet()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(0.2 * torch.randn_like(p))
    model.eval()
    sd = model.state_dict()
    params = sum(p.numel() for p in sd.values())
    torch.save(sd, os.path.join(out, "micro.pt"))
    write_safetensors(os.path.join(out, "micro.safetensors"), sd, {"format": "pt"})

    x = torch.randn(4, CHANNELS, SIZE, SIZE)
    t = torch.tensor([1.0, 250.0, 600.0, 999.0])
    labels = torch.tensor([0.0, 7.0, 25.0, -1.0])
    onehot = torch.zeros(4, CLASSES)
    for i, label in enumerate(labels.long().tolist()):
        if label >= 0:
            onehot[i, label] = 1
    with torch.no_grad():
        y64 = model.double()(x.double(), t.double(), onehot.double())
        y32 = model.float()(x, t, onehot)
    write_safetensors(os.path.join(out, "batch.safetensors"), {"x": x, "t": t, "labels": labels, "y": y64}, {"format": "pt"})
    rel = ((y32.double() - y64).abs().max() / y64.abs().max()).item()
    print(json.dumps({"torch": torch.__version__, "params": params, "tensors": len(sd), "float32_vs_float64_relative_error": rel}))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/torch")
