// Request targets and If-None-Match headers against the static files (StaticSite::lookup), over a
// small tree made at start-up with a hidden file and a symlink out of the root.
// Input: "<METHOD> <target>" on the first line, If-None-Match on the second.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "protocol/url_query.hpp"
#include "server/net/static_files.hpp"

using namespace newspush;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSecret = "outside the root: never served";

fs::path g_dir;
std::unique_ptr<StaticSite> g_site;

void write(const fs::path& file, std::string_view content) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
}

void remove_tree() {
  std::error_code ec;
  fs::remove_all(g_dir, ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_dir = fs::temp_directory_path() / ("newspush-static-fuzz-" + std::to_string(::getpid()));
  write(g_dir / "secret.txt", kSecret);
  const fs::path web = g_dir / "web";
  write(web / "static" / "index.html", "<!doctype html><title>À la une</title>");
  write(web / "static" / "app.js", "console.log('société');");
  write(web / "static" / "css" / "site.css", "body{}");
  write(web / "static" / "été 2024.txt", "espace et accent");
  write(web / "static" / ".env", kSecret);
  write(web / "client" / "newspush.js", "export class NewsPush {}");
  fs::create_symlink(g_dir / "secret.txt", web / "static" / "link.txt");
  g_site = std::make_unique<StaticSite>(StaticSite::for_directories(web / "static"));
  std::atexit(remove_tree);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const auto newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  const std::string_view if_none_match =
      newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  const auto space = line.find(' ');
  const std::string_view method = line.substr(0, space);
  const std::string_view target =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);

  (void)StaticFiles::etag_matches(if_none_match, "\"1a-5f3c\"");
  if (auto decoded = protocol::percent_decode(target))
    FUZZ_CHECK(decoded->size() <= target.size());

  auto response = g_site->lookup(method, target, if_none_match);
  if (!response) return 0;
  const int status = response->status;
  FUZZ_CHECK(status == 200 || status == 304 || status == 400 || status == 405 || status == 413);
  FUZZ_CHECK(response->body.find(kSecret) == std::string_view::npos);
  if (status == 200 || status == 304) {
    FUZZ_CHECK(method == "GET" || method == "HEAD");
    FUZZ_CHECK(!response->etag.empty() && !response->content_type.empty());
  }
  return 0;
}
