// Kernel-level test of the typed loads and stores (kernels/convert-inl.h) on every target: compiled here once per
// Highway target (like dispatch/kernel_table.cc) and run through the same MapRow loop the kernels use, so whole
// vectors and padded tails are both covered. Expected values come from tests/dtype.h, written from the IEEE 754
// definition: widening every f16/bf16 bit pattern is exact; narrowing rounds to nearest even, produces f16
// subnormals, overflows to inf, keeps inf and turns NaN into a quiet NaN of the same sign.
// On a CPU with AVX-512 BF16 the AVX3 / AVX3_DL bf16 narrowing has two paths (kernels/convert-inl.h): the instruction
// for vectors without f32 denormals and the integer rounding for vectors with one; the narrowing inputs reach both
// (the denormal bf16 values and their midpoints lie together, the random f32 patterns put a denormal in ~12% of the
// 32-lane pairs), with NaN on each.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/convert_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/row_map-inl.h"

HWY_BEFORE_NAMESPACE();
namespace simdmax {
namespace HWY_NAMESPACE {

template <class TX, class TY>
void Copy(const void* in, void* out, size_t n) {
  const hn::ScalableTag<float> d;
  MapRow(d, static_cast<const TX*>(in), static_cast<TY*>(out), n, 0.0f,
         [](hn::Vec<decltype(d)> v, auto...) HWY_ATTR { return v; });
}
HWY_NOINLINE void WidenF16Row(const void* in, void* out, size_t n) { Copy<F16, float>(in, out, n); }
HWY_NOINLINE void WidenBF16Row(const void* in, void* out, size_t n) { Copy<BF16, float>(in, out, n); }
HWY_NOINLINE void NarrowF16Row(const void* in, void* out, size_t n) { Copy<float, F16>(in, out, n); }
HWY_NOINLINE void NarrowBF16Row(const void* in, void* out, size_t n) { Copy<float, BF16>(in, out, n); }

}  // namespace HWY_NAMESPACE
}  // namespace simdmax
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/dtype.h"
#include "tests/target_fixture.h"

namespace simdmax {
HWY_EXPORT(WidenF16Row);
HWY_EXPORT(WidenBF16Row);
HWY_EXPORT(NarrowF16Row);
HWY_EXPORT(NarrowBF16Row);
}  // namespace simdmax

namespace simdmax_test {
namespace {

using RowFn = void (*)(const void*, void*, size_t);

// The dispatch slot of this file's tables for a target name (the fixture's targets are simdmax's, which this file
// compiles for too: same flags, same HWY_TARGETS).
size_t SlotFor(const std::string& name) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    if (name == hwy::TargetName(target)) {
      hwy::ChosenTarget chosen;
      chosen.Update(target);
      return chosen.GetIndex();
    }
  }
  return 0;
}

// Runs fn over `in` as one row and as rows of every length 1..70 (tails and whole vectors at every offset).
template <class In, class Out>
std::vector<Out> RunRows(RowFn fn, const std::vector<In>& in) {
  std::vector<Out> out(in.size());
  fn(in.data(), out.data(), in.size());
  std::vector<Out> pieces(in.size());
  size_t length = 1;
  for (size_t i = 0; i < in.size(); i += length, length = length % 70 + 1) {
    fn(in.data() + i, pieces.data() + i, std::min(length, in.size() - i));
  }
  EXPECT_EQ(0, std::memcmp(out.data(), pieces.data(), out.size() * sizeof(Out))) << "row pieces differ";
  return out;
}

