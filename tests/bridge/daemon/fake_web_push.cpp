#include "tests/bridge/daemon/fake_web_push.hpp"

#include <openssl/rand.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <list>
#include <optional>

#include "bridge/push/p256.hpp"
#include "bridge/push/vapid.hpp"
#include "bridge/push/web_push_crypto.hpp"
#include "common/base64url.hpp"

namespace newspush::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct FakeWebPush::Impl {
  struct Subscription {
    std::shared_ptr<const bridge::P256PrivateKey> key;
    std::string auth;
    std::deque<FakeAnswer> script;
  };

  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::map<std::string, Subscription> subscriptions;
  std::vector<FakePush> pushes;
  std::vector<std::string> errors;
  std::size_t started = 0;
  std::chrono::milliseconds delay{0};
  std::list<std::thread> connections;
  std::list<std::shared_ptr<tcp::socket>> sockets;
  bool stopping = false;
  std::string origin;

  void serve(std::shared_ptr<tcp::socket> socket) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> request;
      beast::error_code ec;
      http::read(*socket, buffer, request, ec);
      if (ec) return;
      auto response = answer(request);
      http::write(*socket, response, ec);
      if (ec || !request.keep_alive()) return;
    }
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& request) {
    http::response<http::string_body> response(http::status::created, request.version());
    response.keep_alive(request.keep_alive());
    auto fail = [&](http::status status, const std::string& why) {
      std::lock_guard lock(mutex);
      errors.push_back(why);
      changed.notify_all();
      response.result(status);
      response.body() = why;
      response.prepare_payload();
      return response;
    };
    std::string target(request.target());
    if (!target.starts_with("/push/") || request.method() != http::verb::post)
      return fail(http::status::not_found, "unexpected " + target);
    std::string name = target.substr(6);
    {
      std::lock_guard lock(mutex);
      ++started;
      changed.notify_all();
    }
    auto vapid = bridge::verify_vapid_authorization(
        std::string(request[http::field::authorization]), origin, std::chrono::system_clock::now());
    if (!vapid.ok())
      return fail(http::status::unauthorized, "vapid: " + std::string(to_string(vapid.error)));
    if (request["Content-Encoding"] != "aes128gcm")
      return fail(http::status::bad_request, "encoding");
    if (request["TTL"].empty()) return fail(http::status::bad_request, "no TTL");
    FakeAnswer scripted;
    std::shared_ptr<const bridge::P256PrivateKey> key;
    std::string auth;
    std::chrono::milliseconds wait{0};
    {
      std::lock_guard lock(mutex);
      auto found = subscriptions.find(name);
      if (found == subscriptions.end()) return fail(http::status::not_found, "unknown " + name);
      if (!found->second.script.empty()) {
        scripted = found->second.script.front();
        found->second.script.pop_front();
      }
      key = found->second.key;
      auth = found->second.auth;
      wait = scripted.delay.count() ? scripted.delay : delay;
    }
    auto plain = bridge::decrypt_web_push(request.body(), *key, auth);
    if (!plain.ok())
      return fail(http::status::bad_request, "decrypt: " + std::string(to_string(plain.error)));
    auto payload = nlohmann::json::parse(plain.bytes, nullptr, false);
    if (payload.is_discarded()) return fail(http::status::bad_request, "payload not JSON");
    if (wait.count()) std::this_thread::sleep_for(wait);
    std::lock_guard lock(mutex);
    pushes.push_back(FakePush{name, payload, std::string(request["Topic"]),
                              std::string(request["Urgency"]), std::string(request["TTL"]),
                              scripted.status, std::chrono::steady_clock::now()});
    changed.notify_all();
    response.result(static_cast<unsigned>(scripted.status));
    if (!scripted.retry_after.empty()) response.set(http::field::retry_after, scripted.retry_after);
    response.prepare_payload();
    return response;
  }
};

FakeWebPush::FakeWebPush() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->origin = "http://127.0.0.1:" + std::to_string(port_);
  impl_->accept_thread = std::thread([impl = impl_.get()] {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(impl->io);
      beast::error_code ec;
      impl->acceptor.accept(*socket, ec);
      std::lock_guard lock(impl->mutex);
      if (impl->stopping) return;
      if (ec) continue;
      impl->sockets.push_back(socket);
      impl->connections.emplace_back([impl, socket] { impl->serve(socket); });
    }
  });
}

FakeWebPush::~FakeWebPush() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    beast::error_code ignored;
    for (auto& socket : impl_->sockets) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }
  // A blocking accept() is not woken by close() from another thread: a connection wakes it.
  {
    asio::io_context io;
    tcp::socket waker(io);
    beast::error_code ignored;
    waker.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
  }
  impl_->accept_thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& thread : impl_->connections) thread.join();
}

nlohmann::json FakeWebPush::subscribe(const std::string& name) {
  auto generated = bridge::P256PrivateKey::generate();
  if (!generated) throw std::runtime_error("cannot generate a P-256 key");
  auto key = std::make_shared<const bridge::P256PrivateKey>(std::move(*generated));
  std::string secret(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 16);
  std::lock_guard lock(impl_->mutex);
  auto& subscription = impl_->subscriptions[name];
  subscription.key = std::move(key);
  subscription.auth = secret;
  return {{"endpoint", impl_->origin + "/push/" + name},
          {"expirationTime", nullptr},
          {"keys",
           {{"p256dh", base64url_encode(subscription.key->public_bytes())},
            {"auth", base64url_encode(secret)}}}};
}

void FakeWebPush::script(const std::string& name, std::vector<FakeAnswer> answers) {
  std::lock_guard lock(impl_->mutex);
  for (auto& answer : answers) impl_->subscriptions[name].script.push_back(answer);
}

void FakeWebPush::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mutex);
  impl_->delay = delay;
}

std::vector<FakePush> FakeWebPush::pushes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pushes;
}

std::size_t FakeWebPush::accepted(const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& push : impl_->pushes) n += push.name == name && push.answered / 100 == 2;
  return n;
}

std::size_t FakeWebPush::accepted_total() const {
  std::lock_guard lock(impl_->mutex);
  std::size_t n = 0;
  for (const auto& push : impl_->pushes) n += push.answered / 100 == 2;
  return n;
}

std::size_t FakeWebPush::started() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->started;
}

std::vector<std::string> FakeWebPush::errors() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->errors;
}

bool FakeWebPush::wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] {
    std::size_t count = 0;
    for (const auto& push : impl_->pushes) count += push.answered / 100 == 2;
    return count >= n;
  });
}

bool FakeWebPush::wait_started(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->started >= n; });
}

}  // namespace newspush::test
