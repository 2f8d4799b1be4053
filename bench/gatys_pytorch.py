#!/usr/bin/python3
"""Gatys style transfer step in PyTorch (Python), the twin of
neuralart-bench-gatys.

The image itself is the parameter (Gatys et al. 2016). One timed step is one
Adam step (lr 5, pixels 0-255) of what `neuralart-train stylize --optimizer
adam` runs (core/src/train/gatys.cpp): the VGG-19 prefix neuralart reads
(style_step_pytorch.py's reader: the same TF.js weights, BGR minus the
ImageNet means, max pooling with ceil mode), content loss at relu2_2, style
loss on Gram matrices at relu1_1, relu2_1, relu3_1 on a 2-level image
pyramid (level 0 shares one pass with the content loss, as neuralart does),
total variation loss, weights 1 / 10 / 1, with the same .item() reads. A
random conv stack stands in when model.json is absent. Prints one JSON line
with impl "pytorch-python".

Run with Debian's python3-torch: /usr/bin/python3 bench/gatys_pytorch.py
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from style_step_pytorch import (DEFAULT_VGG, gram_matrix, normalized_mse,  # noqa: E402
                                random_net, total_variation_loss, vgg19_net)

CONTENT_LAYERS = ["relu2_2"]
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1"]
LEVELS = 2


def pyramid(images):
    out = [images]
    for _ in range(1, LEVELS):
        out.append(F.avg_pool2d(out[-1], 2, 2, 0, ceil_mode=True))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--vgg", default=DEFAULT_VGG)
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))

    have_vgg = os.path.exists(a.vgg)
    net = vgg19_net(a.vgg, 7) if have_vgg else random_net()
    layers = CONTENT_LAYERS + [s for s in STYLE_LAYERS
                               if s not in CONTENT_LAYERS]
    torch.manual_seed(1)
    content = torch.rand(1, 3, a.size, a.size) * 255.0
    style = torch.rand(1, 3, a.size, a.size) * 255.0
    with torch.no_grad():
        content_targets = net.features(content, CONTENT_LAYERS)
        grams = [gram_matrix(f, net.centred_gram)
                 for level in pyramid(style)
                 for f in net.features(level, STYLE_LAYERS)]
    image = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=5.0)

    def step():
        opt.zero_grad()
        levels = pyramid(image)
        feats = net.features(levels[0], layers)
        c = sum(normalized_mse(f, t) for f, t in
                zip(feats[:len(CONTENT_LAYERS)], content_targets))
        c = c / len(CONTENT_LAYERS)
        s, k = torch.zeros(()), 0
        for lv, level in enumerate(levels):
            sf = ([feats[layers.index(n)] for n in STYLE_LAYERS] if lv == 0
                  else net.features(level, STYLE_LAYERS))
            for f in sf:
                s = s + normalized_mse(gram_matrix(f, net.centred_gram),
                                       grams[k])
                k += 1
        s = s / k
        tv = total_variation_loss(image / 255.0)
        total = c + 10.0 * s + tv
        total.backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 255)
        c.item()
        s.item()
        tv.item()
        return total.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    loss = 0.0
    for _ in range(a.steps):
        loss = step()
    secs = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch-python", "ms_per_step": 1000.0 * secs / a.steps,
        "loss_net": "vgg19" if have_vgg else "random", "size": a.size,
        "threads": torch.get_num_threads(), "steps": a.steps,
        "warmup": a.warmup, "loss": loss, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
