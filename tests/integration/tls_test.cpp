// --tls-cert/--tls-key: https://, wss:// and /sse over TLS against a real newspushd, with a test
// CA, an intermediate and two server certificates made here by the openssl command. Also what a
// TLS port refuses (TLS 1.1, plain HTTP), start-up errors, and SIGHUP reloads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/articles.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/newspushd_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/tls_client.hpp"

namespace newspush::test {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

void run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

// A root CA, an intermediate and two leaves for 127.0.0.1/localhost signed by it (serials
// 0A01 and 0B02), each leaf's chain file holding the leaf then the intermediate: clients trust
// the root only, so a handshake succeeds only if the server sends the whole chain.
struct TestPki {
  fs::path dir = make_temp_dir("newspush-tls");
  fs::path root_cert = dir / "root.pem";

  TestPki() {
    const std::string d = dir.string();
    auto key = [&](const std::string& name) {
      run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/" + name);
    };
    key("root.key");
    key("inter.key");
    run("openssl req -x509 -new -key " + d + "/root.key -subj /CN=newspush-test-root -days 2 "
        "-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign -out " +
        d + "/root.pem");
    write(dir / "ca.ext", "basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign\n");
    run("openssl req -new -key " + d + "/inter.key -subj /CN=newspush-test-intermediate -out " + d +
        "/inter.csr");
    run("openssl x509 -req -in " + d + "/inter.csr -CA " + d + "/root.pem -CAkey " + d +
        "/root.key -set_serial 0x1F -days 2 -extfile " + d + "/ca.ext -out " + d + "/inter.pem");
    write(dir / "leaf.ext",
          "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    leaf("a", "0x0A01");
    leaf("b", "0x0B02");
  }
  ~TestPki() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  void leaf(const std::string& name, const std::string& serial) {
    const std::string d = dir.string();
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/" + name +
        ".key");
    run("openssl req -new -key " + d + "/" + name + ".key -subj /CN=localhost -out " + d + "/" +
        name + ".csr");
    run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/inter.pem -CAkey " + d +
        "/inter.key -set_serial " + serial + " -days 2 -extfile " + d + "/leaf.ext -out " + d +
        "/" + name + ".crt");
    write(dir / (name + ".chain.pem"), read(dir / (name + ".crt")) + read(dir / "inter.pem"));
  }
  fs::path chain(const std::string& name) const { return dir / (name + ".chain.pem"); }
  fs::path key(const std::string& name) const { return dir / (name + ".key"); }

  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
};

class TlsTest : public ::testing::Test {
 protected:
  std::unique_ptr<NewspushdProcess> start_node(const fs::path& cert, const fs::path& key,
                                               std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"--tls-cert", cert.string(), "--tls-key", key.string()};
    args.insert(args.end(), more.begin(), more.end());
    auto node = std::make_unique<NewspushdProcess>(redis_.url(), args);
    EXPECT_TRUE(node->wait_ready()) << node->output();
    return node;
  }
  TlsClientOptions verified() const {
    TlsClientOptions options;
    options.ca_file = pki_.root_cert.string();
    return options;
  }
  // newspushd's exit code and output when started with `args` (expected to refuse them).
  std::pair<std::optional<int>, std::string> refused_start(std::vector<std::string> args) {
    args.insert(args.begin(), {newspushd_bin(), "--listen", "127.0.0.1:0", "--redis", redis_.url()});
    ChildProcess process(args);
    auto code = process.wait_exit(std::chrono::seconds(15));
    return {code, process.output()};
  }

  RedisServer redis_;
  TestPki pki_;
};

TEST_F(TlsTest, WssSubscriberReceivesArticlesOverAVerifiedChainWithAlpnHttp11) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"));
  TlsWsClient client(node->port(), verified());
  EXPECT_EQ(client.info().alpn, "http/1.1");
  EXPECT_EQ(client.info().serial, "0A01");
  ASSERT_TRUE(client.subscribe({"sports"}));
  publish(redis_, make_article("tls-1", "sports"));
  auto article = client.next_event_of_type("article");
  ASSERT_TRUE(article) << node->output();
  EXPECT_EQ((*article)["article"]["id"], "tls-1");
  EXPECT_GE(node->metric("newspush_tls_handshakes_total"), 1);
}

