#!/usr/bin/python3
"""The twin of neuralart-bench-stylizer in PyTorch eager (Python).

Runs pytorch/examples' TransformerNet (ConvLayer with reflection padding,
InstanceNorm2d(affine=True), residual blocks, nearest upsampling) of any
width with the SAME weights as a neuralart style bundle (read with the
safetensors layout, style 0's instance-norm affine parameters), or random
ones, on the SAME frames: RGBx uint8 frames from --input resized with
bilinear interpolation as the C++ bench does, or smooth random frames.
One timed frame is uint8 host frame -> float tensor -> network -> rounded
uint8 host frame, as Stylizer::process. Prints one JSON line per size,
impl "pytorch-eager".

Run with Debian's python3-torch (CPU) or any PyTorch (CUDA):
  /usr/bin/python3 bench/stylizer_pytorch.py --model examples/models/default-style.bundle
Options --channels-last, --precision bf16|fp16 and --compile 1 time
PyTorch's own fast paths; --save-script FILE.pt also writes the network as
TorchScript (bench/torchscript-speed.sh times that file in styletransfer).
"""

import argparse
import json
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from style_step_pytorch import ConvLayer, UpsampleConvLayer  # noqa: E402


class SepConvLayer(nn.Module):
    """Reflection padding, depthwise k x k, pointwise 1x1 (--conv separable)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, in_channels, kernel_size, stride,
                                groups=in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.conv2d(self.reflection_pad(x)))


class Upsample(nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2, mode="nearest")


def inner_conv(conv, cin, cout, stride, upsample=False):
    """A 3x3 convolution inside the network, standard or separable."""
    if conv == "standard" and upsample:
        return UpsampleConvLayer(cin, cout, 3, 1, upsample=2)
    layer = (SepConvLayer if conv == "separable" else ConvLayer)(
        cin, cout, 3, stride)
    return nn.Sequential(Upsample(), layer) if upsample else layer


class ResidualBlock(nn.Module):
    def __init__(self, channels, conv="standard"):
        super().__init__()
        self.conv1 = inner_conv(conv, channels, channels, 1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = inner_conv(conv, channels, channels, 1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x):
        out = F.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(out))


class TransformerNet(nn.Module):
    """pytorch/examples' TransformerNet with a width and block count, and
    neuralart's compact variants: conv "separable" (depthwise 3x3 + 1x1
    inside) and stem "shuffle" (pixel_unshuffle in, 3x3 at half
    resolution, pixel_shuffle out)."""

    def __init__(self, width=32, blocks=5, output="sigmoid", top=255.0,
                 conv="standard", stem="full"):
        super().__init__()
        w = width
        self.output, self.top, self.stem = output, top, stem
        shuffle = stem == "shuffle"
        self.conv1 = ConvLayer(12, w, 3, 1) if shuffle else ConvLayer(3, w, 9, 1)
        self.in1 = nn.InstanceNorm2d(w, affine=True)
        self.conv2 = inner_conv(conv, w, 2 * w, 2)
        self.in2 = nn.InstanceNorm2d(2 * w, affine=True)
        self.conv3 = inner_conv(conv, 2 * w, 4 * w, 2)
        self.in3 = nn.InstanceNorm2d(4 * w, affine=True)
        self.res = nn.Sequential(
            *[ResidualBlock(4 * w, conv) for _ in range(blocks)])
        self.deconv1 = inner_conv(conv, 4 * w, 2 * w, 1, upsample=True)
        self.in4 = nn.InstanceNorm2d(2 * w, affine=True)
        self.deconv2 = inner_conv(conv, 2 * w, w, 1, upsample=True)
        self.in5 = nn.InstanceNorm2d(w, affine=True)
        self.deconv3 = (ConvLayer(w, 12, 3, 1) if shuffle
                        else ConvLayer(w, 3, 9, 1))

    def forward(self, x):
        if self.stem == "shuffle":  # even sizes (the bench's)
            x = F.pixel_unshuffle(x, 2)
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        y = self.res(y)
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        if self.stem == "shuffle":
            y = F.pixel_shuffle(y, 2)
        if self.output == "sigmoid":
            y = torch.sigmoid(y) * self.top
        return y


def read_bundle(path):
    """Tensors and neuralart metadata of a bundle (safetensors layout)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = json.loads(header.pop("__metadata__")["neuralart"])
    base = 8 + n
    dtypes = {"F32": torch.float32, "F16": torch.float16,
              "BF16": torch.bfloat16}
    tensors = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        buf = bytearray(data[base + a:base + b])
        tensors[name] = torch.frombuffer(buf, dtype=dtypes[t["dtype"]]) \
            .reshape(t["shape"]).clone()
    return tensors, meta


