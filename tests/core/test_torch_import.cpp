// The torch.save reader (zip and legacy formats, built here byte by byte
// as PyTorch writes them), the TransformerNet import's key mapping, and the
// style network's "upsample" field. tests/cli/test_import.sh checks the
// import against PyTorch itself.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/models/transformer_net_import.h"
#include "neuralart/torch_checkpoint.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

// A pickle written opcode by opcode (protocol 2, as torch.save).
struct Pickle {
  std::string bytes = "\x80\x02";
  Pickle& op(const std::string& s) {
    bytes += s;
    return *this;
  }
  Pickle& str(const std::string& s) {
    bytes += 'X';
    for (int i = 0; i < 4; ++i) bytes += char((s.size() >> (8 * i)) & 0xFF);
    bytes += s;
    return *this;
  }
  Pickle& i(int v) {  // BININT
    bytes += 'J';
    for (int k = 0; k < 4; ++k) bytes += char((uint32_t(v) >> (8 * k)) & 0xFF);
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    return op("c" + module + "\n" + name + "\n");
  }
  Pickle& ints(const std::vector<int>& v) {  // a tuple of ints
    op("(");
    for (int x : v) i(x);
    return op("t");
  }
  // _rebuild_tensor_v2(storage pid, offset, size, stride, False, {}).
  Pickle& tensor(const std::string& key, int storage_numel, int offset,
                 const std::vector<int>& size, const std::vector<int>& stride,
                 bool legacy = false) {
    global("torch._utils", "_rebuild_tensor_v2").op("(");
    op("(").str("storage").global("torch", "FloatStorage").str(key);
    str("cpu").i(storage_numel);
    if (legacy) op("N");
    op("tQ");
    i(offset).ints(size).ints(stride).op("\x89");
    global("collections", "OrderedDict").op(")R");
    return op("tR");
  }
  std::string done() { return bytes + "."; }
};

// {"a": storage 0 [0:3], "b": storage 0 [3:5] as 2x1, "c": storage 1}, as
// state_dict() pickles it: an OrderedDict with a _metadata attribute.
std::string state_dict_pickle(bool legacy) {
  Pickle p;
  p.global("collections", "OrderedDict").op(")Rq\x01(");
  p.str("a").tensor("0", 5, 0, {3}, {1}, legacy);
  p.str("b").tensor("0", 5, 3, {2, 1}, {1, 1}, legacy);
  p.str("c").tensor("1", 2, 0, {2}, {1}, legacy);
  p.op("u}(").str("_metadata").global("collections", "OrderedDict");
  p.op(")R").op("ub");
  return p.done();
}

std::string zip_bytes(const std::map<std::string, std::string>& records) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer(
      [&](const void* data, size_t n) {
        out.append(static_cast<const char*>(data), n);
        return n;
      });
  for (const auto& [name, data] : records)
    writer.writeRecord(name, data.data(), data.size());
  writer.writeEndOfFile();
  return out;
}

std::string floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

std::string zip_state_dict() {
  return zip_bytes({{"data.pkl", state_dict_pickle(false)},
                    {"data/0", floats({1, 2, 3, 4, 5})},
                    {"data/1", floats({6, 7})}});
}

std::string legacy_state_dict() {
  std::string out =
      Pickle()
          .op(std::string("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19",
                          12))
          .done();
  out += Pickle().op("M\xe9\x03").done();  // protocol 1001
  out += Pickle().op("}(").str("little_endian").op("\x88u").done();
  out += state_dict_pickle(true);
  out += Pickle().op("(").str("0").str("1").op("l").done();
  auto storage = [&](int64_t n, const std::string& data) {
    out += std::string(reinterpret_cast<const char*>(&n), 8) + data;
  };
  storage(5, floats({1, 2, 3, 4, 5}));
  storage(2, floats({6, 7}));
  return out;
}

