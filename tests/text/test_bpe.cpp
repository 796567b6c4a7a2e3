#include <gtest/gtest.h>

#include "sculpt/text/bpe.h"
#include "sculpt/text/utf8.h"

namespace sculpt {
namespace {

TEST(Bpe, MergesByRankNotByPosition) {
  // ids: a=0 b=1 c=2 ab=3 bc=4 abc=5; (b,c) outranks (a,b).
  BpeMerges m;
  m.add(1, 2, 4, 0);
  m.add(0, 1, 3, 1);
  m.add(0, 4, 5, 2);
  std::vector<int32_t> s{0, 1, 2};
  m.apply(s);
  EXPECT_EQ(s, (std::vector<int32_t>{5}));  // a + bc, never ab + c
}

TEST(Bpe, TiesGoToTheLeftmostPair) {
  BpeMerges m;
  m.add(0, 0, 1, 0);  // a a → aa
  std::vector<int32_t> s{0, 0, 0};
  m.apply(s);
  EXPECT_EQ(s, (std::vector<int32_t>{1, 0}));
  std::vector<int32_t> four{0, 0, 0, 0};
  m.apply(four);
  EXPECT_EQ(four, (std::vector<int32_t>{1, 1}));
}

TEST(Bpe, NoMergesLeavesSymbols) {
  BpeMerges m;
  std::vector<int32_t> s{3, 4, 5};
  m.apply(s);
  EXPECT_EQ(s, (std::vector<int32_t>{3, 4, 5}));
}

TEST(Utf8, SplitsValidatesAndRepairs) {
  EXPECT_EQ(utf8_chars("aé日😀").size(), 4u);
  EXPECT_TRUE(utf8_valid("aé日😀"));
  EXPECT_FALSE(utf8_valid("\xc3"));
  EXPECT_FALSE(utf8_valid("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(utf8_valid("\xc0\xaf"));      // overlong
  EXPECT_EQ(utf8_lossy("a\xffz"), "a\xEF\xBF\xBDz");
  // One U+FFFD per maximal subpart (Unicode table 3-8; what Python's errors="replace" gives).
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8_lossy("\xE3\x81"), fffd);                      // a 3-byte sequence cut short
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98z"), fffd + "z");            // a 4-byte one cut short
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), fffd + fffd + fffd);     // a surrogate: no valid prefix
  EXPECT_EQ(utf8_lossy("\xE0\x80\xAF"), fffd + fffd + fffd);     // overlong
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(utf8_lossy("\xC3\xA9\xE2\x82"), "\xC3\xA9" + fffd);  // é then a cut-off €
  EXPECT_EQ(utf8_code_points("é😀"), (std::vector<uint32_t>{0xe9, 0x1f600}));
  EXPECT_EQ(utf8_encode(0x1f600), "😀");
}

}  // namespace
}  // namespace sculpt
