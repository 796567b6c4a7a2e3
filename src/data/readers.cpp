#include "sculpt/data/readers.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

DataFormat data_format_from_name(const std::string& name) {
  if (name == "auto") return DataFormat::auto_detect;
  if (name == "jsonl" || name == "prompt-completion") return DataFormat::prompt_completion;
  if (name == "chat") return DataFormat::chat;
  if (name == "cl-benchmark") return DataFormat::cl_benchmark;
  throw Error("unknown data format '" + name + "'", "--data-format", "choose auto, jsonl, chat or cl-benchmark");
}

ChatTemplate chat_template_from_name(const std::string& name) {
  if (name == "auto") return ChatTemplate::auto_detect;
  if (name == "llama-2") return ChatTemplate::llama2;
  if (name == "llama-3") return ChatTemplate::llama3;
  if (name == "chatml") return ChatTemplate::chatml;
  if (name == "plain") return ChatTemplate::plain;
  throw Error("unknown chat template '" + name + "'", "--chat-template", "choose auto, llama-2, llama-3, chatml or plain");
}

ChatTemplate chat_template_for_model(const std::string& model_path) {
  if (model_path.empty()) return ChatTemplate::plain;  // no model named: never a file of the working directory
  const fs::path cfg = confined_path(model_path, "tokenizer_config.json", model_path);
  if (!fs::is_regular_file(cfg)) return ChatTemplate::plain;
  json j = json::parse(read_text_file(cfg.string()), nullptr, false);
  if (j.is_discarded() || !j.contains("chat_template") || !j["chat_template"].is_string()) return ChatTemplate::plain;
  const std::string t = j["chat_template"].get<std::string>();
  if (t.find("<|start_header_id|>") != std::string::npos) return ChatTemplate::llama3;
  if (t.find("<|im_start|>") != std::string::npos) return ChatTemplate::chatml;
  if (t.find("[INST]") != std::string::npos) return ChatTemplate::llama2;
  return ChatTemplate::plain;
}

namespace {

// Python's str.strip() / Jinja's |trim on the ASCII whitespace that templates meet.
std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  const size_t b = s.find_first_not_of(ws);
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Every segment of the conversation, trailing non-target ones included.
std::vector<Segment> render_all(const std::vector<ChatMessage>& messages, ChatTemplate tmpl, const Tokenizer& tok) {
  std::vector<Segment> out;
  auto text = [&](const std::string& s, bool target = false) { out.push_back({s, {}, target}); };
  auto eos = [&](bool target) {
    if (tok.eos_id() >= 0) out.push_back({"", {tok.eos_id()}, target});
  };
  switch (tmpl) {
    case ChatTemplate::llama3:
      if (tok.bos_id() >= 0) out.push_back({"", {tok.bos_id()}, false});  // the template writes bos_token
      for (const auto& m : messages) {
        text("<|start_header_id|>" + m.role + "<|end_header_id|>\n\n");
        const bool a = m.role == "assistant";
        text(trim(m.content) + "<|eot_id|>", a);  // the Llama 3 template trims every message
      }
      break;
    case ChatTemplate::chatml:
      for (const auto& m : messages) {
        text("<|im_start|>" + m.role + "\n");
        const bool a = m.role == "assistant";
        text(m.content + "<|im_end|>", a);
        text("\n");
      }
      break;
    case ChatTemplate::llama2: {
      std::string system;
      bool first_user = true;
      for (const auto& m : messages) {
        if (m.role == "system") {
          system = m.content;
        } else if (m.role == "user") {
          std::string body = m.content;
          if (first_user && !system.empty()) body = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + body;
          if (!first_user && tok.bos_id() >= 0) out.push_back({"", {tok.bos_id()}, false});
          text("[INST] " + body + " [/INST]");
          first_user = false;
        } else {
          text(" " + m.content, true);
          eos(true);
        }
      }
      break;
    }
    default:  // plain
      for (const auto& m : messages) {
        if (m.role == "assistant") {
          text("assistant:");
          text(" " + m.content, true);
          eos(true);
          text("\n");
        } else {
          text(m.role + ": " + m.content + "\n");
        }
      }
  }
  return out;
}

// What a template adds after the conversation to cue the assistant's reply.
std::string generation_prompt(ChatTemplate tmpl) {
  switch (tmpl) {
    case ChatTemplate::llama3: return "<|start_header_id|>assistant<|end_header_id|>\n\n";
    case ChatTemplate::chatml: return "<|im_start|>assistant\n";
    case ChatTemplate::llama2: return "";
    default: return "assistant:";
  }
}

}  // namespace

