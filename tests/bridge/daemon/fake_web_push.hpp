#pragma once
// A fake Web Push service on loopback for the bridge's tests: it hands out subscriptions whose
// private keys it keeps, checks every push like a real service (VAPID Authorization for its
// origin, Content-Encoding aes128gcm, TTL), decrypts the body with the subscription's key, and
// answers 201, or what a test scripted for that subscription (429 with Retry-After, 500, 410,
// slow answers). A thread per connection; everything is stopped in the destructor.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace newspush::test {

struct FakeAnswer {
  FakeAnswer(int status_ = 201, std::string retry_after_ = {},
             std::chrono::milliseconds delay_ = std::chrono::milliseconds(0))
      : status(status_), retry_after(std::move(retry_after_)), delay(delay_) {}
  int status = 201;
  std::string retry_after;  // sent as Retry-After when not empty
  std::chrono::milliseconds delay{0};
};

struct FakePush {
  std::string name;        // the subscription's name (its endpoint's last path segment)
  nlohmann::json payload;  // decrypted
  std::string topic, urgency, ttl;
  int answered = 0;  // the status it was answered with
  std::chrono::steady_clock::time_point at;
};

class FakeWebPush {
 public:
  FakeWebPush();
  ~FakeWebPush();
  FakeWebPush(const FakeWebPush&) = delete;
  FakeWebPush& operator=(const FakeWebPush&) = delete;

  std::uint16_t port() const { return port_; }
  // A new subscription's PushSubscription JSON (endpoint http://127.0.0.1:PORT/push/NAME).
  nlohmann::json subscribe(const std::string& name);
  // The next pushes to `name` get these answers, in order; then 201.
  void script(const std::string& name, std::vector<FakeAnswer> answers);
  // Every push answered 201 waits this long first.
  void set_delay(std::chrono::milliseconds delay);

  std::vector<FakePush> pushes() const;  // every push that passed the checks, in order
  std::size_t accepted(const std::string& name) const;  // answered 2xx
  std::size_t accepted_total() const;
  std::size_t started() const;              // requests received (before any delay)
  std::vector<std::string> errors() const;  // pushes that failed a check, and why
  // Waits until accepted_total() >= n.
  bool wait_accepted(std::size_t n, std::chrono::milliseconds timeout) const;
  bool wait_started(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace newspush::test
