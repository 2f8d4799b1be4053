#include "neuralart/data/image_set.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>

#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/tensor_file.h"

namespace neuralart {
namespace fs = std::filesystem;

std::vector<uint8_t> read_maybe_gzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<uint8_t> raw{std::istreambuf_iterator<char>(in), {}};
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    throw Error(path + ": cannot start gzip decoder");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 16);
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw Error(path + ": corrupt or truncated gzip data");
    }
    out.insert(out.end(), chunk.data(),
               chunk.data() + (chunk.size() - zs.avail_out));
    if (out.size() > (1ull << 31)) {
      inflateEnd(&zs);
      throw Error(path + ": decompresses to more than 2 GiB");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw Error(path + ": truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return out;
}

torch::Tensor parse_idx(const std::vector<uint8_t>& b,
                        const std::string& origin) {
  if (b.size() < 4 || b[0] != 0 || b[1] != 0)
    throw Error(origin + ": not an idx file (bad magic)");
  if (b[2] != 0x08)
    throw Error(origin + ": idx element type " + std::to_string(b[2]) +
                " is not unsigned byte");
  const int dims = b[3];
  if (dims < 1 || dims > 4)
    throw Error(origin + ": idx file has " + std::to_string(dims) +
                " dimensions (expected 1 to 4)");
  if (b.size() < 4 + 4 * static_cast<size_t>(dims))
    throw Error(origin + ": idx header is truncated");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  uint64_t extent = 1;  // product of the non-zero dimensions
  for (int d = 0; d < dims; ++d) {
    const uint8_t* p = &b[4 + 4 * d];
    uint64_t v = (uint64_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (v && count > b.size() / v)
      throw Error(origin + ": idx declares more data than the file holds");
    count *= v;
    // An empty tensor still needs its other dimensions' product to fit
    // (found by fuzz/fuzz_idx.cpp: [0, 178, 3e9, 3e9] overflowed).
    if (v && extent > (uint64_t{1} << 40) / v)
      throw Error(origin + ": idx declares an impossible shape");
    extent *= std::max<uint64_t>(v, 1);
    shape.push_back(static_cast<int64_t>(v));
  }
  const size_t offset = 4 + 4 * dims;
  if (b.size() - offset < count)
    throw Error(origin + ": idx data is truncated (" +
                std::to_string(b.size() - offset) + " of " +
                std::to_string(count) + " bytes)");
  auto t = torch::empty(shape, torch::kUInt8);
  if (count > 0) std::memcpy(t.data_ptr(), b.data() + offset, count);
  return t;
}

namespace {

std::string find_idx(const std::string& dir, const std::string& suffix) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.find(suffix) != std::string::npos) return e.path().string();
  }
  return "";
}

}  // namespace

ImageSet read_mnist(const std::string& path, int64_t resolution,
                    int64_t channels) {
  std::string images_path = path, labels_path;
  if (fs::is_directory(path)) {
    images_path = find_idx(path, "images-idx3-ubyte");
    labels_path = find_idx(path, "labels-idx1-ubyte");
    if (images_path.empty())
      throw Error(path + ": no *images-idx3-ubyte[.gz] file in this folder");
  } else if (!fs::exists(path)) {
    throw Error(path + ": no such MNIST file or folder");
  }
  auto raw = parse_idx(read_maybe_gzip(images_path), images_path);
  if (raw.dim() != 3)
    throw Error(images_path + ": expected [N, H, W] images, got " +
                std::to_string(raw.dim()) + " dimensions");
  ImageSet set;
  auto x = raw.unsqueeze(1).to(torch::kFloat32);
  x = torch::upsample_bilinear2d(x, {resolution, resolution}, false);
  x = x.round().clamp(0, 255).to(torch::kUInt8);
  if (channels == 3) x = x.repeat({1, 3, 1, 1});
  set.images = x.contiguous();
  set.description =
      "MNIST " + images_path + " (" + std::to_string(raw.size(0)) + " digits)";
  if (!labels_path.empty()) {
    auto labels = parse_idx(read_maybe_gzip(labels_path), labels_path);
    if (labels.dim() == 1 && labels.size(0) == raw.size(0))
      set.labels = labels.to(torch::kInt64);
  }
  return set;
}

ImageSet make_stacked_mnist(const ImageSet& mnist, int64_t count,
                            uint64_t seed) {
  const auto& x = mnist.images;
  if (!x.defined() || x.dim() != 4 || x.size(1) != 1 || x.size(0) < 1 ||
      x.scalar_type() != torch::kUInt8)
    throw InvalidArgument("stacked MNIST needs grey uint8 digits [N, 1, R, R]");
  if (!mnist.labels.defined() || mnist.labels.dim() != 1 ||
      mnist.labels.size(0) != x.size(0))
    throw InvalidArgument(
        "stacked MNIST needs the digits' labels (*labels-idx1-ubyte[.gz] "
        "next to the images)");
  if (count < 1) throw InvalidArgument("stacked MNIST needs count >= 1");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  // [count, 3] indices into the digits: one per channel.
  const auto idx = torch::randint(x.size(0), {count, 3}, gen, torch::kInt64);
  ImageSet set;
  set.images = x.select(1, 0)
                   .index_select(0, idx.reshape({-1}))
                   .view({count, 3, x.size(2), x.size(3)})
                   .contiguous();
  const auto l =
      mnist.labels.to(torch::kInt64).index_select(0, idx.reshape({-1}));
  const auto digits = l.view({count, 3});
  set.labels = (digits.select(1, 0) * 100 + digits.select(1, 1) * 10 +
                digits.select(1, 2))
                   .contiguous();
  set.description = "stacked " + mnist.description + ": " +
                    std::to_string(count) + " RGB images of 3 digits, seed " +
                    std::to_string(seed);
  return set;
}

torch::Tensor to_signed_range(const torch::Tensor& images) {
  return images.to(torch::kFloat32).div(127.5).sub(1.0);
}

void save_image_set(const std::string& path, const ImageSet& set) {
  TensorFile f;
  f.metadata["neuralart.image_set"] = set.description;
  f.tensors["images"] = set.images;
  if (set.labels.defined()) f.tensors["labels"] = set.labels;
  write_tensor_file(path, f);
}

ImageSet load_image_set(const std::string& path) {
  auto f = read_tensor_file(path);
  auto it = f.tensors.find("images");
  if (it == f.tensors.end() || it->second.scalar_type() != torch::kUInt8 ||
      it->second.dim() != 4 || it->second.size(2) != it->second.size(3))
    throw Error(path +
                ": not a packed image set (needs uint8 'images' "
                "[N, C, R, R]; make one with neuralart-train pack)");
  ImageSet set;
  set.images = it->second;
  set.description = f.metadata.count("neuralart.image_set")
                        ? f.metadata["neuralart.image_set"]
                        : path;
  if (f.tensors.count("labels")) set.labels = f.tensors["labels"];
  return set;
}

}  // namespace neuralart