def net_from_bundle(path, style=0):
    t, meta = read_bundle(path)
    arch = meta["arch"]
    top = 255.0 if arch.get("value_range", "byte") == "byte" else 1.0
    conv_kind = arch.get("conv", "standard")
    net = TransformerNet(arch["width"], arch["res_blocks"],
                         arch.get("output", "linear"), top, conv_kind,
                         arch.get("stem", "full"))
    sd = {}
    names = set(net.state_dict())

    def conv(dst, src):
        if dst + ".conv2d.weight" not in names:  # nn.Sequential(Upsample, ..)
            dst += ".1"
        sd[dst + ".conv2d.weight"] = t[src + ".conv.weight"]
        sd[dst + ".conv2d.bias"] = t[src + ".conv.bias"]
        if src + ".pointwise.weight" in t:
            sd[dst + ".pointwise.weight"] = t[src + ".pointwise.weight"]
            sd[dst + ".pointwise.bias"] = t[src + ".pointwise.bias"]

    def norm(dst, src):
        sd[dst + ".weight"] = t[src + ".weight"][style]
        sd[dst + ".bias"] = t[src + ".bias"][style]

    for i, (c, n) in enumerate([("conv1", "in1"), ("conv2", "in2"),
                                ("conv3", "in3")]):
        conv(c, c)
        norm(n, n)
    for k in range(arch["res_blocks"]):
        conv(f"res.{k}.conv1", f"res_convs.{2 * k}")
        norm(f"res.{k}.in1", f"res_norms.{2 * k}")
        conv(f"res.{k}.conv2", f"res_convs.{2 * k + 1}")
        norm(f"res.{k}.in2", f"res_norms.{2 * k + 1}")
    conv("deconv1", "up1")
    norm("in4", "in4")
    conv("deconv2", "up2")
    norm("in5", "in5")
    conv("deconv3", "conv_out")
    net.load_state_dict(sd)
    return net, arch


def make_frames(source, w, h, n):
    """RGBx uint8 frames [n, h, w, 4], as make_frames in bench_stylizer."""
    if source is not None:
        x = source.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(h, w), mode="bilinear",
                          align_corners=False)
        x = torch.stack([x[i % x.shape[0]] for i in range(n)])
    else:
        g = torch.Generator().manual_seed(1)
        low = torch.rand(n, 4, 9, 16, generator=g) * 255.0
        x = F.interpolate(low, size=(h, w), mode="bicubic",
                          align_corners=False)
        x = x + torch.randn(n, 4, h, w, generator=g) * 8.0
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1) \
        .contiguous()