TEST_F(TlsTest, HttpsServesHealthAndTheArticleList) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"));
  publish(redis_, make_article("tls-list", "economie"));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_articles_total", 1));
  TlsSessionInfo info;
  auto health = https_request(node->port(), verified(), "GET", "/healthz", 10s, &info);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  EXPECT_EQ(info.alpn, "http/1.1");
  auto list = https_request(node->port(), verified(), "GET", "/api/v1/articles?category=economie");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200) << list->body;
  EXPECT_THAT(list->body, HasSubstr("tls-list"));
  // A client offering only other protocols still connects, without ALPN (HTTP/1.1 it is).
  auto options = verified();
  options.alpn = {"h2"};
  auto h2_only = https_request(node->port(), options, "GET", "/healthz", 10s, &info);
  ASSERT_TRUE(h2_only);
  EXPECT_EQ(h2_only->status, 200);
  EXPECT_EQ(info.alpn, "");
}

TEST_F(TlsTest, SseStreamsOverHttps) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"));
  SseClient stream(verified(), node->port(), "/sse?categories=sports");
  ASSERT_EQ(stream.status(), 200) << stream.raw();
  ASSERT_TRUE(stream.next_of_type("subscribed")) << stream.raw();
  publish(redis_, make_article("tls-sse", "sports"));
  auto articles = stream.articles(1);
  ASSERT_EQ(articles.size(), 1u) << stream.raw();
  EXPECT_EQ(articles[0].json()["article"]["id"], "tls-sse");
}

TEST_F(TlsTest, RefusesTls11AndCountsTheFailure) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"));
  auto old = verified();
  old.max_version = TLS1_1_VERSION;
  EXPECT_THROW(TlsConnection(node->port(), old), std::runtime_error);
  EXPECT_TRUE(node->wait_metric_at_least("newspush_tls_handshake_failures_total", 1));
  // The same client allowed TLS 1.2 gets through: the refusal was the version's.
  auto tls12 = verified();
  tls12.max_version = TLS1_2_VERSION;
  TlsConnection connection(node->port(), tls12);
  EXPECT_EQ(connection.info().version, "TLSv1.2");
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortIsAnsweredClosedAndCounted) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"));
  RawTcp plain(node->port());
  ASSERT_TRUE(plain.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_EQ(plain.read_status(), 400) << plain.received();
  EXPECT_TRUE(plain.wait_closed());
  EXPECT_THAT(plain.received(), HasSubstr("this port speaks TLS"));
  EXPECT_TRUE(node->wait_metric_at_least("newspush_tls_plain_http_total", 1));
  EXPECT_GE(node->metric("newspush_tls_handshake_failures_total"), 1);
  auto health = https_request(node->port(), verified(), "GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(TlsTest, ProxyHeaderComesBeforeTlsAndTheLimitsCountItsSource) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"),
                         {"--trusted-proxy", "127.0.0.1", "--proxy-protocol",
                          "--max-connections-per-ip", "1", "--admin-listen", "127.0.0.1:0"});
  auto from = [&](const std::string& client) {
    auto options = verified();
    options.preamble = "PROXY TCP4 " + client + " 127.0.0.1 40000 443\r\n";
    return options;
  };
  TlsWsClient first(node->port(), from("198.51.100.7"));
  ASSERT_TRUE(first.subscribe({"sports"}));
  // The same reader again, through the balancer: over its per-address limit, whatever TLS did.
  EXPECT_THROW(TlsWsClient(node->port(), from("198.51.100.7")), std::runtime_error);
  EXPECT_TRUE(node->wait_metric_at_least("newspush_connections_refused_total{reason=\"per_ip\"}", 1));
  TlsWsClient other(node->port(), from("198.51.100.8"));
  EXPECT_TRUE(other.subscribe({"sports"}));
  // The balancer forgetting its header: the ClientHello is no PROXY header, the peer is closed.
  EXPECT_THROW(TlsConnection(node->port(), verified()), std::runtime_error);
  EXPECT_TRUE(node->wait_metric_at_least(
      "newspush_connections_refused_total{reason=\"bad_proxy_header\"}", 1));
}

