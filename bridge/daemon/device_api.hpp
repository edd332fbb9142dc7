#pragma once
// The bridge's HTTP routes: the device API (PUT/GET/DELETE /api/v1/devices/{id}, Bearer key,
// compared in constant time), /healthz, /readyz and /metrics.
#include <functional>
#include <string>
#include <vector>

#include "bridge/daemon/device.hpp"
#include "bridge/daemon/http_server.hpp"
#include "bridge/daemon/metrics.hpp"
#include "common/redis/redis_command_client.hpp"

namespace newspush::bridge {

class DeviceApi {
 public:
  DeviceApi(redis::RedisCommandClient& redis, DeviceKeys keys, std::vector<std::string> api_keys,
            bool allow_http, const BridgeMetrics& metrics, std::function<bool()> group_ready);
  void handle(ApiRequest request, std::function<void(ApiResponse)> respond);

 private:
  bool authorized(const std::string& authorization) const;
  void devices(ApiRequest request, const std::string& id, std::function<void(ApiResponse)> respond);

  redis::RedisCommandClient& redis_;
  DeviceKeys keys_;
  std::vector<std::string> key_digests_;  // SHA-256 of each key
  bool allow_http_;
  const BridgeMetrics& metrics_;
  std::function<bool()> group_ready_;
};

}  // namespace newspush::bridge
