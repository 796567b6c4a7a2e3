#include "sculpt/data/text_corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/data/batching.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// `fields` is one name or a comma-separated list tried in order ("text,sentence").
std::string field_of(const json& record, const std::string& fields, const std::string& where) {
  check(record.is_object(), "record is not a JSON object", where, "each record must be an object");
  size_t start = 0;
  while (start <= fields.size()) {
    size_t end = fields.find(',', start);
    if (end == std::string::npos) end = fields.size();
    const std::string field = fields.substr(start, end - start);
    auto it = record.find(field);
    if (it != record.end()) {
      check(it->is_string(), "field \"" + field + "\" is not a string", where, "choose a text field with --text-field");
      return it->get<std::string>();
    }
    start = end + 1;
  }
  throw Error("record has no \"" + fields + "\" field", where, "choose the field with --text-field");
}

void add_document(TextCorpus& corpus, std::string text, const std::string& where) {
  check(utf8_valid(text), "text is not valid UTF-8", where, "convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)");
  if (text.empty()) return;
  corpus.documents.push_back({std::move(text), static_cast<int32_t>(corpus.sources.size() - 1)});
}

void read_file(TextCorpus& corpus, const fs::path& path, const std::string& field) {
  const std::string name = path.string();
  corpus.sources.push_back(name);
  const std::string ext = path.extension().string();
  if (ext == ".jsonl") {
    std::ifstream in(path, std::ios::binary);
    check(in.good(), "cannot open", name, "check the path and permissions");
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = name + ":" + std::to_string(number);
      json record = json::parse(line, nullptr, false);
      check(!record.is_discarded(), "invalid JSON", where, "each line must be one JSON object");
      add_document(corpus, field_of(record, field, where), where);
    }
  } else if (ext == ".json") {
    json records = json::parse(read_text_file(name), nullptr, false);
    check(!records.is_discarded(), "invalid JSON", name, "a .json corpus file must be one array of records");
    check(records.is_array(), "not a JSON array", name, "a .json corpus file must be one array of records");
    for (size_t i = 0; i < records.size(); ++i) {
      const std::string where = name + " record " + std::to_string(i);
      add_document(corpus, field_of(records[i], field, where), where);
    }
  } else {
    add_document(corpus, read_text_file(name), name);
  }
}

}  // namespace

TextCorpus read_text_corpus(const std::vector<std::string>& paths, const std::string& field) {
  TextCorpus corpus;
  for (const std::string& p : paths) {
    check(fs::exists(p), "no such file or directory", p, "check the path");
    if (fs::is_directory(p)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(p)) {
        const std::string ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".txt" || ext == ".jsonl" || ext == ".json")) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      check(!files.empty(), "directory holds no .txt, .jsonl or .json files", p, "point at the text files");
      for (const auto& f : files) read_file(corpus, f, field);
    } else {
      read_file(corpus, p, field);
    }
  }
  check(!corpus.documents.empty(), "no text in the corpus", paths.empty() ? "corpus" : paths.front(),
        "give files with non-empty text");
  return corpus;
}

std::vector<std::string> corpus_lines(const TextCorpus& corpus, int64_t max_lines, uint64_t seed) {
  std::vector<std::string> lines;
  for (const auto& doc : corpus.documents) {
    size_t start = 0;
    while (start <= doc.text.size()) {
      size_t end = doc.text.find('\n', start);
      if (end == std::string::npos) end = doc.text.size();
      std::string line = doc.text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
      start = end + 1;
    }
  }
  if (max_lines <= 0 || static_cast<int64_t>(lines.size()) <= max_lines) return lines;
  // A seeded subset in corpus order: the first max_lines indices of a shuffle, sorted.
  std::vector<int64_t> order = epoch_order(static_cast<int64_t>(lines.size()), seed, 0);
  order.resize(static_cast<size_t>(max_lines));
  std::sort(order.begin(), order.end());
  std::vector<std::string> kept;
  kept.reserve(order.size());
  for (int64_t i : order) kept.push_back(std::move(lines[static_cast<size_t>(i)]));
  return kept;
}