std::vector<Segment> render_chat(const std::vector<ChatMessage>& messages, ChatTemplate tmpl, const Tokenizer& tok) {
  std::vector<Segment> out = render_all(messages, tmpl, tok);
  // Trailing non-target segments (a final newline) carry no loss; drop them.
  while (!out.empty() && !out.back().target) out.pop_back();
  return out;
}

std::vector<Segment> render_chat(const std::vector<ChatMessage>& messages, const JinjaTemplate& tmpl,
                                 const Tokenizer& tok, const std::string& where) {
  auto render = [&](size_t n, bool cue) {
    return render_chat_template(tmpl, std::vector<ChatMessage>(messages.begin(), messages.begin() + n), tok, cue);
  };
  const std::string full = render(messages.size(), false);
  const std::vector<int32_t> ids = tok.encode(full);
  // The number of tokens of full[0, offset), checked to be a prefix of the whole text's tokens.
  auto tokens_before = [&](size_t offset) {
    const std::vector<int32_t> head = tok.encode(full.substr(0, offset));
    if (head.size() > ids.size() || !std::equal(head.begin(), head.end(), ids.begin()))
      throw Error("an assistant turn of the chat template does not start or end on a token boundary", where,
                  "its tokens cannot be marked exactly; pass a built-in template with --chat-template");
    return head.size();
  };
  std::vector<Segment> out;
  size_t done_chars = 0, done_tokens = 0;
  auto push = [&](size_t end_chars, bool target) {
    const size_t end_tokens = end_chars == full.size() ? ids.size() : tokens_before(end_chars);
    if (end_tokens > done_tokens)
      out.push_back({full.substr(done_chars, end_chars - done_chars),
                     std::vector<int32_t>(ids.begin() + static_cast<int64_t>(done_tokens), ids.begin() + static_cast<int64_t>(end_tokens)),
                     target});
    done_chars = end_chars;
    done_tokens = end_tokens;
  };
  auto is_prefix = [](const std::string& a, const std::string& b) { return b.compare(0, a.size(), a) == 0; };
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role != "assistant") continue;
    const std::string before = render(i, true), through = render(i + 1, false);
    if (!is_prefix(before, through) || !is_prefix(through, full) || before.size() < done_chars)
      throw Error("the chat template does not render the conversation before an assistant turn as a prefix of the "
                  "conversation through it", where,
                  "its assistant tokens cannot be marked; pass a built-in template with --chat-template");
    size_t end = through.size();
    while (end > before.size() && std::isspace(static_cast<unsigned char>(through[end - 1]))) --end;
    push(before.size(), false);
    push(end, true);
  }
  push(full.size(), false);
  while (!out.empty() && !out.back().target) out.pop_back();  // trailing text carries no loss
  return out;
}

std::vector<int32_t> chat_prompt_ids(const std::vector<ChatMessage>& messages, ChatTemplate tmpl, const Tokenizer& tok,
                                     bool add_generation_prompt) {
  check(tmpl != ChatTemplate::auto_detect, "chat_prompt_ids needs a resolved template");
  std::vector<int32_t> ids;  // apply_chat_template adds no special tokens beyond the template's own
  for (const Segment& s : render_all(messages, tmpl, tok)) {
    const std::vector<int32_t> part = s.ids.empty() ? tok.encode(s.text) : s.ids;
    ids.insert(ids.end(), part.begin(), part.end());
  }
  if (add_generation_prompt) {
    const auto cue = tok.encode(generation_prompt(tmpl));
    ids.insert(ids.end(), cue.begin(), cue.end());
  }
  return ids;
}

