// ggml's block formats, dequantized with exactly the float operations gguf-py performs (each
// product and difference rounded to f32 separately, never fused), so the output is bit-identical
// to gguf.quants.dequantize. Layouts (bytes per block) follow ggml-common.h:
//   Q4_0 (18): f16 d, 16 x 2 nibbles          x = d * (q - 8)
//   Q4_1 (20): f16 d, f16 m, 16 x 2 nibbles   x = d * q + m
//   Q5_0 (22): f16 d, u32 high bits, nibbles  x = d * (q - 16)
//   Q5_1 (24): f16 d, f16 m, u32, nibbles     x = d * q + m
//   Q8_0 (34): f16 d, 32 x i8                 x = q * d
//   Q2_K (84), Q3_K (110), Q4_K (144), Q5_K (176), Q6_K (210): 256-element super-blocks of 16
//   sub-blocks with 4- to 8-bit scales, see each function.
// This file is compiled with -ffp-contract=off (CMakeLists.txt) so no a*b+c becomes an FMA.
#include <cmath>
#include <cstring>

#include "sculpt/core/error.h"
#include "sculpt/core/dtype.h"
#include "sculpt/io/gguf.h"

namespace sculpt {

namespace {
constexpr int QK = 32, QK_K = 256;

float f16_at(const unsigned char* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void q4_0(const unsigned char* b, float* y) {
  const float d = f16_at(b);
  const unsigned char* qs = b + 2;
  for (int i = 0; i < QK; ++i) {
    const int q = ((qs[i % 16] >> (4 * (i / 16))) & 0xF) - 8;
    y[i] = d * static_cast<float>(q);
  }
}

void q4_1(const unsigned char* b, float* y) {
  const float d = f16_at(b), m = f16_at(b + 2);
  const unsigned char* qs = b + 4;
  for (int i = 0; i < QK; ++i) {
    const float prod = d * static_cast<float>((qs[i % 16] >> (4 * (i / 16))) & 0xF);
    y[i] = prod + m;
  }
}

int q5_value(const unsigned char* qh_bytes, const unsigned char* qs, int i) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);  // little-endian on every platform sculpt builds for
  const int low = (qs[i % 16] >> (4 * (i / 16))) & 0xF;
  return low | static_cast<int>(((qh >> i) & 1u) << 4);
}

void q5_0(const unsigned char* b, float* y) {
  const float d = f16_at(b);
  for (int i = 0; i < QK; ++i) y[i] = d * static_cast<float>(q5_value(b + 2, b + 6, i) - 16);
}

void q5_1(const unsigned char* b, float* y) {
  const float d = f16_at(b), m = f16_at(b + 2);
  for (int i = 0; i < QK; ++i) {
    const float prod = d * static_cast<float>(q5_value(b + 4, b + 8, i));
    y[i] = prod + m;
  }
}

void q8_0(const unsigned char* b, float* y) {
  const float d = f16_at(b);
  for (int i = 0; i < QK; ++i) y[i] = static_cast<float>(static_cast<int8_t>(b[2 + i])) * d;
}

// Q2_K: scales[16] (low nibble scale, high nibble min), qs[64] (2-bit), f16 d, f16 dmin.
// Element i: sub-block i/16; 2 bits at shift 2*((i%128)/32) of qs[32*(i/128) + i%32].
void q2_k(const unsigned char* b, float* y) {
  const unsigned char* scales = b;
  const unsigned char* qs = b + 16;
  const float d = f16_at(b + 80), dmin = f16_at(b + 82);
  for (int i = 0; i < QK_K; ++i) {
    const int sb = i / 16;
    const float dl = d * static_cast<float>(scales[sb] & 0xF);
    const float ml = dmin * static_cast<float>(scales[sb] >> 4);
    const int q = (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    const float prod = dl * static_cast<float>(q);
    y[i] = prod - ml;
  }
}

// Q3_K: hmask[32], qs[64] (low 2 bits), scales[12] (sixteen 6-bit signed scales), f16 d.
// Element i: low bits as Q2_K; high bit (i/32) of hmask[i%32], which *subtracts* 4 when clear.
void q3_k(const unsigned char* b, float* y) {
  const unsigned char* hmask = b;
  const unsigned char* qs = b + 32;
  const unsigned char* packed = b + 96;
  const float d = f16_at(b + 108);
  float dl[16];
  for (int s = 0; s < 16; ++s) {
    const int low = (packed[s % 8] >> (4 * (s / 8))) & 0xF;
    const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
    dl[s] = d * static_cast<float>((low | (high << 4)) - 32);
  }
  for (int i = 0; i < QK_K; ++i) {
    const int low = (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    const int high_clear = ((hmask[i % 32] >> (i / 32)) & 1) ^ 1;
    y[i] = dl[i / 16] * static_cast<float>(low - (high_clear << 2));
  }
}

// The eight 6-bit (scale, min) pairs of Q4_K and Q5_K, packed in 12 bytes.
void k_scale_min(const unsigned char* s, int sb, int& scale, int& min) {
  if (sb < 4) {
    scale = s[sb] & 0x3F;
    min = s[sb + 4] & 0x3F;
  } else {
    scale = (s[sb + 4] & 0x0F) | ((s[sb - 4] >> 2) & 0x30);
    min = (s[sb + 4] >> 4) | ((s[sb] >> 2) & 0x30);
  }
}

// Q4_K: f16 d, f16 dmin, scales[12], qs[128]. Element i: sub-block i/32; the nibble at
// 4*(sub-block%2) of qs[32*(sub-block/2) + i%32].
void q4_k(const unsigned char* b, float* y) {
  const float d = f16_at(b), dmin = f16_at(b + 2);
  const unsigned char* qs = b + 16;
  for (int sb = 0; sb < 8; ++sb) {
    int sc, mn;
    k_scale_min(b + 4, sb, sc, mn);
    const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(mn);
    for (int j = 0; j < 32; ++j) {
      const int q = (qs[32 * (sb / 2) + j] >> (4 * (sb % 2))) & 0xF;
      const float prod = ds * static_cast<float>(q);
      y[32 * sb + j] = prod - dm;
    }
  }
}

// Q5_K: as Q4_K with qh[32] between scales and qs: bit sb of qh[j] is the fifth bit.
void q5_k(const unsigned char* b, float* y) {
  const float d = f16_at(b), dmin = f16_at(b + 2);
  const unsigned char* qh = b + 16;
  const unsigned char* qs = b + 48;
  for (int sb = 0; sb < 8; ++sb) {
    int sc, mn;
    k_scale_min(b + 4, sb, sc, mn);
    const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(mn);
    for (int j = 0; j < 32; ++j) {
      const int q = ((qs[32 * (sb / 2) + j] >> (4 * (sb % 2))) & 0xF) | (((qh[j] >> sb) & 1) << 4);
      const float prod = ds * static_cast<float>(q);
      y[32 * sb + j] = prod - dm;
    }
  }
}

// Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (i8), f16 d.
// Element i: half h = i/128; nibble 4*((i%128)/64) of ql[64h + i%64]; two bits at
// 2*((i%128)/32) of qh[32h + i%32]; value - 32, times d*scale[i/16].
void q6_k(const unsigned char* b, float* y) {
  const unsigned char* ql = b;
  const unsigned char* qh = b + 128;
  const unsigned char* scales = b + 192;
  const float d = f16_at(b + 208);
  for (int i = 0; i < QK_K; ++i) {
    const int h = i / 128, r = i % 128;
    const int low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0xF;
    const int high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
    const float ds = d * static_cast<float>(static_cast<int8_t>(scales[i / 16]));
    y[i] = ds * static_cast<float>((low | (high << 4)) - 32);
  }
}
}  // namespace

std::string ggml_type_name(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::f32: return "F32";
    case GgmlType::f16: return "F16";
    case GgmlType::bf16: return "BF16";
    case GgmlType::q4_0: return "Q4_0";
    case GgmlType::q4_1: return "Q4_1";
    case GgmlType::q5_0: return "Q5_0";
    case GgmlType::q5_1: return "Q5_1";
    case GgmlType::q8_0: return "Q8_0";
    case GgmlType::q2_k: return "Q2_K";
    case GgmlType::q3_k: return "Q3_K";
    case GgmlType::q4_k: return "Q4_K";
    case GgmlType::q5_k: return "Q5_K";
    case GgmlType::q6_k: return "Q6_K";
  }
  return "type " + std::to_string(type);
}

bool ggml_type_supported(uint32_t type) { return ggml_type_name(type).rfind("type ", 0) != 0; }

int64_t ggml_block_elements(GgmlType type) {
  switch (type) {
    case GgmlType::f32: case GgmlType::f16: case GgmlType::bf16: return 1;
    case GgmlType::q2_k: case GgmlType::q3_k: case GgmlType::q4_k: case GgmlType::q5_k: case GgmlType::q6_k:
      return QK_K;
    default: return QK;
  }
}

int64_t ggml_block_bytes(GgmlType type) {
  switch (type) {
    case GgmlType::f32: return 4;
    case GgmlType::f16: case GgmlType::bf16: return 2;
    case GgmlType::q4_0: return 18;
    case GgmlType::q4_1: return 20;
    case GgmlType::q5_0: return 22;
    case GgmlType::q5_1: return 24;
    case GgmlType::q8_0: return 34;
    case GgmlType::q2_k: return 84;
    case GgmlType::q3_k: return 110;
    case GgmlType::q4_k: return 144;
    case GgmlType::q5_k: return 176;
    case GgmlType::q6_k: return 210;
  }
  return 0;
}

void ggml_dequantize(GgmlType type, const unsigned char* src, float* dst, int64_t count) {
  const int64_t per_block = ggml_block_elements(type), block_bytes = ggml_block_bytes(type);
  if (count % per_block != 0)
    throw Error(std::to_string(count) + " elements are not a whole number of " + ggml_type_name(static_cast<uint32_t>(type)) +
                " blocks of " + std::to_string(per_block));
  switch (type) {
    case GgmlType::f32: std::memcpy(dst, src, static_cast<size_t>(count) * 4); return;
    case GgmlType::f16: convert_to_f32(DType::f16, src, dst, count); return;
    case GgmlType::bf16: convert_to_f32(DType::bf16, src, dst, count); return;
    default: break;
  }
  void (*block_fn)(const unsigned char*, float*) = nullptr;
  switch (type) {
    case GgmlType::q4_0: block_fn = q4_0; break;
    case GgmlType::q4_1: block_fn = q4_1; break;
    case GgmlType::q5_0: block_fn = q5_0; break;
    case GgmlType::q5_1: block_fn = q5_1; break;
    case GgmlType::q8_0: block_fn = q8_0; break;
    case GgmlType::q2_k: block_fn = q2_k; break;
    case GgmlType::q3_k: block_fn = q3_k; break;
    case GgmlType::q4_k: block_fn = q4_k; break;
    case GgmlType::q5_k: block_fn = q5_k; break;
    case GgmlType::q6_k: block_fn = q6_k; break;
    default: throw Error("cannot dequantize " + ggml_type_name(static_cast<uint32_t>(type)));
  }
  const int64_t blocks = count / per_block;
#pragma omp parallel for schedule(static) if (blocks > 4096)
  for (int64_t blk = 0; blk < blocks; ++blk) block_fn(src + blk * block_bytes, dst + blk * per_block);
}

void ggml_quantize_q8_0(const float* src, unsigned char* dst, int64_t count) {
  check(count % QK == 0, "Q8_0 needs a multiple of 32 elements");
  for (int64_t blk = 0; blk < count / QK; ++blk) {
    const float* x = src + blk * QK;
    unsigned char* out = dst + blk * 34;
    float amax = 0;
    for (int i = 0; i < QK; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    const uint16_t h = f32_to_f16(d);
    std::memcpy(out, &h, 2);
    for (int i = 0; i < QK; ++i) out[2 + i] = static_cast<unsigned char>(static_cast<int8_t>(std::round(x[i] * id)));
  }
}

}  // namespace sculpt
