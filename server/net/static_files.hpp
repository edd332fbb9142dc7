#pragma once
// Static files (the demo front page and the browser client) for newspushd, independent of the HTTP
// session: a request's method, target and If-None-Match in, a response or "not mine" out.
//
// One StaticFiles serves one directory under one URL prefix. newspushd mounts two: web/static at
// "/" (the page, "/" -> index.html) and web/client at "/client/" (newspush.js). StaticSite tries
// its mounts longest prefix first, so "/client/..." never falls into the page's directory.
//
// The tree is read once, when the StaticFiles is built, and served from memory: a request never
// touches the disk (changing the files takes a restart). So that a wrong --static-dir cannot eat
// the memory, a site of more than Limits::max_files files or Limits::max_bytes bytes refuses to
// load (StaticFilesError, a start-up error).
//
// Safety: the decoded path may not contain "..", "." or hidden segments, backslashes, NUL or other
// control characters. Only regular files that canonicalize to a place inside the root are loaded
// (a symlink out of the root is not), hidden files and directories never. Bad paths get 400;
// missing files are not ours (nullopt), so the router answers its own 404.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace newspush {

// The views point into the StaticFiles that answered (or to literals): valid as long as it lives.
struct StaticResponse {
  int status = 200;                 // 200, 304, 400, 405 or 413
  std::string_view content_type;
  std::string_view body;            // the file (also for HEAD: the router sends headers only)
  std::string_view cache_control;   // "no-cache" for HTML, "public, max-age=300" otherwise
  std::string_view etag;            // strong validator from size and mtime: "\"1a2b-5f3c...\""
};

struct StaticFilesError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What one site may hold in memory (files over StaticFiles::kMaxFileBytes, not loaded, count as
// files, not as bytes). Outside StaticFiles so that its defaults can be a default argument there.
struct StaticLimits {
  std::size_t max_files = 1000;
  std::uintmax_t max_bytes = 32 * 1024 * 1024;
};

class StaticFiles {
 public:
  // Files larger than this are not loaded nor served (413): this is a demo page, not a CDN.
  static constexpr std::uintmax_t kMaxFileBytes = 4 * 1024 * 1024;

  using Limits = StaticLimits;

  // Reads the tree under `root` (none if it is not a directory). `url_prefix` starts and ends with
  // '/' ("/" or "/client/"); one without a trailing '/' gets one. Throws StaticFilesError when the
  // tree is over `limits` or cannot be read.
  explicit StaticFiles(std::filesystem::path root, std::string url_prefix = "/", Limits limits = {});

  // nullopt: the target is not under the prefix, or names no file here. GET and HEAD are served;
  // another method on an existing file gets 405 (the router adds "Allow: GET, HEAD").
  std::optional<StaticResponse> lookup(std::string_view method, std::string_view target,
                                       std::string_view if_none_match) const;

  const std::filesystem::path& root() const { return root_; }
  const std::string& url_prefix() const { return prefix_; }
  std::size_t file_count() const { return files_.size(); }
  std::uintmax_t byte_count() const { return bytes_; }

  // Exposed for tests. Content type for a file name, by extension (application/octet-stream else).
  static std::string content_type_for(const std::filesystem::path& file);
  // Whether If-None-Match (a list, "*", weak or strong tags) matches `etag`.
  static bool etag_matches(std::string_view if_none_match, std::string_view etag);

 private:
  struct File {
    std::string body;  // empty when too_large
    std::string content_type;
    std::string cache_control;
    std::string etag;
    bool too_large = false;
  };
  void load(const Limits& limits);

  std::filesystem::path root_;  // canonical when it exists
  std::string prefix_;
  std::unordered_map<std::string, File> files_;  // by path below the root, '/'-separated
  std::uintmax_t bytes_ = 0;
};

// Several mounts; lookup tries them longest prefix first and returns the first answer.
class StaticSite {
 public:
  void mount(StaticFiles files);
  std::optional<StaticResponse> lookup(std::string_view method, std::string_view target,
                                       std::string_view if_none_match) const;
  bool empty() const { return mounts_.empty(); }

  // The usual newspushd site: `static_dir` at "/" and, when it exists, `client_dir` at "/client/".
  // An empty `client_dir` means "<static_dir>/../client" (the repository's web/ layout). `limits`
  // bound the two directories together. Throws StaticFilesError (see StaticFiles).
  static StaticSite for_directories(const std::filesystem::path& static_dir,
                                    std::filesystem::path client_dir = {},
                                    StaticFiles::Limits limits = {});

 private:
  std::vector<StaticFiles> mounts_;
};

}  // namespace newspush