std::string cl_benchmark_prompt(const std::string& instruction, const std::vector<std::string>& labels,
                                const std::string& sentence) {
  std::string options;
  for (size_t i = 0; i < labels.size(); ++i) options += (i ? ", " : "") + labels[i];
  return instruction + "Option: " + options + " \n" + sentence + "\nAnswer:";
}

namespace {

std::string where_of(const std::string& path, int64_t line) { return path + ":" + std::to_string(line); }

const std::string& string_field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    throw Error(std::string("missing field '") + key + "'", where, "each record needs \"prompt\" and \"completion\"");
  if (!j[key].is_string()) throw Error(std::string("field '") + key + "' is not a string", where);
  return j[key].get_ref<const std::string&>();
}

// Calls `record(json, where)` for every non-blank JSONL line.
template <typename F>
void for_each_jsonl(const std::string& path, bool skip_bad, DatasetStats& stats, F&& record) {
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "cannot open data file", path);
  std::string line;
  int64_t number = 0, records = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    ++records;
    const std::string where = where_of(path, number);
    try {
      if (!utf8_valid(line)) throw Error("not valid UTF-8", where, "convert the file to UTF-8");
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) throw Error("invalid JSON", where, "each line must be one JSON object");
      record(j, where);
    } catch (const Error& e) {
      if (!skip_bad) throw;
      ++stats.skipped;
    }
  }
  check(records > 0, "no records", path, "the file is empty");
}

Dataset read_prompt_completion(const std::string& path, const Tokenizer& tok, const ReaderOptions& o) {
  Dataset d{path, {}, {}};
  for_each_jsonl(path, o.skip_bad_records, d.stats, [&](const json& j, const std::string& where) {
    const std::string& prompt = string_field(j, "prompt", where);
    const std::string& completion = string_field(j, "completion", where);
    check(!completion.empty(), "empty completion", where, "nothing to learn from this record");
    d.examples.push_back(build_example(tok, {{prompt, {}, false}, {completion, {}, true}}, o.example, where, d.stats));
  });
  return d;
}

Dataset read_chat(const std::string& path, const Tokenizer& tok, const ReaderOptions& o) {
  ChatTemplate tmpl = o.chat_template;
  // A model that carries a template is trained with it unless a built-in one is named.
  const std::optional<JinjaTemplate> own =
      tmpl == ChatTemplate::auto_detect && !o.model_path.empty() ? model_chat_template(o.model_path) : std::nullopt;
  if (tmpl == ChatTemplate::auto_detect) tmpl = chat_template_for_model(o.model_path);
  Dataset d{path, {}, {}};
  for_each_jsonl(path, o.skip_bad_records, d.stats, [&](const json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
      throw Error("missing field 'messages'", where, "each record needs \"messages\": [{\"role\", \"content\"}, ...]");
    std::vector<ChatMessage> messages;
    for (const auto& m : j["messages"]) {
      ChatMessage msg{string_field(m, "role", where), string_field(m, "content", where)};
      if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
        throw Error("unknown role '" + msg.role + "'", where, "roles are system, user and assistant");
      messages.push_back(std::move(msg));
    }
    if (own) {  // the template writes every special token itself, as apply_chat_template
      const auto segments = render_chat(messages, *own, tok, where);
      d.examples.push_back(build_example(tok, segments, {o.example.max_seq_len, false, false}, where, d.stats));
      return;
    }
    auto segments = render_chat(messages, tmpl, tok);
    d.examples.push_back(build_example(tok, segments, {o.example.max_seq_len, false}, where, d.stats));
  });
  return d;
}

