#pragma once
// Static files (the demo front page and the browser client) for newspushd, independent of the HTTP
// session: a request's method, target and If-None-Match in, a response or "not mine" out.
//
// One StaticFiles serves one directory under one URL prefix. newspushd mounts two: web/static at
// "/" (the page, "/" -> index.html) and web/client at "/client/" (newspush.js). StaticSite tries
// its mounts longest prefix first, so "/client/..." never falls into the page's directory.
//
// Safety: the decoded path may not contain "..", "." or hidden segments, backslashes, NUL or other
// control characters, and the file found must canonicalize to a regular file inside the root
// (a symlink out of the root is refused). Bad paths get 400; missing files are not ours (nullopt),
// so the router answers its own 404.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace newspush {

struct StaticResponse {
  int status = 200;            // 200, 304, 400, 405 or 413
  std::string content_type;
  std::string body;            // the file (also for HEAD: the router sends headers only)
  std::string cache_control;   // "no-cache" for HTML, "public, max-age=300" otherwise
  std::string etag;            // strong validator from size and mtime, quoted: "\"1a2b-5f3c...\""
};

class StaticFiles {
 public:
  // Files larger than this are not served (413): this is for a demo page, not a CDN.
  static constexpr std::uintmax_t kMaxFileBytes = 4 * 1024 * 1024;

  // `url_prefix` starts and ends with '/' ("/" or "/client/"); one without a trailing '/' gets one.
  explicit StaticFiles(std::filesystem::path root, std::string url_prefix = "/");

  // nullopt: the target is not under the prefix, or names no file here. GET and HEAD are served;
  // another method on an existing file gets 405 (the router adds "Allow: GET, HEAD").
  std::optional<StaticResponse> lookup(std::string_view method, std::string_view target,
                                       std::string_view if_none_match) const;

  const std::filesystem::path& root() const { return root_; }
  const std::string& url_prefix() const { return prefix_; }

  // Exposed for tests. Content type for a file name, by extension (application/octet-stream else).
  static std::string content_type_for(const std::filesystem::path& file);
  // Percent-decodes a path; nullopt for a malformed escape.
  static std::optional<std::string> percent_decode(std::string_view path);
  // Whether If-None-Match (a list, "*", weak or strong tags) matches `etag`.
  static bool etag_matches(std::string_view if_none_match, std::string_view etag);

 private:
  std::filesystem::path root_;  // canonical when it exists
  std::string prefix_;
};

// Several mounts; lookup tries them longest prefix first and returns the first answer.
class StaticSite {
 public:
  void mount(StaticFiles files);
  std::optional<StaticResponse> lookup(std::string_view method, std::string_view target,
                                       std::string_view if_none_match) const;
  bool empty() const { return mounts_.empty(); }

  // The usual newspushd site: `static_dir` at "/" and, when it exists, `client_dir` at "/client/".
  // An empty `client_dir` means "<static_dir>/../client" (the repository's web/ layout).
  static StaticSite for_directories(const std::filesystem::path& static_dir,
                                    std::filesystem::path client_dir = {});

 private:
  std::vector<StaticFiles> mounts_;
};

}  // namespace newspush
