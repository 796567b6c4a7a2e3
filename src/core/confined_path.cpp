#include "sculpt/core/confined_path.h"

#include <filesystem>
#include <system_error>

#include "sculpt/core/error.h"

namespace sculpt {

namespace fs = std::filesystem;

namespace {

// Whether `p` is `root` or lies below it (both absolute and normalised).
bool is_inside(const fs::path& root, const fs::path& p) {
  const fs::path rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

const char* kHint = "a model directory, benchmark or checkpoint names only files inside itself; do not trust this one";

}  // namespace

std::string confined_path(const std::string& dir, const std::string& entry, const std::string& named_by) {
  const fs::path e(entry);
  bool escapes = entry.empty() || e.is_absolute() || e.has_root_name() || e.has_root_directory();
  for (const auto& part : e)
    if (part == "..") escapes = true;
  if (escapes) throw Error("names '" + entry + "', a path outside its directory", named_by, kHint);
  const fs::path base = dir.empty() ? fs::path(".") : fs::path(dir);  // "" is the working directory, as in a join
  const fs::path joined = base / e;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::absolute(base, ec), ec);
  if (ec) return joined.string();  // the directory itself cannot be resolved: opening will say so
  const fs::path target = fs::weakly_canonical(fs::absolute(joined, ec), ec);
  if (ec) return joined.string();
  if (is_inside(root, target)) return joined.string();
  // The hub cache: <repo>/snapshots/<revision>/<file> links to <repo>/blobs/<hash>.
  if (root.parent_path().filename() == "snapshots" && is_inside(root.parent_path().parent_path() / "blobs", target))
    return joined.string();
  throw Error("'" + entry + "' resolves to " + target.string() + ", outside " + root.string(), named_by, kHint);
}

void check_plain_name(const std::string& name, const std::string& what, const std::string& named_by) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw Error(what + " '" + name + "' is not a plain name", named_by, "names may not be empty, '.', '..' or hold '/'");
}

}  // namespace sculpt
