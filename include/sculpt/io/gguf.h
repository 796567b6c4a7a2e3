// GGUF, llama.cpp's model file (versions 2 and 3): the magic "GGUF", a version, a table of typed
// metadata (key -> value, values may be arrays of arrays), a table of tensor descriptions
// (name, dims with the fastest-varying first, ggml type, offset), padding to `general.alignment`
// (default 32), then the tensor data. The reader memory-maps the file and validates every count,
// length, offset and size against the file before anything is used; each problem is an Error
// naming the file, the byte offset or the key/tensor, and a hint.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sculpt/core/mapped_file.h"
#include "sculpt/core/tensor.h"

namespace sculpt {

// ggml's tensor types (the numbering is the file format's).
enum class GgmlType : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q2_k = 10, q3_k = 11, q4_k = 12,
  q5_k = 13, q6_k = 14, bf16 = 30,
};
// "Q4_K", ...; the numeric id for a type sculpt does not know.
std::string ggml_type_name(uint32_t type);
bool ggml_type_supported(uint32_t type);
int64_t ggml_block_elements(GgmlType type);  // elements per block: 1, 32 or 256
int64_t ggml_block_bytes(GgmlType type);     // bytes per block

// Dequantizes `count` elements (a multiple of the block size) of `type` at `src` to f32, with the
// same float operations in the same order as gguf-py's gguf.quants.dequantize, so the result is
// bit-identical to it.
void ggml_dequantize(GgmlType type, const unsigned char* src, float* dst, int64_t count);
// Quantizes f32 to Q8_0 as ggml's reference quantize_row_q8_0 does (round half away from zero).
void ggml_quantize_q8_0(const float* src, unsigned char* dst, int64_t count);

// A metadata value. Scalars live in the field of their kind; arrays hold their elements.
struct GgufValue {
  enum class Type : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
    u64 = 10, i64 = 11, f64 = 12,
  };
  Type type = Type::u8;
  uint64_t u = 0;   // unsigned integers and bool
  int64_t i = 0;    // signed integers
  double f = 0;     // f32, f64
  std::string s;    // string
  Type element_type = Type::u8;   // array
  std::vector<GgufValue> array;

  bool is_integer() const;
  // The value as an integer / number / string; throws Error naming `key` when it is not one.
  int64_t as_int(const std::string& key) const;
  double as_number(const std::string& key) const;
  const std::string& as_string(const std::string& key) const;
};
std::string gguf_value_type_name(GgufValue::Type type);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // as the file stores them: dims[0] varies fastest
  GgmlType type = GgmlType::f32;
  uint64_t offset = 0;        // from the start of the data section
  uint64_t bytes = 0;
  int64_t numel() const;
  // Row-major shape as transformers and sculpt write it: the dims reversed.
  Shape shape() const;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws Error naming the file
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  const GgufValue& at(const std::string& key) const;  // Error naming the key when absent
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // Bytes of one tensor inside the mapping.
  const unsigned char* data(const GgufTensorInfo& info) const { return data_ + info.offset; }
  // The tensor dequantized to f32, shaped as info.shape().
  Tensor read_f32(const GgufTensorInfo& info) const;

 private:
  std::string path_;
  MappedFile map_;
  const unsigned char* data_ = nullptr;  // start of the data section, inside map_
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> index_;
};

bool is_gguf_file(const std::string& path);  // by the magic bytes

}  // namespace sculpt
