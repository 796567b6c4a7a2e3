// confined_path: what a model directory, benchmark or checkpoint names stays inside it.
#include <gtest/gtest.h>

#include <filesystem>

#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "test_support.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& dir, const std::string& entry) {
  try {
    confined_path(dir, entry, "index.json");
  } catch (const Error& e) {
    return e.one_line();
  }
  return "";
}

TEST(ConfinedPath, PlainEntriesResolveInsideTheDirectory) {
  testing::TempDir d;
  fs::create_directories(d.path / "sub");
  testing::write_file(d, "sub/shard.safetensors", "x");
  EXPECT_EQ(confined_path(d.path.string(), "sub/shard.safetensors", "index.json"), d / "sub/shard.safetensors");
  EXPECT_EQ(confined_path(d.path.string(), "missing.json", "index.json"), d / "missing.json");  // opening says so
  EXPECT_EQ(confined_path(d.path.string(), "./a/./b", "index.json"), (d.path / "./a/./b").string());
}

TEST(ConfinedPath, ParentComponentsAndAbsolutePathsAreRefused) {
  testing::TempDir d;
  const std::string hint =
      " (hint: a model directory, benchmark or checkpoint names only files inside itself; do not trust this one)";
  EXPECT_EQ(error_of(d.path.string(), "../../../../etc/passwd"),
            "index.json: names '../../../../etc/passwd', a path outside its directory" + hint);
  EXPECT_EQ(error_of(d.path.string(), "/etc/passwd"), "index.json: names '/etc/passwd', a path outside its directory" + hint);
  // '..' that would land back inside is refused too: no entry needs it.
  EXPECT_NE(error_of(d.path.string(), "sub/../model.safetensors"), "");
  EXPECT_NE(error_of(d.path.string(), ""), "");
}

TEST(ConfinedPath, SymlinksLeavingTheDirectoryAreRefused) {
  testing::TempDir outside, d;
  testing::write_file(outside, "secret", "key");
  fs::create_symlink(outside.path / "secret", d.path / "tokenizer.json");
  EXPECT_EQ(error_of(d.path.string(), "tokenizer.json"),
            "index.json: 'tokenizer.json' resolves to " + fs::canonical(outside.path / "secret").string() + ", outside " +
                fs::canonical(d.path).string() +
                " (hint: a model directory, benchmark or checkpoint names only files inside itself; do not trust this one)");
  // A directory symlink on the way out, and one whose target does not exist yet.
  fs::create_directory_symlink(outside.path, d.path / "escape");
  EXPECT_NE(error_of(d.path.string(), "escape/secret"), "");
  EXPECT_NE(error_of(d.path.string(), "escape/not-yet"), "");
  // A symlink that stays inside is fine, and so is a model directory that is itself a symlink.
  testing::write_file(d, "real.json", "{}");
  fs::create_symlink(d.path / "real.json", d.path / "alias.json");
  EXPECT_EQ(confined_path(d.path.string(), "alias.json", "x"), d / "alias.json");
  fs::create_directory_symlink(d.path, outside.path / "link-to-model");
  EXPECT_EQ(confined_path((outside.path / "link-to-model").string(), "real.json", "x"),
            (outside.path / "link-to-model" / "real.json").string());
}

TEST(ConfinedPath, HubSnapshotsMayLinkIntoTheirRepositorysBlobs) {
  // ~/.cache/huggingface/hub/models--org--name/{blobs/<hash>, snapshots/<rev>/config.json -> ../../blobs/<hash>}
  testing::TempDir hub;
  const fs::path repo = hub.path / "models--org--name", snap = repo / "snapshots" / "abc123";
  fs::create_directories(repo / "blobs");
  fs::create_directories(snap);
  std::ofstream(repo / "blobs" / "0123") << "{}";
  fs::create_symlink("../../blobs/0123", snap / "config.json");
  EXPECT_EQ(confined_path(snap.string(), "config.json", "x"), (snap / "config.json").string());
  // ... but not anywhere else in the cache, and not from a directory that is not a snapshot.
  std::ofstream(hub.path / "other") << "{}";
  fs::create_symlink("../../../other", snap / "tokenizer.json");
  EXPECT_THROW(confined_path(snap.string(), "tokenizer.json", "x"), Error);
  const fs::path not_snapshot = repo / "refs" / "main";
  fs::create_directories(not_snapshot);
  fs::create_symlink("../../blobs/0123", not_snapshot / "config.json");
  EXPECT_THROW(confined_path(not_snapshot.string(), "config.json", "x"), Error);
}

TEST(ConfinedPath, PlainNames) {
  check_plain_name("dbpedia", "task", "task_orders.json");
  for (const char* bad : {"", ".", "..", "../x", "a/b", "/abs"}) {
    try {
      check_plain_name(bad, "task", "task_orders.json");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.one_line(), std::string("task_orders.json: task '") + bad +
                                  "' is not a plain name (hint: names may not be empty, '.', '..' or hold '/')");
    }
  }
}

}  // namespace
}  // namespace sculpt
