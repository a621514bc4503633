#include "dispatch/thread_scratch.h"

#include <memory>
#include <new>

namespace simdmax {

float* ThreadScratch(size_t floats) {
  // A thread's buffer, freed when the thread exits (TBB workers included).
  thread_local std::unique_ptr<float[]> buffer;
  thread_local size_t capacity = 0;
  if (floats > kMaxThreadScratchFloats) return nullptr;
  if (floats <= capacity) return buffer.get();
  // Rounded up to a multiple of 16K floats (64 KiB), so that a thread seeing growing rows reallocates a few times
  // at most. nothrow: a failed allocation only costs speed (the caller's contract).
  const size_t grown = (floats + 16383) / 16384 * 16384;
  buffer.reset();
  capacity = 0;
  buffer.reset(new (std::nothrow) float[grown]);
  if (buffer == nullptr) return nullptr;
  capacity = grown;
  return buffer.get();
}

}  // namespace simdmax
