// Deterministic RNG (xoshiro256**, seeded through splitmix64). Its whole state is four words,
// so training can save and restore it for bit-exact resume.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace sculpt {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next_u64();
  float uniform();                       // [0, 1) with 24 random bits
  double uniform_double();               // [0, 1) with 53 random bits
  float normal(float mean = 0.f, float stddev = 1.f);  // Box–Muller, no cached spare
  uint64_t below(uint64_t n);            // uniform integer in [0, n), unbiased

  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  std::array<uint64_t, 4> s_{};
};

// Fisher–Yates shuffle in place: every order equally likely, the same order for the same RNG state.
template <class T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace sculpt
