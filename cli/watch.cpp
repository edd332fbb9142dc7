// newspush watch: subscribe to categories and print articles as newspushd pushes them.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/terminal_text.hpp"

namespace newspush::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr const char* kWatchHelp =
    "Usage: newspush watch [--url URL] [--count N] [--raw] [--trending] [CATEGORY...]\n"
    "\n"
    "Connects to newspushd, subscribes to the given categories (default: \"*\", every\n"
    "category) and prints one line per article: [HH:MM:SS] category  title  [BREAKING].\n"
    "Control characters received (escape sequences in a title, say) are printed as U+FFFD,\n"
    "with --raw as \\u00XX escapes, so that the server cannot drive the terminal.\n"
    "\n"
    "  --url URL    WebSocket endpoint (default ws://127.0.0.1:8080/ws)\n"
    "  --count N    exit 0 after N articles\n"
    "  --raw        print every server message as its raw JSON line instead\n"
    "  --trending   also ask for the overall trending list; print each trending list\n"
    "               received (overall and the subscribed categories') as it changes\n"
    "  --token TOKEN  a connection token (JWT) for subscriber-only categories, sent on the\n"
    "               connection's URL (default: the NEWSPUSH_TOKEN environment variable,\n"
    "               better there than on the command line; `newspush token` signs one)\n"
    "\n"
    "Exits 1 when the connection fails or the server closes it (the close code and\n"
    "reason are printed; 4001 when the token expired and nothing public was\n"
    "subscribed), when the server refuses the token or every category asked for, 0 on\n"
    "Ctrl-C or after --count articles. A token is not refreshed: when the server says it\n"
    "expires soon, a line says so; at its expiry the subscriber-only categories stop.\n";

struct WsUrl {
  std::string host;
  std::string port;
  std::string target;
};

WsUrl parse_ws_url(std::string_view url) {
  constexpr std::string_view scheme = "ws://";
  if (url.starts_with("wss://")) {
    throw UsageError("wss:// is not supported; connect to newspushd directly with ws://");
  }
  if (!url.starts_with(scheme))
    throw UsageError("--url must start with ws://, got '" + std::string(url) + "'");
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  WsUrl result;
  result.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw UsageError("bad IPv6 host in --url");
    result.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw UsageError("bad --url '" + std::string(url) + "'");
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    result.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (result.host.empty()) throw UsageError("--url has no host: '" + std::string(url) + "'");
  result.port = port.empty() ? "80" : std::to_string(parse_number(port, "--url port", 1, 65535));
  return result;
}

struct WatchOptions {
  std::string url = "ws://127.0.0.1:8080/ws";
  std::optional<std::uint64_t> count;
  bool raw = false;
  bool trending = false;
  std::string token;  // empty: anonymous
  std::vector<std::string> categories;
};

// Percent-encodes a query value (a JWT needs none, but a token is the user's input).
std::string query_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

