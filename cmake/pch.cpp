// The translation unit that owns the shared precompiled <torch/torch.h>
// (neuralart_torch_pch_owner in cmake/NeuralartHelpers.cmake). Empty: the
// precompiled header is the product.