namespace {
// Cuts a token stream into sequences of context + 1 tokens sharing one token at each seam.
int64_t cut_sequences(const std::vector<int32_t>& stream, int64_t context, std::vector<Example>& out) {
  const int64_t n = static_cast<int64_t>(stream.size());
  int64_t start = 0, sequences = 0;
  for (; start + context + 1 <= n; start += context, ++sequences) {
    Example e;
    e.tokens.assign(stream.begin() + start, stream.begin() + start + context + 1);
    e.target.assign(e.tokens.size(), 1);
    e.target[0] = 0;  // the first token is only an input
    out.push_back(std::move(e));
  }
  const int64_t covered = sequences > 0 ? start + 1 : 0;  // stream[0..start] is in some sequence
  return n - covered;
}
}  // namespace

PackedCorpus pack_corpus(const TextCorpus& corpus, const Tokenizer& tokenizer, int64_t context,
                         double held_out_fraction, uint64_t seed) {
  check(context > 0, "context must be positive", "pack_corpus", "set --context");
  check(held_out_fraction >= 0 && held_out_fraction < 1, "held-out fraction outside [0, 1)", "--held-out-fraction",
        "choose e.g. 0.01");
  check(tokenizer.bos_id() >= 0 && tokenizer.eos_id() >= 0, "the tokenizer has no BOS or EOS token", "tokenizer",
        "use a tokenizer with <s> and </s> (sculpt tokenizer train writes one)");
  const int64_t count = static_cast<int64_t>(corpus.documents.size());
  std::vector<std::vector<int32_t>> ids(static_cast<size_t>(count));
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int32_t>& t = ids[static_cast<size_t>(i)];
    t.push_back(tokenizer.bos_id());
    const std::vector<int32_t> body = tokenizer.encode(corpus.documents[static_cast<size_t>(i)].text);
    t.insert(t.end(), body.begin(), body.end());
    t.push_back(tokenizer.eos_id());
  }
  PackedCorpus packed;
  packed.tokens_per_source.assign(corpus.sources.size(), 0);
  packed.documents_per_source.assign(corpus.sources.size(), 0);
  for (int64_t i = 0; i < count; ++i) {
    const auto s = static_cast<size_t>(corpus.documents[static_cast<size_t>(i)].source);
    packed.tokens_per_source[s] += static_cast<int64_t>(ids[static_cast<size_t>(i)].size());
    packed.documents_per_source[s] += 1;
  }
  // Documents in a seeded order; the first held_out_fraction of that order is held out, so the
  // held-out set is a random sample of documents from every source.
  const std::vector<int64_t> order = epoch_order(count, seed, 0);
  const auto held = static_cast<int64_t>(held_out_fraction * static_cast<double>(count));
  std::vector<int32_t> train_stream, held_stream;
  for (int64_t k = 0; k < count; ++k) {
    auto& doc = ids[static_cast<size_t>(order[static_cast<size_t>(k)])];
    if (k < held) packed.held_out_documents.push_back(order[static_cast<size_t>(k)]);
    auto& stream = k < held ? held_stream : train_stream;
    stream.insert(stream.end(), doc.begin(), doc.end());
    std::vector<int32_t>().swap(doc);
  }
  packed.dropped_tail_tokens = cut_sequences(train_stream, context, packed.train) +
                               cut_sequences(held_stream, context, packed.held_out);
  packed.train_tokens = static_cast<int64_t>(packed.train.size()) * context;
  packed.held_out_tokens = static_cast<int64_t>(packed.held_out.size()) * context;
  check(!packed.train.empty(), "the corpus is shorter than one sequence of " + std::to_string(context + 1) + " tokens",
        corpus.sources.front(), "add text or lower --context");
  return packed;
}

}  // namespace sculpt
