#include "neuralart/bundle.h"

#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <set>

#include "neuralart/error.h"
#include "neuralart/tensor_file.h"
#include "neuralart/version.h"

namespace neuralart {
namespace {

constexpr const char* kMetaKey = "neuralart";
constexpr const char* kFormatName = "neuralart-bundle";

}  // namespace

std::string to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::Generator:
      return "generator";
    case ModelKind::Style:
      return "style";
    case ModelKind::UniversalStyle:
      return "universal_style";
  }
  return "unknown";
}

json BundleMeta::to_json() const {
  return {{"format", kFormatName},
          {"format_version",
           std::to_string(format_major) + "." + std::to_string(format_minor)},
          {"kind", to_string(kind)},
          {"arch", arch},
          {"io", io},
          {"styles", styles},
          {"provenance", provenance}};
}

BundleMeta BundleMeta::from_json(const json& j, const std::string& origin) {
  if (!j.is_object() || j.value("format", "") != kFormatName)
    fail_bundle(origin, "not a neuralart bundle (metadata lacks format '" +
                            std::string(kFormatName) + "')");
  BundleMeta m;
  const auto version = j.value("format_version", "");
  if (std::sscanf(version.c_str(), "%d.%d", &m.format_major, &m.format_minor) !=
      2)
    fail_bundle(origin, "malformed format_version '" + version + "'");
  if (m.format_major > kBundleFormatMajor)
    fail_bundle(origin, "bundle format " + version +
                            " is newer than this build reads (" +
                            std::to_string(kBundleFormatMajor) +
                            ".x); upgrade "
                            "neuralart to load it");
  const auto kind = j.value("kind", "");
  if (kind == "generator") {
    m.kind = ModelKind::Generator;
  } else if (kind == "style") {
    m.kind = ModelKind::Style;
  } else if (kind == "universal_style") {
    m.kind = ModelKind::UniversalStyle;
  } else {
    fail_bundle(origin, "unknown model kind '" + kind +
                            "' (expected generator, style or "
                            "universal_style)");
  }
  m.arch = j.value("arch", json::object());
  if (!m.arch.is_object() || !m.arch.contains("name") ||
      !m.arch["name"].is_string())
    fail_bundle(origin, "metadata lacks an architecture name");
  m.io = j.value("io", json::object());
  m.styles = j.value("styles", json::array());
  m.provenance = j.value("provenance", json::object());
  if (!m.io.is_object() || !m.styles.is_array() || !m.provenance.is_object())
    fail_bundle(origin,
                "metadata fields io, styles or provenance are malformed");
  return m;
}

json default_provenance() {
  auto now =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"date", date},
          {"neuralart_version", version()},
          {"torch_version", torch_version()}};
}

void save_bundle(const std::string& path, const BundleMeta& meta,
                 const torch::nn::Module& module) {
  TensorFile file;
  file.metadata[kMetaKey] = meta.to_json().dump();
  for (const auto& p : module.named_parameters())
    file.tensors.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers())
    file.tensors.emplace(b.key(), b.value());
  write_tensor_file(path, file);
}

namespace {

BundleMeta meta_of(const TensorFile& file, const std::string& path) {
  auto it = file.metadata.find(kMetaKey);
  if (it == file.metadata.end())
    fail_bundle(path, "not a neuralart bundle (no 'neuralart' metadata)");
  json j;
  try {
    j = json::parse(it->second);
  } catch (const json::exception& e) {
    fail_bundle(path, std::string("metadata is not valid JSON: ") + e.what());
  }
  return BundleMeta::from_json(j, path);
}

}  // namespace

Bundle read_bundle(const std::string& path) {
  auto file = read_tensor_file(path);
  Bundle b;
  b.path = path;
  b.meta = meta_of(file, path);
  b.tensors = std::move(file.tensors);
  return b;
}

BundleMeta read_bundle_meta(const std::string& path) {
  return read_bundle(path).meta;
}

void load_weights(const Bundle& bundle, torch::nn::Module& module) {
  std::set<std::string> unused;
  for (const auto& [name, t] : bundle.tensors) unused.insert(name);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  auto match = [&](const std::string& name, const torch::Tensor& target) {
    auto it = bundle.tensors.find(name);
    if (it == bundle.tensors.end())
      fail_bundle(bundle.path,
                  "weights lack tensor '" + name +
                      "' (architecture does not match the metadata)");
    if (it->second.sizes() != target.sizes()) {
      std::ostringstream msg;
      msg << "tensor '" << name << "' has shape " << it->second.sizes()
          << ", the model expects " << target.sizes();
      fail_bundle(bundle.path, msg.str());
    }
    copies.emplace_back(target, it->second);
    unused.erase(name);
  };
  for (const auto& p : module.named_parameters()) match(p.key(), p.value());
  for (const auto& b : module.named_buffers()) match(b.key(), b.value());
  if (!unused.empty())
    fail_bundle(bundle.path, "weights hold tensor '" + *unused.begin() +
                                 "' that the model does not have");
  // Everything matched: only now touch the module (all or nothing).
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source);
}

bool looks_like_bundle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[10] = {};
  in.read(head, sizeof head);
  if (in.gcount() < 10) return false;
  // TorchScript files are zip archives ("PK\3\4"); bundles start with a
  // little-endian length (whose first byte may well be 'P') then '{'.
  const bool zip =
      head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
  return !zip && head[8] == '{';
}

}  // namespace neuralart
