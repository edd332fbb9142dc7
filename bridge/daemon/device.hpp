#pragma once
// A registered device: the JSON of the device API (PUT /api/v1/devices/{id}) checked, and its
// Redis layout (a hash per device, a set per category, a set of breaking opt-ins).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/daemon/provider.hpp"

namespace newspush::bridge {

inline constexpr std::size_t kMaxDeviceIdBytes = 128;
inline constexpr std::size_t kMaxDeviceCategories = 64;
inline constexpr std::size_t kMaxTokenBytes = 4096;
inline constexpr std::size_t kMaxDeviceJsonBytes = 16 * 1024;

struct Device {
  std::string id;
  Platform platform = Platform::fcm;
  std::string token;         // fcm, apns
  std::string subscription;  // webpush: the PushSubscription JSON, compact
  std::vector<std::string> categories;
  bool breaking = false;
  std::string locale;
};

// [A-Za-z0-9._:-]{1,128}
bool is_valid_device_id(std::string_view id);

struct DeviceParse {
  std::optional<Device> device;
  std::string error;  // "bad_json", "bad_platform", ... (the API's error code)
  std::string detail;
};
// allow_http: a Web Push endpoint may be http:// (loopback test services).
DeviceParse parse_device(std::string_view id, std::string_view json, bool allow_http);
std::string device_to_json(const Device& device);

struct DeviceKeys {
  std::string prefix;  // "bridge:"
  std::string device(std::string_view id) const { return prefix + "device:" + std::string(id); }
  std::string category(std::string_view c) const { return prefix + "category:" + std::string(c); }
  std::string breaking() const { return prefix + "breaking"; }
  std::string accepted(std::string_view article) const {
    return prefix + "accepted:" + std::string(article);
  }
  std::string dead_letters() const { return prefix + "dead-letters"; }
};

// EVAL scripts: replace (or remove) a device and its index entries in one atomic step.
// ARGV: prefix, id, "put" | "delete" | "dead", then for put: platform, token, subscription,
// categories (JSON array), breaking "1"/"0", locale; for dead: the token or subscription that
// was found dead (a device re-registered since with another one is kept). Returns 1 if the
// device existed (and, for dead, was removed).
extern const char* const kDeviceScript;
std::vector<std::string> device_put_command(const DeviceKeys& keys, const Device& device);
std::vector<std::string> device_delete_command(const DeviceKeys& keys, std::string_view id);
std::vector<std::string> device_dead_command(const DeviceKeys& keys, std::string_view id,
                                             std::string_view address);

// From HGETALL's flat field list; nullopt when the hash is empty or unreadable.
std::optional<Device> device_from_fields(
    std::string_view id, const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace newspush::bridge
