#include "sculpt/io/safetensors.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // safetensors' own limit is 100 MB

TensorInfo parse_entry(const std::string& path, const std::string& name, const json& entry, uint64_t data_size) {
  auto fail = [&](const std::string& what, const std::string& hint = "the file is corrupt or not safetensors") {
    throw Error(what, path + ": tensor '" + name + "'", hint);
  };
  if (!entry.is_object()) fail("header entry is not an object");
  if (!entry.contains("dtype") || !entry["dtype"].is_string()) fail("missing dtype");
  if (!entry.contains("shape") || !entry["shape"].is_array()) fail("missing shape");
  if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() || entry["data_offsets"].size() != 2)
    fail("missing data_offsets [begin, end]");
  TensorInfo info;
  info.name = name;
  auto dtype = dtype_from_name(entry["dtype"].get<std::string>());
  if (!dtype) fail("unknown dtype '" + entry["dtype"].get<std::string>() + "'",
                   "supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL");
  info.dtype = *dtype;
  uint64_t numel = 1;
  for (const auto& d : entry["shape"]) {
    if (!d.is_number_unsigned()) fail("shape has a negative or non-integer dimension");
    if (info.shape.size() == Shape::kMaxRank) fail("shape has more than 6 dimensions");
    uint64_t v = d.get<uint64_t>();
    if (v != 0 && numel > (uint64_t{1} << 62) / v) fail("shape is absurdly large");
    numel *= v;
    info.shape.push_back(static_cast<int64_t>(v));
  }
  for (const auto& o : entry["data_offsets"])
    if (!o.is_number_unsigned()) fail("data_offsets must be non-negative integers");
  info.begin = entry["data_offsets"][0].get<uint64_t>();
  info.end = entry["data_offsets"][1].get<uint64_t>();
  if (info.end < info.begin) fail("data_offsets end before they begin");
  if (info.end > data_size)
    fail("data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
             "] run past the end of the data (" + std::to_string(data_size) + " bytes)",
         "the file is truncated or corrupt");
  if (info.end - info.begin != numel * dtype_size(info.dtype))
    fail("byte size " + std::to_string(info.end - info.begin) + " does not match shape " +
         shape_to_string(info.shape) + " of " + dtype_name(info.dtype));
  return info;
}
}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path), map_(path) {
  const unsigned char* bytes = map_.data();
  const size_t size = map_.size();
  if (size < 8)
    throw Error("file is too short to be safetensors (" + std::to_string(size) + " bytes)", path,
                "the file is truncated");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian
  if (header_len > kMaxHeaderBytes)
    throw Error("header length " + std::to_string(header_len) + " is absurd (limit 100 MB)", path,
                "the file is corrupt or not safetensors");
  if (header_len > size - 8)
    throw Error("header length " + std::to_string(header_len) + " runs past the end of the file (" +
                    std::to_string(size) + " bytes)",
                path, "the file is truncated");
  const char* header_begin = reinterpret_cast<const char*>(bytes + 8);
  json header = json::parse(header_begin, header_begin + header_len, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    throw Error("header is not a JSON object", path, "the file is corrupt or not safetensors");
  data_ = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it.value().is_object())
        for (auto m = it.value().begin(); m != it.value().end(); ++m)
          if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
      continue;
    }
    tensors_.push_back(parse_entry(path, it.key(), it.value(), data_size));
  }
  // No two tensors may share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  const TensorInfo* furthest = nullptr;  // the tensor reaching furthest so far
  for (const TensorInfo* t : by_offset) {
    if (t->end == t->begin) continue;  // empty tensors own no bytes
    if (furthest && t->begin < furthest->end)
      throw Error("tensors '" + furthest->name + "' and '" + t->name + "' overlap", path, "the file is corrupt");
    if (!furthest || t->end > furthest->end) furthest = t;
  }
  std::sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

SafetensorsFile::~SafetensorsFile() = default;

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error("tensor '" + name + "' not found", path_, "is this checkpoint for this model?");
  return tensors_[it->second];
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

const unsigned char* SafetensorsFile::raw(const std::string& name) const { return data_ + info(name).begin; }

Tensor SafetensorsFile::read_f32(const std::string& name) const {
  const TensorInfo& t = info(name);
  Tensor out = Tensor::zeros(t.shape);
  convert_to_f32(t.dtype, data_ + t.begin, out.data(), out.numel());
  return out;
}

