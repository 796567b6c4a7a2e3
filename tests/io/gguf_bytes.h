// A GGUF file built byte by byte, for tests of the reader and of the models read from it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sculpt::testing {

// Little-endian GGUF bytes, written field by field.
struct GgufBytes {
  std::string b;
  template <typename T>
  GgufBytes& put(T v) {
    b.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  GgufBytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    b += s;
    return *this;
  }
  GgufBytes& header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    return put<uint32_t>(0x46554747).put(version).put(tensors).put(kvs);
  }
  GgufBytes& kv_u32(const std::string& key, uint32_t v) { return str(key).put<uint32_t>(4).put(v); }
  GgufBytes& kv_string(const std::string& key, const std::string& v) { return str(key).put<uint32_t>(8).str(v); }
  // A tensor description: name, dims (fastest first), ggml type, offset in the data section.
  GgufBytes& tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(d);
    return put(type).put(offset);
  }
  GgufBytes& pad(size_t alignment) {
    b.append((alignment - b.size() % alignment) % alignment, '\0');
    return *this;
  }
};

}  // namespace sculpt::testing