TorchStateDict parse(const std::string& bytes) {
  return parse_torch_state_dict(reinterpret_cast<const uint8_t*>(bytes.data()),
                                bytes.size(), "test.pth");
}

std::string error_of(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const BundleError& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_abc(const TorchStateDict& sd) {
  ASSERT_EQ(sd.entries.size(), 3u);
  EXPECT_EQ(sd.entries[0].first, "a");
  EXPECT_EQ(sd.entries[1].first, "b");
  EXPECT_EQ(sd.entries[2].first, "c");
  EXPECT_TRUE(sd.entries[0].second.equal(torch::tensor({1.f, 2.f, 3.f})));
  EXPECT_TRUE(sd.entries[1].second.equal(torch::tensor({{4.f}, {5.f}})));
  EXPECT_TRUE(sd.entries[2].second.equal(torch::tensor({6.f, 7.f})));
}

}  // namespace

TEST(TorchCheckpoint, ReadsTheZipFormat) {
  const auto sd = parse(zip_state_dict());
  EXPECT_EQ(sd.format, "zip");
  expect_abc(sd);
}

TEST(TorchCheckpoint, ReadsTheLegacyFormat) {
  const auto sd = parse(legacy_state_dict());
  EXPECT_EQ(sd.format, "legacy");
  expect_abc(sd);
}

// Written by Debian's python3-torch 1.13 (fuzz/corpus/pth): a Conv2d(3, 2,
// 1) + InstanceNorm2d(2, affine=True) state dict with "half" =
// arange(4).half(), "long" = arange(3), "view" = arange(12.).view(3,
// 4)[1:, ::2] (saved as its whole storage, offset 4, strides 4 and 2).
TEST(TorchCheckpoint, ReadsFilesPyTorchWrote) {
  for (const char* name : {"python_zip.pth", "python_legacy.pth"}) {
    const auto sd = read_torch_state_dict(std::string(NEURALART_SOURCE_DIR) +
                                          "/fuzz/corpus/pth/" + name);
    std::map<std::string, torch::Tensor> t(sd.entries.begin(),
                                           sd.entries.end());
    EXPECT_EQ(sd.entries.front().first, "0.weight") << name;
    EXPECT_EQ(t.at("0.weight").sizes(), (std::vector<int64_t>{2, 3, 1, 1}));
    EXPECT_TRUE(t.at("1.weight").equal(torch::ones({2}))) << name;
    EXPECT_TRUE(t.at("1.bias").equal(torch::zeros({2}))) << name;
    EXPECT_TRUE(t.at("half").equal(torch::arange(4).to(torch::kHalf)));
    EXPECT_TRUE(t.at("long").equal(torch::arange(3)));
    EXPECT_TRUE(t.at("view").equal(torch::tensor({{4.f, 6.f}, {8.f, 10.f}})));
  }
}

TEST(TorchCheckpoint, ReadsAFile) {
  TempDir dir;
  const auto path = dir.file("sd.pth");
  std::ofstream(path, std::ios::binary) << zip_state_dict();
  expect_abc(read_torch_state_dict(path));
  EXPECT_THROW(read_torch_state_dict(dir.file("missing.pth")), BundleError);
}

TEST(TorchCheckpoint, EveryTruncationIsAnError_n) {
  for (const auto& bytes : {zip_state_dict(), legacy_state_dict()})
    for (size_t n = 0; n < bytes.size(); n += 7)
      EXPECT_THROW(parse(bytes.substr(0, n)), BundleError) << n;
}

TEST(TorchCheckpoint, DamagedZipEntryFailsItsCrc_n) {
  auto bytes = zip_state_dict();
  const auto at = bytes.find(floats({6, 7}));
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 1;
  EXPECT_NE(error_of(bytes).find("CRC-32"), std::string::npos);
}

