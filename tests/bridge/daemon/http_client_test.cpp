// HttpClient (libcurl multi on Asio) against a Node server on loopback: HTTP/1.1, HTTP/2 over
// TLS with a test CA given as the extra CA, many requests multiplexed on one connection,
// timeouts, refused and dropped connections, bounded bodies.
#include "bridge/daemon/http_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "tests/bridge/daemon/node_server.hpp"
#include "tests/bridge/daemon/test_pki.hpp"

namespace newspush::test {
namespace {

using bridge::HttpClient;
using bridge::HttpClientOptions;
using bridge::HttpRequest;
using bridge::HttpResponse;
using ::testing::HasSubstr;

constexpr auto kBound = std::chrono::seconds(30);

HttpRequest get(std::string url, bool http2 = false) {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  request.http2 = http2;
  return request;
}

HttpRequest post(std::string url, std::string body = {}, bool http2 = false) {
  HttpRequest request;
  request.url = std::move(url);
  request.body = std::move(body);
  request.http2 = http2;
  return request;
}

class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest()
      : server_(HTTP_TEST_SERVER_CJS, {pki_.server_cert.string(), pki_.server_key.string()}) {}

  std::string url(const std::string& server, const std::string& path,
                  const std::string& host = "127.0.0.1") {
    std::string scheme = server == "http1" ? "http" : "https";
    return scheme + "://" + host + ":" + std::to_string(server_.port(server)) + path;
  }

  HttpClientOptions trusting_test_ca() {
    HttpClientOptions options;
    options.extra_ca_file = pki_.ca_cert.string();
    return options;
  }

  // Performs one request and runs the io_context until its answer.
  HttpResponse fetch(HttpClient& client, HttpRequest request) {
    std::optional<HttpResponse> answer;
    client.perform(std::move(request), [&](HttpResponse r) { answer = std::move(r); });
    EXPECT_TRUE(run_until(
        io_, [&] { return answer.has_value(); }, kBound));
    return answer.value_or(HttpResponse{});
  }

  nlohmann::json stats(HttpClient& client, const std::string& server) {
    return nlohmann::json::parse(fetch(client, get(url(server, "/__stats"))).body);
  }

  TestPki pki_;
  NodeServer server_;
  boost::asio::io_context io_;
};

TEST_F(HttpClientTest, PostsOverHttp1WithHeadersAndBody) {
  HttpClient client(io_.get_executor(), {});
  HttpRequest request = post(url("http1", "/echo"), R"({"hello":"monde"})");
  request.headers = {{"content-type", "application/json"}, {"x-token", "abc"}};
  HttpResponse response = fetch(client, request);
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(response.header("x-echo"), "yes");
  EXPECT_EQ(response.header("content-type"), "application/json");
  auto echo = nlohmann::json::parse(response.body);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["body"], R"({"hello":"monde"})");
  EXPECT_EQ(echo["headers"]["x-token"], "abc");
  EXPECT_EQ(echo["headers"].count("expect"), 0u);
  EXPECT_EQ(echo["httpVersion"], "1.1");
  EXPECT_GT(response.latency.count(), 0);
}

TEST_F(HttpClientTest, TheCallbackIsNeverCalledInsidePerform) {
  HttpClient client(io_.get_executor(), {});
  std::vector<HttpResponse> answers;
  client.perform(post("not a url at all"), [&](HttpResponse r) { answers.push_back(r); });
  client.perform(post(url("http1", "/echo")), [&](HttpResponse r) { answers.push_back(r); });
  EXPECT_TRUE(answers.empty());
  EXPECT_EQ(client.in_flight(), 2u);
  ASSERT_TRUE(run_until(
      io_, [&] { return answers.size() == 2; }, kBound));
  EXPECT_EQ(client.in_flight(), 0u);
  int refused = 0;
  for (const auto& answer : answers) refused += answer.status == 0 && !answer.error.empty();
  EXPECT_EQ(refused, 1);
}

TEST_F(HttpClientTest, Http2OverTlsTrustingTheExtraCa) {
  HttpClient client(io_.get_executor(), trusting_test_ca());
  HttpResponse response = fetch(client, get(url("h2", "/echo"), true));
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(nlohmann::json::parse(response.body)["httpVersion"], "2.0");
  // By name too: the threaded resolver's descriptor is watched like the connections.
  response = fetch(client, get(url("h2", "/echo", "localhost"), true));
  ASSERT_EQ(response.status, 200) << response.error;
}

TEST_F(HttpClientTest, WithoutTheExtraCaTheTestCertificateIsRefused) {
  HttpClient client(io_.get_executor(), {});
  HttpResponse response = fetch(client, get(url("h2", "/echo")));
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.error, HasSubstr("certificate"));
}

TEST_F(HttpClientTest, AnUnreadableExtraCaIsAStartUpError) {
  HttpClientOptions options;
  options.extra_ca_file = (pki_.dir / "missing.pem").string();
  EXPECT_THROW(HttpClient(io_.get_executor(), options), std::runtime_error);
  write_file(pki_.dir / "empty.pem", "not a certificate\n");
  options.extra_ca_file = (pki_.dir / "empty.pem").string();
  EXPECT_THROW(HttpClient(io_.get_executor(), options), std::runtime_error);
}

