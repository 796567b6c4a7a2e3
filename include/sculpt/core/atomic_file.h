// Atomic writes: data goes to a temporary name in the same directory, is flushed to disk, and is
// renamed over the target only when complete. A crash leaves either the old file or the new one.
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace sculpt {

// Calls `write` with a stream on a temporary file, then fsyncs and renames it to `path`.
// On any failure the temporary file is removed and an Error names `path`.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_text_atomic(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);

}  // namespace sculpt
