// Byte-pair encoding of one pre-tokenized word: repeatedly merge the adjacent pair with the
// lowest merge rank (leftmost on ties), as Hugging Face's BPE model does, in O(n log n) with a
// heap over a linked list of symbols.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sculpt {

class BpeMerges {
 public:
  void add(int32_t left, int32_t right, int32_t merged, int32_t rank);
  size_t size() const { return table_.size(); }
  // Applies the merges to an initial symbol sequence (ids) in place.
  void apply(std::vector<int32_t>& symbols) const;

 private:
  struct Merge {
    int32_t rank, merged;
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  std::unordered_map<uint64_t, Merge> table_;
};

}  // namespace sculpt
