#pragma once
// What every connection of the process shares: limits, counters and readiness.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "server/auth/restricted_categories.hpp"
#include "server/auth/token_verifier.hpp"
#include "server/history/known_categories.hpp"
#include "server/history/read_slots.hpp"
#include "server/history/replay_window.hpp"
#include "server/hub/event.hpp"
#include "server/metrics.hpp"
#include "server/net/admission.hpp"
#include "server/net/api.hpp"
#include "server/net/origin_policy.hpp"
#include "server/net/static_files.hpp"
#include "server/net/tls_context.hpp"

namespace newspush {

struct SessionSettings {
  std::size_t max_send_queue = 0;
  std::size_t max_frame = 0;
  std::size_t max_categories = 0;
  unsigned command_rate = 20;  // per second, after a burst of twice that
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds sse_heartbeat{15};
  ReplayLimits replay;  // what one resume may cost
  SharedFrame welcome;  // the same welcome message for everyone, serialized once
};

class History;
class RecentCache;
namespace trending {
class ViewRecorder;
}

struct ServerState {
  SessionSettings session;
  Metrics metrics;
  History* history = nullptr;  // thread-safe entry points only (post_*)
  std::unique_ptr<ReplayWindow> window;    // thread-safe: recent events, for resumes
  std::unique_ptr<ReadSlots> history_reads;  // thread-safe: resumes reading Redis at once
  RecentCache* recent = nullptr;             // thread-safe: GET /api/v1/articles answers
  KnownCategories known_categories;          // thread-safe
  trending::ViewRecorder* views = nullptr;  // likewise
  api::PublishKeys publish_keys;  // hashed once here, compared per request
  OriginPolicy origins;           // read-only after start-up
  auth::RestrictedCategories restricted;         // read-only after start-up
  std::unique_ptr<auth::TokenVerifier> tokens;   // thread-safe; null: no key, every token refused
  std::chrono::seconds token_expiry_lead{60};
  bool separate_admin_port = false;  // --admin-listen: operator endpoints only there
  std::unique_ptr<Admission> admission;                      // thread-safe
  std::vector<boost::asio::ip::address> trusted_proxies;     // read-only after start-up
  bool proxy_protocol = false;  // trusted peers begin with a PROXY header (public port only)
  std::size_t max_article = 0;
  std::unique_ptr<TlsCertificates> tls;  // --tls-cert; null: plain TCP. Thread-safe.
  StaticSite site;  // read-only after start-up
  std::atomic<bool> redis_ready{false};    // subscribed to the live channels
  std::atomic<bool> history_ready{false};  // command connection up, functions loaded
  std::atomic<bool> caught_up{false};      // delivered everything the history holds
  std::atomic<bool> draining{false};

  bool ready() const {
    return redis_ready.load() && history_ready.load() && caught_up.load() && !draining.load();
  }
};

}  // namespace newspush
