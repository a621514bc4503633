// Links simdmax through find_package and checks one softmax against the mathematical values.
#include <cmath>
#include <cstdio>

#include "simdmax/simdmax.hpp"

int main() {
  const float logits[3] = {1.5f, 0.8f, -0.2f};
  float probs[3];
  if (simdmax::Softmax(logits, probs, 3) != simdmax::Status::kOk) return 1;
  const double want[3] = {0.595497, 0.295715, 0.108788};
  for (int i = 0; i < 3; ++i) {
    if (std::fabs(probs[i] - want[i]) > 1e-6) return 1;
  }
  std::printf("simdmax %s on %s: %.6f %.6f %.6f\n", simdmax_version(), simdmax_selected_target(), probs[0], probs[1],
              probs[2]);
  return 0;
}
