#include "bridge/daemon/device.hpp"

#include <nlohmann/json.hpp>

#include "bridge/push/subscription.hpp"
#include "protocol/category.hpp"

namespace newspush::bridge {

const char* const kDeviceScript = R"lua(
local prefix, id, mode = ARGV[1], ARGV[2], ARGV[3]
local key = prefix .. 'device:' .. id
local existed = redis.call('EXISTS', key)
if mode == 'dead' then
  local current = redis.call('HMGET', key, 'token', 'subscription')
  if current[1] ~= ARGV[4] and current[2] ~= ARGV[4] then return 0 end
end
local old = redis.call('HGET', key, 'categories')
if old then
  for _, c in ipairs(cjson.decode(old)) do redis.call('SREM', prefix .. 'category:' .. c, id) end
end
redis.call('SREM', prefix .. 'breaking', id)
redis.call('DEL', key)
if mode == 'put' then
  redis.call('HSET', key, 'platform', ARGV[4], 'token', ARGV[5], 'subscription', ARGV[6],
    'categories', ARGV[7], 'breaking', ARGV[8], 'locale', ARGV[9])
  for _, c in ipairs(cjson.decode(ARGV[7])) do redis.call('SADD', prefix .. 'category:' .. c, id) end
  if ARGV[8] == '1' then redis.call('SADD', prefix .. 'breaking', id) end
end
return existed
)lua";

bool is_valid_device_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxDeviceIdBytes) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == ':' || c == '-'))
      return false;
  return true;
}

DeviceParse parse_device(std::string_view id, std::string_view json, bool allow_http) {
  auto fail = [](std::string error, std::string detail) {
    return DeviceParse{std::nullopt, std::move(error), std::move(detail)};
  };
  if (!is_valid_device_id(id)) return fail("bad_device_id", "expected [A-Za-z0-9._:-]{1,128}");
  if (json.size() > kMaxDeviceJsonBytes) return fail("too_large", "at most 16 KiB");
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("bad_json", "expected a JSON object");
  Device device;
  device.id = std::string(id);
  auto platform = doc.find("platform");
  std::optional<Platform> parsed_platform;
  if (platform != doc.end() && platform->is_string())
    parsed_platform = platform_from_string(platform->get<std::string>());
  if (!parsed_platform) return fail("bad_platform", "platform: \"fcm\", \"apns\" or \"webpush\"");
  device.platform = *parsed_platform;
  if (device.platform == Platform::webpush) {
    auto sub = doc.find("subscription");
    if (sub == doc.end() || !sub->is_object())
      return fail("bad_subscription", "webpush needs \"subscription\": the PushSubscription JSON");
    device.subscription = sub->dump();
    SubscriptionPolicy policy;
    policy.allow_http = allow_http;
    auto checked = parse_subscription(device.subscription, policy);
    if (!checked.ok()) return fail("bad_subscription", std::string(to_string(checked.error)));
  } else {
    auto token = doc.find("token");
    if (token == doc.end() || !token->is_string() || token->get<std::string>().empty() ||
        token->get<std::string>().size() > kMaxTokenBytes)
      return fail("bad_token", "token: a non-empty string of at most 4096 bytes");
    device.token = token->get<std::string>();
  }
  auto categories = doc.find("categories");
  if (categories != doc.end()) {
    if (!categories->is_array() || categories->size() > kMaxDeviceCategories)
      return fail("bad_categories", "categories: an array of at most 64 categories");
    for (const auto& c : *categories) {
      if (!c.is_string()) return fail("bad_categories", "each category is a string");
      auto name = c.get<std::string>();
      if (name != protocol::kAllCategories && !protocol::is_valid_category(name))
        return fail("bad_categories", "not a category: [a-z0-9-]{1,32} or \"*\"");
      bool seen = false;
      for (const auto& known : device.categories) seen = seen || known == name;
      if (!seen) device.categories.push_back(name);
    }
  }
  auto breaking = doc.find("breaking");
  if (breaking != doc.end()) {
    if (!breaking->is_boolean()) return fail("bad_breaking", "breaking: true or false");
    device.breaking = breaking->get<bool>();
  }
  auto locale = doc.find("locale");
  if (locale != doc.end()) {
    if (!locale->is_string() || locale->get<std::string>().size() > 35)
      return fail("bad_locale", "locale: a language tag of at most 35 characters");
    device.locale = locale->get<std::string>();
  }
  return DeviceParse{std::move(device), {}, {}};
}

std::string device_to_json(const Device& device) {
  nlohmann::json out = nlohmann::json::object();
  out["id"] = device.id;
  out["platform"] = std::string(to_string(device.platform));
  if (device.platform == Platform::webpush)
    out["subscription"] = nlohmann::json::parse(device.subscription, nullptr, false);
  else
    out["token"] = device.token;
  out["categories"] = device.categories;
  out["breaking"] = device.breaking;
  if (!device.locale.empty()) out["locale"] = device.locale;
  return out.dump();
}

std::vector<std::string> device_put_command(const DeviceKeys& keys, const Device& device) {
  return {"EVAL",
          kDeviceScript,
          "0",
          keys.prefix,
          device.id,
          "put",
          std::string(to_string(device.platform)),
          device.token,
          device.subscription,
          nlohmann::json(device.categories).dump(),
          device.breaking ? "1" : "0",
          device.locale};
}

std::vector<std::string> device_delete_command(const DeviceKeys& keys, std::string_view id) {
  return {"EVAL", kDeviceScript, "0", keys.prefix, std::string(id), "delete"};
}

std::vector<std::string> device_dead_command(const DeviceKeys& keys, std::string_view id,
                                             std::string_view address) {
  return {"EVAL", kDeviceScript, "0", keys.prefix, std::string(id), "dead", std::string(address)};
}

std::optional<Device> device_from_fields(
    std::string_view id, const std::vector<std::pair<std::string, std::string>>& fields) {
  if (fields.empty()) return std::nullopt;
  Device device;
  device.id = std::string(id);
  bool has_platform = false;
  for (const auto& [name, value] : fields) {
    if (name == "platform") {
      auto p = platform_from_string(value);
      if (!p) return std::nullopt;
      device.platform = *p;
      has_platform = true;
    } else if (name == "token") {
      device.token = value;
    } else if (name == "subscription") {
      device.subscription = value;
    } else if (name == "categories") {
      auto list = nlohmann::json::parse(value, nullptr, false);
      if (!list.is_array()) return std::nullopt;
      for (const auto& c : list)
        if (c.is_string()) device.categories.push_back(c.get<std::string>());
    } else if (name == "breaking") {
      device.breaking = value == "1";
    } else if (name == "locale") {
      device.locale = value;
    }
  }
  if (!has_platform) return std::nullopt;
  return device;
}

}  // namespace newspush::bridge
