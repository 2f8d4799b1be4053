// keep_freed_memory_for_reuse(): glibc settings applied once per process,
// and left alone when the user chose their own.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "neuralart/runtime/runtime_options.h"

using neuralart::keep_freed_memory_wanted;

namespace {

const char* const kUserVariables[] = {
    "NEURALART_KEEP_MALLOC", "GLIBC_TUNABLES",         "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",       "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_",
    "MALLOC_ARENA_MAX"};

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(const char* n, const char* value) : name(n) { setenv(n, value, 1); }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

}  // namespace

#if defined(__GLIBC__)
TEST(KeepFreedMemory, EachUserVariableTurnsItOff) {
  for (const char* name : kUserVariables)
    if (std::getenv(name) != nullptr) GTEST_SKIP() << name << " is set here";
  EXPECT_TRUE(keep_freed_memory_wanted());
  for (const char* name : kUserVariables) {
    ScopedEnv user(name, "1");
    EXPECT_FALSE(keep_freed_memory_wanted()) << name;
  }
  EXPECT_TRUE(keep_freed_memory_wanted());
  neuralart::keep_freed_memory_for_reuse();
  neuralart::keep_freed_memory_for_reuse();  // once: the second is a no-op
}
#endif