uint32_t FloatBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float FromBits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// The f32 inputs of the narrowing test for a format: every value of the type, the midpoints between neighbours
// (ties) and one f32 ulp either side of them, overflow and underflow boundaries, and random f32 bit patterns
// (NaN payloads, f32 subnormals, huge values).
std::vector<float> NarrowingInputs(simdmax_dtype type) {
  std::vector<float> values;
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float v = BitsValue(type, bits);
    values.push_back(v);
    if (std::isnan(v) || std::isinf(v)) continue;
    const float next = BitsValue(type, (bits & 0x7FFFu) == 0x7FFFu ? bits : bits + 1);
    if (std::isnan(next)) continue;
    const float mid = static_cast<float>((static_cast<double>(v) + static_cast<double>(next)) / 2);  // exact
    values.push_back(mid);
    values.push_back(std::nextafter(mid, 0.0f));
    values.push_back(std::nextafter(mid, 2.0f * mid));
  }
  for (float v : {65504.0f, 65519.996f, 65520.0f, 65536.0f, 1e10f, 3.4028235e38f, 5.9604645e-8f, 2.9802322e-8f,
                  2.9802326e-8f, 2.9802320e-8f, 1e-40f, 1.4e-45f, 6.1035156e-5f, 6.1035152e-5f}) {
    values.push_back(v);
    values.push_back(-v);
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) values.push_back(FromBits(static_cast<uint32_t>(rng())));
  return values;
}

class Convert : public PerTarget {};

TEST_P(Convert, WideningIsExact) {
  const size_t slot = SlotFor(GetParam());
  ASSERT_NE(slot, 0u) << GetParam();
  std::vector<uint16_t> all(0x10000);
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  for (simdmax_dtype type : {SIMDMAX_F16, SIMDMAX_BF16}) {
    const RowFn fn = type == SIMDMAX_F16 ? simdmax::HWY_DISPATCH_TABLE(WidenF16Row)[slot]
                                         : simdmax::HWY_DISPATCH_TABLE(WidenBF16Row)[slot];
    const std::vector<float> out = RunRows<uint16_t, float>(fn, all);
    for (uint32_t i = 0; i < all.size(); ++i) {
      const long double want = type == SIMDMAX_F16 ? F16BitsValue(all[i]) : BF16BitsValue(all[i]);
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(out[i])) << DtypeName(type) << " bits 0x" << std::hex << i;
      } else {
        ASSERT_EQ(static_cast<long double>(out[i]), want) << DtypeName(type) << " bits 0x" << std::hex << i;
        ASSERT_EQ(std::signbit(out[i]), std::signbit(want)) << DtypeName(type) << " bits 0x" << std::hex << i;
      }
    }
  }
}

TEST_P(Convert, NarrowingRoundsToNearestEven) {
  const size_t slot = SlotFor(GetParam());
  ASSERT_NE(slot, 0u) << GetParam();
  for (simdmax_dtype type : {SIMDMAX_F16, SIMDMAX_BF16}) {
    const RowFn fn = type == SIMDMAX_F16 ? simdmax::HWY_DISPATCH_TABLE(NarrowF16Row)[slot]
                                         : simdmax::HWY_DISPATCH_TABLE(NarrowBF16Row)[slot];
    const std::vector<float> in = NarrowingInputs(type);
    const std::vector<uint16_t> out = RunRows<float, uint16_t>(fn, in);
    const uint16_t quiet_bit = type == SIMDMAX_F16 ? 0x0200 : 0x0040;
    size_t failures = 0;
    for (size_t i = 0; i < in.size() && failures < 10; ++i) {
      const uint16_t want = static_cast<uint16_t>(RoundToBits(type, in[i]));
      if (std::isnan(in[i])) {
        const bool ok =
            std::isnan(BitsValue(type, out[i])) && (out[i] & quiet_bit) != 0 && (out[i] & 0x8000u) == (want & 0x8000u);
        if (!ok) ++failures;
        EXPECT_TRUE(ok) << DtypeName(type) << " NaN 0x" << std::hex << FloatBits(in[i]) << " -> 0x" << out[i];
      } else if (out[i] != want) {
        ++failures;
        ADD_FAILURE() << DtypeName(type) << " " << in[i] << " (0x" << std::hex << FloatBits(in[i]) << "): got 0x"
                      << out[i] << " want 0x" << want;
      }
    }
  }
}

SIMDMAX_INSTANTIATE_PER_TARGET(Convert);

}  // namespace
}  // namespace simdmax_test
#endif  // HWY_ONCE
