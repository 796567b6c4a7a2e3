// exp(x) written so that GCC vectorises it inside `#pragma omp simd` loops: glibc's vector expf
// (libmvec) is only declared under -ffast-math, so std::exp stays a scalar call there and cost
// ~5 % of a training step (softmax, cross-entropy, SiLU). The float version is accurate to about
// 2 ulp over the whole range (tested against std::exp in double); the double version is std::exp,
// so the double-precision reference paths the tests compare against are untouched.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace sculpt {

#pragma omp declare simd notinbranch
inline float vexp(float x) {
  // x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite: ln2 split in a part exact in float and the rest);
  // exp(r) by its Taylor polynomial to degree 7 (remainder < 2^-27 relative), then × 2^n applied
  // as 2^⌊n/2⌋ · 2^(n−⌊n/2⌋) so that both factors stay normal floats for n in [−150, 128]: the
  // product then rounds into the subnormal range and overflows to +inf exactly where exp does.
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723e-6f;
  constexpr float kShift = 12582912.f;  // 1.5 · 2^23: adding it rounds to an integer in the low mantissa bits
  // exp(−104) < the smallest subnormal; exp(89) = inf. (Comparisons, not std::fmin/fmax: those
  // stay calls into libm and stop the loop from vectorising.)
  const float xc = x < -104.f ? -104.f : (x > 89.f ? 89.f : x);
  const float t = xc * kLog2e + kShift;
  const float n = t - kShift;
  const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kShift);
  const int32_t n1 = ni >> 1, n2 = ni - n1;
  const float y = p * std::bit_cast<float>((n1 + 127) << 23) * std::bit_cast<float>((n2 + 127) << 23);
  return x != x ? x : (x < -104.f ? 0.f : y);  // NaN stays NaN; far below: +0
}

inline double vexp(double x) { return std::exp(x); }

}  // namespace sculpt