TEST_F(TlsTest, AdminListenerSpeaksTlsToo) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"), {"--admin-listen", "127.0.0.1:0"});
  auto metrics = https_request(node->admin_port(), verified(), "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("newspush_tls_handshakes_total"));
}

TEST_F(TlsTest, SighupReloadsForNewConnectionsWhileOpenOnesKeepTheirs) {
  // The files newspushd reads are replaced in place, as a certificate renewal does.
  fs::path cert = pki_.dir / "live.pem", key = pki_.dir / "live.key";
  fs::copy_file(pki_.chain("a"), cert);
  fs::copy_file(pki_.key("a"), key);
  auto node = start_node(cert, key);
  TlsWsClient before(node->port(), verified());
  ASSERT_EQ(before.info().serial, "0A01");
  ASSERT_TRUE(before.subscribe({"sports"}));

  fs::copy_file(pki_.chain("b"), cert, fs::copy_options::overwrite_existing);
  fs::copy_file(pki_.key("b"), key, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(node->process().send_signal(SIGHUP));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_tls_reloads_total{result=\"ok\"}", 1))
      << node->output();
  EXPECT_TRUE(node->process().wait_for_line("INFO tls.reloaded ", 10s));
  TlsConnection after(node->port(), verified());
  EXPECT_EQ(after.info().serial, "0B02");

  publish(redis_, make_article("after-reload", "sports"));
  auto article = before.next_event_of_type("article");
  ASSERT_TRUE(article) << node->output();
  EXPECT_EQ((*article)["article"]["id"], "after-reload");

  // A broken file at the next reload: logged, counted, and the previous certificate stays.
  TestPki::write(cert, "not a certificate\n");
  ASSERT_TRUE(node->process().send_signal(SIGHUP));
  ASSERT_TRUE(node->wait_metric_at_least("newspush_tls_reloads_total{result=\"failed\"}", 1));
  EXPECT_TRUE(node->process().wait_for_line("ERROR tls.reload_failed ", 10s));
  TlsConnection still(node->port(), verified());
  EXPECT_EQ(still.info().serial, "0B02");
  publish(redis_, make_article("after-bad-reload", "sports"));
  article = before.next_event_of_type("article");
  ASSERT_TRUE(article);
  EXPECT_EQ((*article)["article"]["id"], "after-bad-reload");
}

TEST_F(TlsTest, DrainClosesWssClientsWith1001) {
  auto node = start_node(pki_.chain("a"), pki_.key("a"));
  TlsWsClient client(node->port(), verified());
  ASSERT_TRUE(client.subscribe({"sports"}));
  ASSERT_TRUE(node->process().send_signal(SIGTERM));
  EXPECT_FALSE(client.next_event_of_type("never", 15s));
  EXPECT_TRUE(client.closed());
  EXPECT_EQ(client.close_code(), 1001);
  EXPECT_EQ(node->terminate(), 0);
}

TEST_F(TlsTest, BadCertificateOrKeyAtStartExitsTwoNamingTheFlag) {
  auto missing = refused_start({"--tls-cert", (pki_.dir / "none.pem").string(), "--tls-key",
                                pki_.key("a").string()});
  EXPECT_EQ(missing.first, 2);
  EXPECT_THAT(missing.second, HasSubstr("--tls-cert"));
  auto garbage_key = pki_.dir / "garbage.key";
  TestPki::write(garbage_key, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
  auto bad_key = refused_start({"--tls-cert", pki_.chain("a").string(), "--tls-key",
                                garbage_key.string()});
  EXPECT_EQ(bad_key.first, 2);
  EXPECT_THAT(bad_key.second, HasSubstr("--tls-key"));
  auto mismatched = refused_start({"--tls-cert", pki_.chain("a").string(), "--tls-key",
                                   pki_.key("b").string()});
  EXPECT_EQ(mismatched.first, 2);
  EXPECT_THAT(mismatched.second, HasSubstr("--tls-key"));
  EXPECT_THAT(mismatched.second, HasSubstr("is not the key of the certificate"));
  auto alone = refused_start({"--tls-cert", pki_.chain("a").string()});
  EXPECT_EQ(alone.first, 2);
  EXPECT_THAT(alone.second, HasSubstr("--tls-cert: needs --tls-key"));
}

}  // namespace
}  // namespace newspush::test
