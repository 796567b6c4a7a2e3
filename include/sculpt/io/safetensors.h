// safetensors: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data.
// The reader memory-maps the file and validates everything before any tensor is touched.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sculpt/core/mapped_file.h"
#include "sculpt/core/tensor.h"
#include "sculpt/core/dtype.h"

namespace sculpt {

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws Error naming the file (and tensor)
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return index_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  std::vector<std::string> names() const;  // in file order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Converts to f32 (any float or integer dtype).
  Tensor read_f32(const std::string& name) const;
  // Integer tensors (I64/I32/...) as int64 values.
  std::vector<int64_t> read_i64(const std::string& name) const;
  // Raw bytes of one tensor inside the mapping.
  const unsigned char* raw(const std::string& name) const;

 private:
  std::string path_;
  MappedFile map_;
  const unsigned char* data_ = nullptr;  // start of the data section, inside map_
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: f32 values stored as `dtype` (F32, F16 or BF16).
struct TensorToWrite {
  std::string name;
  const Tensor* tensor;
  DType dtype = DType::f32;
};

// Writes a safetensors file atomically (temporary name, fsync, rename).
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// "2GB", "500MB", "100KB" (powers of 1000, as transformers reads them), "10KiB", "1GiB" (powers
// of 1024) or a plain byte count. Throws Error naming the text and `option` otherwise.
uint64_t parse_byte_size(const std::string& text, const std::string& option = "--max-shard-size");

// Writes `tensors` into `dir` as model.safetensors, or as model-0000i-of-0000n.safetensors plus
// model.safetensors.index.json when they exceed `max_shard_bytes`.
void write_checkpoint_shards(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                             uint64_t max_shard_bytes = 2ull << 30);

// All tensors of a checkpoint directory (single file or sharded with an index), or of one file.
class TensorStore {
 public:
  explicit TensorStore(const std::string& dir_or_file);
  bool has(const std::string& name) const { return where_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  Tensor read_f32(const std::string& name) const;
  const std::string& file_of(const std::string& name) const;
  std::vector<std::string> names() const;
  std::string description() const { return description_; }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;
  std::string description_;
};

}  // namespace sculpt
