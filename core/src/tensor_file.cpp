#include "neuralart/tensor_file.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include "neuralart/error.h"
#include "neuralart/util/atomic_file.h"

namespace neuralart {
namespace {

using json = nlohmann::json;

// The header is small JSON; a bigger declared size is hostile or corrupt.
constexpr uint64_t kMaxHeaderBytes = 16ull << 20;
constexpr const char* kChecksumKey = "neuralart.crc32";

struct DType {
  const char* name;
  torch::ScalarType type;
  size_t size;
};

constexpr std::array<DType, 6> kDTypes{{
    {"F32", torch::kFloat32, 4},
    {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2},
    {"I64", torch::kInt64, 8},
    {"I32", torch::kInt32, 4},
    {"U8", torch::kUInt8, 1},
}};

const DType& dtype_of(torch::ScalarType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  throw Error(std::string("tensor type ") + c10::toString(t) +
              " cannot be stored (use float32, float16, bfloat16, int64, "
              "int32 or uint8)");
}

const DType* dtype_named(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

void write_tensor_file(const std::string& path, const TensorFile& file) {
  json header = json::object();
  std::vector<torch::Tensor> blobs;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == "__metadata__")
      throw Error("tensor name __metadata__ is reserved");
    const auto& d = dtype_of(tensor.scalar_type());
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * d.size;
    header[name] = {{"dtype", d.name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(t);
  }
  uint32_t crc = 0;
  for (const auto& t : blobs)
    crc = crc32(static_cast<const uint8_t*>(t.data_ptr()),
                t.numel() * t.element_size(), crc);
  json meta = json::object();
  for (const auto& [k, v] : file.metadata) meta[k] = v;
  meta[kChecksumKey] = std::to_string(crc);
  header["__metadata__"] = meta;
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');  // align the data

  remove_stale_temporaries(path);  // left by a writer killed mid-write
  const std::string tmp = temporary_path(path);
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out)
    throw Error("cannot write " + path + ": " + std::strerror(errno) +
                " (check that the folder exists and is writable)");
  auto write = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, out) != n) {
      int err = errno;
      std::fclose(out);
      std::remove(tmp.c_str());
      throw Error("cannot write " + path + ": " + std::strerror(err) +
                  " (is the disk full?); the previous file is unchanged");
    }
  };
  uint8_t len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  write(len, 8);
  write(text.data(), text.size());
  for (const auto& t : blobs) write(t.data_ptr(), t.numel() * t.element_size());
  if (std::fflush(out) != 0 || fsync(fileno(out)) != 0) {
    int err = errno;
    std::fclose(out);
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": " + std::strerror(err) +
                " (is the disk full?); the previous file is unchanged");
  }
  std::fclose(out);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    throw Error("cannot rename " + tmp + " to " + path + ": " +
                std::strerror(err));
  }
}

TensorFile parse_tensor_file(const uint8_t* data, size_t size,
                             const std::string& origin) {
  if (size < 8)
    fail_bundle(origin,
                "file is truncated (shorter than its 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n < 2 || n > kMaxHeaderBytes)
    fail_bundle(origin, "not a neuralart bundle (header length " +
                            std::to_string(n) + " is implausible)");
  if (n > size - 8)
    fail_bundle(origin, "file is truncated (header needs " + std::to_string(n) +
                            " bytes, " + std::to_string(size - 8) +
                            " present)");
  json header;
  try {
    header = json::parse(data + 8, data + 8 + n);
  } catch (const json::exception& e) {
    fail_bundle(origin, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail_bundle(origin, "header is not a JSON object");
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;

  TensorFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object())
        fail_bundle(origin, "__metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          fail_bundle(origin,
                      "metadata value '" + m.key() + "' is not a string");
        file.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") ||
        !entry.contains("shape") || !entry.contains("data_offsets"))
      fail_bundle(origin, where + " lacks dtype, shape or data_offsets");
    const auto& jt = entry["dtype"];
    const DType* d =
        jt.is_string() ? dtype_named(jt.get<std::string>()) : nullptr;
    if (!d) fail_bundle(origin, where + " has an unsupported dtype");
    const auto& js = entry["shape"];
    if (!js.is_array() || js.size() > 8)
      fail_bundle(origin, where + " has a malformed shape");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& dim : js) {
      if (!dim.is_number_unsigned())
        fail_bundle(origin, where + " has a negative or non-integer dimension");
      uint64_t v = dim.get<uint64_t>();
      if (v > buffer_size || (v && numel > buffer_size / v))
        fail_bundle(origin, where + " declares more data than the file holds");
      numel *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    const auto& jo = entry["data_offsets"];
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() ||
        !jo[1].is_number_unsigned())
      fail_bundle(origin, where + " has malformed data_offsets");
    uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    if (begin > end || end > buffer_size)
      fail_bundle(origin, where + " lies outside the file (truncated?)");
    if (end - begin != numel * d->size)
      fail_bundle(origin, where + " size does not match its shape and dtype");
    ranges.emplace_back(begin, end);
    auto t = torch::empty(shape, torch::TensorOptions().dtype(d->type));
    if (numel) std::memcpy(t.data_ptr(), buffer + begin, end - begin);
    file.tensors.emplace(name, std::move(t));
  }
  // Tensors must tile the buffer exactly, in file order.
  std::sort(ranges.begin(), ranges.end());
  uint64_t expect = 0;
  for (const auto& [b, e] : ranges) {
    if (b != expect) fail_bundle(origin, "tensor data overlaps or leaves gaps");
    expect = e;
  }
  if (expect != buffer_size)
    fail_bundle(origin, "file has " + std::to_string(buffer_size - expect) +
                            " unexpected trailing bytes");
  auto crc_it = file.metadata.find(kChecksumKey);
  if (crc_it != file.metadata.end()) {
    // Tensors are stored in name order, which is the order written.
    const uint32_t actual = crc32(buffer, buffer_size);
    if (std::to_string(actual) != crc_it->second)
      fail_bundle(origin, "weights are corrupt (checksum mismatch)");
    file.metadata.erase(crc_it);
  }
  return file;
}

TensorFile read_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    fail_bundle(path, std::string("cannot open: ") + std::strerror(errno));
  const auto end = in.tellg();
  if (end < 0) fail_bundle(path, "cannot read (is it a folder?)");
  std::vector<uint8_t> bytes(static_cast<size_t>(end));
  in.seekg(0);
  if (!bytes.empty() &&
      !in.read(reinterpret_cast<char*>(bytes.data()), bytes.size()))
    fail_bundle(path, "read error");
  return parse_tensor_file(bytes.data(), bytes.size(), path);
}

}  // namespace neuralart
