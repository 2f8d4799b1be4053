#!/usr/bin/env python3
"""PyTorch's side of tests/cli/test_import.sh (needs python3-torch).

  transformer_net_import.py make DIR
      A TransformerNet with seeded random weights (instance-norm affine
      too), saved as DIR/net.pth (torch.save's zip format) and
      DIR/net.model (the legacy format, with the InstanceNorm running
      statistics old checkpoints carry); layouts that must be refused; fixed
      random 0-255 input images and PyTorch's outputs for them, as
      safetensors files the C++ side reads.
  transformer_net_import.py compare EXPECTED ACTUAL
      PSNR of each of ACTUAL's outputs against PyTorch's output in EXPECTED;
      exit 1 when one is below its threshold.
"""
import collections
import json
import math
import os
import struct
import sys

import torch


# TransformerNet, ConvLayer, ResidualBlock and UpsampleConvLayer below are
# copied from pytorch/examples, fast_neural_style/neural_style/
# transformer_net.py (BSD 3-Clause License, Copyright (c) 2017, PyTorch
# contributors): the network whose checkpoints `neuralart-train import`
# reads.
class TransformerNet(torch.nn.Module):
    def __init__(self):
        super(TransformerNet, self).__init__()
        # Initial convolution layers
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        # Residual layers
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        # Upsampling Layers
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1,
                                         upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1,
                                         upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        # Non-linearities
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
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
        return y


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size,
                                      stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    """ResidualBlock
    introduced in: https://arxiv.org/abs/1512.03385
    recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html
    """

    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    """UpsampleConvLayer
    Upsamples the input and then does a convolution. This method gives better
    results compared to ConvTranspose2d.
    ref: http://distill.pub/2016/deconv-checkerboard/
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride,
                 upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size,
                                      stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest',
                                                   scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out
# (end of the pytorch/examples code)


# Image sizes: a multiple of 4, and odd sides (TransformerNet's output is
# then bigger than its input; the bundle's is PyTorch's, cropped).
SIZES = [(64, 96), (61, 83)]

# Thresholds: the network's own fp32 output and the elements' fp32 path
# (8-bit frames) must match PyTorch; bf16 is checked to be the same network.
THRESHOLDS = {"fp32": 40.0, "fp32_cl": 40.0, "frame_fp32": 40.0,
              "frame_bf16": 35.0}

DTYPES = {"F32": torch.float32, "U8": torch.uint8}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        dtype = {torch.float32: "F32", torch.uint8: "U8"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]),
                             dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"])
    return out


def make(folder):
    torch.manual_seed(20261130)
    net = TransformerNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    inputs = {s: torch.randint(0, 256, (1, 3) + s).float() for s in SIZES}
    # Scale the last convolution so that outputs spread over 0-255 (mean
    # 128, deviation 50 per channel): PSNR is then measured on the scale
    # of real images, and 8-bit frames do not clip most pixels.
    net.eval()
    with torch.no_grad():
        y = net(inputs[SIZES[0]])
        mean = y.mean(dim=(0, 2, 3))
        scale = 50.0 / y.std(dim=(0, 2, 3))
        net.deconv3.conv2d.weight.mul_(scale.view(-1, 1, 1, 1))
        net.deconv3.conv2d.bias.sub_(mean).mul_(scale).add_(128.0)
        for (h, w), x in inputs.items():
            y = net(x)
            assert y.shape[2] >= h and y.shape[3] >= w
            name = "%dx%d" % (w, h)
            write_safetensors(os.path.join(folder, "input_%s.safetensors" % name),
                              {"input": x})
            write_safetensors(os.path.join(folder,
                                           "expected_%s.safetensors" % name),
                              {"output": y[:, :, :h, :w].contiguous()})
    sd = net.state_dict()
    torch.save(sd, os.path.join(folder, "net.pth"))
    # Old checkpoints (PyTorch 0.4.0) hold InstanceNorm running statistics,
    # which the example's loader deletes: the import ignores them.
    legacy = collections.OrderedDict()
    for key, value in sd.items():
        legacy[key] = value
        if key.endswith("in1.bias") or key.endswith("in4.bias"):
            prefix = key[:-len("bias")]
            legacy[prefix + "running_mean"] = torch.zeros_like(value)
            legacy[prefix + "running_var"] = torch.ones_like(value)
    torch.save(legacy, os.path.join(folder, "net.model"),
               _use_new_zipfile_serialization=False)
    # Refused: a key renamed (the message must name it), a whole pickled
    # model (code, not a state dict) and a TorchScript module.
    renamed = collections.OrderedDict(
        ("res3.conv2.conv.weight" if k == "res3.conv2.conv2d.weight" else k, v)
        for k, v in sd.items())
    torch.save(renamed, os.path.join(folder, "renamed.pth"))
    torch.save(net, os.path.join(folder, "whole_model.pth"))
    torch.jit.trace(net, inputs[SIZES[0]]).save(
        os.path.join(folder, "scripted.pt"))
    print("made TransformerNet checkpoints and %d images in %s"
          % (len(SIZES), folder))


def psnr(a, b):
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def compare(expected_path, actual_path):
    expected = read_safetensors(expected_path)["output"]
    actual = read_safetensors(actual_path)
    ok = True
    for name, threshold in THRESHOLDS.items():
        got = actual[name]
        want = expected
        if got.dtype == torch.uint8:  # an 8-bit frame [H, W, 3]
            got = got.permute(2, 0, 1).unsqueeze(0)
            want = expected.round().clamp(0, 255)
        if got.shape != want.shape:
            print("%s: shape %s, PyTorch's is %s" % (name, list(got.shape),
                                                    list(want.shape)))
            ok = False
            continue
        value = psnr(got.float(), want)
        passed = value >= threshold
        ok = ok and passed
        print("%-10s PSNR %6.1f dB against PyTorch (need >= %.0f) %s"
              % (name, value, threshold, "ok" if passed else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if len(argv) == 3 and argv[1] == "make":
        make(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
