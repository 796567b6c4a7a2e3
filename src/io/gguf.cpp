#include "sculpt/io/gguf.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxArrayDepth = 8;        // real files nest at most 2 deep
constexpr uint64_t kMaxDims = 4;         // GGML_MAX_DIMS
const char* kCorrupt = "the file is truncated or corrupt; fetch it again (scripts/get-models.sh checks sha256)";

// A bounds-checked cursor over the mapped header.
class Cursor {
 public:
  Cursor(const unsigned char* data, uint64_t size, const std::string& path) : data_(data), size_(size), path_(path) {}
  uint64_t offset() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  [[noreturn]] void fail(const std::string& what, const std::string& hint = kCorrupt) const {
    throw Error(what + " at byte " + std::to_string(pos_), path_, hint);
  }
  void need(uint64_t bytes, const char* what) const {
    if (bytes > remaining())
      fail(std::string(what) + " needs " + std::to_string(bytes) + " bytes but the file ends " +
           std::to_string(remaining()) + " bytes later");
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  const unsigned char* data_;
  uint64_t size_, pos_ = 0;
  const std::string& path_;
};

// Fewest bytes one element of `type` can occupy: what an array's count is checked against.
uint64_t min_value_bytes(GgufValue::Type type) {
  using T = GgufValue::Type;
  switch (type) {
    case T::u8: case T::i8: case T::boolean: return 1;
    case T::u16: case T::i16: return 2;
    case T::u32: case T::i32: case T::f32: return 4;
    case T::u64: case T::i64: case T::f64: case T::string: return 8;
    case T::array: return 12;
  }
  return 1;
}

bool valid_value_type(uint32_t t) { return t <= 12; }

GgufValue read_value(Cursor& c, GgufValue::Type type, const std::string& key, int depth) {
  using T = GgufValue::Type;
  GgufValue v;
  v.type = type;
  switch (type) {
    case T::u8: v.u = c.read<uint8_t>("a u8 value"); break;
    case T::i8: v.i = c.read<int8_t>("an i8 value"); break;
    case T::u16: v.u = c.read<uint16_t>("a u16 value"); break;
    case T::i16: v.i = c.read<int16_t>("an i16 value"); break;
    case T::u32: v.u = c.read<uint32_t>("a u32 value"); break;
    case T::i32: v.i = c.read<int32_t>("an i32 value"); break;
    case T::u64: v.u = c.read<uint64_t>("a u64 value"); break;
    case T::i64: v.i = c.read<int64_t>("an i64 value"); break;
    case T::f32: v.f = c.read<float>("an f32 value"); break;
    case T::f64: v.f = c.read<double>("an f64 value"); break;
    case T::boolean: {
      const uint8_t b = c.read<uint8_t>("a bool value");
      if (b > 1) c.fail("key '" + key + "': bool value " + std::to_string(b) + " is neither 0 nor 1");
      v.u = b;
      break;
    }
    case T::string: v.s = c.string("a string value"); break;
    case T::array: {
      if (depth >= kMaxArrayDepth)
        c.fail("key '" + key + "': arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
      const uint32_t element = c.read<uint32_t>("an array's element type");
      if (!valid_value_type(element)) c.fail("key '" + key + "': unknown array element type " + std::to_string(element));
      v.element_type = static_cast<T>(element);
      const uint64_t count = c.read<uint64_t>("an array's length");
      if (count > c.remaining() / min_value_bytes(v.element_type))
        c.fail("key '" + key + "': array of " + std::to_string(count) + " " + gguf_value_type_name(v.element_type) +
               " values cannot fit in the " + std::to_string(c.remaining()) + " bytes left");
      v.array.reserve(static_cast<size_t>(count));
      for (uint64_t k = 0; k < count; ++k) v.array.push_back(read_value(c, v.element_type, key, depth + 1));
      break;
    }
  }
  return v;
}
}  // namespace

std::string gguf_value_type_name(GgufValue::Type type) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto t = static_cast<uint32_t>(type);
  return t <= 12 ? names[t] : "type " + std::to_string(t);
}

bool GgufValue::is_integer() const {
  using T = Type;
  return type == T::u8 || type == T::i8 || type == T::u16 || type == T::i16 || type == T::u32 || type == T::i32 ||
         type == T::u64 || type == T::i64;
}

int64_t GgufValue::as_int(const std::string& key) const {
  if (!is_integer()) throw Error("metadata '" + key + "' is a " + gguf_value_type_name(type) + ", not an integer");
  if (type == Type::u64 && u > static_cast<uint64_t>(INT64_MAX)) throw Error("metadata '" + key + "' is out of range");
  return (type == Type::u8 || type == Type::u16 || type == Type::u32 || type == Type::u64) ? static_cast<int64_t>(u) : i;
}

double GgufValue::as_number(const std::string& key) const {
  if (type == Type::f32 || type == Type::f64) return f;
  return static_cast<double>(as_int(key));
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (type != Type::string) throw Error("metadata '" + key + "' is a " + gguf_value_type_name(type) + ", not a string");
  return s;
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

Shape GgufTensorInfo::shape() const {
  Shape s;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) s.push_back(*it);
  return s;
}

bool is_gguf_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  uint32_t magic = 0;
  const bool ok = ::read(fd, &magic, 4) == 4 && magic == kMagic;
  ::close(fd);
  return ok;
}