// "HH:MM:SS" local time of a token's exp (seconds since 1970), "?" when it is not a number.
std::string clock_at(const nlohmann::json& seconds) {
  if (!seconds.is_number_integer()) return "?";
  const std::time_t at = seconds.get<std::int64_t>();
  std::tm local{};
  localtime_r(&at, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

std::string joined(const nlohmann::json& list) {
  std::string text;
  if (!list.is_array()) return text;
  for (const auto& entry : list) {
    if (!text.empty()) text += ", ";
    text += entry.is_string() ? entry.get<std::string>() : entry.dump();
  }
  return text;
}

// One connection, driven by callbacks on a single-threaded io_context.
class Watcher {
 public:
  Watcher(asio::io_context& ioc, WatchOptions options, WsUrl url)
      : options_(std::move(options)),
        url_(std::move(url)),
        resolver_(ioc),
        ws_(ioc),
        signals_(ioc, SIGINT, SIGTERM) {}

  void start() {
    signals_.async_wait(beast::bind_front_handler(&Watcher::on_signal, this));
    resolver_.async_resolve(url_.host, url_.port,
                            beast::bind_front_handler(&Watcher::on_resolve, this));
  }

  int exit_code() const { return exit_code_; }

 private:
  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail("cannot resolve " + url_.host, ec);
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(ws_).async_connect(
        results, beast::bind_front_handler(&Watcher::on_connect, this));
  }

  void on_connect(error_code ec, const tcp::endpoint&) {
    if (ec) return fail("cannot connect to " + options_.url, ec);
    // The websocket's own timeouts replace the TCP deadline from here on: pinging the server
    // after 30 s of silence and giving up after 60 s detects a dead server or network.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = std::chrono::seconds(10);
    timeouts.idle_timeout = std::chrono::seconds(60);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "newspush-cli/" NEWSPUSH_VERSION);
    }));
    ws_.read_message_max(16 * 1024 * 1024);
    const std::string host = url_.host.find(':') != std::string::npos
                                 ? "[" + url_.host + "]:" + url_.port
                                 : url_.host + ":" + url_.port;
    // The token on the URL: newspushd checks it as the connection opens, before the subscribe.
    std::string target = url_.target;
    if (!options_.token.empty()) {
      target += target.find('?') == std::string::npos ? "?" : "&";
      target += "token=" + query_escape(options_.token);
    }
    ws_.async_handshake(response_, host, target,
                        beast::bind_front_handler(&Watcher::on_handshake, this));
  }

  void on_handshake(error_code ec) {
    if (ec == websocket::error::upgrade_declined) {
      std::cerr << "newspush: " << options_.url << " refused the WebSocket upgrade (HTTP "
                << response_.result_int() << ")\n";
      return finish(1);
    }
    if (ec) return fail("WebSocket handshake with " + options_.url + " failed", ec);
    nlohmann::json command = {{"op", "subscribe"}, {"categories", options_.categories}};
    if (options_.trending) command["trending"] = {"*"};
    outgoing_ = command.dump();
    ws_.text(true);
    ws_.async_write(asio::buffer(outgoing_), beast::bind_front_handler(&Watcher::on_write, this));
  }

  void on_write(error_code ec, std::size_t) {
    if (ec) return fail("sending the subscription failed", ec);
    read();
  }

  void read() { ws_.async_read(buffer_, beast::bind_front_handler(&Watcher::on_read, this)); }

  void on_read(error_code ec, std::size_t) {
    if (ec == websocket::error::closed) {
      if (closing_) return finish(exit_code_);
      const auto& reason = ws_.reason();
      std::cerr << "newspush: server closed the connection: code "
                << static_cast<unsigned>(reason.code);
      if (!reason.reason.empty())
        std::cerr << ", reason " << terminal_safe({reason.reason.data(), reason.reason.size()});
      std::cerr << "\n";
      return finish(1);
    }
    if (ec) {
      if (closing_) return finish(exit_code_);
      return fail("connection lost", ec);
    }
    const std::string frame = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // A frame may carry several JSON objects, one per line.
    std::size_t start = 0;
    while (start < frame.size() && !closing_) {
      auto end = frame.find('\n', start);
      if (end == std::string::npos) end = frame.size();
      if (end > start) handle_line(std::string_view(frame).substr(start, end - start));
      start = end + 1;
    }
    if (!closing_) read();
  }

  void handle_line(std::string_view line) {
    if (options_.raw) std::cout << terminal_safe_json(line) << std::endl;
    const auto message = nlohmann::json::parse(line, nullptr, false);
    if (!message.is_object()) {
      if (!options_.raw) std::cerr << "newspush: ignoring a line that is not a JSON object\n";
      return;
    }
    const std::string type = message.value("type", "");
    if (type == "article") {
      if (!options_.raw) print_article(message);
      ++articles_;
      if (options_.count && articles_ >= *options_.count) close_with(0);
    } else if (type == "welcome") {
      if (!options_.raw) {
        std::cerr << "connected to " << options_.url << " ("
                  << terminal_safe(message.value("server", "?")) << ")\n";
      }
    } else if (type == "subscribed") {
      subscribed_ = true;
      if (!options_.raw) {
        std::string list;
        if (message.contains("categories") && message["categories"].is_array()) {
          for (const auto& category : message["categories"]) {
            if (!list.empty()) list += ", ";
            list += category.is_string() ? category.get<std::string>() : category.dump();
          }
        }
        std::cerr << "subscribed to: " << terminal_safe(list) << "\n";
      }
    } else if (type == "authenticated") {
      if (!options_.raw) {
        std::cerr << "token accepted, valid until "
                  << clock_at(message.value("exp", nlohmann::json())) << "\n";
      }
    } else if (type == "token_expiring") {
      if (!options_.raw) {
        std::cerr
            << "the token expires at " << clock_at(message.value("exp", nlohmann::json()))
            << ": its subscriber-only categories stop then (run again with a fresh --token)\n";
      }
    } else if (type == "error" && message.value("code", "") == "invalid_token") {
      std::cerr << "newspush: the server refused the token: "
                << terminal_safe(message.value("reason", "?")) << "\n";
      close_with(1);
    } else if (type == "error" && message.value("code", "") == "forbidden") {
      const std::string category = terminal_safe(message.value("category", "?"));
      const bool list = message.value("trending", false);
      if (!subscribed_) {
        std::cerr << "newspush: the server refused the subscription: " << category
                  << (list ? "'s trending list" : "")
                  << " is for subscribers only (--token, or NEWSPUSH_TOKEN)\n";
        close_with(1);
      } else if (!options_.raw) {
        std::cerr << "forbidden: " << category << (list ? "'s trending list" : "")
                  << " is for subscribers only (--token, or NEWSPUSH_TOKEN)\n";
      }
    } else if (type == "error" && message.value("code", "") == "token_expired") {
      if (!options_.raw) {
        std::cerr << "token expired: stopped "
                  << terminal_safe(joined(message.value("categories", nlohmann::json()))) << "\n";
      }
    } else if (type == "error") {
      const std::string text = terminal_safe(message.value("code", "error") + ": " +
                                             message.value("message", std::string()));
      if (!subscribed_) {
        std::cerr << "newspush: the server refused the subscription: " << text << "\n";
        close_with(1);
      } else if (!options_.raw) {
        std::cerr << "server error: " << text << "\n";
      }
    } else if (type == "trending") {
      if (!options_.raw && options_.trending) print_trending(message);
    }
    // Other types (pong, later additions) need no action.
  }

  // [HH:MM:SS] Tendance *: 1. title (12.5)  2. ...
  void print_trending(const nlohmann::json& message) {
    std::string category = terminal_safe(message.value("category", "?"));
    std::cout << "[" << clock_now() << "] Tendance " << category << ":";
    int rank = 0;
    if (message.contains("items") && message["items"].is_array()) {
      for (const auto& item : message["items"]) {
        if (!item.is_object()) continue;
        std::cout << (rank ? "  " : " ");
        ++rank;
        std::cout << rank << ". " << terminal_safe(item.value("title", item.value("id", "?")));
        if (item.contains("score") && item["score"].is_number())
          std::cout << " (" << item["score"].get<double>() << ")";
      }
    }
    if (rank == 0) std::cout << " (empty)";
    std::cout << std::endl;
  }

  void print_article(const nlohmann::json& message) {
    const nlohmann::json empty = nlohmann::json::object();
    const auto& article =
        message.contains("article") && message["article"].is_object() ? message["article"] : empty;
    // Everything printed comes from the wire: no escape sequence reaches the terminal.
    std::string category = terminal_safe(message.value("category", article.value("category", "?")));
    std::string title = terminal_safe(article.value("title", article.value("id", "(untitled)")));
    const bool breaking = message.value("breaking", article.value("breaking", false));
    std::cout << "[" << clock_now() << "] " << std::left << std::setw(13) << category << "  "
              << title << (breaking ? "  [BREAKING]" : "") << std::endl;
  }

  void close_with(int code) {
    if (closing_) return;
    closing_ = true;
    exit_code_ = code;
    ws_.async_close(websocket::close_code::normal, [this](error_code) { finish(exit_code_); });
  }

  void on_signal(error_code ec, int) {
    if (ec) return;
    if (!ws_.is_open()) return finish(0);
    // A second Ctrl-C while the close handshake is pending ends at once.
    if (closing_) return finish(0);
    close_with(0);
    signals_.async_wait(beast::bind_front_handler(&Watcher::on_signal, this));
  }

  void fail(const std::string& what, error_code ec) {
    std::cerr << "newspush: " << what << ": " << ec.message() << "\n";
    finish(1);
  }

  void finish(int code) {
    if (finished_) return;
    finished_ = true;
    exit_code_ = code;
    error_code ignored;
    signals_.cancel(ignored);
    resolver_.cancel();
    beast::get_lowest_layer(ws_).close();
  }

  WatchOptions options_;
  WsUrl url_;
  tcp::resolver resolver_;
  websocket::stream<beast::tcp_stream> ws_;
  asio::signal_set signals_;
  websocket::response_type response_;
  beast::flat_buffer buffer_;
  std::string outgoing_;
  std::uint64_t articles_ = 0;
  bool subscribed_ = false;
  bool closing_ = false;
  bool finished_ = false;
  int exit_code_ = 1;
};

}  // namespace