json read_json_file(const fs::path& p, const char* what) {
  check(fs::is_regular_file(p), std::string("no ") + what, p.string(), "is this a CL_Benchmark task directory?");
  json j = json::parse(read_text_file(p.string()), nullptr, false);
  check(!j.is_discarded(), "invalid JSON", p.string());
  return j;
}

Dataset read_cl_benchmark(const std::string& dir, const Tokenizer& tok, const ReaderOptions& o) {
  const fs::path task(dir);
  const std::string group = task.parent_path().filename().string();
  // The benchmark's files stay inside it (benchmark/configs, benchmark/<group>/<task>).
  const fs::path config =
      confined_path(task.parent_path().parent_path().string(), "configs/instruction_config.json", dir);
  json instructions = read_json_file(config, "configs/instruction_config.json two levels above the task");
  check(instructions.contains(group) && instructions[group].is_array() && !instructions[group].empty(),
        "no instruction for group '" + group + "'", config.string());
  const std::string instruction = instructions[group][0].at("instruction").get<std::string>();
  json labels_json = read_json_file(confined_path(dir, "labels.json", dir), "labels.json");
  std::vector<std::string> labels = labels_json.get<std::vector<std::string>>();
  check_plain_name(o.split, "split", "--split");
  const fs::path split_path = confined_path(dir, o.split + ".json", dir);
  json records = read_json_file(split_path, (o.split + ".json").c_str());
  check(records.is_array(), "expected a JSON array of records", split_path.string());
  check(!records.empty(), "the " + o.split + " split is empty", split_path.string(),
        "a task needs at least one record in train.json and in test.json");
  Dataset d{split_path.string(), {}, {}};
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string where = split_path.string() + ": record " + std::to_string(i + 1);
    try {
      const json& r = records[i];
      const std::string& sentence = string_field(r, "sentence", where);
      const std::string& label = string_field(r, "label", where);
      if (label == "-") {  // MNLI's unlabeled test items
        ++d.stats.skipped;
        continue;
      }
      d.examples.push_back(build_example(
          tok, {{cl_benchmark_prompt(instruction, labels, sentence), {}, false}, {label, {}, true}}, o.example, where,
          d.stats));
    } catch (const Error&) {
      if (!o.skip_bad_records) throw;
      ++d.stats.skipped;
    }
  }
  return d;
}

DataFormat detect(const std::string& path) {
  if (fs::is_directory(path)) return DataFormat::cl_benchmark;
  std::ifstream in(path);
  check(static_cast<bool>(in), "cannot open data file", path, "check --data");
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) break;
  json j = json::parse(line, nullptr, false);
  if (j.is_object() && j.contains("messages")) return DataFormat::chat;
  return DataFormat::prompt_completion;
}

}  // namespace

Dataset read_dataset(const std::string& path, const Tokenizer& tokenizer, const ReaderOptions& options) {
  check(fs::exists(path), "no such file or directory", path, "check --data");
  const DataFormat format = options.format == DataFormat::auto_detect ? detect(path) : options.format;
  Dataset d = format == DataFormat::cl_benchmark ? read_cl_benchmark(path, tokenizer, options)
              : format == DataFormat::chat       ? read_chat(path, tokenizer, options)
                                                 : read_prompt_completion(path, tokenizer, options);
  check(!d.examples.empty(), "no usable records", path,
        d.stats.skipped ? std::to_string(d.stats.skipped) + " were skipped as bad" : "the file is empty");
  if (options.max_samples > 0 && options.max_samples < static_cast<int64_t>(d.examples.size())) {
    // A seeded subset, kept in file order.
    std::vector<size_t> order(d.examples.size());
    std::iota(order.begin(), order.end(), 0);
    Rng rng(options.seed ^ 0x5eedda7aULL);
    shuffle(order, rng);
    order.resize(static_cast<size_t>(options.max_samples));
    std::sort(order.begin(), order.end());
    std::vector<Example> kept;
    for (size_t i : order) kept.push_back(std::move(d.examples[i]));
    d.examples = std::move(kept);
    recount(d.examples, d.stats);
  }
  return d;
}

}  // namespace sculpt