TEST_F(HttpClientTest, RequiredHttp2IsNotDowngraded) {
  HttpClient client(io_.get_executor(), trusting_test_ca());
  HttpResponse response = fetch(client, get(url("https1", "/echo"), true));
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.error, HasSubstr("HTTP/2"));
  // Not required, HTTP/1.1 over TLS is fine.
  response = fetch(client, get(url("https1", "/echo")));
  EXPECT_EQ(response.status, 200) << response.error;
}

TEST_F(HttpClientTest, ManyConcurrentRequestsShareOneHttp2Connection) {
  HttpClientOptions options = trusting_test_ca();
  options.max_connections_per_host = 1;
  HttpClient client(io_.get_executor(), options);
  constexpr int kRequests = 100;
  int ok = 0;
  int answered = 0;
  for (int i = 0; i < kRequests; ++i) {
    client.perform(post(url("h2", "/delay/300"), "n=" + std::to_string(i), true),
                   [&](HttpResponse r) {
                     ++answered;
                     if (r.status == 200 && r.body == "waited 300") ++ok;
                   });
  }
  EXPECT_EQ(client.in_flight(), static_cast<std::size_t>(kRequests));
  ASSERT_TRUE(run_until(
      io_, [&] { return answered == kRequests; }, kBound));
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(client.in_flight(), 0u);
  auto s = stats(client, "h2");
  EXPECT_EQ(s["connections"], 1);
  // Streams overlapped on that one connection (curl's default cap is 100 streams).
  EXPECT_GT(s["maxInFlight"].get<int>(), 1);
}

TEST_F(HttpClientTest, Http1RequestsStayWithinTheConnectionLimitAndReuseThem) {
  HttpClientOptions options;
  options.max_connections_per_host = 3;
  HttpClient client(io_.get_executor(), options);
  int ok = 0;
  for (int i = 0; i < 30; ++i)
    client.perform(post(url("http1", "/delay/50")), [&](HttpResponse r) { ok += r.status == 200; });
  ASSERT_TRUE(run_until(
      io_, [&] { return ok == 30; }, kBound));
  auto s = stats(client, "http1");
  EXPECT_LE(s["connections"].get<int>(), 3);
  EXPECT_LE(s["maxInFlight"].get<int>(), 3);
}

TEST_F(HttpClientTest, ATimeoutAnswersStatusZeroAndSaysSo) {
  HttpClient client(io_.get_executor(), {});
  auto start = std::chrono::steady_clock::now();
  HttpRequest hang = post(url("http1", "/hang"));
  hang.timeout = std::chrono::milliseconds(300);
  HttpResponse response = fetch(client, hang);
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.error, HasSubstr("timeout"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  // The client goes on working afterwards.
  EXPECT_EQ(fetch(client, post(url("http1", "/echo"))).status, 200);
}

TEST_F(HttpClientTest, ARefusedConnectionAnswersStatusZero) {
  // A port that was free a moment ago: bind, read the number, close.
  boost::asio::ip::tcp::acceptor probe(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = probe.local_endpoint().port();
  probe.close();
  HttpClient client(io_.get_executor(), {});
  HttpResponse response = fetch(client, post("http://127.0.0.1:" + std::to_string(port) + "/x"));
  EXPECT_EQ(response.status, 0);
  EXPECT_FALSE(response.error.empty());
}

TEST_F(HttpClientTest, AConnectionClosedMidRequestAnswersStatusZero) {
  HttpClient client(io_.get_executor(), trusting_test_ca());
  HttpResponse response = fetch(client, post(url("http1", "/drop")));
  EXPECT_EQ(response.status, 0);
  EXPECT_FALSE(response.error.empty());
  // Over HTTP/2 the whole connection goes, with the other streams on it.
  int dropped = 0;
  int answered = 0;
  client.perform(post(url("h2", "/delay/2000"), {}, true), [&](HttpResponse r) {
    ++answered;
    dropped += r.status == 0;
  });
  client.perform(post(url("h2", "/drop"), {}, true), [&](HttpResponse r) {
    ++answered;
    dropped += r.status == 0;
  });
  ASSERT_TRUE(run_until(
      io_, [&] { return answered == 2; }, kBound));
  EXPECT_GE(dropped, 1);
  // And a new connection serves the next request.
  EXPECT_EQ(fetch(client, post(url("h2", "/echo"), {}, true)).status, 200);
}

TEST_F(HttpClientTest, StatusHeadersAndBoundedBodies) {
  HttpClientOptions options;
  options.max_response_body = 1000;
  HttpClient client(io_.get_executor(), options);
  HttpResponse response = fetch(client, post(url("http1", "/status/503")));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.header("retry-after"), "7");
  EXPECT_EQ(response.body, "status 503");
  response = fetch(client, get(url("http1", "/big/100000")));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body.size(), 1000u);
}

TEST_F(HttpClientTest, DestroyingTheClientWithRequestsInFlightIsSafe) {
  {
    HttpClient client(io_.get_executor(), trusting_test_ca());
    for (int i = 0; i < 5; ++i)
      client.perform(post(url("h2", "/delay/5000"), {}, true),
                     [](HttpResponse) { FAIL() << "dropped with its client"; });
    // Until the server holds all five: they are really in flight when the client goes.
    HttpClient observer(io_.get_executor(), trusting_test_ca());
    ASSERT_TRUE(run_until(
        io_, [&] { return stats(observer, "h2")["inFlight"] == 5; }, kBound));
  }
  // Whatever the client left queued runs harmlessly.
  io_.restart();
  io_.run_for(std::chrono::milliseconds(200));
}

}  // namespace
}  // namespace newspush::test
