#include "tests/support/http_client.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace newspush::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Runs one asynchronous step to completion. The stream's expiry bounds it, so run() returns.
template <class Start>
error_code run_step(asio::io_context& ioc, Start start) {
  error_code result = asio::error::operation_aborted;
  start([&](error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<HttpResponse> http_request(std::uint16_t port, std::string method, std::string target,
                                         std::string body,
                                         std::vector<std::pair<std::string, std::string>> headers,
                                         std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);  // one deadline for connect, write and read together

  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  if (run_step(ioc, [&](auto handler) { stream.async_connect(endpoint, handler); })) {
    return std::nullopt;
  }

  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  request.set(http::field::user_agent, "newspush-test-client");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.body() = std::move(body);
    request.prepare_payload();
  }
  if (run_step(ioc, [&](auto handler) { http::async_write(stream, request, handler); })) {
    return std::nullopt;
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  if (run_step(ioc, [&](auto handler) { http::async_read(stream, buffer, parser, handler); })) {
    return std::nullopt;
  }

  const auto& response = parser.get();
  HttpResponse result;
  result.status = static_cast<int>(response.result_int());
  result.body = response.body();
  for (const auto& field : response) {
    result.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  result.content_type = result.header("Content-Type").value_or("");
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

std::optional<HttpResponse> http_get(std::uint16_t port, std::string target,
                                     std::chrono::milliseconds timeout) {
  return http_request(port, "GET", std::move(target), {}, {}, timeout);
}

namespace {

struct Series {
  std::string name;
  std::vector<std::string> labels;  // `key="value"` as written, sorted
  bool ok = true;
};

// Splits `name{k="v",...}` into its name and sorted labels, honouring quotes and escapes.
Series parse_series(std::string_view text) {
  Series series;
  const auto brace = text.find('{');
  series.name = std::string(text.substr(0, brace));
  if (brace == std::string_view::npos) return series;
  if (text.back() != '}') {
    series.ok = false;
    return series;
  }
  std::string current;
  bool in_quotes = false;
  for (std::size_t i = brace + 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes && c == '\\' && i + 2 < text.size()) {
      current += c;
      current += text[++i];
      continue;
    }
    if (c == '"') in_quotes = !in_quotes;
    if (c == ',' && !in_quotes) {
      if (!current.empty()) series.labels.push_back(std::move(current));
      current.clear();
      continue;
    }
    current += c;
  }
  if (!current.empty()) series.labels.push_back(std::move(current));
  std::sort(series.labels.begin(), series.labels.end());
  return series;
}

}  // namespace

std::optional<double> metric_value(const std::string& prometheus_text,
                                   std::string_view name_with_labels) {
  const Series wanted = parse_series(name_with_labels);
  std::istringstream lines(prometheus_text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    // The series ends at the first space outside the label braces (label values may hold spaces).
    std::size_t end = 0;
    bool in_braces = false, in_quotes = false;
    for (; end < line.size(); ++end) {
      const char c = line[end];
      if (in_quotes) {
        if (c == '\\') {
          ++end;  // skip the escaped character
        } else if (c == '"') {
          in_quotes = false;
        }
        continue;
      }
      if (c == '"' && in_braces) {
        in_quotes = true;
      } else if (c == '{') {
        in_braces = true;
      } else if (c == '}') {
        in_braces = false;
      } else if ((c == ' ' || c == '\t') && !in_braces) {
        break;
      }
    }
    if (end >= line.size()) continue;
    const std::string_view series_text(line.data(), end);
    bool match;
    if (series_text == name_with_labels) {
      match = true;
    } else {
      const Series series = parse_series(series_text);
      match =
          series.ok && wanted.ok && series.name == wanted.name && series.labels == wanted.labels;
    }
    if (!match) continue;
    const char* value = line.c_str() + end;
    while (*value == ' ' || *value == '\t') ++value;
    char* parsed_end = nullptr;
    const double number = std::strtod(value, &parsed_end);
    if (parsed_end == value) return std::nullopt;
    return number;
  }
  return std::nullopt;
}

}  // namespace newspush::test