std::vector<int64_t> SafetensorsFile::read_i64(const std::string& name) const {
  const TensorInfo& t = info(name);
  check(!dtype_is_float(t.dtype), "expected an integer tensor, found " + dtype_name(t.dtype),
        path_ + ": tensor '" + name + "'");
  std::vector<int64_t> out(static_cast<size_t>(shape_numel(t.shape)));
  const unsigned char* src = data_ + t.begin;
  const int size = dtype_size(t.dtype);
  for (size_t i = 0; i < out.size(); ++i) {
    switch (t.dtype) {
      case DType::i64: { int64_t v; std::memcpy(&v, src + i * size, 8); out[i] = v; break; }
      case DType::i32: { int32_t v; std::memcpy(&v, src + i * size, 4); out[i] = v; break; }
      case DType::i16: { int16_t v; std::memcpy(&v, src + i * size, 2); out[i] = v; break; }
      case DType::i8: out[i] = static_cast<int8_t>(src[i]); break;
      default: out[i] = src[i]; break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- writing

namespace {
// Streams the tensor in its stored dtype through a 1 MiB buffer: writing a checkpoint holds no
// copy of a whole tensor (the memory plan counts none).
void write_tensor_bytes(std::ostream& out, const TensorToWrite& t) {
  const int64_t n = t.tensor->numel();
  const float* src = t.tensor->data();
  switch (t.dtype) {
    case DType::f32: out.write(reinterpret_cast<const char*>(src), static_cast<std::streamsize>(n * 4)); return;
    case DType::bf16:
    case DType::f16: {
      constexpr int64_t kChunk = 1 << 19;  // halves per write
      std::vector<uint16_t> half(static_cast<size_t>(std::min(n, kChunk)));
      for (int64_t start = 0; start < n; start += kChunk) {
        const int64_t count = std::min(kChunk, n - start);
        for (int64_t i = 0; i < count; ++i)
          half[static_cast<size_t>(i)] = t.dtype == DType::bf16 ? f32_to_bf16(src[start + i]) : f32_to_f16(src[start + i]);
        out.write(reinterpret_cast<const char*>(half.data()), static_cast<std::streamsize>(count * 2));
      }
      return;
    }
    default: throw Error("cannot write dtype " + dtype_name(t.dtype), "tensor '" + t.name + "'",
                         "use F32, F16 or BF16");
  }
}

uint64_t stored_bytes(const TensorToWrite& t) { return static_cast<uint64_t>(t.tensor->numel()) * dtype_size(t.dtype); }
}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    check(!header.contains(t.name), "duplicate tensor name '" + t.name + "'", path);
    uint64_t size = stored_bytes(t);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.tensor->shape().to_vector()}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data section to 8 bytes
  write_file_atomic(path, [&](std::ostream& out) {
    uint64_t len = text.size();
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>((len >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(le), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : tensors) write_tensor_bytes(out, t);
  });
}

uint64_t parse_byte_size(const std::string& text, const std::string& option) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  static const std::map<std::string, uint64_t> units = {
      {"", 1},           {"B", 1},           {"KB", 1000ull},    {"MB", 1000000ull}, {"GB", 1000000000ull},
      {"KIB", 1ull << 10}, {"MIB", 1ull << 20}, {"GIB", 1ull << 30}};
  const auto u = units.find(unit);
  if (digits == 0 || digits > 12 || u == units.end())
    throw Error("not a size: '" + text + "'", option, "write a byte count with a unit: 500MB, 2GB, 10KiB");
  const uint64_t count = std::stoull(text.substr(0, digits));
  if (count > (uint64_t{1} << 62) / u->second)
    throw Error("size is beyond 4 EiB: '" + text + "'", option, "write a byte count with a unit: 500MB, 2GB, 10KiB");
  const uint64_t n = count * u->second;
  if (n == 0) throw Error("size must be positive: '" + text + "'", option);
  return n;
}

void write_checkpoint_shards(const std::string& dir, const std::vector<TensorToWrite>& tensors,
                             uint64_t max_shard_bytes) {
  std::vector<std::vector<TensorToWrite>> shards(1);
  uint64_t in_shard = 0, total = 0;
  for (const auto& t : tensors) {
    uint64_t size = stored_bytes(t);
    if (in_shard > 0 && in_shard + size > max_shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(t);
    in_shard += size;
    total += size;
  }
  if (shards.size() == 1) {
    write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
    return;
  }
  json weight_map = json::object();
  char name[64];
  for (size_t i = 0; i < shards.size(); ++i) {
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_safetensors((fs::path(dir) / name).string(), shards[i], {{"format", "pt"}});
    for (const auto& t : shards[i]) weight_map[t.name] = name;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_text_atomic((fs::path(dir) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
}

// ---------------------------------------------------------------- stores

TensorStore::TensorStore(const std::string& dir_or_file) {
  fs::path p(dir_or_file);
  std::vector<std::string> files;
  if (fs::is_directory(p)) {
    fs::path index = p / "model.safetensors.index.json";
    if (fs::exists(index)) {
      json j = json::parse(read_text_file(confined_path(p.string(), index.filename().string(), dir_or_file)), nullptr, false);
      if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object())
        throw Error("index has no weight_map object", index.string(), "the index file is corrupt");
      std::vector<std::string> seen;
      for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        if (!it.value().is_string())
          throw Error("weight_map entry of '" + it.key() + "' is not a file name", index.string(), "the index file is corrupt");
        std::string f = it.value().get<std::string>();
        if (std::find(seen.begin(), seen.end(), f) == seen.end()) seen.push_back(f);
      }
      for (const auto& f : seen) files.push_back(confined_path(p.string(), f, index.string()));
      description_ = index.string();
    } else if (fs::exists(p / "model.safetensors")) {
      files.push_back(confined_path(p.string(), "model.safetensors", dir_or_file));
      description_ = files.back();
    } else {
      throw Error("no model.safetensors or model.safetensors.index.json", dir_or_file,
                  "point --model at a Hugging Face model directory or a llama2.c .bin file");
    }
  } else {
    files.push_back(dir_or_file);
    description_ = dir_or_file;
  }
  for (const auto& f : files) {
    files_.push_back(std::make_unique<SafetensorsFile>(f));
    for (const auto& name : files_.back()->names()) {
      check(where_.count(name) == 0, "tensor '" + name + "' appears in two shards", f);
      where_[name] = files_.size() - 1;
    }
  }
}

const TensorInfo& TensorStore::info(const std::string& name) const { return files_.at(where_.at(name))->info(name); }

Tensor TensorStore::read_f32(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end())
    throw Error("tensor '" + name + "' is missing", description_, "is this checkpoint for the model in config.json?");
  return files_[it->second]->read_f32(name);
}

const std::string& TensorStore::file_of(const std::string& name) const { return files_.at(where_.at(name))->path(); }

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : where_) out.push_back(name);
  return out;
}

}  // namespace sculpt
