#include "common/base64url.hpp"
#include "server/auth/token_verifier.hpp"

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "protocol/bounded_json.hpp"

namespace newspush::auth {
namespace {

using Clock = std::chrono::system_clock;
using Json = nlohmann::json;

// Dates past this are read as this: system_clock counts nanoseconds in 64 bits and ends in 2262,
// and a signer writing "never expires" as 9999999999 must not overflow it.
constexpr std::int64_t kLatestNumericDate = 7258118400;  // 2200-01-01T00:00:00Z
// Far more than any PEM public key; a bigger file is not one.
constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};

// A value from the token, fit for one log line: short, printable ASCII only.
std::string loggable(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (char c : text.substr(0, kMax)) out.push_back(c >= 0x20 && c < 0x7f && c != '"' ? c : '?');
  if (text.size() > kMax) out += "...";
  return '"' + out + '"';
}

std::optional<Json> decode_json_object(std::string_view segment) {
  // RFC 7515: unpadded and canonical. libjwt's own decoder skips unknown characters instead.
  auto text = base64url_decode(segment);
  if (!text) return std::nullopt;
  bool too_deep = false;
  Json value = protocol::parse_bounded<Json>(*text, too_deep);
  if (value.is_discarded() || too_deep || !value.is_object()) return std::nullopt;
  return value;
}

const Json* member(const Json& object, const char* name) {
  auto found = object.find(name);
  return found == object.end() ? nullptr : &*found;
}

// RFC 7519 NumericDate: seconds since the epoch, possibly fractional (rounded down here).
// None when not a non-negative finite number.
std::optional<Clock::time_point> read_numeric_date(const Json& value) {
  std::int64_t seconds = 0;
  if (value.is_number_unsigned()) {
    seconds = static_cast<std::int64_t>(
        std::min<std::uint64_t>(value.get<std::uint64_t>(), kLatestNumericDate));
  } else if (value.is_number_integer()) {
    return std::nullopt;  // a negative integer (nlohmann reads non-negative ones as unsigned)
  } else if (value.is_number_float()) {
    double number = value.get<double>();
    if (!std::isfinite(number) || number < 0) return std::nullopt;
    seconds = static_cast<std::int64_t>(
        std::floor(std::min(number, static_cast<double>(kLatestNumericDate))));
  } else {
    return std::nullopt;
  }
  return Clock::time_point(std::chrono::seconds(seconds));
}

std::string read_key_file(const std::filesystem::path& file) {
  // An ifstream opens a directory without complaint and then reads nothing.
  std::error_code ignored;
  if (std::filesystem::is_directory(file, ignored))
    throw std::runtime_error("token public key " + file.string() + ": is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw std::runtime_error("token public key " + file.string() +
                             ": cannot read it: " + std::strerror(errno));
  }
  std::string text;
  text.resize(kMaxKeyFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw std::runtime_error("token public key " + file.string() + ": read error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) {
    throw std::runtime_error("token public key " + file.string() +
                             ": larger than 64 KiB, not a PEM public key");
  }
  return text;
}

}  // namespace

std::string_view to_string(TokenError error) {
  switch (error) {
    case TokenError::none:
      return "ok";
    case TokenError::malformed:
      return "malformed";
    case TokenError::too_large:
      return "too_large";
    case TokenError::alg_not_allowed:
      return "alg_not_allowed";
    case TokenError::unknown_key:
      return "unknown_key";
    case TokenError::bad_signature:
      return "bad_signature";
    case TokenError::expired:
      return "expired";
    case TokenError::not_yet_valid:
      return "not_yet_valid";
    case TokenError::missing_exp:
      return "missing_exp";
    case TokenError::bad_issuer:
      return "bad_issuer";
    case TokenError::bad_audience:
      return "bad_audience";
    case TokenError::bad_claims:
      return "bad_claims";
  }
  return "unknown";
}

