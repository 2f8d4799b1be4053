# Per-target settings shared by every neuralart target.
function(neuralart_target_defaults target)
  target_compile_options(${target} PRIVATE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter>)
  # One code model for every object, so that the shared precompiled header
  # (below) is valid everywhere: CMake compiles executables with -fPIE and
  # libraries with -fPIC, and gcc refuses a PCH made with the other one.
  # PIC objects link into PIE executables as they are.
  # For the same reason every object is compiled -pthread (_REENTRANT), as
  # the targets that use GStreamer's pkg-config flags are.
  get_target_property(type ${target} TYPE)
  if(NEURALART_PCH AND type STREQUAL "EXECUTABLE")
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  if(NEURALART_PCH)
    target_compile_options(${target} PRIVATE
      $<$<CXX_COMPILER_ID:GNU,Clang>:-pthread>)
  endif()
  if(NEURALART_UNITY)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON
      UNITY_BUILD_BATCH_SIZE ${NEURALART_UNITY_BATCH})
  endif()
  if(NEURALART_SANITIZE)
    target_compile_options(${target} PRIVATE
      -fsanitize=${NEURALART_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${NEURALART_SANITIZE})
    # Executables carry their sanitizer options and leak suppressions.
    if(type STREQUAL "EXECUTABLE")
      target_sources(${target} PRIVATE
        ${PROJECT_BINARY_DIR}/sanitizer_defaults.cpp)
    endif()
  endif()
endfunction()

# LibTorch headers take ~20 s per translation unit. One precompiled
# <torch/torch.h> (neuralart_pch, made by neuralart_torch_pch_owner below)
# serves every target: compiling it costs ~32 s of CPU and 570 MB, which a
# PCH per target paid 14 times over. A target whose flags made the shared
# PCH unusable would still build (gcc falls back to the header, and
# -Winvalid-pch says so).
function(neuralart_torch_pch target)
  if(NEURALART_PCH)
    target_precompile_headers(${target} REUSE_FROM neuralart_pch)
  endif()
endfunction()

# The object library that owns the shared PCH: torch's usage requirements
# and neuralart_target_defaults' flags, as every consumer has them.
function(neuralart_torch_pch_owner)
  if(NEURALART_PCH)
    add_library(neuralart_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
    target_link_libraries(neuralart_pch PRIVATE ${TORCH_LIBRARIES})
    neuralart_target_defaults(neuralart_pch)
    set_target_properties(neuralart_pch PROPERTIES UNITY_BUILD OFF)
    target_precompile_headers(neuralart_pch PRIVATE <torch/torch.h>)
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
