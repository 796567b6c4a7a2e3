#include <gtest/gtest.h>

#include <fstream>

#include "sculpt/core/error.h"
#include "sculpt/data/batching.h"
#include "sculpt/data/readers.h"
#include "sculpt/text/byte_tokenizer.h"
#include "test_support.h"

namespace sculpt {
namespace {

// A byte-level tokenizer: one token per byte, BOS 256, EOS 257 — makes expected ids obvious.
struct ByteTok {
  testing::TempDir dir;
  std::unique_ptr<Tokenizer> tok;
  ByteTok() {
    write_byte_tokenizer(dir.path.string());
    tok = load_tokenizer(dir.path.string());
  }
};

using testing::write_file;

TEST(Data, PromptCompletionMasksOnlyTheCompletionAndEos) {
  ByteTok t;
  const std::string path = write_file(t.dir, "d.jsonl", R"({"prompt": "ab", "completion": "cd"})" "\n\n");
  Dataset d = read_dataset(path, *t.tok, {});
  ASSERT_EQ(d.examples.size(), 1u);
  const Example& e = d.examples[0];
  EXPECT_EQ(e.tokens, (std::vector<int32_t>{256, 'a', 'b', 'c', 'd', 257}));
  EXPECT_EQ(e.target, (std::vector<uint8_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e.prompt_text, "ab");
  EXPECT_EQ(e.target_text, "cd");
  TokenBatch b = make_token_batch({&e});
  EXPECT_EQ(b.seq, 5);
  EXPECT_EQ(b.targets, (std::vector<int32_t>{'a', 'b', 'c', 'd', 257}));
  EXPECT_EQ(b.loss_mask, (std::vector<float>{0, 0, 1, 1, 1}));
}

TEST(Data, TruncationCutsThePromptMiddleAndKeepsTheCue) {
  ByteTok t;
  ReaderOptions o;
  o.example.max_seq_len = 30;
  const std::string prompt = "HEAD" + std::string(40, 'x') + "....the question cue?";
  const std::string path = write_file(t.dir, "d.jsonl", R"({"prompt": ")" + prompt + R"(", "completion": "yes"})" "\n");
  Dataset d = read_dataset(path, *t.tok, o);
  const Example& e = d.examples[0];
  EXPECT_EQ(static_cast<int64_t>(e.tokens.size()), 30);
  EXPECT_EQ(d.stats.truncated, 1);
  std::string text(e.tokens.begin() + 1, e.tokens.end() - 4);
  EXPECT_EQ(text.substr(0, 4), "HEAD");
  EXPECT_EQ(text.substr(text.size() - kCueTokens), prompt.substr(prompt.size() - kCueTokens));
  EXPECT_EQ(std::string(e.tokens.end() - 4, e.tokens.end() - 1), "yes");
}

TEST(Data, CompletionLongerThanBudgetIsAnErrorOrSkipped) {
  ByteTok t;
  ReaderOptions o;
  o.example.max_seq_len = 8;
  const std::string path = write_file(t.dir, "d.jsonl",
                                      R"({"prompt": "p", "completion": "far too long"})" "\n"
                                      R"({"prompt": "p", "completion": "ok"})" "\n");
  try {
    read_dataset(path, *t.tok, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find(path + ":1"), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find("--max-seq-len"), std::string::npos) << e.one_line();
  }
  o.skip_bad_records = true;
  Dataset d = read_dataset(path, *t.tok, o);
  EXPECT_EQ(d.examples.size(), 1u);
  EXPECT_EQ(d.stats.skipped, 1);
}

TEST(Data, MalformedRecordsNameFileAndLine) {
  ByteTok t;
  auto error_for = [&](const std::string& content) {
    const std::string path = write_file(t.dir, "bad.jsonl", content);
    try {
      read_dataset(path, *t.tok, {});
    } catch (const Error& e) {
      return e.one_line();
    }
    return std::string("no error");
  };
  const std::string p = t.dir / "bad.jsonl";
  EXPECT_NE(error_for("{\"prompt\": \"a\", \"completion\": \"b\"}\n{oops\n").find(p + ":2: invalid JSON"), std::string::npos);
  EXPECT_NE(error_for("{\"prompt\": \"a\"}\n").find(p + ":1: missing field 'completion'"), std::string::npos);
  EXPECT_NE(error_for("{\"prompt\": \"a\", \"completion\": 3}\n").find("is not a string"), std::string::npos);
  EXPECT_NE(error_for("{\"prompt\": \"\xff\", \"completion\": \"b\"}\n").find(p + ":1: not valid UTF-8"), std::string::npos);
  EXPECT_NE(error_for("").find("no records"), std::string::npos);
  EXPECT_NE(error_for("\n  \n").find("no records"), std::string::npos);
}

TEST(Data, ChatTemplatesTrainOnAssistantTurnsOnly) {
  ByteTok t;
  std::vector<ChatMessage> m{{"system", "S"}, {"user", "U"}, {"assistant", "A"}, {"user", "V"}, {"assistant", "B"}};
  auto chatml = render_chat(m, ChatTemplate::chatml, *t.tok);
  std::string all, trained;
  for (const auto& s : chatml) {
    all += s.text;
    if (s.target) trained += s.text;
  }
  EXPECT_EQ(all, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
                 "<|im_start|>user\nV<|im_end|>\n<|im_start|>assistant\nB<|im_end|>");
  EXPECT_EQ(trained, "A<|im_end|>B<|im_end|>");
  auto llama2 = render_chat(m, ChatTemplate::llama2, *t.tok);
  std::string l2;
  for (const auto& s : llama2) l2 += s.ids.empty() ? s.text : (s.ids[0] == 257 ? "</s>" : "<s>");
  EXPECT_EQ(l2, "[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST] A</s><s>[INST] V [/INST] B</s>");
  auto llama3 = render_chat(m, ChatTemplate::llama3, *t.tok);
  EXPECT_EQ(llama3.back().text, "B<|eot_id|>");
  EXPECT_TRUE(llama3.back().target);

  const std::string path = write_file(t.dir, "chat.jsonl",
      R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})" "\n");
  ReaderOptions o;
  o.chat_template = ChatTemplate::plain;
  Dataset d = read_dataset(path, *t.tok, o);
  const Example& e = d.examples[0];
  std::string target_text;
  for (size_t i = 0; i < e.tokens.size(); ++i)
    if (e.target[i] && e.tokens[i] < 256) target_text += static_cast<char>(e.tokens[i]);
  EXPECT_EQ(target_text, " yo");
  EXPECT_EQ(e.tokens.back(), 257);
  EXPECT_EQ(e.target.back(), 1);
  const std::string bad = write_file(t.dir, "badchat.jsonl", R"({"messages": [{"role": "robot", "content": "x"}]})" "\n");
  EXPECT_THROW(read_dataset(bad, *t.tok, o), Error);
}

TEST(Data, ClBenchmarkInputIsBuiltExactlyAsOLoRA) {
  EXPECT_EQ(cl_benchmark_prompt("Classify.\n", {"World", "Sports"}, "Some text"),
            "Classify.\nOption: World, Sports \nSome text\nAnswer:");
  const std::string task = testing::shared_dir("data/cl_benchmark/TC/agnews");
  SCULPT_REQUIRE_PATH(task);
  ByteTok t;
  ReaderOptions o;
  o.example.max_seq_len = 4096;
  o.max_samples = 5;
  Dataset d = read_dataset(task, *t.tok, o);
  ASSERT_EQ(d.examples.size(), 5u);
  for (const auto& e : d.examples) {
    EXPECT_EQ(e.prompt_text.rfind("What is the topic of the following paragraph? Choose one from the option.\n"
                                  "Option: World, Sports, Business, Science or Technology \n",
                                  0),
              0u)
        << e.prompt_text;
    EXPECT_EQ(e.prompt_text.substr(e.prompt_text.size() - 8), "\nAnswer:");
    EXPECT_EQ(e.tokens.back(), 257);
  }
  o.split = "nonexistent";
  EXPECT_THROW(read_dataset(task, *t.tok, o), Error);
}

TEST(Batching, ShufflesDeterministicallyAndPacksUnderTheBudget) {
  ByteTok t;
  std::string content;
  for (int i = 0; i < 10; ++i)
    content += R"({"prompt": ")" + std::string(static_cast<size_t>(i + 1), 'p') + R"(", "completion": "c"})" "\n";
  Dataset d = read_dataset(write_file(t.dir, "d.jsonl", content), *t.tok, {});
  EXPECT_EQ(epoch_order(10, 1, 0), epoch_order(10, 1, 0));
  EXPECT_NE(epoch_order(10, 1, 0), epoch_order(10, 1, 1));
  EXPECT_NE(epoch_order(10, 1, 0), epoch_order(10, 2, 0));
  StepBatcher a(d.examples, 4, 24, 7), b(d.examples, 4, 24, 7);
  EXPECT_EQ(a.steps_per_epoch(), 3);
  int64_t seen = 0;
  for (int step = 0; step < 3; ++step) {
    auto ma = a.next_step(), mb = b.next_step();
    ASSERT_EQ(ma.size(), mb.size());
    for (size_t i = 0; i < ma.size(); ++i) {
      EXPECT_EQ(ma[i].tokens, mb[i].tokens);
      EXPECT_LE(ma[i].batch * ma[i].seq, 24);
      seen += ma[i].batch;
    }
  }
  EXPECT_EQ(seen, 10);  // every example once per epoch
  EXPECT_EQ(a.cursor().position, 10);
  // Restoring a cursor replays the same steps.
  StepBatcher c(d.examples, 4, 24, 7);
  c.set_cursor({1, 4});
  a.next_step();  // epoch 1, first step
  auto from_a = a.next_step(), from_c = c.next_step();
  ASSERT_EQ(from_a.size(), from_c.size());
  for (size_t i = 0; i < from_a.size(); ++i) EXPECT_EQ(from_a[i].tokens, from_c[i].tokens);
  EXPECT_THROW(StepBatcher(d.examples, 4, 5, 7), Error);  // longest example does not fit
}

}  // namespace
}  // namespace sculpt