TokenVerifier::TokenVerifier(const TokenVerifierConfig& config)
    : secret_(config.secret), issuer_(config.issuer), audience_(config.audience) {
  if (!secret_.empty() && secret_.size() < kMinSecretBytes) {
    throw std::runtime_error("token secret: " + std::to_string(secret_.size()) +
                             " bytes; HS256 needs at least 32");
  }
  // The one way left to verify an HS256 token with a public key: being told to.
  if (secret_.find("-----BEGIN") != std::string::npos) {
    throw std::runtime_error(
        "token secret: looks like a PEM key; give public keys as token public key files");
  }

  for (const auto& file : config.public_key_files) {
    std::string where = "token public key " + file.string();
    std::string text = read_key_file(file);
    // A private key has no business on this server, and PEM_read_bio_PUBKEY would only report
    // "no public key" for it.
    if (text.find("PRIVATE KEY-----") != std::string::npos) {
      throw std::runtime_error(
          where + ": holds a private key; give its public half (openssl pkey -pubout)");
    }
    std::unique_ptr<BIO, BioFree> in(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        in ? PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!key) {
      throw std::runtime_error(where + ": not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    }

    PublicKey loaded;
    loaded.id = file.stem().string();
    // libjwt 1.10 checks the key's type with EVP_PKEY_id: ask the same question.
    if (EVP_PKEY_get_id(key.get()) == EVP_PKEY_RSA) {
      if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
        throw std::runtime_error(where + ": RSA key of " +
                                 std::to_string(EVP_PKEY_get_bits(key.get())) +
                                 " bits; RS256 needs at least 2048");
      }
      loaded.kind = KeyKind::rsa;
    } else if (EVP_PKEY_get_id(key.get()) == EVP_PKEY_EC) {
      // libjwt would verify "ES256" with any curve; RFC 7518 ties ES256 to P-256.
      char curve[64] = {};
      std::size_t curve_length = 0;
      if (EVP_PKEY_get_group_name(key.get(), curve, sizeof curve, &curve_length) != 1 ||
          std::string_view(curve, curve_length) != "prime256v1") {
        ERR_clear_error();
        throw std::runtime_error(where + ": EC key on curve " +
                                 (curve_length ? std::string(curve, curve_length) : "?") +
                                 "; ES256 needs P-256 (prime256v1)");
      }
      loaded.kind = KeyKind::ec;
    } else {
      throw std::runtime_error(where + ": neither an RSA key (RS256) nor an EC P-256 key (ES256)");
    }

    // What libjwt gets on every verification is the key as parsed and checked here, with
    // whatever else the file held (other PEM blocks, comments) left out.
    std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PUBKEY(out.get(), key.get()) != 1) {
      ERR_clear_error();
      throw std::runtime_error(where + ": cannot re-encode the key");
    }
    char* pem = nullptr;
    long pem_length = BIO_get_mem_data(out.get(), &pem);
    loaded.pem.assign(pem, static_cast<std::size_t>(pem_length));

    if (loaded.id.empty() ||
        std::any_of(public_keys_.begin(), public_keys_.end(),
                    [&](const PublicKey& other) { return other.id == loaded.id; })) {
      throw std::runtime_error(where + ": key id " + loggable(loaded.id) +
                               " (the file's base name) is empty or already taken");
    }
    public_keys_.push_back(std::move(loaded));
  }

  // jansson (under libjwt) picks its hash seed when it makes its first JSON object: make that
  // happen here, on the start-up thread, rather than in a race between worker threads.
  jwt_t* warm_up = nullptr;
  if (jwt_new(&warm_up) == 0) jwt_free(warm_up);
}

