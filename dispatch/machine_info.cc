#include "dispatch/machine_info.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace simdmax {
namespace {

// Reads "48K" / "2048K" / "1M" style sizes from sysfs.
size_t ParseSize(const char* text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text) return 0;
  if (*end == 'K' || *end == 'k') return static_cast<size_t>(value) * 1024;
  if (*end == 'M' || *end == 'm') return static_cast<size_t>(value) * 1024 * 1024;
  return static_cast<size_t>(value);
}

std::string ReadLine(const std::string& path) {
  char buffer[64] = {};
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return "";
  if (std::fgets(buffer, sizeof(buffer), file) == nullptr) buffer[0] = '\0';
  std::fclose(file);
  buffer[std::strcspn(buffer, "\n")] = '\0';
  return buffer;
}

// The size of the cpu0 cache of `level` that holds data (type Data or Unified), or 0.
size_t SysfsCacheSize(int level) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    const std::string level_text = ReadLine(dir + "level");
    if (level_text.empty()) break;
    const std::string type = ReadLine(dir + "type");
    if (std::atoi(level_text.c_str()) == level && (type == "Data" || type == "Unified")) {
      return ParseSize(ReadLine(dir + "size").c_str());
    }
  }
  return 0;
}

size_t SysconfSize(int name) {
  const long value = sysconf(name);
  return value > 0 ? static_cast<size_t>(value) : 0;
}

size_t FromEnvironment(const char* name, size_t detected) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? ParseSize(value) : detected;
}

CacheSizes Detect() {
  CacheSizes caches;
#ifdef _SC_LEVEL1_DCACHE_SIZE
  caches.l1d = SysconfSize(_SC_LEVEL1_DCACHE_SIZE);
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE
  caches.l2 = SysconfSize(_SC_LEVEL2_CACHE_SIZE);
#endif
  // glibc returns 0 where cpuid does not say (AArch64, some VMs): sysfs then.
  if (caches.l1d == 0) caches.l1d = SysfsCacheSize(1);
  if (caches.l2 == 0) caches.l2 = SysfsCacheSize(2);
  caches.l1d = FromEnvironment("SIMDMAX_L1D_BYTES", caches.l1d);
  caches.l2 = FromEnvironment("SIMDMAX_L2_BYTES", caches.l2);
  return caches;
}

}  // namespace

const CacheSizes& MachineCaches() {
  static const CacheSizes caches = Detect();
  return caches;
}

}  // namespace simdmax
