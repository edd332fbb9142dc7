#include "server/net/static_files.hpp"

#include "protocol/url_query.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <system_error>

namespace newspush {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string to_hex(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return out;
}

StaticResponse plain(int status, std::string_view body) {
  StaticResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = body;
  r.cache_control = "no-store";
  return r;
}

// `inner` is `root` or below it; both canonical.
bool is_within(const fs::path& root, const fs::path& inner) {
  auto r = root.begin();
  auto i = inner.begin();
  for (; r != root.end(); ++r, ++i) {
    if (i == inner.end() || *r != *i) return false;
  }
  return true;
}

}  // namespace

StaticFiles::StaticFiles(fs::path root, std::string url_prefix, Limits limits)
    : prefix_(std::move(url_prefix)) {
  if (prefix_.empty() || prefix_.front() != '/') prefix_.insert(prefix_.begin(), '/');
  if (prefix_.back() != '/') prefix_.push_back('/');
  std::error_code ec;
  fs::path canonical = fs::canonical(root, ec);
  root_ = ec ? root.lexically_normal() : canonical;
  load(limits);
}

void StaticFiles::load(const Limits& limits) {
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return;
  auto fail = [this](const std::string& why) {
    throw StaticFilesError("static files in '" + root_.string() + "': " + why);
  };
  fs::recursive_directory_iterator it(root_, fs::directory_options::follow_directory_symlink, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    std::error_code entry_ec;
    // Hidden files (.git, .env, editor backups) are never published: not even loaded.
    if (path.filename().string().front() == '.') {
      it.disable_recursion_pending();
      continue;
    }
    fs::path real = fs::canonical(path, entry_ec);
    if (entry_ec || !is_within(root_, real)) {
      it.disable_recursion_pending();
      continue;
    }
    fs::file_status status = fs::status(real, entry_ec);
    if (entry_ec) continue;
    if (fs::is_directory(status)) {
      // A link to a directory that contains it would be walked forever.
      if (it->is_symlink(entry_ec) && is_within(real, fs::canonical(path.parent_path(), entry_ec)))
        it.disable_recursion_pending();
      continue;
    }
    if (!fs::is_regular_file(status)) continue;
    if (files_.size() == limits.max_files)
      fail("more than " + std::to_string(limits.max_files) + " files");
    std::uintmax_t size = fs::file_size(real, entry_ec);
    fs::file_time_type mtime = fs::last_write_time(real, entry_ec);
    if (entry_ec) fail("cannot read '" + path.string() + "': " + entry_ec.message());

    File file;
    file.content_type = content_type_for(real);
    file.cache_control =
        file.content_type.rfind("text/html", 0) == 0 ? "no-cache" : "public, max-age=300";
    file.etag = "\"" + to_hex(size) + "-" +
                to_hex(static_cast<std::uint64_t>(mtime.time_since_epoch().count())) + "\"";
    file.too_large = size > kMaxFileBytes;
    if (!file.too_large) {
      if (bytes_ + size > limits.max_bytes)
        fail("more than " + std::to_string(limits.max_bytes) + " bytes");
      std::ifstream in(real, std::ios::binary);
      file.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (!in || in.bad()) fail("cannot read '" + path.string() + "'");
      bytes_ += file.body.size();
    }
    files_.emplace(path.lexically_relative(root_).generic_string(), std::move(file));
  }
  if (ec) fail(ec.message());
}

std::string StaticFiles::content_type_for(const fs::path& file) {
  const std::string ext = lower(file.extension().string());
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt" || ext == ".md" || ext == ".ts") return "text/plain; charset=utf-8";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".webp") return "image/webp";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

bool StaticFiles::etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (etag.empty()) return false;
  if_none_match = trim(if_none_match);
  if (if_none_match == "*") return true;
  // If-None-Match uses the weak comparison: W/"x" matches "x".
  auto opaque = [](std::string_view tag) {
    tag = trim(tag);
    if (tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
    return tag;
  };
  const std::string_view mine = opaque(etag);
  while (!if_none_match.empty()) {
    std::size_t comma = if_none_match.find(',');
    if (opaque(if_none_match.substr(0, comma)) == mine) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<StaticResponse> StaticFiles::lookup(std::string_view method, std::string_view target,
                                                  std::string_view if_none_match) const {
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.substr(0, prefix_.size()) != prefix_) return std::nullopt;
  std::string_view raw = path.substr(prefix_.size());

  // Anything that could be read as a way out of the root is a bad request, decoded or not.
  if (raw.find('\\') != std::string_view::npos) return plain(400, "bad path\n");
  std::optional<std::string> decoded = protocol::percent_decode(raw);
  if (!decoded) return plain(400, "bad path\n");
  std::string rel = std::move(*decoded);
  for (unsigned char c : rel) {
    if (c < 0x20 || c == 0x7f || c == '\\') return plain(400, "bad path\n");
  }
  if (rel.empty() || rel.back() == '/') rel += "index.html";

  std::size_t start = 0;
  while (start <= rel.size()) {
    std::size_t slash = rel.find('/', start);
    std::string_view segment =
        std::string_view(rel).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return plain(400, "bad path\n");
    // Hidden files (.git, .env, editor backups) are never published.
    if (segment.front() == '.') return std::nullopt;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }

  auto found = files_.find(rel);
  if (found == files_.end()) return std::nullopt;
  const File& file = found->second;

  if (method != "GET" && method != "HEAD") return plain(405, "method not allowed\n");
  if (file.too_large) return plain(413, "file too large\n");

  StaticResponse response;
  response.content_type = file.content_type;
  response.cache_control = file.cache_control;
  response.etag = file.etag;
  if (!if_none_match.empty() && etag_matches(if_none_match, response.etag)) {
    response.status = 304;
    return response;
  }
  response.body = file.body;
  response.status = 200;
  return response;
}

void StaticSite::mount(StaticFiles files) {
  mounts_.push_back(std::move(files));
  std::stable_sort(mounts_.begin(), mounts_.end(), [](const StaticFiles& a, const StaticFiles& b) {
    return a.url_prefix().size() > b.url_prefix().size();
  });
}

std::optional<StaticResponse> StaticSite::lookup(std::string_view method, std::string_view target,
                                                 std::string_view if_none_match) const {
  for (const StaticFiles& files : mounts_) {
    if (auto response = files.lookup(method, target, if_none_match)) return response;
  }
  return std::nullopt;
}

StaticSite StaticSite::for_directories(const fs::path& static_dir, fs::path client_dir,
                                       StaticFiles::Limits limits) {
  StaticSite site;
  fs::path dir = static_dir.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "web/static/" -> "web/static"
  if (client_dir.empty()) client_dir = dir.parent_path() / "client";
  StaticFiles page(dir, "/", limits);
  std::error_code ec;
  if (fs::is_directory(client_dir, ec)) {
    // The client gets what the page left of the site's budget.
    StaticFiles::Limits rest{limits.max_files - page.file_count(),
                             limits.max_bytes - page.byte_count()};
    site.mount(StaticFiles(client_dir, "/client/", rest));
  }
  site.mount(std::move(page));
  return site;
}

}  // namespace newspush