TEST(TorchCheckpoint, RefusesObjectsByName_n) {
  Pickle p;
  p.global("os", "system").op("(").str("echo hi").op("tR");
  const auto e = error_of(zip_bytes({{"data.pkl", p.done()}}));
  EXPECT_NE(e.find("'os.system'"), std::string::npos) << e;
}

TEST(TorchCheckpoint, RefusesTorchScript_n) {
  const auto e = error_of(zip_bytes({{"data.pkl", Pickle().op("}").done()},
                                     {"code/__torch__.py", "x"},
                                     {"constants.pkl", "x"}}));
  EXPECT_NE(e.find("TorchScript"), std::string::npos) << e;
}

TEST(TorchCheckpoint, RefusesANonTensorEntryNamingIt_n) {
  Pickle p;
  p.op("}(").str("epoch").i(3).op("u");
  const auto e = error_of(zip_bytes({{"data.pkl", p.done()}}));
  EXPECT_NE(e.find("'epoch'"), std::string::npos) << e;
}

TEST(TorchCheckpoint, RefusesViewsOutsideTheirStorage_n) {
  for (const auto& [offset, size] :
       std::vector<std::pair<int, int>>{{4, 2}, {0, 6}, {-1, 1}}) {
    Pickle p;
    p.op("}(").str("a").tensor("0", 5, offset, {size}, {1}).op("u");
    const auto e = error_of(zip_bytes(
        {{"data.pkl", p.done()}, {"data/0", floats({1, 2, 3, 4, 5})}}));
    EXPECT_NE(e.find("test.pth"), std::string::npos) << e;
  }
  // Storage bigger than its record.
  Pickle p;
  p.op("}(").str("a").tensor("0", 1000, 0, {5}, {1}).op("u");
  const auto e = error_of(
      zip_bytes({{"data.pkl", p.done()}, {"data/0", floats({1, 2, 3, 4, 5})}}));
  EXPECT_NE(e.find("bytes"), std::string::npos) << e;
}

TEST(TorchCheckpoint, SelfReferenceAndDeepNestingAreHarmless_n) {
  // l = []; l.append(l), then 100k lists nested through the memo.
  Pickle p;
  p.op("]q\x01h\x01").op("a0");
  p.op("]q\x02");
  for (int k = 0; k < 100000; ++k) p.op("h\x02]q\x02").op("a0");
  p.op("0}");
  EXPECT_EQ(parse(zip_bytes({{"data.pkl", p.done()}})).entries.size(), 0u);
  EXPECT_NE(error_of("hello").find("not a torch.save file"), std::string::npos);
}

// ---------------------------------------------------------------------------
// The import's mapping.

