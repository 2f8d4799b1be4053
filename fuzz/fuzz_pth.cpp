// Fuzz target: the torch.save reader behind `neuralart-train import` (zip
// directory, legacy stream, pickle interpreter), parse_torch_state_dict.
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <fstream>

#include "fuzz_common.h"
#include "neuralart/error.h"
#include "neuralart/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto sd = neuralart::parse_torch_state_dict(data, size, "fuzz");
    for (const auto& [name, t] : sd.entries) (void)t.sum();  // touch the bytes
  } catch (const neuralart::Error&) {
  }
  return 0;
}

namespace {

// The pickle of {"w": a [2, 2] view at offset 1 of 6 floats, "b": 2
// floats} as state_dict() writes it (an OrderedDict, _metadata by BUILD);
// `legacy` adds the legacy persistent id's view field.
std::string state_dict_pickle(bool legacy) {
  auto str = [](const std::string& s) {
    std::string out = "X";
    for (int i = 0; i < 4; ++i) out += char((s.size() >> (8 * i)) & 0xFF);
    return out + s;
  };
  auto tensor = [&](const std::string& key, int numel, int offset,
                    const std::string& size, const std::string& stride) {
    return "ctorch._utils\n_rebuild_tensor_v2\n((" + str("storage") +
           "ctorch\nFloatStorage\n" + str(key) + str("cpu") + "K" +
           char(numel) + (legacy ? "N" : "") + "tQK" + char(offset) + size +
           stride + "\x89" + "ccollections\nOrderedDict\n)RtR";
  };
  return "\x80\x02"
         "ccollections\nOrderedDict\n)Rq\x01(" +
         str("w") + tensor("0", 6, 1, "K\x02K\x02\x86", "K\x03K\x01\x86") +
         str("b") + tensor("1", 2, 0, "K\x02\x85", "K\x01\x85") + "u}(" +
         str("_metadata") + "ccollections\nOrderedDict\n)Rub.";
}

std::string floats(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    const float v = 0.5f * static_cast<float>(i);
    out.append(reinterpret_cast<const char*>(&v), 4);
  }
  return out;
}

}  // namespace

void neuralart_fuzz_seeds(const std::string& dir) {
  {
    std::ofstream out(dir + "/state_dict.pth", std::ios::binary);
    caffe2::serialize::PyTorchStreamWriter writer(
        [&](const void* data, size_t n) {
          out.write(static_cast<const char*>(data), n);
          return n;
        });
    const auto pkl = state_dict_pickle(false);
    const auto s0 = floats(6), s1 = floats(2);
    writer.writeRecord("data.pkl", pkl.data(), pkl.size());
    writer.writeRecord("data/0", s0.data(), s0.size());
    writer.writeRecord("data/1", s1.data(), s1.size());
    writer.writeEndOfFile();
  }
  std::ofstream out(dir + "/state_dict_legacy.pth", std::ios::binary);
  out << std::string(
             "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15)
      << "\x80\x02M\xe9\x03."
      << "\x80\x02}(" << std::string("X\x0d\0\0\0little_endian", 18) << "\x88u."
      << state_dict_pickle(true)
      << std::string(
             "\x80\x02(X\x01\0\0\0"
             "0X\x01\0\0\0"
             "1l.",
             17);
  for (const auto& [n, data] :
       {std::make_pair(6, floats(6)), std::make_pair(2, floats(2))}) {
    const int64_t count = n;
    out.write(reinterpret_cast<const char*>(&count), 8);
    out << data;
  }
}
