#include "server/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cstring>

namespace newspush {

namespace ssl = boost::asio::ssl;

namespace {

constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};

// ALPN: http/1.1 if offered. A client offering only others (h2) goes on without ALPN, as
// servers that speak only HTTP/1.1 do, rather than failing its handshake.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                unsigned int in_length, void*) {
  for (unsigned int at = 0; at < in_length;) {
    unsigned int length = in[at];
    if (at + 1 + length > in_length) break;
    if (length == sizeof kHttp11 && std::memcmp(in + at + 1, kHttp11, length) == 0) {
      *out = in + at + 1;
      *out_length = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    at += 1 + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string openssl_reason(const boost::system::error_code& ec) {
  // asio's message for an OpenSSL error is its reason string ("no such file", "key values
  // mismatch"); the queue may hold more, which would only repeat it.
  ERR_clear_error();
  return ec.message();
}

}  // namespace

TlsContextPtr make_server_tls_context(const std::string& cert_file, const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* handle = context->native_handle();
  SSL_CTX_set_min_proto_version(handle, TLS1_2_VERSION);
  // No renegotiation (a client-driven CPU cost with no use here), no compression (CRIME).
  SSL_CTX_set_options(handle, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle connection gives its read and write buffers (~34 KB) back to the allocator: most
  // readers are idle between articles.
  SSL_CTX_set_mode(handle, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(handle, kTls12Ciphers) != 1) {
    ERR_clear_error();
    throw TlsError("--tls-cert: OpenSSL refused the cipher list");
  }
  SSL_CTX_set_alpn_select_cb(handle, select_alpn, nullptr);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec)
    throw TlsError("--tls-cert: cannot use '" + cert_file + "' as a PEM certificate chain: " +
                   openssl_reason(ec));
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    throw TlsError("--tls-key: '" + key_file + "' is not the key of the certificate in '" +
                   cert_file + "'");
  }
  if (ec)
    throw TlsError("--tls-key: cannot use '" + key_file + "' as a PEM private key: " +
                   openssl_reason(ec));
  if (SSL_CTX_check_private_key(handle) != 1) {
    ERR_clear_error();
    throw TlsError("--tls-key: '" + key_file + "' is not the key of the certificate in '" +
                   cert_file + "'");
  }
  return context;
}

TlsCertificates::TlsCertificates(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      context_(make_server_tls_context(cert_file_, key_file_)) {}

TlsContextPtr TlsCertificates::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::string TlsCertificates::reload() {
  TlsContextPtr fresh;
  try {
    fresh = make_server_tls_context(cert_file_, key_file_);
  } catch (const TlsError& e) {
    return e.what();
  }
  std::lock_guard lock(mutex_);
  context_ = std::move(fresh);
  return {};
}

}  // namespace newspush
