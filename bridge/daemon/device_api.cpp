#include "bridge/daemon/device_api.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <nlohmann/json.hpp>

namespace newspush::bridge {
namespace {

constexpr std::string_view kDevicesPrefix = "/api/v1/devices/";

std::string sha256(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

ApiResponse error(int status, std::string code, std::string detail = {}) {
  nlohmann::json body{{"error", std::move(code)}};
  if (!detail.empty()) body["detail"] = std::move(detail);
  return ApiResponse{status, "application/json", body.dump()};
}

}  // namespace

DeviceApi::DeviceApi(redis::RedisCommandClient& redis, DeviceKeys keys,
                     std::vector<std::string> api_keys, bool allow_http,
                     const BridgeMetrics& metrics, std::function<bool()> group_ready)
    : redis_(redis),
      keys_(std::move(keys)),
      allow_http_(allow_http),
      metrics_(metrics),
      group_ready_(std::move(group_ready)) {
  for (const auto& key : api_keys) key_digests_.push_back(sha256(key));
}

bool DeviceApi::authorized(const std::string& authorization) const {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() <= scheme.size() || !authorization.starts_with(scheme)) return false;
  // Digests have one length, so the comparison's time says nothing about the key.
  std::string digest = sha256(std::string_view(authorization).substr(scheme.size()));
  bool match = false;
  for (const auto& known : key_digests_)
    match |= CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0;
  return match;
}

void DeviceApi::handle(ApiRequest request, std::function<void(ApiResponse)> respond) {
  std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/healthz") return respond({200, "text/plain", "ok\n"});
  if (path == "/readyz") {
    bool ready = redis_.ready() && group_ready_();
    return respond({ready ? 200 : 503, "text/plain", ready ? "ready\n" : "not ready\n"});
  }
  if (path == "/metrics")
    return respond(
        {200, "text/plain; version=0.0.4", metrics_.render(redis_.ready(), group_ready_())});
  if (!path.starts_with(kDevicesPrefix)) return respond(error(404, "not_found"));
  if (key_digests_.empty()) return respond(error(403, "forbidden", "no --api-key configured"));
  if (!authorized(request.authorization)) return respond(error(401, "unauthorized"));
  std::string id = path.substr(kDevicesPrefix.size());
  if (!is_valid_device_id(id))
    return respond(error(400, "bad_device_id", "expected [A-Za-z0-9._:-]{1,128}"));
  devices(std::move(request), id, std::move(respond));
}

void DeviceApi::devices(ApiRequest request, const std::string& id,
                        std::function<void(ApiResponse)> respond) {
  if (request.method != "PUT" && request.method != "GET" && request.method != "DELETE")
    return respond(error(405, "method_not_allowed", "PUT, GET or DELETE"));
  if (!redis_.ready()) return respond(error(503, "unavailable", "Redis is not reachable"));
  if (request.method == "PUT") {
    auto parsed = parse_device(id, request.body, allow_http_);
    if (!parsed.device) return respond(error(400, parsed.error, parsed.detail));
    Device device = std::move(*parsed.device);
    redis_.command(device_put_command(keys_, device), [device, respond](const redis::Reply& reply) {
      if (reply.is_error()) return respond(error(503, "unavailable", "Redis: " + reply.text));
      respond({reply.integer == 1 ? 200 : 201, "application/json", device_to_json(device)});
    });
    return;
  }
  if (request.method == "DELETE") {
    redis_.command(device_delete_command(keys_, id), [respond](const redis::Reply& reply) {
      if (reply.is_error()) return respond(error(503, "unavailable", "Redis: " + reply.text));
      if (reply.integer != 1) return respond(error(404, "not_found"));
      respond({204, "application/json", ""});
    });
    return;
  }
  redis_.command({"HGETALL", keys_.device(id)}, [id, respond](const redis::Reply& reply) {
    if (reply.is_error()) return respond(error(503, "unavailable", "Redis: " + reply.text));
    std::vector<std::pair<std::string, std::string>> fields;
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      fields.emplace_back(reply.elements[i].text, reply.elements[i + 1].text);
    auto device = device_from_fields(id, fields);
    if (!device) return respond(error(404, "not_found"));
    respond({200, "application/json", device_to_json(*device)});
  });
}

}  // namespace newspush::bridge
