#include "bridge/push/p256.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>

#include "common/base64url.hpp"
#include "tests/bridge/push/test_keys.hpp"

namespace newspush::bridge {
namespace {

namespace keys = test::bridge_keys;

TEST(P256, ScalarGivesItsPublicPoint) {
  // RFC 8291 Appendix A's application server key pair.
  auto parsed = P256PrivateKey::from_base64url("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(
      base64url_encode(parsed.key->public_bytes()),
      "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8");
}

TEST(P256, RefusesScalarsOutOfRange) {
  EXPECT_EQ(P256PrivateKey::from_scalar(std::string(32, '\0')).error, KeyError::not_on_curve);
  EXPECT_EQ(P256PrivateKey::from_scalar(std::string(32, '\xff')).error, KeyError::not_on_curve);
  EXPECT_EQ(P256PrivateKey::from_scalar(std::string(31, '\x01')).error, KeyError::bad_length);
  EXPECT_EQ(P256PrivateKey::from_base64url("not base64").error, KeyError::bad_encoding);
}

TEST(P256, EcdhAgreesBothWays) {
  auto alice = *P256PrivateKey::generate();
  auto bob = *P256PrivateKey::generate();
  auto alice_public = P256PublicKey::from_bytes(alice.public_bytes());
  auto bob_public = P256PublicKey::from_bytes(bob.public_bytes());
  ASSERT_TRUE(alice_public.ok());
  ASSERT_TRUE(bob_public.ok());
  auto one = ecdh_p256(alice, *bob_public.key);
  auto two = ecdh_p256(bob, *alice_public.key);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->size(), 32u);
  EXPECT_EQ(*one, *two);
}

TEST(P256, LoadsPemInBothFormsWithTheSamePublicKey) {
  auto key = keys::make_p256_key();
  std::string traditional = test::tokens::private_pem(key.get());
  std::string pkcs8 = keys::pkcs8_pem(key.get());
  auto from_traditional = P256PrivateKey::from_pem(traditional, "test key");
  auto from_pkcs8 = P256PrivateKey::from_pem(pkcs8, "test key");
  EXPECT_EQ(from_traditional.public_bytes().size(), kP256PublicKeyBytes);
  EXPECT_EQ(from_traditional.public_bytes(), from_pkcs8.public_bytes());
}

TEST(P256, PemLoadingFailsWithAClearReason) {
  auto expect_error = [](std::string_view pem, std::string_view needle) {
    try {
      P256PrivateKey::from_pem(pem, "VAPID key");
      ADD_FAILURE() << "accepted: " << pem.substr(0, 40);
    } catch (const std::runtime_error& error) {
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
    }
  };
  expect_error("", "VAPID key: not a readable");
  expect_error("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a readable");
  expect_error(test::tokens::private_pem(test::bridge_keys::shared_rsa_key()), "not an EC P-256");
  auto p384 = test::tokens::Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  expect_error(test::tokens::private_pem(p384.get()), "not an EC P-256");
  // A public key is not a private key.
  auto key = keys::make_p256_key();
  expect_error(test::tokens::public_pem(key.get()), "not a readable");
}

TEST(P256, EncryptedPemFailsInsteadOfPrompting) {
  auto key = keys::make_p256_key();
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), EVP_aes_128_cbc(), nullptr, 0,
                                          nullptr, const_cast<char*>("secret")),
            1);
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  EXPECT_THROW(P256PrivateKey::from_pem(std::string_view(data, static_cast<std::size_t>(length)),
                                        "APNs key"),
               std::runtime_error);
}

}  // namespace
}  // namespace newspush::bridge
