#!/usr/bin/env python3
"""Makes test/fixtures/torch/: a `micro` model's weights as PyTorch writes them, an input batch,
and PyTorch's output for it. test/weights.test.ts imports the weights with Fontloom and checks
that its forward pass computes the same output. Run once, with Debian's PyTorch:

  apt-get install -y python3-torch
  /usr/bin/python3 scripts/make-torch-fixture.py test/fixtures/torch

The network is the reference's UNet_conditional module tree (DoubleConv, Down, Up, SelfAttention,
with the reference's attribute names, so its state_dict keys are the reference's) built at the
shape of Fontloom's `micro` preset: width 8, a 64-wide time embedding, the two-block bottleneck,
and self-attention only where feature maps are 8×8 or 4×4 (sa2, sa3, sa4; the others hold no
weights). Weights are PyTorch's default initialisation (seed 0), with every bias and norm scale
moved off its default so each of them matters to the output.

Writes:
  micro.pt            torch.save(model.state_dict()): the zip format a reference user's ckpt.pt has
  micro.safetensors   the same weights as safetensors (written here by hand, no library)
  batch.safetensors   x [4,1,32,32] F32, t [4] F32, labels [4] F32 (−1: no label), and y, the
                      model's output for them computed in float64, [4,1,32,32] F64
"""
import json, os, struct, sys
import torch, torch.nn as nn, torch.nn.functional as F

WIDTH, TIME_DIM, CHANNELS, CLASSES, SIZE = 8, 64, 1, 26, 32
ATTENTION = {8, 4}  # feature-map sizes (of a 32×32 input) that have self-attention


class SelfAttention(nn.Module):
    def __init__(self, channels, size):
        super().__init__()
        self.channels, self.size = channels, size
        self.mha = nn.MultiheadAttention(channels, 4, batch_first=True)
        self.ln = nn.LayerNorm([channels])
        self.ff_self = nn.Sequential(nn.LayerNorm([channels]), nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, channels))

    def forward(self, x):
        x = x.view(-1, self.channels, self.size * self.size).swapaxes(1, 2)
        x_ln = self.ln(x)
        attention_value, _ = self.mha(x_ln, x_ln, x_ln)
        attention_value = attention_value + x
        attention_value = self.ff_self(attention_value) + attention_value
        return attention_value.swapaxes(2, 1).view(-1, self.channels, self.size, self.size)


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
        x = self.maxpool_conv(x)
        return x + self.emb_layer(t)[:, :, None, None]


class Up(nn.Module):
    def __init__(self, in_channels, out_channels, emb_dim):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.conv = nn.Sequential(DoubleConv(in_channels, in_channels, residual=True), DoubleConv(in_channels, out_channels, in_channels // 2))
        self.emb_layer = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, out_channels))

    def forward(self, x, skip_x, t):
        x = self.up(x)
        x = self.conv(torch.cat([skip_x, x], dim=1))
        return x + self.emb_layer(t)[:, :, None, None]


class UNetConditional(nn.Module):
    def __init__(self):
        super().__init__()
        W, T = WIDTH, TIME_DIM
        attn = lambda c, res: SelfAttention(c, res) if res * 32 // SIZE in ATTENTION else nn.Identity()
        self.time_dim = T
        self.inc = DoubleConv(CHANNELS, W)
        self.down1, self.sa1 = Down(W, 2 * W, T), attn(2 * W, SIZE // 2)
        self.down2, self.sa2 = Down(2 * W, 4 * W, T), attn(4 * W, SIZE // 4)
        self.down3, self.sa3 = Down(4 * W, 4 * W, T), attn(4 * W, SIZE // 8)
        self.bot1 = DoubleConv(4 * W, 4 * W)
        self.bot2 = DoubleConv(4 * W, 4 * W)
        self.up1, self.sa4 = Up(8 * W, 2 * W, T), attn(2 * W, SIZE // 4)
        self.up2, self.sa5 = Up(4 * W, W, T), attn(W, SIZE // 2)
        self.up3, self.sa6 = Up(2 * W, W, T), attn(W, SIZE)
        self.outc = nn.Conv2d(W, CHANNELS, kernel_size=1)
        self.label_emb = nn.Embedding(CLASSES, T)

    def pos_encoding(self, t, channels):
        inv_freq = 1.0 / (10000 ** (torch.arange(0, channels, 2, dtype=t.dtype) / channels))
        pos_enc_a = torch.sin(t.repeat(1, channels // 2) * inv_freq)
        pos_enc_b = torch.cos(t.repeat(1, channels // 2) * inv_freq)
        return torch.cat([pos_enc_a, pos_enc_b], dim=-1)

    def forward(self, x, t, onehot):
        # Labels as one-hot rows (an all-zero row: no label), so one batch mixes both.
        t = self.pos_encoding(t.unsqueeze(-1), self.time_dim) + onehot @ self.label_emb.weight
        x1 = self.inc(x)
        x2 = self.sa1(self.down1(x1, t))
        x3 = self.sa2(self.down2(x2, t))
        x4 = self.sa3(self.down3(x3, t))
        x4 = self.bot2(self.bot1(x4))
        x = self.sa4(self.up1(x4, x3, t))
        x = self.sa5(self.up2(x, x2, t))
        x = self.sa6(self.up3(x, x1, t))
        return self.outc(x)


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
    model = UNetConditional()
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
