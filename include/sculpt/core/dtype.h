// Element types of tensors and checkpoint files, and conversions to and from f32 (core: every
// layer names dtypes; io reads and writes them).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace sculpt {

enum class DType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean };

std::optional<DType> dtype_from_name(const std::string& name);  // safetensors names: "F32", "BF16", ...
std::string dtype_name(DType dtype);
int dtype_size(DType dtype);
bool dtype_is_float(DType dtype);

float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_f16(float f);   // round to nearest even
uint16_t f32_to_bf16(float f);  // round to nearest even, NaN kept

// f32 → bf16 bits for a whole array (as f32_to_bf16, element by element), vectorised and, for
// large arrays, spread over the threads: bf16 precision converts activations before every GEMM.
void convert_f32_to_bf16(const float* src, uint16_t* dst, int64_t count);

// Converts `count` elements of `dtype` at `src` to f32 (floating dtypes and integers).
void convert_to_f32(DType dtype, const void* src, float* dst, int64_t count);

}  // namespace sculpt