namespace {

// A TransformerNet state dict (width 8, 2 residual blocks) with the keys
// pytorch/examples gives it, and the style network it must become.
TorchStateDict transformer_net_dict(const StyleNet& reference) {
  std::map<std::string, torch::Tensor> ours;
  for (const auto& p : reference->named_parameters())
    ours[p.key()] = p.value().detach();
  TorchStateDict sd;
  auto conv = [&](const std::string& from, const std::string& to) {
    sd.entries.emplace_back(from + ".conv2d.weight",
                            ours.at(to + ".conv.weight"));
    sd.entries.emplace_back(from + ".conv2d.bias", ours.at(to + ".conv.bias"));
  };
  auto norm = [&](const std::string& from, const std::string& to) {
    sd.entries.emplace_back(from + ".weight", ours.at(to + ".weight")[0]);
    sd.entries.emplace_back(from + ".bias", ours.at(to + ".bias")[0]);
    sd.entries.emplace_back(from + ".running_mean", torch::zeros({1}));
  };
  conv("conv1", "conv1");
  norm("in1", "in1");
  conv("conv2", "conv2");
  norm("in2", "in2");
  conv("conv3", "conv3");
  norm("in3", "in3");
  for (int k = 0; k < 2; ++k) {
    const auto res = "res" + std::to_string(k + 1);
    conv(res + ".conv1", "res_convs." + std::to_string(2 * k));
    norm(res + ".in1", "res_norms." + std::to_string(2 * k));
    conv(res + ".conv2", "res_convs." + std::to_string(2 * k + 1));
    norm(res + ".in2", "res_norms." + std::to_string(2 * k + 1));
  }
  conv("deconv1", "up1");
  norm("in4", "in4");
  conv("deconv2", "up2");
  norm("in5", "in5");
  conv("deconv3", "conv_out");
  return sd;
}

StyleNet reference_net() {
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 2;
  o.output = "linear";
  o.upsample = "double";
  torch::manual_seed(3);
  StyleNet net(o);
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.uniform_(-0.5, 0.5);
  return net;
}

std::string import_error(const TorchStateDict& sd) {
  try {
    import_transformer_net(sd, "x.pth");
  } catch (const BundleError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(TransformerNetImport, MapsEveryKeyAndReadsTheSize) {
  auto reference = reference_net();
  auto net = import_transformer_net(transformer_net_dict(reference), "x.pth");
  EXPECT_EQ(net->options().width, 8);
  EXPECT_EQ(net->options().res_blocks, 2);
  EXPECT_EQ(net->options().upsample, "double");
  EXPECT_EQ(net->options().output, "linear");
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 21, 30}) * 255;
  EXPECT_TRUE(net->forward(x).equal(reference->forward(x)));
}

TEST(TransformerNetImport, NamesTheFirstKeyThatDoesNotFit_n) {
  auto reference = reference_net();
  auto sd = transformer_net_dict(reference);
  sd.entries[5].first = "conv2.conv.weight";  // was conv2.conv2d.weight
  EXPECT_NE(import_error(sd).find("'conv2.conv.weight'"), std::string::npos)
      << import_error(sd);

  sd = transformer_net_dict(reference);
  sd.entries[2].second = torch::ones({9});  // in1.weight
  EXPECT_NE(import_error(sd).find("'in1.weight' has shape [9]"),
            std::string::npos)
      << import_error(sd);

  sd = transformer_net_dict(reference);
  sd.entries.erase(sd.entries.begin() + 3);  // in1.bias
  EXPECT_NE(import_error(sd).find("lacks key 'in1.bias'"), std::string::npos)
      << import_error(sd);

  sd = transformer_net_dict(reference);
  sd.entries[0].second = sd.entries[0].second.clone();
  sd.entries[0].second[0][0][0][0] = NAN;
  EXPECT_NE(import_error(sd).find("NaN"), std::string::npos);
}

TEST(StyleNet, UpsampleDoubleKeepsAnySizeAndOlderBundlesFit) {
  StyleNetOptions o;
  o.width = 4;
  o.res_blocks = 1;
  o.upsample = "double";
  StyleNet net(o);
  torch::NoGradGuard no_grad;
  for (auto [h, w] : std::vector<std::pair<int, int>>{{21, 37}, {16, 16}}) {
    auto y = net->forward(torch::rand({1, 3, h, w}));
    EXPECT_EQ(y.size(2), h);
    EXPECT_EQ(y.size(3), w);
  }
  auto j = o.to_json();
  EXPECT_EQ(StyleNetOptions::from_json(j).upsample, "double");
  j.erase("upsample");
  EXPECT_EQ(StyleNetOptions::from_json(j).upsample, "fit");
  j["upsample"] = "bilinear";
  EXPECT_THROW(StyleNetOptions::from_json(j), InvalidArgument);
  // Where sides are multiples of 4, "fit" and "double" are the same function.
  StyleNetOptions fit_options = o;
  fit_options.upsample = "fit";
  StyleNet fit(fit_options);
  const auto source = net->named_parameters();
  for (auto& p : fit->named_parameters()) p.value().copy_(source[p.key()]);
  auto x = torch::rand({1, 3, 24, 32});
  EXPECT_TRUE(torch::allclose(net->forward(x), fit->forward(x)));
}
