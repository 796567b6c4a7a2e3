// A whole regular file mapped read-only into memory (the model readers' view of safetensors and
// GGUF files), unmapped when the object goes. Errors name the file.
#pragma once
#include <cstddef>
#include <string>

namespace sculpt {

class MappedFile {
 public:
  // Throws Error naming `path` when it cannot be opened, is not a regular file, or cannot be mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  unsigned char* data_ = nullptr;  // null for an empty file (nothing to map)
  size_t size_ = 0;
};

}  // namespace sculpt
