#include "bridge/push/rsa_key.hpp"

#include <stdexcept>
#include <string>

#include "bridge/push/p256.hpp"

namespace newspush::bridge {

ossl::Pkey load_rsa_private_key(std::string_view pem, std::string_view what) {
  ossl::Pkey key = load_pem_private_key(pem, what);
  if (EVP_PKEY_is_a(key.get(), "RSA") != 1)
    throw std::runtime_error(std::string(what) + ": not an RSA private key");
  if (EVP_PKEY_get_bits(key.get()) < 2048)
    throw std::runtime_error(std::string(what) + ": RSA key shorter than 2048 bits");
  return key;
}

}  // namespace newspush::bridge
