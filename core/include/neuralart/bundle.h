// The neuralart model bundle: one file with JSON metadata and weights.
#pragma once

#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

#include <string>

namespace neuralart {

using json = nlohmann::json;

// Format version written by this build. A reader refuses a newer major.
constexpr int kBundleFormatMajor = 1;
constexpr int kBundleFormatMinor = 0;

// UniversalStyle: a style network plus a style predictor that turns any
// painting into its style code (models/style_predictor.h).
enum class ModelKind { Generator, Style, UniversalStyle };
std::string to_string(ModelKind kind);

// What a bundle says about itself. `arch` holds the architecture name and
// its hyper-parameters; `io` the value range and channel order;
// `provenance` how the model was made (command, data, steps, date...).
struct BundleMeta {
  ModelKind kind = ModelKind::Generator;
  json arch = json::object();
  json io = json::object();
  json styles = json::array();  // style names, for style models
  json provenance = json::object();
  int format_major = kBundleFormatMajor;
  int format_minor = kBundleFormatMinor;

  json to_json() const;
  // Validates; throws BundleError mentioning `origin`.
  static BundleMeta from_json(const json& j, const std::string& origin);
};

// Provenance fields every bundle gets: date, library and LibTorch versions.
json default_provenance();

// Saves the module's parameters and buffers with `meta`, atomically.
void save_bundle(const std::string& path, const BundleMeta& meta,
                 const torch::nn::Module& module);

// Reads and validates metadata only (cheap: no model is built).
BundleMeta read_bundle_meta(const std::string& path);

// Reads metadata and tensors; throws BundleError on any problem.
struct Bundle {
  std::string path;
  BundleMeta meta;
  std::map<std::string, torch::Tensor> tensors;
};
Bundle read_bundle(const std::string& path);

// Copies a bundle's tensors into `module`. Every parameter and buffer must
// be present with the same shape, and no tensor may be left over: a model
// is loaded whole or not at all.
void load_weights(const Bundle& bundle, torch::nn::Module& module);

// True when the file starts like a bundle (not a TorchScript zip).
bool looks_like_bundle(const std::string& path);

}  // namespace neuralart
