#include "tests/bridge/daemon/test_pki.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "tests/support/redis_server.hpp"

namespace newspush::test {
namespace {

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("failed: " + command);
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TestPki::TestPki()
    : dir(make_temp_dir("newspush-bridge-pki")),
      ca_cert(dir / "root.pem"),
      server_cert(dir / "server.crt"),
      server_key(dir / "server.key") {
  const std::string d = dir.string();
  run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/root.key");
  run("openssl req -x509 -new -key " + d +
      "/root.key -subj /CN=newspush-bridge-test-root -days 2 "
      "-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign -out " +
      ca_cert.string());
  run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + server_key.string());
  run("openssl req -new -key " + server_key.string() + " -subj /CN=localhost -out " + d +
      "/server.csr");
  write_file(dir / "leaf.ext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  run("openssl x509 -req -in " + d + "/server.csr -CA " + ca_cert.string() + " -CAkey " + d +
      "/root.key -set_serial 0x0C03 -days 2 -extfile " + d + "/leaf.ext -out " +
      server_cert.string());
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace newspush::test
