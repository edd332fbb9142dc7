#include "bridge/daemon/provider.hpp"

#include <boost/asio/post.hpp>

namespace newspush::bridge {

std::string_view to_string(Platform platform) {
  switch (platform) {
    case Platform::fcm:
      return "fcm";
    case Platform::apns:
      return "apns";
    case Platform::webpush:
      return "webpush";
  }
  return "unknown";
}

std::optional<Platform> platform_from_string(std::string_view name) {
  if (name == "fcm") return Platform::fcm;
  if (name == "apns") return Platform::apns;
  if (name == "webpush") return Platform::webpush;
  return std::nullopt;
}

std::string_view to_string(SendOutcome outcome) {
  switch (outcome) {
    case SendOutcome::accepted:
      return "accepted";
    case SendOutcome::retry:
      return "retry";
    case SendOutcome::dead_token:
      return "dead_token";
    case SendOutcome::rejected:
      return "rejected";
  }
  return "unknown";
}

std::size_t free_capacity(bool stopped, std::size_t in_flight, std::size_t limit) {
  return stopped || in_flight >= limit ? 0 : limit - in_flight;
}

void answer_later(const boost::asio::any_io_executor& executor, SendCallback done,
                  SendOutcome outcome, std::string reason) {
  boost::asio::post(executor, [done = std::move(done), outcome, reason = std::move(reason)] {
    SendResult result;
    result.outcome = outcome;
    result.reason = reason;
    done(std::move(result));
  });
}

}  // namespace newspush::bridge
