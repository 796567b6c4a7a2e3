#include "sculpt/core/dtype.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <map>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
const std::map<std::string, DType>& dtype_table() {
  static const std::map<std::string, DType> table = {
      {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"F64", DType::f64},
      {"I64", DType::i64}, {"I32", DType::i32}, {"I16", DType::i16},   {"I8", DType::i8},
      {"U8", DType::u8},   {"BOOL", DType::boolean}};
  return table;
}
}  // namespace

std::optional<DType> dtype_from_name(const std::string& name) {
  auto it = dtype_table().find(name);
  if (it == dtype_table().end()) return std::nullopt;
  return it->second;
}

std::string dtype_name(DType dtype) {
  for (const auto& [name, d] : dtype_table())
    if (d == dtype) return name;
  return "?";
}

int dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::f16: case DType::bf16: case DType::i16: return 2;
    default: return 1;
  }
}

bool dtype_is_float(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f16 || dtype == DType::bf16 || dtype == DType::f64;
}

float bf16_to_f32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

uint16_t f32_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if (std::isnan(f)) return static_cast<uint16_t>((x >> 16) | 0x40);  // keep it a quiet NaN
  uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t count) {
  // f32_to_bf16 without the branch, so that the loop vectorises: NaN is |x| > 0x7f800000.
#pragma omp parallel for simd schedule(static) if (count > (1 << 16))
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t x = std::bit_cast<uint32_t>(src[i]);
    const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    dst[i] = static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40u : rounded);
  }
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000 | (mant << 13));  // inf / nan
  if (exp == 0) {                                                               // zero / subnormal
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;                 // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00;                // rounds to inf (≥ 65520)
  if (abs < 0x38800000) {                                     // result is subnormal or zero
    float v = std::bit_cast<float>(abs);
    float scaled = v * 0x1.0p24f;                            // in units of 2^-24
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));  // default mode: ties to even
  }
  uint32_t rounding = 0xfff + ((abs >> 13) & 1);
  abs += rounding;
  return sign | static_cast<uint16_t>((abs - (112u << 23)) >> 13);
}

void convert_to_f32(DType dtype, const void* src, float* dst, int64_t count) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  auto load = [&](auto tag, int64_t i) {
    decltype(tag) v;
    std::memcpy(&v, bytes + i * sizeof(v), sizeof(v));
    return v;
  };
  for (int64_t i = 0; i < count; ++i) {
    switch (dtype) {
      case DType::f32: dst[i] = load(float{}, i); break;
      case DType::f64: dst[i] = static_cast<float>(load(double{}, i)); break;
      case DType::f16: dst[i] = f16_to_f32(load(uint16_t{}, i)); break;
      case DType::bf16: dst[i] = bf16_to_f32(load(uint16_t{}, i)); break;
      case DType::i64: dst[i] = static_cast<float>(load(int64_t{}, i)); break;
      case DType::i32: dst[i] = static_cast<float>(load(int32_t{}, i)); break;
      case DType::i16: dst[i] = static_cast<float>(load(int16_t{}, i)); break;
      case DType::i8: dst[i] = static_cast<float>(load(int8_t{}, i)); break;
      case DType::u8: case DType::boolean: dst[i] = static_cast<float>(bytes[i]); break;
    }
  }
}

}  // namespace sculpt
