#include "server/net/request_id.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>

namespace newspush {

namespace {

std::uint32_t process_prefix() {
  std::random_device entropy;
  return static_cast<std::uint32_t>(entropy());
}

}  // namespace

bool is_acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    const bool alphanumeric =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alphanumeric && std::string_view("-_.:+/=@").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

std::string new_request_id() {
  static const std::uint32_t prefix = process_prefix();
  static std::atomic<std::uint64_t> counter{0};
  const auto n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  char text[32];
  const int length =
      std::snprintf(text, sizeof text, "%08x-%llx", prefix, static_cast<unsigned long long>(n));
  return std::string(text, static_cast<std::size_t>(length));
}

std::string request_id_for(std::string_view incoming) {
  return is_acceptable_request_id(incoming) ? std::string(incoming) : new_request_id();
}

}  // namespace newspush