GgufFile::GgufFile(const std::string& path) : path_(path), map_(path) {
  const unsigned char* bytes = map_.data();
  const size_t size = map_.size();
  if (size < 24) throw Error("file is too short to be GGUF (" + std::to_string(size) + " bytes)", path, kCorrupt);
  Cursor c(bytes, size, path_);
  const uint32_t magic = c.read<uint32_t>("the magic");
  if (magic != kMagic) throw Error("bad magic: not a GGUF file", path, "expected the bytes 'GGUF' at offset 0");
  version_ = c.read<uint32_t>("the version");
  if (version_ != 2 && version_ != 3) {
    const bool swapped = version_ == 0x02000000u || version_ == 0x03000000u;
    throw Error("unsupported GGUF version " + std::to_string(version_), path,
                swapped ? "this is a big-endian GGUF; sculpt reads little-endian files"
                        : "sculpt reads GGUF versions 2 and 3; re-convert the model with a current llama.cpp");
  }
  const uint64_t tensor_count = c.read<uint64_t>("the tensor count");
  const uint64_t kv_count = c.read<uint64_t>("the metadata count");
  // A key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor description
  // at least 8 + 4 + 8 + 4 + 8.
  if (kv_count > c.remaining() / 13) c.fail("metadata count " + std::to_string(kv_count) + " is absurd for a file this size");
  if (tensor_count > c.remaining() / 32) c.fail("tensor count " + std::to_string(tensor_count) + " is absurd for a file this size");

  for (uint64_t k = 0; k < kv_count; ++k) {
    const std::string key = c.string("a metadata key");
    const uint32_t type = c.read<uint32_t>("a metadata value type");
    if (!valid_value_type(type)) c.fail("key '" + key + "': unknown value type " + std::to_string(type));
    GgufValue v = read_value(c, static_cast<GgufValue::Type>(type), key, 0);
    if (!metadata_.emplace(key, std::move(v)).second) c.fail("duplicate metadata key '" + key + "'");
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufValue::Type::u32) throw Error("general.alignment is a " + gguf_value_type_name(a->type) + ", not a u32", path, kCorrupt);
    alignment_ = a->u;
    if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
      throw Error("general.alignment " + std::to_string(alignment_) + " is not a power of two", path, kCorrupt);
  }

  for (uint64_t t = 0; t < tensor_count; ++t) {
    GgufTensorInfo info;
    info.name = c.string("a tensor name");
    const uint32_t n_dims = c.read<uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > kMaxDims)
      c.fail("tensor '" + info.name + "' has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = c.read<uint64_t>("a tensor dimension");
      if (dim == 0 || dim > (uint64_t{1} << 40) || numel > (uint64_t{1} << 46) / dim)
        c.fail("tensor '" + info.name + "' has dimension " + std::to_string(dim) + ": the element count overflows or is zero");
      numel *= dim;
      info.dims.push_back(static_cast<int64_t>(dim));
    }
    const uint32_t type = c.read<uint32_t>("a tensor type");
    if (!ggml_type_supported(type))
      c.fail("tensor '" + info.name + "' has unsupported ggml type " + ggml_type_name(type),
             "sculpt reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K..Q6_K; re-quantize with llama-quantize");
    info.type = static_cast<GgmlType>(type);
    const uint64_t per_block = static_cast<uint64_t>(ggml_block_elements(info.type));
    if (static_cast<uint64_t>(info.dims[0]) % per_block != 0)
      c.fail("tensor '" + info.name + "': its first dimension " + std::to_string(info.dims[0]) +
             " is not a multiple of the " + ggml_type_name(type) + " block size " + std::to_string(per_block));
    info.bytes = numel / per_block * static_cast<uint64_t>(ggml_block_bytes(info.type));
    info.offset = c.read<uint64_t>("a tensor offset");
    if (info.offset % alignment_ != 0)
      c.fail("tensor '" + info.name + "' offset " + std::to_string(info.offset) + " is not a multiple of the alignment " +
             std::to_string(alignment_));
    if (!index_.emplace(info.name, tensors_.size()).second) c.fail("duplicate tensor name '" + info.name + "'");
    tensors_.push_back(std::move(info));
  }
  const uint64_t data_start = (c.offset() + alignment_ - 1) / alignment_ * alignment_;
  if (data_start > size && !tensors_.empty()) c.fail("the data section starts past the end of the file");
  data_ = bytes + std::min<uint64_t>(data_start, size);
  const uint64_t data_size = size - std::min<uint64_t>(data_start, size);
  for (const auto& t : tensors_)
    if (t.offset > data_size || t.bytes > data_size - t.offset)
      throw Error("tensor '" + t.name + "' (" + std::to_string(t.bytes) + " bytes at data offset " + std::to_string(t.offset) +
                      ") runs past the end of the file (data section " + std::to_string(data_size) + " bytes)",
                  path, kCorrupt);
}

GgufFile::~GgufFile() = default;

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufValue& GgufFile::at(const std::string& key) const {
  if (const GgufValue* v = find(key)) return *v;
  throw Error("metadata key '" + key + "' is missing", path_, "the GGUF was not written by a llama.cpp converter, or is for another architecture");
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::read_f32(const GgufTensorInfo& info) const {
  Tensor out = Tensor::zeros(info.shape());
  ggml_dequantize(info.type, data(info), out.data(), info.numel());
  return out;
}

}  // namespace sculpt