TokenVerification TokenVerifier::verify(std::string_view token, Clock::time_point now) const {
  TokenVerification result;
  auto fail = [&result](TokenError error, std::string detail) {
    result.error = error;
    result.detail = std::move(detail);
    return std::move(result);
  };

  if (token.size() > kMaxTokenBytes) return fail(TokenError::too_large, "over 8 KiB");

  // header.payload.signature, each base64url: nothing else (no padding, no spaces, no NUL that
  // would cut the C string libjwt reads).
  auto first_dot = token.find('.');
  auto second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos)
    return fail(TokenError::malformed, "not three dot-separated segments");
  std::string_view header_segment = token.substr(0, first_dot);
  std::string_view payload_segment = token.substr(first_dot + 1, second_dot - first_dot - 1);
  std::string_view signature_segment = token.substr(second_dot + 1);

  auto header = decode_json_object(header_segment);
  if (!header) return fail(TokenError::malformed, "header is not base64url JSON object");
  const Json* alg = member(*header, "alg");
  if (!alg || !alg->is_string()) return fail(TokenError::malformed, "header has no string alg");
  const Json* kid = member(*header, "kid");
  if (kid && !kid->is_string()) return fail(TokenError::malformed, "header kid is not a string");
  // libjwt 1.10 refuses any other typ; say so here rather than as a bad signature.
  if (const Json* typ = member(*header, "typ")) {
    if (!typ->is_string() || strcasecmp(typ->get_ref<const std::string&>().c_str(), "JWT") != 0)
      return fail(TokenError::malformed, "header typ is not JWT");
  }
  // RFC 7515 4.1.11: extensions marked critical must be understood; none is here.
  if (member(*header, "crit")) return fail(TokenError::malformed, "header has crit extensions");

  // The kind of verification follows from the alg, compared exactly (libjwt ignores case),
  // and only keys of that kind are ever handed to libjwt.
  const std::string& alg_name = alg->get_ref<const std::string&>();
  jwt_alg_t expected_alg = JWT_ALG_INVAL;
  std::vector<const PublicKey*> candidates;
  bool uses_secret = false;
  if (alg_name == "HS256") {
    if (secret_.empty())
      return fail(TokenError::alg_not_allowed, "HS256 but no secret is configured");
    expected_alg = JWT_ALG_HS256;
    uses_secret = true;  // the secret has no id: a kid is ignored
  } else if (alg_name == "RS256" || alg_name == "ES256") {
    KeyKind kind = alg_name == "RS256" ? KeyKind::rsa : KeyKind::ec;
    expected_alg = kind == KeyKind::rsa ? JWT_ALG_RS256 : JWT_ALG_ES256;
    for (const auto& key : public_keys_)
      if (key.kind == kind) candidates.push_back(&key);
    if (candidates.empty())
      return fail(TokenError::alg_not_allowed, alg_name + " but no key of its kind is configured");
    if (kid) {
      const std::string& wanted = kid->get_ref<const std::string&>();
      auto named = std::find_if(public_keys_.begin(), public_keys_.end(),
                                [&](const PublicKey& key) { return key.id == wanted; });
      if (named == public_keys_.end())
        return fail(TokenError::unknown_key, "kid " + loggable(wanted) + " names no key");
      if (named->kind != kind)
        return fail(TokenError::alg_not_allowed,
                    "kid " + loggable(wanted) + " is not a key for " + alg_name);
      candidates.assign(1, &*named);
    }
  } else {
    return fail(TokenError::alg_not_allowed, "alg " + loggable(alg_name));
  }

  // The payload's shape is checked before the signature so that a token libjwt would refuse
  // for its JSON is not reported as a forgery; its claims are read only once it is authentic.
  auto payload = decode_json_object(payload_segment);
  if (!payload) return fail(TokenError::malformed, "payload is not base64url JSON object");
  if (!base64url_decode(signature_segment))
    return fail(TokenError::malformed, "signature is not canonical base64url");
  if (signature_segment.empty()) return fail(TokenError::bad_signature, "no signature");

  // libjwt takes a C string; no NUL can be inside (every byte was checked above).
  const std::string token_text(token);
  auto libjwt_verifies = [&token_text, expected_alg](std::string_view key) {
    jwt_t* decoded = nullptr;
    int status =
        jwt_decode(&decoded, token_text.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                   static_cast<int>(key.size()));
    std::unique_ptr<jwt_t, JwtFree> owner(decoded);
    // libjwt read the alg again, on its own: if it saw another one (or verified none at all,
    // which it does when it holds no key) it checked something else than what was asked.
    bool verified = status == 0 && decoded && jwt_get_alg(decoded) == expected_alg;
    // A failed PEM parse or verification leaves reasons on this thread's OpenSSL error queue.
    if (!verified) ERR_clear_error();
    return verified;
  };
  const PublicKey* verified_by = nullptr;
  bool verified = false;
  if (uses_secret) {
    verified = libjwt_verifies(secret_);
  } else {
    for (const PublicKey* key : candidates) {
      if (libjwt_verifies(key->pem)) {
        verified = true;
        verified_by = key;
        break;
      }
    }
  }
  if (!verified) {
    return fail(TokenError::bad_signature, candidates.size() > 1
                                               ? "no " + alg_name + " key verifies it (" +
                                                     std::to_string(candidates.size()) + " tried)"
                                               : alg_name + " signature does not verify");
  }
  TokenClaims& claims = result.claims;
  if (verified_by) claims.key_id = verified_by->id;

  // Authentic from here on: the claims say what the signer meant.
  const Json* exp = member(*payload, "exp");
  if (!exp) return fail(TokenError::missing_exp, "no exp");
  auto expiry = read_numeric_date(*exp);
  if (!expiry) return fail(TokenError::bad_claims, "exp is not a non-negative number");
  claims.expiry = *expiry;
  if (const Json* nbf = member(*payload, "nbf")) {
    claims.not_before = read_numeric_date(*nbf);
    if (!claims.not_before) return fail(TokenError::bad_claims, "nbf is not a non-negative number");
  }
  if (const Json* sub = member(*payload, "sub")) {
    if (!sub->is_string()) return fail(TokenError::bad_claims, "sub is not a string");
    claims.subject = sub->get<std::string>();
  }
  if (const Json* categories = member(*payload, "categories")) {
    if (!categories->is_array()) return fail(TokenError::bad_claims, "categories is not an array");
    for (const Json& pattern : *categories) {
      if (!pattern.is_string() ||
          !claims.categories.add(pattern.get_ref<const std::string&>()).empty())
        return fail(TokenError::bad_claims,
                    "categories holds something other than a slug or a prefix-* pattern");
    }
  }

  if (!issuer_.empty()) {
    const Json* iss = member(*payload, "iss");
    if (!iss || !iss->is_string() || iss->get_ref<const std::string&>() != issuer_)
      return fail(TokenError::bad_issuer, iss ? "iss is not the configured issuer" : "no iss");
  }
  if (const Json* aud = member(*payload, "aud")) {
    auto names_us = [this](const Json& entry) {
      return entry.is_string() && entry.get_ref<const std::string&>() == audience_;
    };
    bool ours =
        !audience_.empty() &&
        (names_us(*aud) || (aud->is_array() && std::any_of(aud->begin(), aud->end(), names_us)));
    if (!ours)
      return fail(TokenError::bad_audience, audience_.empty()
                                                ? "aud is present but no audience is configured"
                                                : "aud does not name the configured audience");
  } else if (!audience_.empty()) {
    return fail(TokenError::bad_audience, "no aud");
  }

  if (now >= claims.expiry) return fail(TokenError::expired, "exp has passed");
  if (claims.not_before && now < *claims.not_before - kNotBeforeLeeway)
    return fail(TokenError::not_yet_valid, "nbf is ahead");
  return result;
}

}  // namespace newspush::auth
