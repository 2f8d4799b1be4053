#!/usr/bin/python3
"""DCGAN training throughput in PyTorch (Python), the twin of
neuralart-bench-dcgan.

Builds neuralart's DCGANGenerator / DCGANDiscriminator (core/src/models/
dcgan.cpp) layer for layer, with the options bench_dcgan.cpp uses (latent
100, base width 64, max width 512, 64x64 RGB, batch norm in G, no spectral
norm, no minibatch-std), and times the step of GanTrainer::step()
(core/src/train/gan.cpp) for BCE: a D step on a real and a fake batch, a G
step with D frozen, and the EMA update of the generator, with the same
.item() reads. Prints one JSON line with impl "pytorch-python".

Run with Debian's python3-torch: /usr/bin/python3 bench/dcgan_pytorch.py
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAK = 0.2


class Options:
    latent_dim = 100
    base_width = 64
    max_width = 512
    resolution = 64
    channels = 3

    def width_at(self, r):
        w = self.base_width * (self.resolution // r) // 2
        return max(8, min(w, self.max_width))

    def scales(self):
        s, r = [], 4
        while r <= self.resolution:
            s.append(r)
            r *= 2
        return s


class Generator(nn.Module):
    """fc -> 4x4 -> (upsample x2, 3x3 conv, batch norm, leaky ReLU)* ->
    3x3 conv to RGB -> tanh (g_norm=batch, multiscale off)."""

    def __init__(self, o):
        super().__init__()
        self.o = o
        scales = o.scales()
        self.fc = nn.Linear(o.latent_dim, o.width_at(4) * 4 * 4)
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList([nn.BatchNorm2d(o.width_at(4))])
        for i in range(1, len(scales)):
            cin, cout = o.width_at(scales[i - 1]), o.width_at(scales[i])
            self.convs.append(nn.Conv2d(cin, cout, 3, padding=1))
            self.norms.append(nn.BatchNorm2d(cout))
        self.to_rgb = nn.ModuleList(
            [nn.Conv2d(o.width_at(scales[-1]), o.channels, 3, padding=1)])

    def forward(self, z):
        x = self.fc(z).view(z.size(0), self.o.width_at(4), 4, 4)
        x = F.leaky_relu(self.norms[0](x), LEAK)
        for i, conv in enumerate(self.convs):
            x = F.interpolate(x, size=(x.size(2) * 2, x.size(3) * 2),
                              mode="nearest")
            x = F.leaky_relu(self.norms[i + 1](conv(x)), LEAK)
        return torch.tanh(self.to_rgb[0](x))


def conv_sn_init_(layer, fan_in):
    # Conv2dSN / LinearSN (core/src/models/layers.cpp): U(+-sqrt(3/fan_in)),
    # zero bias.
    bound = math.sqrt(3.0) / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
        layer.bias.zero_()


class Discriminator(nn.Module):
    """Strided 4x4 convs (leaky ReLU) down to 4x4 -> fc -> leaky ReLU ->
    one logit (no spectral norm, no minibatch-std)."""

    def __init__(self, o):
        super().__init__()
        self.convs = nn.ModuleList()
        cin, r = o.channels, o.resolution
        while r > 4:
            cout = o.width_at(r // 2)
            conv = nn.Conv2d(cin, cout, 4, stride=2, padding=1)
            conv_sn_init_(conv, cin * 16)
            self.convs.append(conv)
            cin, r = cout, r // 2
        features = o.width_at(4)
        self.fc = nn.Linear(cin * 4 * 4, features)
        conv_sn_init_(self.fc, cin * 4 * 4)
        self.out = nn.Linear(features, 1)
        conv_sn_init_(self.out, features)

    def forward(self, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LEAK)
        x = F.leaky_relu(self.fc(x.flatten(1)), LEAK)
        return self.out(x).view(-1)


def count_params(m):
    return sum(p.numel() for p in m.parameters())


class Trainer:
    """GanTrainer::step() for BCE, d_steps 1, no augmentation, R1 or
    label smoothing; EMA decay 0.999 with the same warm-up."""

    def __init__(self, o, data, batch, ema_decay=0.999):
        self.o, self.data, self.batch = o, data, batch
        self.ema_decay = ema_decay
        self.g = Generator(o)
        self.d = Discriminator(o)
        self.ema = Generator(o)
        self.ema.load_state_dict(self.g.state_dict())
        self.ema.eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4,
                                      betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4,
                                      betas=(0.5, 0.999))
        self.step_ = 0

    def real_batch(self):
        idx = torch.randint(self.data.size(0), (self.batch,),
                            dtype=torch.int64)
        return self.data.index_select(0, idx).float().div(127.5).sub(1.0)

    def update_ema(self):
        with torch.no_grad():
            decay = min(self.ema_decay,
                        (1.0 + self.step_) / (10.0 + self.step_))
            for pe, p in zip(self.ema.parameters(), self.g.parameters()):
                pe.mul_(decay).add_(p, alpha=1.0 - decay)
            for be, b in zip(self.ema.buffers(), self.g.buffers()):
                be.copy_(b)

    def step(self):
        n, nz = self.batch, self.o.latent_dim
        # Discriminator: real labelled 1, generated 0.
        real = self.real_batch()
        with torch.no_grad():
            fake = self.g(torch.randn(n, nz))
        real_logits = self.d(real)
        fake_logits = self.d(fake)
        loss = (F.binary_cross_entropy_with_logits(
            real_logits, torch.full_like(real_logits, 1.0)) +
                F.binary_cross_entropy_with_logits(
                    fake_logits, torch.zeros_like(fake_logits)))
        d_loss = loss.item()
        torch.sigmoid(real_logits).mean().item()
        torch.sigmoid(fake_logits).mean().item()
        self.opt_d.zero_grad(set_to_none=False)
        loss.backward()
        self.opt_d.step()

        # Generator: through the frozen D with target 1.
        self.d.eval()
        for p in self.d.parameters():
            p.requires_grad_(False)
        logits = self.d(self.g(torch.randn(n, nz)))
        g_loss = F.binary_cross_entropy_with_logits(logits,
                                                    torch.ones_like(logits))
        self.opt_g.zero_grad(set_to_none=False)
        g_loss.backward()
        self.opt_g.step()
        for p in self.d.parameters():
            p.requires_grad_(True)
        self.d.train()
        self.update_ema()
        self.step_ += 1
        return d_loss, g_loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20,
                    help="timed training steps (default 20)")
    ap.add_argument("--warmup", type=int, default=3,
                    help="untimed steps first (default 3)")
    ap.add_argument("--threads", type=int, default=0,
                    help="intra-op threads (default: all cores)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda (cuda needs PyTorch 2's "
                         "set_default_device)")
    ap.add_argument("--images", type=int, default=512,
                    help="random training images held in memory")
    a = ap.parse_args()
    if a.steps < 1 or a.warmup < 0 or a.batch < 2 or a.images < 1:
        ap.error("--steps and --images must be >= 1, --batch >= 2, "
                 "--warmup >= 0")
    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)

    if a.device != "cpu":
        torch.set_default_device(a.device)  # models, data, noise there
    torch.manual_seed(1)
    o = Options()
    data = torch.randint(0, 256, (a.images, 3, 64, 64), dtype=torch.uint8)
    t = Trainer(o, data, a.batch)
    for _ in range(a.warmup):
        t.step()
    t0 = time.perf_counter()
    d_loss = g_loss = 0.0
    for _ in range(a.steps):
        d_loss, g_loss = t.step()
    secs = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch-python",
        "images_per_second": a.steps * a.batch / secs,
        "ms_per_step": 1000.0 * secs / a.steps,
        "threads": torch.get_num_threads(),
        "device": a.device,
        "params_g": count_params(t.g),
        "params_d": count_params(t.d),
        "batch": a.batch,
        "steps": a.steps,
        "warmup": a.warmup,
        "d_loss": d_loss,
        "g_loss": g_loss,
        "torch": torch.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
