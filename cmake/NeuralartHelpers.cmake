# Per-target settings shared by every neuralart target.
function(neuralart_target_defaults target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>)
  if(NEURALART_SANITIZE)
    target_compile_options(${target} PRIVATE
      -fsanitize=${NEURALART_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${NEURALART_SANITIZE})
    # Executables carry their sanitizer options and leak suppressions.
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_sources(${target} PRIVATE
        ${PROJECT_BINARY_DIR}/sanitizer_defaults.cpp)
    endif()
  endif()
endfunction()

# LibTorch headers take ~20 s per translation unit; a PCH per target cuts that.
function(neuralart_torch_pch target)
  if(NEURALART_PCH)
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
  endif()
endfunction()

# The sanitizer defaults compiled into every executable (see above).
if(NEURALART_SANITIZE)
  file(READ ${PROJECT_SOURCE_DIR}/tests/sanitizers/lsan.supp
       NEURALART_LSAN_SUPPRESSIONS)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/sanitizer_defaults.cpp.in
                 ${PROJECT_BINARY_DIR}/sanitizer_defaults.cpp @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${PROJECT_SOURCE_DIR}/tests/sanitizers/lsan.supp)
endif()
