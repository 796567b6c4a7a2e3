// Generation speed of a real model: greedy decoding of one prompt with the KV cache, as
// `sculpt generate` runs it (sculpt::generate, batch 1, no stop token), timed end to end. Prints
// one JSON line. The prompt's ids are fixed (i·7919 + 13 mod vocab), the same in the PyTorch twin
// (bench/torch_generate.py), so both decode the same tokens' worth of work.
//   bench_generate --model PATH [--prompt-tokens 64] [--new-tokens 128] [--repeats 5]
// Output: {"prefill_ms" (the prompt and the first new token: max_new_tokens = 1), "total_ms" (all
// new tokens), "decode_tok_s" ((new - 1) / (total - prefill)), "new_tok_s" (new / total), each the
// median over --repeats after one warm-up, "peak_rss_kib"}.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sculpt/core/threads.h"
#include "sculpt/model/generate.h"
#include "sculpt/model/llama.h"

namespace {

struct Args {
  std::string model;
  int64_t prompt_tokens = 64, new_tokens = 128;
  int repeats = 5;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--model") a.model = v;
    else if (flag == "--prompt-tokens") a.prompt_tokens = std::atoll(v);
    else if (flag == "--new-tokens") a.new_tokens = std::atoll(v);
    else if (flag == "--repeats") a.repeats = std::atoi(v);
    else {
      std::fprintf(stderr, "bench_generate: unknown option %s\n", flag.c_str());
      std::exit(2);
    }
  }
  if (a.model.empty() || argc % 2 == 0 || a.new_tokens < 2 || a.repeats < 1) {
    std::fprintf(stderr, "usage: bench_generate --model PATH [--prompt-tokens N] [--new-tokens N>=2] [--repeats N]\n");
    std::exit(2);
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const sculpt::LlamaModel model = sculpt::load_model(a.model);
  const int64_t vocab = model.config().vocab_size;
  std::vector<std::vector<int32_t>> prompt(1);
  for (int64_t i = 0; i < a.prompt_tokens; ++i) prompt[0].push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));
  // Milliseconds to generate `n` new tokens (greedy, no stop token: always exactly n).
  auto time_generate = [&](int64_t n) {
    sculpt::GenerationOptions o;
    o.max_new_tokens = n;
    auto t0 = std::chrono::steady_clock::now();
    const auto out = sculpt::generate(model, prompt, o);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (static_cast<int64_t>(out[0].size()) != n) {
      std::fprintf(stderr, "bench_generate: %zu tokens generated, %lld asked\n", out[0].size(), static_cast<long long>(n));
      std::exit(1);
    }
    return ms;
  };
  time_generate(a.new_tokens);  // warm-up: buffers, OpenBLAS threads
  std::vector<double> prefill, total;
  for (int r = 0; r < a.repeats; ++r) {
    prefill.push_back(time_generate(1));
    total.push_back(time_generate(a.new_tokens));
  }
  const double p = median(prefill), t = median(total);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("{\"prefill_ms\": %.2f, \"total_ms\": %.2f, \"decode_tok_s\": %.1f, \"new_tok_s\": %.1f, "
              "\"prompt_tokens\": %lld, \"new_tokens\": %lld, \"threads\": %d, \"peak_rss_kib\": %ld}\n",
              p, t, static_cast<double>(a.new_tokens - 1) / (t - p) * 1000.0,
              static_cast<double>(a.new_tokens) / t * 1000.0, static_cast<long long>(a.prompt_tokens),
              static_cast<long long>(a.new_tokens), sculpt::num_threads(), usage.ru_maxrss);
  return 0;
}
