#include "server/net/static_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

#include "protocol/url_query.hpp"

namespace newspush {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    base_ = fs::temp_directory_path() /
            ("newspush-static-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(base_ / "web" / "static" / "css");
    fs::create_directories(base_ / "web" / "client");
    write("web/static/index.html", "<!doctype html><title>À la une</title>");
    write("web/static/app.js", "import './x.js';");
    write("web/static/css/style.css", "body{}");
    write("web/static/data.json", "{}");
    write("web/static/logo.svg", "<svg/>");
    write("web/static/icon.png", std::string("\x89PNG\r\n\x1a\n", 8));
    write("web/static/favicon.ico", "ico");
    write("web/static/robots.txt", "User-agent: *");
    write("web/static/app.js.map", "{}");
    write("web/static/mod.mjs", "export {};");
    write("web/static/blob.bin", "raw");
    write("web/static/a b.txt", "space");
    write("web/static/.env", "SECRET=1");
    write("web/client/newspush.js", "export function connect() {}");
    write("web/secret.txt", "outside the root");
    root_ = base_ / "web" / "static";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  void write(const std::string& rel, const std::string& content) {
    std::ofstream(base_ / rel, std::ios::binary) << content;
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(StaticFilesTest, RootServesIndexHtmlWithNoCache) {
  StaticFiles files(root_);
  auto r = files.lookup("GET", "/", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r->body, "<!doctype html><title>À la une</title>");
  EXPECT_EQ(r->cache_control, "no-cache");
  ASSERT_GE(r->etag.size(), 2u);
  EXPECT_EQ(r->etag.front(), '"');
  EXPECT_EQ(r->etag.back(), '"');
  auto same = files.lookup("GET", "/index.html?v=2", "");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->body, r->body);
  EXPECT_EQ(same->etag, r->etag);
}

TEST_F(StaticFilesTest, ContentTypesAndCaching) {
  StaticFiles files(root_);
  struct Case { const char* target; const char* type; };
  for (Case c : {Case{"/app.js", "text/javascript; charset=utf-8"},
                 Case{"/mod.mjs", "text/javascript; charset=utf-8"},
                 Case{"/css/style.css", "text/css; charset=utf-8"},
                 Case{"/data.json", "application/json"},
                 Case{"/logo.svg", "image/svg+xml"},
                 Case{"/icon.png", "image/png"},
                 Case{"/favicon.ico", "image/x-icon"},
                 Case{"/robots.txt", "text/plain; charset=utf-8"},
                 Case{"/app.js.map", "application/json"},
                 Case{"/blob.bin", "application/octet-stream"}}) {
    auto r = files.lookup("GET", c.target, "");
    ASSERT_TRUE(r) << c.target;
    EXPECT_EQ(r->status, 200) << c.target;
    EXPECT_EQ(r->content_type, c.type) << c.target;
    EXPECT_EQ(r->cache_control, "public, max-age=300") << c.target;
  }
  EXPECT_EQ(files.lookup("GET", "/icon.png", "")->body.size(), 8u);
  EXPECT_EQ(StaticFiles::content_type_for("INDEX.HTML"), "text/html; charset=utf-8");
}

TEST_F(StaticFilesTest, HeadIsServedLikeGet) {
  StaticFiles files(root_);
  auto r = files.lookup("HEAD", "/app.js", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "import './x.js';");
}

TEST_F(StaticFilesTest, OtherMethodsOnAFileAre405) {
  StaticFiles files(root_);
  auto r = files.lookup("POST", "/app.js", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_FALSE(files.lookup("POST", "/missing.js", "")) << "not ours: the router's 404";
}

TEST_F(StaticFilesTest, PercentEncodedNamesAreDecoded) {
  StaticFiles files(root_);
  auto r = files.lookup("GET", "/a%20b.txt", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "space");
  EXPECT_EQ(protocol::percent_decode("%41%2f%zz"), std::nullopt);
  EXPECT_EQ(protocol::percent_decode("%41%2F"), "A/");
  EXPECT_EQ(protocol::percent_decode("abc%"), std::nullopt);
}

TEST_F(StaticFilesTest, MissingFilesAndOtherPathsAreNotOurs) {
  StaticFiles files(root_);
  EXPECT_FALSE(files.lookup("GET", "/nope.html", ""));
  EXPECT_FALSE(files.lookup("GET", "/css", "")) << "a directory without a trailing slash";
  EXPECT_FALSE(files.lookup("GET", "/css/", "")) << "a directory without index.html";
  StaticFiles client(base_ / "web" / "client", "/client/");
  EXPECT_FALSE(client.lookup("GET", "/", ""));
  EXPECT_FALSE(client.lookup("GET", "/healthz", ""));
  EXPECT_FALSE(client.lookup("GET", "/client", ""));
  EXPECT_FALSE(client.lookup("GET", "/clientele/newspush.js", ""));
}

TEST_F(StaticFilesTest, TraversalIsRejected) {
  StaticFiles files(root_);
  for (const char* target :
       {"/../secret.txt", "/css/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/%2e%2e%2fsecret.txt", "/css/..%2f..%2fsecret.txt", "/..\\secret.txt", "/%5c..%5csecret.txt",
        "/app.js%00.html", "/./app.js", "//etc/passwd", "/css//style.css", "/%0a", "/bad%zz"}) {
    auto r = files.lookup("GET", target, "");
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_NE(r->body, "outside the root") << target;
  }
}

TEST_F(StaticFilesTest, HiddenFilesAreNotServed) {
  StaticFiles files(root_);
  EXPECT_FALSE(files.lookup("GET", "/.env", ""));
  EXPECT_FALSE(files.lookup("GET", "/%2eenv", ""));
}

TEST_F(StaticFilesTest, SymlinksOutOfTheRootAreNotFollowed) {
  fs::create_symlink(base_ / "web" / "secret.txt", root_ / "link.txt");
  fs::create_directory_symlink(base_ / "web", root_ / "up");
  fs::create_symlink(root_ / "app.js", root_ / "inside.js");
  StaticFiles files(root_);
  EXPECT_FALSE(files.lookup("GET", "/link.txt", ""));
  EXPECT_FALSE(files.lookup("GET", "/up/secret.txt", ""));
  auto inside = files.lookup("GET", "/inside.js", "");
  ASSERT_TRUE(inside) << "a link that stays inside the root is fine";
  EXPECT_EQ(inside->body, "import './x.js';");
}

TEST_F(StaticFilesTest, ARootReachedThroughASymlinkStillWorks) {
  fs::create_directory_symlink(root_, base_ / "alias");
  StaticFiles files(base_ / "alias");
  auto r = files.lookup("GET", "/app.js", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(StaticFilesTest, ConditionalRequestsGet304) {
  StaticFiles files(root_);
  auto first = files.lookup("GET", "/app.js", "");
  ASSERT_TRUE(first);
  auto again = files.lookup("GET", "/app.js", first->etag);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(again->etag, first->etag);
  EXPECT_EQ(again->cache_control, "public, max-age=300");
  EXPECT_EQ(files.lookup("GET", "/app.js", "\"other\", W/" + std::string(first->etag))->status, 304);
  EXPECT_EQ(files.lookup("GET", "/app.js", "*")->status, 304);
  EXPECT_EQ(files.lookup("GET", "/app.js", "\"other\"")->status, 200);
}

TEST_F(StaticFilesTest, EtagChangesWithTheFileAtTheNextLoad) {
  std::string before(StaticFiles(root_).lookup("GET", "/app.js", "")->etag);
  write("web/static/app.js", "import './x.js'; // longer");
  fs::last_write_time(root_ / "app.js", fs::file_time_type::clock::now() + std::chrono::seconds(5));
  StaticFiles reloaded(root_);
  auto after = reloaded.lookup("GET", "/app.js", before);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_NE(after->etag, before);
  EXPECT_EQ(after->body, "import './x.js'; // longer");
}

// The files are read once, when the StaticFiles is built: requests never touch the disk.
TEST_F(StaticFilesTest, FilesAreNotReadAtRequestTime) {
  StaticSite site = StaticSite::for_directories(root_);
  auto etag = std::string(site.lookup("GET", "/app.js", "")->etag);
  write("web/static/app.js", "changed on disk");
  fs::last_write_time(root_ / "app.js", fs::file_time_type::clock::now() + std::chrono::seconds(5));
  fs::remove(root_ / "index.html");
  fs::remove(base_ / "web" / "client" / "newspush.js");
  write("web/static/new.js", "added after start");

  auto app = site.lookup("GET", "/app.js", "");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->body, "import './x.js';");
  EXPECT_EQ(app->etag, etag);
  EXPECT_EQ(site.lookup("GET", "/app.js", etag)->status, 304);
  auto page = site.lookup("GET", "/", "");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "<!doctype html><title>À la une</title>");
  auto lib = site.lookup("GET", "/client/newspush.js", "");
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->body, "export function connect() {}");
  EXPECT_FALSE(site.lookup("GET", "/new.js", ""));
}

TEST_F(StaticFilesTest, HiddenFilesAreNotEvenLoaded) {
  fs::create_directories(root_ / ".git");
  write("web/static/.git/config", "[core]");
  StaticFiles files(root_);
  EXPECT_EQ(files.file_count(), 12u);  // the fixture's 13 files in web/static less .env
  EXPECT_FALSE(files.lookup("GET", "/.git/config", ""));
}

TEST_F(StaticFilesTest, ATreeOverTheFileCountRefusesToLoad) {
  EXPECT_NO_THROW(StaticFiles(root_, "/", {12, 1 << 20}));
  EXPECT_THROW(StaticFiles(root_, "/", {11, 1 << 20}), StaticFilesError);
  // The default: 1,000 files.
  fs::create_directories(base_ / "many");
  for (int i = 0; i < 1001; ++i) std::ofstream(base_ / "many" / (std::to_string(i) + ".txt"));
  try {
    StaticFiles files(base_ / "many");
    FAIL() << "1,001 files loaded";
  } catch (const StaticFilesError& e) {
    EXPECT_NE(std::string(e.what()).find("more than 1000 files"), std::string::npos) << e.what();
  }
  fs::remove(base_ / "many" / "0.txt");
  EXPECT_EQ(StaticFiles(base_ / "many").file_count(), 1000u);
}

TEST_F(StaticFilesTest, ATreeOverTheByteCountRefusesToLoad) {
  StaticFiles files(root_);
  const std::uintmax_t bytes = files.byte_count();
  EXPECT_GT(bytes, 0u);
  EXPECT_NO_THROW(StaticFiles(root_, "/", {1000, bytes}));
  EXPECT_THROW(StaticFiles(root_, "/", {1000, bytes - 1}), StaticFilesError);
  // The default: 32 MiB, as eight files of 4 MiB (the largest one served) and one byte more.
  fs::create_directories(base_ / "big");
  for (int i = 0; i < 8; ++i)
    std::ofstream(base_ / "big" / (std::to_string(i) + ".bin"), std::ios::binary)
        << std::string(StaticFiles::kMaxFileBytes, 'x');
  EXPECT_EQ(StaticFiles(base_ / "big").byte_count(), 32u * 1024 * 1024);
  write("big/one-more.txt", "x");
  EXPECT_THROW(StaticFiles(base_ / "big"), StaticFilesError);
}

TEST_F(StaticFilesTest, TheSiteBoundCoversPageAndClientTogether) {
  const std::size_t page_files = StaticFiles(root_).file_count();
  EXPECT_NO_THROW(StaticSite::for_directories(root_, {}, {page_files + 1, 1 << 20}));
  EXPECT_THROW(StaticSite::for_directories(root_, {}, {page_files, 1 << 20}), StaticFilesError);
}

TEST_F(StaticFilesTest, LargeFilesAreRefused) {
  std::ofstream(root_ / "big.bin", std::ios::binary)
      << std::string(StaticFiles::kMaxFileBytes + 1, 'x');
  StaticFiles files(root_);
  auto r = files.lookup("GET", "/big.bin", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(StaticFilesTest, EtagMatching) {
  EXPECT_TRUE(StaticFiles::etag_matches("\"a\"", "\"a\""));
  EXPECT_TRUE(StaticFiles::etag_matches(" W/\"a\" ", "\"a\""));
  EXPECT_TRUE(StaticFiles::etag_matches("\"x\",\"a\"", "\"a\""));
  EXPECT_FALSE(StaticFiles::etag_matches("\"ab\"", "\"a\""));
  EXPECT_FALSE(StaticFiles::etag_matches("", "\"a\""));
  EXPECT_FALSE(StaticFiles::etag_matches("\"a\"", ""));
}

TEST_F(StaticFilesTest, SiteMountsTheClientUnderItsPrefix) {
  StaticSite site = StaticSite::for_directories(root_ / "");  // trailing slash on purpose
  auto page = site.lookup("GET", "/", "");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  auto lib = site.lookup("GET", "/client/newspush.js", "");
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->status, 200);
  EXPECT_EQ(lib->body, "export function connect() {}");
  EXPECT_EQ(lib->content_type, "text/javascript; charset=utf-8");
  EXPECT_FALSE(site.lookup("GET", "/client/missing.js", ""));
  EXPECT_FALSE(site.lookup("GET", "/metrics", ""));
  auto escape = site.lookup("GET", "/client/../secret.txt", "");
  ASSERT_TRUE(escape);
  EXPECT_EQ(escape->status, 400);
}

TEST_F(StaticFilesTest, SiteWithAnExplicitClientDirAndNoneAtAll) {
  fs::create_directories(base_ / "elsewhere");
  write("elsewhere/newspush.js", "// elsewhere");
  StaticSite site = StaticSite::for_directories(root_, base_ / "elsewhere");
  EXPECT_EQ(site.lookup("GET", "/client/newspush.js", "")->body, "// elsewhere");
  StaticSite alone = StaticSite::for_directories(root_, base_ / "does-not-exist");
  EXPECT_FALSE(alone.lookup("GET", "/client/newspush.js", ""));
  EXPECT_TRUE(alone.lookup("GET", "/app.js", ""));
}

TEST_F(StaticFilesTest, AMissingRootServesNothing) {
  StaticFiles files(base_ / "nowhere");
  EXPECT_FALSE(files.lookup("GET", "/", ""));
  EXPECT_FALSE(files.lookup("GET", "/index.html", ""));
}

}  // namespace
}  // namespace newspush
