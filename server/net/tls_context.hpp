#pragma once
// --tls-cert/--tls-key: the server's TLS context, and its replacement on SIGHUP. A connection
// keeps the context it shook hands with (shared_ptr) for as long as it lives, so a reload changes
// what new handshakes see and nothing else.
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace newspush {

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// The certificate chain or key cannot be used; what() names the flag and the file in one line.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// TLS 1.2 and 1.3 only; for 1.2 only ECDHE key exchange with AEAD ciphers (kTls12Ciphers), 1.3's
// suites as OpenSSL ships them (all AEAD). ALPN: http/1.1 when the client offers it. `cert_file`:
// PEM, the server certificate first, then the intermediates. Throws TlsError.
TlsContextPtr make_server_tls_context(const std::string& cert_file, const std::string& key_file);

// Forward secrecy and authenticated encryption only, ECDSA and RSA certificates, as Mozilla's
// "intermediate" profile minus DHE: every browser and TLS library of the last decade has these.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

class TlsCertificates {
 public:
  // Loads the files now: a start-up error throws TlsError.
  TlsCertificates(std::string cert_file, std::string key_file);

  // What a new connection shakes hands with. Thread-safe.
  TlsContextPtr current() const;
  // Reads the files again; on error keeps the current context and returns why (empty: reloaded).
  std::string reload();

 private:
  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mutex_;
  TlsContextPtr context_;
};

}  // namespace newspush
