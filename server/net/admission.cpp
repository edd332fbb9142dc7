#include "server/net/admission.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace newspush {

namespace {
constexpr std::size_t kSweepEvery = 1024;
}

Admission::ConnectionSlot& Admission::ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release_connection();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

Admission::ConnectionSlot::~ConnectionSlot() {
  if (owner_) owner_->release_connection();
}

Admission::ClientSlot& Admission::ClientSlot::operator=(ClientSlot&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release_client(key_);
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = other.key_;
  }
  return *this;
}

Admission::ClientSlot::~ClientSlot() {
  if (owner_) owner_->release_client(key_);
}

std::size_t Admission::KeyHash::operator()(const Key& key) const noexcept {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

Admission::Key Admission::key_of(const boost::asio::ip::address& address) {
  Key key{};
  if (address.is_v4() || (address.is_v6() && address.to_v6().is_v4_mapped())) {
    auto v4 = address.is_v4() ? address.to_v4()
                              : boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped,
                                                                 address.to_v6());
    auto bytes = v4.to_bytes();
    std::copy(bytes.begin(), bytes.end(), key.begin() + 12);
    key[10] = key[11] = 0xff;
    return key;
  }
  auto bytes = address.to_v6().to_bytes();
  std::copy(bytes.begin(), bytes.begin() + 8, key.begin());  // the /64
  return key;
}

std::optional<Admission::ConnectionSlot> Admission::admit_connection() {
  std::lock_guard lock(mutex_);
  if (limits_.max_connections != 0 && connections_ >= limits_.max_connections) return std::nullopt;
  ++connections_;
  return ConnectionSlot(this);
}

void Admission::refill(PerAddress& entry, Clock::time_point now) const {
  if (limits_.connects_per_second_per_ip <= 0) return;
  double elapsed = std::chrono::duration<double>(now - entry.refilled).count();
  entry.tokens = std::min(limits_.connect_burst,
                          entry.tokens + std::max(0.0, elapsed) * limits_.connects_per_second_per_ip);
  entry.refilled = now;
}

std::optional<Admission::ClientSlot> Admission::admit_client(const boost::asio::ip::address& client,
                                                             Clock::time_point now, Refusal& why) {
  if (limits_.max_connections_per_ip == 0 && limits_.connects_per_second_per_ip <= 0)
    return ClientSlot();  // nothing to count
  Key key = key_of(client);
  std::lock_guard lock(mutex_);
  if (++admits_since_sweep_ >= kSweepEvery) sweep(now);
  auto [it, inserted] = addresses_.try_emplace(key);
  PerAddress& entry = it->second;
  if (inserted) {
    entry.tokens = limits_.connect_burst;
    entry.refilled = now;
  }
  if (limits_.max_connections_per_ip != 0 && entry.connections >= limits_.max_connections_per_ip) {
    why = Refusal::per_ip;
    return std::nullopt;
  }
  if (limits_.connects_per_second_per_ip > 0) {
    refill(entry, now);
    if (entry.tokens < 1) {
      why = Refusal::connect_rate;
      return std::nullopt;
    }
    entry.tokens -= 1;
  }
  ++entry.connections;
  return ClientSlot(this, key);
}

void Admission::release_connection() {
  std::lock_guard lock(mutex_);
  --connections_;
}

void Admission::release_client(const Key& key) {
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(key);
  if (it == addresses_.end()) return;
  --it->second.connections;
  if (it->second.connections == 0 && limits_.connects_per_second_per_ip <= 0) addresses_.erase(it);
}

void Admission::sweep(Clock::time_point now) {
  admits_since_sweep_ = 0;
  for (auto it = addresses_.begin(); it != addresses_.end();) {
    refill(it->second, now);
    bool idle = it->second.connections == 0 &&
                (limits_.connects_per_second_per_ip <= 0 || it->second.tokens >= limits_.connect_burst);
    it = idle ? addresses_.erase(it) : std::next(it);
  }
}

std::size_t Admission::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::size_t Admission::tracked_addresses() const {
  std::lock_guard lock(mutex_);
  return addresses_.size();
}

}  // namespace newspush
