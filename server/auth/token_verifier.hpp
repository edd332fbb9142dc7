#pragma once
// Verifies the signed connection tokens (JWT, RFC 7519) that a site's backend gives its readers
// (issue 15): who the reader is, until when, and which restricted categories they may receive.
//
// Three algorithms, each verified only with keys of its own kind: HS256 with the shared secret,
// RS256 with RSA public keys, ES256 with EC P-256 public keys. The token's header never chooses
// the kind of verification. libjwt (Debian's 1.10) computes and checks the signature; what it
// gets wrong or leaves undone is done here, before and after it:
// - 1.10 takes the algorithm from the token's header and uses whatever key it is handed: given an
//   RSA public PEM for an "HS256" token, it checks an HMAC keyed with the PEM's (public) bytes,
//   which anyone can forge. So the header is decoded here first, the key picked by the alg's
//   kind, and libjwt's own reading of the alg must agree afterwards.
// - Handed no key, 1.10 checks no signature at all: it is always handed one here.
// - 1.10 checks neither exp nor nbf; its base64 decoder skips characters it does not know, and
//   it reads "hs256" as HS256. Segments, the alg and the claims are checked strictly here.
//
// Time: exp is enforced to the second, with no leeway: a restricted event must never reach a
// reader after its token's exp, and a site refreshes tokens ahead of it (token_expiring).
// nbf gets kNotBeforeLeeway, for a signing backend whose clock runs a little ahead of this
// node's: a token minted with nbf = its "now" is usable at once here.
//
// Thread-safe: verify() is const, reads only what the constructor built, and gives libjwt its
// own objects on each call; any number of worker threads may call it at once.
//
// Cost, measured here (2 busy cores): HS256 ~10 us; RS256 ~0.5 ms and ES256 ~0.6 ms, of which
// ~0.45 ms is OpenSSL 3 decoding the PEM, which libjwt 1.10 does again on every verification
// (it takes keys only as PEM bytes). Call it once per connection or auth command, never per event.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/auth/restricted_categories.hpp"

namespace newspush::auth {

// Refused before any parsing: a real token is a few hundred bytes, and the connection's URL or
// first frame carries it.
inline constexpr std::size_t kMaxTokenBytes = 8 * 1024;
inline constexpr std::chrono::seconds kNotBeforeLeeway{30};
// RFC 7518 3.2: an HS256 key must be at least as long as the hash (32 bytes).
inline constexpr std::size_t kMinSecretBytes = 32;
// RFC 7518 3.3: RS256 keys of 2048 bits or more.
inline constexpr int kMinRsaBits = 2048;

struct TokenVerifierConfig {
  // HS256 shared secret (--token-secret). Empty: HS256 tokens are refused. At least
  // kMinSecretBytes, and not a PEM key. An HS256 token's kid is ignored: the secret has no id.
  std::string secret;
  // RS256 and ES256 public keys (--token-public-key, repeatable for rotation): PEM files holding
  // a "PUBLIC KEY" (SubjectPublicKeyInfo), RSA of kMinRsaBits or more or EC on P-256. A key's
  // id (the `kid` tokens name) is its file's base name without extension: keys/2025-06.pem is
  // "2025-06". Ids must be unique.
  std::vector<std::filesystem::path> public_key_files;
  // --token-issuer. Empty: `iss` is not checked. Otherwise a token must carry exactly this `iss`.
  std::string issuer;
  // --token-audience. Empty: a token naming any audience is refused (RFC 7519 4.1.3: a reader
  // that is not in `aud` must reject the token). Otherwise `aud` (a string or an array of
  // strings) must contain exactly this value.
  std::string audience;
};

enum class TokenError {
  none,
  malformed,        // not three base64url segments, header or payload not a JSON object, bad
                    // alg/kid/typ type, a `crit` header, non-canonical base64
  too_large,        // over kMaxTokenBytes
  alg_not_allowed,  // alg not HS256/RS256/ES256 ("none" included), no key of its kind, or its
                    // kid names a key of another kind
  unknown_key,      // kid names no configured key
  bad_signature,    // no key of the alg's kind verifies it
  expired,          // now >= exp
  not_yet_valid,    // now < nbf - kNotBeforeLeeway
  missing_exp,
  bad_issuer,    // iss missing or not the configured issuer
  bad_audience,  // aud missing, not containing the configured audience, or present when none
                 // is configured
  bad_claims,    // exp/nbf not a non-negative number, sub not a string, `categories` not an
                 // array of category patterns
};

static_assert(static_cast<int>(TokenError::bad_claims) == 11, "Metrics::kTokenOutcomes counts them");

// Stable snake_case label for metrics and logs: "ok" for none, otherwise the enumerator's name.
std::string_view to_string(TokenError error);

struct TokenClaims {
  std::string subject;                                              // `sub`; empty when absent
  std::chrono::system_clock::time_point expiry;                     // `exp`, whole seconds
  std::optional<std::chrono::system_clock::time_point> not_before;  // `nbf`
  // `categories`: the restricted categories this reader may receive. Empty when absent.
  CategoryPatterns categories;
  // The key that verified the signature: a public key's id, or "" for the HS256 secret. Lets a
  // key rotation be followed in the logs.
  std::string key_id;
};

struct TokenVerification {
  TokenError error = TokenError::none;
  std::string detail;  // one line for logs when error != none; quotes at most a short kid or alg
  TokenClaims claims;  // valid only when ok()
  bool ok() const { return error == TokenError::none; }
};

class TokenVerifier {
 public:
  // Reads and checks every key. Throws std::runtime_error with a one-line message naming the
  // file or setting for an unreadable or unsuitable key (a start-up configuration error).
  explicit TokenVerifier(const TokenVerifierConfig& config);

  // Never throws on bad input. Claims whose dates lie past the year 2200 are read as 2200.
  TokenVerification verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  // False when neither a secret nor a public key was given: every token is refused.
  bool has_keys() const { return !secret_.empty() || !public_keys_.empty(); }

 private:
  enum class KeyKind { rsa, ec };
  struct PublicKey {
    std::string id;
    KeyKind kind;
    std::string pem;  // re-serialized from the parsed key: exactly what was checked at start-up
  };

  std::string secret_;
  std::vector<PublicKey> public_keys_;
  std::string issuer_;
  std::string audience_;
};

}  // namespace newspush::auth
