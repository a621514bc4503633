#include "tests/entry_points.h"

#include <cstring>

#include "tests/inputs.h"

namespace simdmax_test {

uint64_t MaxUlpFor(Op op, simdmax_dtype y_type) {
  if (y_type != SIMDMAX_F32) return kHalfOutputMaxUlp;
  return op == Op::kSoftmax ? kSoftmaxMaxUlp : kLogSoftmaxMaxUlp;
}

bool TypedPairTested(simdmax_dtype x_type, simdmax_dtype y_type) {
  if (!EmulatedRun()) return true;
  return (x_type == SIMDMAX_F16 && y_type == SIMDMAX_BF16) || (x_type == SIMDMAX_BF16 && y_type == SIMDMAX_F16);
}

const std::vector<RowEntryPoint>& RowEntryPoints() {
  static const std::vector<RowEntryPoint> entry_points = [] {
    std::vector<RowEntryPoint> list = {
        {"simdmax_softmax_f32", Op::kSoftmax, SIMDMAX_F32, SIMDMAX_F32, simdmax_softmax_f32, nullptr, kSoftmaxMaxUlp},
        {"simdmax_log_softmax_f32", Op::kLogSoftmax, SIMDMAX_F32, SIMDMAX_F32, simdmax_log_softmax_f32, nullptr,
         kLogSoftmaxMaxUlp},
    };
    for (Op op : {Op::kSoftmax, Op::kLogSoftmax}) {
      for (simdmax_dtype x_type : kAllDtypes) {
        for (simdmax_dtype y_type : kAllDtypes) {
          if (!TypedPairTested(x_type, y_type)) continue;
          const bool log = op == Op::kLogSoftmax;
          list.push_back({std::string(log ? "simdmax_log_softmax_" : "simdmax_softmax_") + DtypeName(x_type) + "_" +
                              DtypeName(y_type),
                          op, x_type, y_type, nullptr, log ? simdmax_log_softmax : simdmax_softmax,
                          MaxUlpFor(op, y_type)});
        }
      }
    }
    return list;
  }();
  return entry_points;
}

simdmax_status RowEntryPoint::Call(size_t rows, size_t cols, const void* x, size_t x_stride, void* y,
                                   size_t y_stride) const {
  if (f32_fn != nullptr) {
    return f32_fn(rows, cols, static_cast<const float*>(x), x_stride, static_cast<float*>(y), y_stride);
  }
  return typed_fn(rows, cols, x_type, x, x_stride, y_type, y, y_stride);
}

std::vector<float> RowEntryPoint::Quantized(const float* x, size_t n) const {
  std::vector<float> q(x, x + n);
  for (float& v : q) v = Quantize(x_type, v);
  return q;
}

namespace {

// The typed output back into the float y: after a successful call every row element (the library wrote them all,
// possibly with the bits they already had); elsewhere (padding, and everything after an error) only the elements
// whose bits changed, so that the float-level "untouched" checks still see any stray write.
void CopyBack(simdmax_status status, const TypedBuffer& typed, const TypedBuffer& before, size_t cols, size_t stride,
              float* y) {
  for (size_t i = 0; i < typed.size(); ++i) {
    const bool row_element = status == SIMDMAX_OK && i % stride < cols;
    if (row_element || !typed.SameElement(before, i)) y[i] = typed.Get(i);
  }
}

}  // namespace

simdmax_status RowEntryPoint::Run(size_t rows, size_t cols, const float* x, size_t x_stride, float* y,
                                  size_t y_stride) const {
  if ((x_type == SIMDMAX_F32 && y_type == SIMDMAX_F32) || rows == 0 || cols == 0 || x == nullptr || y == nullptr) {
    return Call(rows, cols, x, x_stride, y, y_stride);  // nothing to convert (or an argument error to report)
  }
  // Spans; strides below cols are argument errors, reported by the library on the original arguments.
  if (x_stride < cols || y_stride < cols) return Call(rows, cols, x, x_stride, y, y_stride);
  const size_t x_span = (rows - 1) * x_stride + cols, y_span = (rows - 1) * y_stride + cols;
  TypedBuffer typed_x(x_type, x, x_span);
  if (x == y && x_stride == y_stride) {
    if (!InPlace()) return Call(rows, cols, typed_x.data(), x_stride, typed_x.data(), y_stride);
    const TypedBuffer before = typed_x;
    const simdmax_status status = Call(rows, cols, typed_x.data(), x_stride, typed_x.data(), y_stride);
    CopyBack(status, typed_x, before, cols, y_stride, y);
    return status;
  }
  TypedBuffer typed_y(y_type, y, y_span);
  const TypedBuffer before = typed_y;
  const simdmax_status status = Call(rows, cols, typed_x.data(), x_stride, typed_y.data(), y_stride);
  CopyBack(status, typed_y, before, cols, y_stride, y);
  return status;
}

}  // namespace simdmax_test
