// UTF-8 helpers shared by the tokenizers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sculpt {

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for invalid lead bytes).
int utf8_sequence_length(unsigned char lead);
// Splits into code-point strings; invalid bytes become one-byte pieces.
std::vector<std::string> utf8_chars(const std::string& text);
bool utf8_valid(const std::string& text);
// Replaces each maximal subpart of an ill-formed sequence with one U+FFFD, as Rust's
// String::from_utf8_lossy (Hugging Face tokenizers' decoders) and Python's errors="replace" do.
std::string utf8_lossy(const std::string& bytes);
std::string utf8_encode(uint32_t code_point);
// Decodes a valid UTF-8 string into code points.
std::vector<uint32_t> utf8_code_points(const std::string& text);

}  // namespace sculpt
