#pragma once
// Admission control for the public port: how many connections the process holds, how many one
// client address holds, and how fast one address may open new ones. Every accepted socket takes
// a ConnectionSlot; every WebSocket upgrade a ClientSlot for the client's address. Slots give
// themselves back when dropped, on whatever thread the connection ends. Called once per connect
// and once per close, never per message: a mutex is cheap enough here.
#include <boost/asio/ip/address.hpp>
#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "server/metrics.hpp"

namespace newspush {

struct AdmissionLimits {
  std::size_t max_connections = 0;         // whole process; 0: no cap
  std::size_t max_connections_per_ip = 0;  // WebSocket connections per address; 0: no cap
  double connects_per_second_per_ip = 0;   // new WebSocket connections per address; 0: no cap
  double connect_burst = 0;                // how many at once before the rate applies
};

class Admission {
 public:
  using Clock = std::chrono::steady_clock;
  // IPv4 addresses count one by one; IPv6 ones by /64, the block one subscriber usually holds.
  using Key = std::array<unsigned char, 16>;

  class ConnectionSlot {
   public:
    ConnectionSlot() = default;
    explicit ConnectionSlot(Admission* owner) : owner_(owner) {}
    ConnectionSlot(ConnectionSlot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
    ~ConnectionSlot();

   private:
    Admission* owner_ = nullptr;
  };

  class ClientSlot {
   public:
    ClientSlot() = default;
    ClientSlot(Admission* owner, Key key) : owner_(owner), key_(key) {}
    ClientSlot(ClientSlot&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), key_(other.key_) {}
    ClientSlot& operator=(ClientSlot&& other) noexcept;
    ~ClientSlot();

   private:
    Admission* owner_ = nullptr;
    Key key_{};
  };

  explicit Admission(AdmissionLimits limits) : limits_(limits) {}
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  // At accept. nullopt: the process is full (Refusal::total).
  std::optional<ConnectionSlot> admit_connection();
  // At a WebSocket upgrade from `client`. Either a slot or why not (per_ip or connect_rate).
  std::optional<ClientSlot> admit_client(const boost::asio::ip::address& client, Clock::time_point now,
                                         Refusal& why);

  std::size_t connections() const;
  // Addresses remembered now (holding connections, or still paying for a burst): bounded.
  std::size_t tracked_addresses() const;

  static Key key_of(const boost::asio::ip::address& address);

 private:
  struct PerAddress {
    std::size_t connections = 0;
    double tokens = 0;
    Clock::time_point refilled{};
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  void release_connection();
  void release_client(const Key& key);
  // Forgets the addresses that hold nothing and whose bucket has refilled: remembering them
  // would change nothing, so an attacker's spread of addresses costs memory only briefly.
  void sweep(Clock::time_point now);
  void refill(PerAddress& entry, Clock::time_point now) const;

  const AdmissionLimits limits_;
  mutable std::mutex mutex_;
  std::size_t connections_ = 0;
  std::unordered_map<Key, PerAddress, KeyHash> addresses_;
  std::size_t admits_since_sweep_ = 0;
};

}  // namespace newspush
