#pragma once
// A test CA and a server certificate for 127.0.0.1 and localhost signed by it, made by the
// openssl command in a temporary directory (removed with the object). The bridge trusts the CA
// through --provider-ca (HttpClientOptions::extra_ca_file); the fakes serve the leaf.
#include <filesystem>
#include <string>

namespace newspush::test {

struct TestPki {
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::filesystem::path dir;
  std::filesystem::path ca_cert;      // root.pem
  std::filesystem::path server_cert;  // server.crt
  std::filesystem::path server_key;   // server.key
};

// Reads a whole file; empty if it cannot.
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace newspush::test
