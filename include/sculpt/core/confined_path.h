// Files that untrusted input names must stay inside the directory they belong to. A downloaded
// model directory, a benchmark's task list or a checkpoint given to --resume can name any path
// (`../../../etc/passwd` as a shard of a safetensors index, a tokenizer.json that is a symlink to
// a private key, which an export would then copy); sculpt opens none of them.
#pragma once
#include <string>

namespace sculpt {

// Returns `dir`/`entry` after checking that `entry` is a relative path without `..` components and
// that what it resolves to (symlinks followed) lies inside `dir`, or, when `dir` is a snapshot of
// the Hugging Face hub cache (<repo>/snapshots/<revision>/, whose files are symlinks into
// <repo>/blobs/), inside that repository's blobs/ folder. A path that does not exist is checked
// as far as it resolves; opening it is the caller's business. Throws Error naming `entry` and
// `named_by` (the file or directory that named it) otherwise.
std::string confined_path(const std::string& dir, const std::string& entry, const std::string& named_by);

// A single path component naming an entry of a directory (a task name, a shard of a checkpoint):
// non-empty, no '/', not "." or "..". Throws Error naming `what` and `named_by` otherwise.
void check_plain_name(const std::string& name, const std::string& what, const std::string& named_by);

}  // namespace sculpt
