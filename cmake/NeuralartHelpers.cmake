# Per-target settings shared by every neuralart target.
function(neuralart_target_defaults target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>)
  if(NEURALART_SANITIZE)
    target_compile_options(${target} PRIVATE
      -fsanitize=${NEURALART_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${NEURALART_SANITIZE})
  endif()
endfunction()

# LibTorch headers take ~20 s per translation unit; a PCH per target cuts that.
function(neuralart_torch_pch target)
  if(NEURALART_PCH)
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
  endif()
endfunction()
