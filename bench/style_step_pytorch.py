#!/usr/bin/python3
"""Feed-forward style training step in PyTorch (Python), the twin of
neuralart-bench-style-step.

The style network is pytorch/examples fast_neural_style's TransformerNet
(ConvLayer with reflection padding, InstanceNorm2d(affine=True), 5
residual blocks, nearest-upsample + conv, 1,679,235 parameters). Its VGG-16
feature extractor is replaced by the prefix of VGG-19 up to relu3_3 with the
SAME weights neuralart reads (core/src/train/loss_net.cpp): the TF.js
shards listed in model.json's weightsManifest, kernels HWIO float32
little-endian turned into OIHW, input RGB 0-255 flipped to BGR minus the
ImageNet means (Keras VGG), max pooling with ceil mode. Style layers relu1_2,
relu2_2, relu3_3, content relu2_2. When model.json is absent a random conv
stack shaped like neuralart's built-in loss network is used (32-64-128
channels, average pooling, centred Gram, style relu1_2, relu2_2, relu3_2).

One timed step does what StyleTrainer::step() (core/src/train/
style_trainer.cpp) does: 4 random 256x256 crops (with random flips) from
in-memory uint8 content images, style net forward, loss network features of
the output (and of the input, without gradient, up to the content layer),
content loss, Gram style loss, total variation loss, backward and Adam
(lr 1e-3), with the same .item() reads. Losses are mean squared errors
divided by the target's mean square, as neuralart's normalized_mse.
Prints one JSON line with impl "pytorch-python".

Run with Debian's python3-torch: /usr/bin/python3 bench/style_step_pytorch.py
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

DEFAULT_VGG = "../shared/data/vgg19-tfjs/model.json"

# ------------------------------------------- pytorch/examples TransformerNet


class ConvLayer(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        return out + residual


class UpsampleConvLayer(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        if self.upsample:
            x = F.interpolate(x, mode="nearest", scale_factor=float(self.upsample))
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(nn.Module):
    def __init__(self, output="linear"):
        super().__init__()
        self.output = output
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1,
                                         upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1,
                                         upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        if self.output == "sigmoid":  # neuralart's StyleNet output="sigmoid"
            y = torch.sigmoid(y) * 255.0
        return y


# ------------------------------------------------------------ loss networks


def read_tfjs_vgg19(model_json, convs):
    """Conv weights (OIHW) and biases of the first `convs` VGG-19 convs from
    a TF.js layers model, as load_vgg19_tfjs in loss_net.cpp."""
    with open(model_json) as f:
        manifest = json.load(f)["weightsManifest"]
    sizes = {"float32": 4, "int32": 4, "float16": 2, "uint16": 2,
             "uint8": 1, "bool": 1}
    where = {}  # name -> (group, offset, shape, dtype)
    group_sizes = []
    for gi, group in enumerate(manifest):
        offset = 0
        for w in group["weights"]:
            dtype = "quantized" if "quantization" in w else w.get("dtype",
                                                                  "float32")
            where[w["name"]] = (gi, offset, w["shape"], dtype)
            offset += math.prod(w["shape"]) * max(sizes.get(dtype, 1), 1)
        group_sizes.append(offset)
    base = os.path.dirname(model_json)
    cache = {}

    def group_bytes(gi):
        if gi not in cache:
            data = bytearray()
            for p in manifest[gi]["paths"]:
                with open(os.path.join(base, p), "rb") as f:
                    data += f.read()
            if len(data) != group_sizes[gi]:
                raise SystemExit(f"{model_json}: weight group {gi} holds "
                                 f"{len(data)} bytes, the manifest lists "
                                 f"{group_sizes[gi]}")
            cache[gi] = bytes(data)
        return cache[gi]

    def fetch(name, expected):
        entry = where.get(name)
        if entry is None:
            for full, e in where.items():
                if full.endswith("/" + name):
                    entry = e
                    break
        if entry is None:
            raise SystemExit(f"{model_json}: no weight {name}")
        gi, offset, shape, dtype = entry
        if list(shape) != list(expected) or dtype != "float32":
            raise SystemExit(f"{model_json}: {name} is {dtype} {shape}, "
                             f"expected float32 {expected}")
        raw = group_bytes(gi)
        count = math.prod(shape)
        t = torch.frombuffer(bytearray(raw[offset:offset + 4 * count]),
                             dtype=torch.float32)
        return t.view(*shape).clone()

    blocks, widths = [2, 2, 4, 4, 4], [64, 128, 256, 512, 512]
    specs, cin = [], 3
    for b in range(5):
        for i in range(blocks[b]):
            specs.append((b + 1, i + 1, cin, widths[b]))
            cin = widths[b]
    weights, biases, layer_specs = [], [], []
    for block, index, cin, cout in specs[:convs]:
        name = f"block{block}_conv{index}"
        kernel = fetch(name + "/kernel", [3, 3, cin, cout])
        weights.append(kernel.permute(3, 2, 0, 1).contiguous())  # HWIO->OIHW
        biases.append(fetch(name + "/bias", [cout]))
        layer_specs.append((block, index))
    return layer_specs, weights, biases


class ConvStack:
    """ConvStackNet of loss_net.cpp: 3x3 convs + ReLU, pooled 2x between
    blocks; runs only as deep as the deepest requested layer."""

    def __init__(self, specs, weights, biases, max_pool, normalize, centred):
        self.specs, self.weights, self.biases = specs, weights, biases
        self.max_pool, self.normalize = max_pool, normalize
        self.centred_gram = centred

    def index_of(self, name):
        for i, (b, k) in enumerate(self.specs):
            if f"relu{b}_{k}" == name:
                return i
        raise SystemExit(f"loss network has no layer {name}")

    def features(self, rgb255, layers):
        wanted = [self.index_of(name) for name in layers]
        out = [None] * len(layers)
        x = self.normalize(rgb255)
        for i in range(max(wanted) + 1):
            if i > 0 and self.specs[i][0] != self.specs[i - 1][0]:
                if self.max_pool:
                    x = F.max_pool2d(x, 2, 2, 0, 1, ceil_mode=True)
                else:
                    x = F.avg_pool2d(x, 2, 2, 0, ceil_mode=True)
            x = F.relu(F.conv2d(x, self.weights[i], self.biases[i], 1, 1))
            for k, w in enumerate(wanted):
                if w == i:
                    out[k] = x
        return out


def vgg19_net(model_json, deepest_conv):
    specs, weights, biases = read_tfjs_vgg19(model_json, deepest_conv)
    mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    return ConvStack(specs, weights, biases, True,
                     lambda rgb: rgb.flip(1) - mean, False)


def random_net():
    gen = torch.Generator().manual_seed(1)
    specs, weights, biases, cin = [], [], [], 3
    for b, width in enumerate([32, 64, 128, 256]):
        for i in range(2):
            w = torch.randn(width, cin, 3, 3, generator=gen) * math.sqrt(
                2.0 / (cin * 9))
            if weights:
                w = w - w.mean((1, 2, 3), keepdim=True)
            specs.append((b + 1, i + 1))
            weights.append(w)
            biases.append(torch.zeros(width))
            cin = width
    return ConvStack(specs, weights, biases, False,
                     lambda rgb: (rgb / 255.0 - 0.45) / 0.25, True)


# ------------------------------------------------------------------ losses


def gram_matrix(f, centred=False):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    if centred:
        f = f - f.mean(2, keepdim=True)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def normalized_mse(a, target):
    target = target.detach()
    return (a - target).pow(2).mean() / (target.pow(2).mean() + 1e-8)


def total_variation_loss(images):
    dy = images[:, :, 1:, :] - images[:, :, :-1, :]
    dx = images[:, :, :, 1:] - images[:, :, :, :-1]
    return dy.pow(2).mean() + dx.pow(2).mean()


# ----------------------------------------------------------------- trainer


class Trainer:
    def __init__(self, net, loss_net, content, style, size, batch,
                 style_layers, content_layers, lr=1e-3, content_weight=1.0,
                 style_weight=10.0, tv_weight=1.0):
        self.net, self.loss_net = net, loss_net
        self.content, self.size, self.batch = content, size, batch
        self.style_layers, self.content_layers = style_layers, content_layers
        self.layers = list(content_layers) + [
            layer for layer in style_layers if layer not in content_layers]
        self.weights = (content_weight, style_weight, tv_weight)
        with torch.no_grad():
            self.grams = [gram_matrix(f, loss_net.centred_gram)
                          for f in loss_net.features(style, style_layers)]
        self.opt = torch.optim.Adam(net.parameters(), lr=lr)
        self.net.train()

    def random_batch(self):
        s, crops = self.size, []
        for _ in range(self.batch):
            img = self.content[torch.randint(len(self.content), (1,)).item()]
            top = torch.randint(img.size(1) - s + 1, (1,)).item()
            left = torch.randint(img.size(2) - s + 1, (1,)).item()
            crop = img[:, top:top + s, left:left + s]
            if torch.randint(2, (1,)).item() == 1:
                crop = crop.flip(2)
            crops.append(crop)
        return torch.stack(crops).float()

    def step(self):
        torch.randint(1, (1,)).item()  # style index (one style)
        x = self.random_batch()
        y = self.net(x)
        with torch.no_grad():
            content_targets = self.loss_net.features(x, self.content_layers)
        feats = self.loss_net.features(y, self.layers)
        nc = len(self.content_layers)
        c_loss = sum(normalized_mse(f, t) for f, t in
                     zip(feats[:nc], content_targets)) / nc
        s_loss = torch.zeros(())
        for layer, target in zip(self.style_layers, self.grams):
            g = gram_matrix(feats[self.layers.index(layer)],
                            self.loss_net.centred_gram)
            s_loss = s_loss + normalized_mse(g, target.expand_as(g))
        s_loss = s_loss / len(self.style_layers)
        tv = total_variation_loss(y / 255.0)
        cw, sw, tw = self.weights
        total = cw * c_loss + sw * s_loss + tw * tv
        self.opt.zero_grad(set_to_none=False)
        total.backward()
        self.opt.step()
        c_loss.item()
        s_loss.item()
        tv.item()
        return total.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10,
                    help="timed training steps (default 10)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="untimed steps first (default 2)")
    ap.add_argument("--threads", type=int, default=0,
                    help="intra-op threads (default: all cores)")
    ap.add_argument("--vgg", default=DEFAULT_VGG,
                    help="TF.js VGG-19 model.json (default %(default)s; a "
                    "random conv stack when absent)")
    ap.add_argument("--output", choices=["linear", "sigmoid"],
                    default="linear",
                    help="style net output layer (default linear, as "
                    "pytorch/examples)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    if a.steps < 1 or a.warmup < 0 or a.batch < 1 or a.size < 32:
        ap.error("--steps and --batch must be >= 1, --size >= 32, "
                 "--warmup >= 0")
    threads = a.threads if a.threads > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(threads)

    have_vgg = os.path.exists(a.vgg)
    content_layers = ["relu2_2"]
    if have_vgg:
        style_layers = ["relu1_2", "relu2_2", "relu3_3"]
        loss_net = vgg19_net(a.vgg, 7)  # block1_conv1 .. block3_conv3
    else:
        style_layers = ["relu1_2", "relu2_2", "relu3_2"]
        loss_net = random_net()

    torch.manual_seed(1)
    content = [torch.randint(0, 256, (3, a.size + 64, a.size + 64),
                             dtype=torch.uint8) for _ in range(8)]
    style = torch.rand(1, 3, a.size, a.size) * 255.0
    net = TransformerNet(a.output)
    t = Trainer(net, loss_net, content, style, a.size, a.batch, style_layers,
                content_layers)
    for _ in range(a.warmup):
        t.step()
    t0 = time.perf_counter()
    total = 0.0
    for _ in range(a.steps):
        total = t.step()
    secs = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch-python",
        "ms_per_step": 1000.0 * secs / a.steps,
        "images_per_second": a.steps * a.batch / secs,
        "loss_net": "vgg19" if have_vgg else "random",
        "loss_net_spec": ("vgg19:" + a.vgg) if have_vgg else "random",
        "style_layers": style_layers,
        "content_layers": content_layers,
        "output": a.output,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in net.parameters()),
        "batch": a.batch,
        "size": a.size,
        "steps": a.steps,
        "warmup": a.warmup,
        "loss": total,
        "torch": torch.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
