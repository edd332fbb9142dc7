#pragma once
// The RSA private key of a Google service account (FCM's OAuth2 assertion is RS256).
#include <string_view>

#include "bridge/push/openssl_types.hpp"

namespace newspush::bridge {

// Start-up only: a PEM (PKCS#8, as service-account files carry it) RSA key of 2048 bits or more.
// Throws std::runtime_error naming `what`.
ossl::Pkey load_rsa_private_key(std::string_view pem, std::string_view what);

}  // namespace newspush::bridge