int run_watch(std::span<char* const> args) {
  WatchOptions options;
  ArgReader reader(args);
  std::string value;
  while (!reader.done()) {
    if (reader.flag("--help") || reader.flag("-h")) {
      std::cout << kWatchHelp;
      return 0;
    }
    if (reader.option("--url", &value)) {
      options.url = value;
    } else if (reader.option("--count", &value)) {
      options.count = parse_number(value, "--count", 1, 1000000000);
    } else if (reader.flag("--raw")) {
      options.raw = true;
    } else if (reader.flag("--trending")) {
      options.trending = true;
    } else if (reader.option("--token", &value)) {
      if (value.empty()) throw UsageError("watch: --token must not be empty");
      options.token = value;
    } else if (reader.current().starts_with("-") && reader.current() != "-") {
      throw UsageError("watch: unknown option '" + std::string(reader.current()) + "'");
    } else {
      options.categories.emplace_back(reader.take());
    }
  }
  if (options.categories.empty()) options.categories.emplace_back("*");
  if (options.token.empty()) {
    const char* from_env = std::getenv("NEWSPUSH_TOKEN");
    if (from_env && *from_env) options.token = from_env;
  }
  // newspushd refuses longer ones unread.
  if (options.token.size() > 8192) throw UsageError("watch: the token is over 8192 bytes");
  WsUrl url = parse_ws_url(options.url);

  asio::io_context ioc;
  Watcher watcher(ioc, std::move(options), std::move(url));
  watcher.start();
  ioc.run();
  return watcher.exit_code();
}

}  // namespace newspush::cli