def gflop(arch, h, w):
    """neuralart::style_net_gflop: multiply-adds x 2 of the convolutions."""
    def conv(k, ci, co, oh, ow):
        return 2.0 * k * k * ci * co * oh * ow

    def half(n):
        return (n + 1) // 2
    c, shuffle = arch["width"], arch.get("stem", "full") == "shuffle"

    def inner(ci, co, oh, ow):
        if arch.get("conv", "standard") == "separable":
            return conv(3, 1, ci, oh, ow) + conv(1, ci, co, oh, ow)
        return conv(3, ci, co, oh, ow)
    h1, w1 = (half(h), half(w)) if shuffle else (h, w)
    h2, w2 = half(h1), half(w1)
    h3, w3 = half(h2), half(w2)
    f = conv(3, 12, c, h1, w1) if shuffle else conv(9, 3, c, h1, w1)
    f += inner(c, 2 * c, h2, w2) + inner(2 * c, 4 * c, h3, w3)
    f += 2 * arch["res_blocks"] * inner(4 * c, 4 * c, h3, w3)
    f += inner(4 * c, 2 * c, h2, w2) + inner(2 * c, c, h1, w1)
    f += conv(3, c, 12, h1, w1) if shuffle else conv(9, c, 3, h1, w1)
    return f / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--conv", default="standard",
                   choices=["standard", "separable"])
    p.add_argument("--stem", default="full", choices=["full", "shuffle"])
    p.add_argument("--sizes", default="256x256,640x360,1280x720")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32",
                   choices=["fp32", "bf16", "fp16"])
    p.add_argument("--channels-last", type=int, default=0)
    p.add_argument("--compile", type=int, default=0)
    p.add_argument("--input", default="")
    p.add_argument("--input-size", default="")
    p.add_argument("--save-script", default="",
                   help="also write the fp32 network as TorchScript here "
                   "(torch.jit.script), the file styletransfer model= runs")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.model:
        net, arch = net_from_bundle(a.model)
    else:
        torch.manual_seed(1)
        arch = {"width": a.width, "res_blocks": a.blocks, "conv": a.conv,
                "stem": a.stem}
        net = TransformerNet(a.width, a.blocks, conv=a.conv, stem=a.stem)
    if a.save_script:
        torch.jit.script(net.eval()).save(a.save_script)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16,
             "fp16": torch.float16}[a.precision]
    dev = torch.device(a.device)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    net = net.to(dev, dtype).to(memory_format=fmt).eval()
    run = torch.compile(net) if a.compile else net
    source = None
    if a.input:
        iw, ih = (int(v) for v in a.input_size.split("x"))
        raw = open(a.input, "rb").read()
        n = min(len(raw) // (iw * ih * 4), 64)
        source = torch.frombuffer(bytearray(raw[:n * iw * ih * 4]),
                                  dtype=torch.uint8).reshape(n, ih, iw, 4)
    for size in a.sizes.split(","):
        w, h = (int(v) for v in size.split("x"))
        frames = make_frames(source, w, h, min(a.frames, 16))
        out = torch.empty_like(frames)

        def step(k):
            with torch.inference_mode():
                x = frames[k, :, :, :3].to(dev).permute(2, 0, 1)[None]
                x = x.to(dtype).contiguous(memory_format=fmt)
                y = run(x).float().round_().clamp_(0, 255).to(torch.uint8)
                out[k, :, :, :3] = y[0].permute(1, 2, 0).cpu()

        for i in range(a.warmup):
            step(i % frames.shape[0])
        t0 = time.perf_counter()
        for i in range(a.frames):
            step(i % frames.shape[0])
        s = time.perf_counter() - t0
        g = gflop(arch, h, w)
        print(json.dumps({
            "impl": "pytorch-eager" + ("-compile" if a.compile else ""),
            "torch": torch.__version__, "device": a.device,
            "precision": a.precision, "channels_last": a.channels_last,
            "threads": torch.get_num_threads(), "width": arch["width"],
            "blocks": arch["res_blocks"], "conv": arch.get("conv", "standard"),
            "stem": arch.get("stem", "full"), "size": size,
            "frames": a.frames,
            "fps": a.frames / s, "ms_mean": 1000 * s / a.frames,
            "gflop_per_frame": g, "gflops": g * a.frames / s,
            "peak_rss_mib": resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)


if __name__ == "__main__":
    main()
