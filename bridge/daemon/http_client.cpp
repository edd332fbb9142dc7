#include "bridge/daemon/http_client.hpp"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace newspush::bridge {
namespace asio = boost::asio;

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return {};
}

namespace {

// A provider's answer carries a handful of headers; a server sending thousands is cut off here.
constexpr std::size_t kMaxResponseHeaderBytes = 32 * 1024;

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// The --provider-ca bundle, read once at start-up. With OpenSSL, CURLOPT_CAINFO would replace
// the system's CAs; these certificates are added to each connection's store instead.
std::vector<X509Ptr> load_extra_cas(const std::string& path) {
  std::vector<X509Ptr> certs;
  if (path.empty()) return certs;
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (!file) throw std::runtime_error("--provider-ca " + path + ": cannot be read");
  while (X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  std::fclose(file);
  ERR_clear_error();  // the read that ended the loop left "no start line"
  if (certs.empty())
    throw std::runtime_error("--provider-ca " + path + ": no PEM certificate in it");
  return certs;
}

void init_curl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK)
    throw std::runtime_error(std::string("libcurl: ") + curl_easy_strerror(result));
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

}  // namespace

struct HttpClient::Impl {
  struct Transfer {
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    HttpRequest request;
    std::function<void(HttpResponse)> done;
    HttpResponse response;
    std::size_t header_bytes = 0;
    std::size_t max_body = 0;
    bool require_http2 = false;
    std::chrono::steady_clock::time_point started;
    char error_buffer[CURL_ERROR_SIZE] = {};
    ~Transfer() {
      if (easy) curl_easy_cleanup(easy);
      if (header_list) curl_slist_free_all(header_list);
    }
  };

  // One socket curl asked us to watch. Watched through a dup() of curl's descriptor: curl keeps
  // owning (and closing) its own, Asio closes only the copy, so neither closes the other's.
  // curl also hands over descriptors it did not open through CURLOPT_OPENSOCKETFUNCTION (the
  // threaded resolver's socketpair), which one path covers the same way.
  struct Watch {
    explicit Watch(asio::any_io_executor executor) : descriptor(std::move(executor)) {}
    asio::posix::stream_descriptor descriptor;
    curl_socket_t curl_fd = CURL_SOCKET_BAD;
    ino_t inode = 0;  // of the socket behind both descriptors
    int wanted = 0;   // CURL_POLL_IN / OUT / INOUT
    bool read_armed = false;
    bool write_armed = false;
    bool closed = false;
  };

  Impl(asio::any_io_executor executor, HttpClientOptions opts)
      : executor(executor), options(std::move(opts)), timer(executor) {
    init_curl_once();
    extra_cas = load_extra_cas(options.extra_ca_file);
    multi = curl_multi_init();
    if (!multi) throw std::runtime_error("libcurl: curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.max_connections_per_host);
  }

  ~Impl() {
    *alive = false;
    // Requests still in flight are dropped without their callbacks: whoever owned them is being
    // destroyed too (a provider owns its client).
    for (auto& [easy, transfer] : transfers) curl_multi_remove_handle(multi, easy);
    transfers.clear();
    curl_multi_cleanup(multi);  // closes the kept connections: on_socket REMOVE for each
    for (auto& [fd, watch] : watches) close_watch(*watch);
  }

  void perform(HttpRequest request, std::function<void(HttpResponse)> done) {
    auto transfer = std::make_unique<Transfer>();
    transfer->request = std::move(request);
    transfer->done = std::move(done);
    transfer->max_body = options.max_response_body;
    transfer->started = std::chrono::steady_clock::now();
    transfer->easy = curl_easy_init();
    if (!transfer->easy || !configure(*transfer)) {
      fail_now(std::move(transfer), "cannot set up the request");
      return;
    }
    CURL* easy = transfer->easy;
    transfers.emplace(easy, std::move(transfer));
    // Adding a handle only schedules it (a 0 ms timer through on_timer): nothing runs here.
    if (CURLMcode rc = curl_multi_add_handle(multi, easy); rc != CURLM_OK) {
      auto node = transfers.extract(easy);
      fail_now(std::move(node.mapped()), curl_multi_strerror(rc));
    }
  }

  void fail_now(std::unique_ptr<Transfer> transfer, std::string error) {
    HttpResponse response;
    response.error = std::move(error);
    asio::post(executor, [done = std::move(transfer->done),
                          response = std::move(response)]() mutable { done(std::move(response)); });
  }

  bool configure(Transfer& t) {
    CURL* easy = t.easy;
    const HttpRequest& r = t.request;
    bool ok = true;
    auto set = [&](CURLoption option, auto value) {
      if (curl_easy_setopt(easy, option, value) != CURLE_OK) ok = false;
    };
    set(CURLOPT_PRIVATE, static_cast<void*>(&t));
    set(CURLOPT_URL, r.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_ERRORBUFFER, t.error_buffer);
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.timeout.count()));
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_WRITEFUNCTION, &Impl::on_body);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
    set(CURLOPT_HEADERFUNCTION, &Impl::on_header);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
    // HTTP/2 where the server offers it in ALPN (and required for APNs); PIPEWAIT makes a
    // request wait for a connection being set up rather than open another, so that many
    // requests share one connection's streams.
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    set(CURLOPT_PIPEWAIT, 1L);
    t.require_http2 = r.http2;
    if (!extra_cas.empty()) {
      set(CURLOPT_SSL_CTX_FUNCTION, &Impl::on_ssl_context);
      set(CURLOPT_SSL_CTX_DATA, static_cast<void*>(this));
    }

    if (r.method == "GET" && r.body.empty()) {
      set(CURLOPT_HTTPGET, 1L);
    } else {
      if (r.method != "POST") set(CURLOPT_CUSTOMREQUEST, r.method.c_str());
      set(CURLOPT_POST, 1L);
      set(CURLOPT_POSTFIELDS, r.body.data());
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    for (const auto& [name, value] : r.headers) {
      std::string line = name + ": " + value;
      curl_slist* next = curl_slist_append(t.header_list, line.c_str());
      if (!next) return false;
      t.header_list = next;
    }
    // No "Expect: 100-continue" round trip before a body: providers answer at once.
    if (curl_slist* next = curl_slist_append(t.header_list, "Expect:")) t.header_list = next;
    set(CURLOPT_HTTPHEADER, t.header_list);
    return ok;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::size_t bytes = size * count;
    std::size_t room = t->max_body - std::min(t->max_body, t->response.body.size());
    t->response.body.append(data, std::min(room, bytes));
    return bytes;  // the rest is read and dropped, so the status still comes through
  }

  static size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::size_t bytes = size * count;
    std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue): start over
      t->response.headers.clear();
      t->header_bytes = 0;
      return bytes;
    }
    t->header_bytes += bytes;
    if (t->header_bytes > kMaxResponseHeaderBytes) return bytes;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return bytes;
    t->response.headers.emplace_back(lower(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
    return bytes;
  }

  static CURLcode on_ssl_context(CURL*, void* ssl_context, void* user) {
    auto* self = static_cast<Impl*>(user);
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_context));
    for (const auto& cert : self->extra_cas) X509_STORE_add_cert(store, cert.get());
    ERR_clear_error();  // a certificate the system bundle already holds is not an error
    return CURLE_OK;
  }

  // CURLMOPT_TIMERFUNCTION: curl wants socket_action(TIMEOUT) after timeout_ms (-1: never).
  static int on_timer(CURLM*, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (timeout_ms < 0) {
      self->timer.cancel();
      return 0;
    }
    self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer.async_wait([self, alive = std::weak_ptr<bool>(self->alive)](auto ec) {
      if (ec || alive.expired()) return;
      int running = 0;
      curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
      self->finish_completed();
    });
    return 0;
  }

  // CURLMOPT_SOCKETFUNCTION: what curl wants to hear about `fd` now.
  static int on_socket(CURL*, curl_socket_t fd, int what, void* user, void* socket_data) {
    auto* self = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      if (auto it = self->watches.find(fd); it != self->watches.end()) {
        self->close_watch(*it->second);
        self->watches.erase(it);
      }
      return 0;
    }
    std::shared_ptr<Watch> watch;
    if (auto it = self->watches.find(fd); it != self->watches.end() &&
                                          it->second.get() == socket_data &&
                                          socket_inode(fd) == it->second->inode)
      watch = it->second;
    if (!watch) {
      // A descriptor curl has not shown us before (a stale entry of a reused number goes).
      if (auto it = self->watches.find(fd); it != self->watches.end()) {
        self->close_watch(*it->second);
        self->watches.erase(it);
      }
      int copy = ::dup(fd);
      if (copy < 0) return -1;
      watch = std::make_shared<Watch>(self->executor);
      boost::system::error_code ec;
      watch->descriptor.assign(copy, ec);
      if (ec) {
        ::close(copy);
        return -1;
      }
      watch->curl_fd = fd;
      watch->inode = socket_inode(fd);
      self->watches.emplace(fd, watch);
      curl_multi_assign(self->multi, fd, watch.get());
    }
    watch->wanted = what;
    self->arm(watch);
    return 0;
  }

  // A descriptor number curl closed and reused (its resolver's socketpair may be closed before
  // curl says REMOVE) must not find the copy of the old socket: the inode tells them apart.
  static ino_t socket_inode(curl_socket_t fd) {
    struct stat info {};
    return ::fstat(fd, &info) == 0 ? info.st_ino : 0;
  }

  void close_watch(Watch& watch) {
    watch.closed = true;
    boost::system::error_code ignored;
    watch.descriptor.close(ignored);
  }

  void arm(const std::shared_ptr<Watch>& watch) {
    if (watch->closed) return;
    if ((watch->wanted & CURL_POLL_IN) && !watch->read_armed) arm_one(watch, true);
    if ((watch->wanted & CURL_POLL_OUT) && !watch->write_armed) arm_one(watch, false);
  }

  void arm_one(const std::shared_ptr<Watch>& watch, bool read) {
    (read ? watch->read_armed : watch->write_armed) = true;
    auto handler = [this, watch, read,
                    alive = std::weak_ptr<bool>(alive)](boost::system::error_code ec) {
      if (alive.expired()) return;
      (read ? watch->read_armed : watch->write_armed) = false;
      if (watch->closed || ec == asio::error::operation_aborted) return;
      int wanted_flag = read ? CURL_POLL_IN : CURL_POLL_OUT;
      if (!(watch->wanted & wanted_flag)) return;  // curl lost interest meanwhile
      int event = ec ? CURL_CSELECT_ERR : (read ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
      int running = 0;
      curl_multi_socket_action(multi, watch->curl_fd, event, &running);
      finish_completed();
      arm(watch);  // level-triggered, as curl expects: wait again while it still wants this
    };
    // Asio's epoll reactor is edge-triggered: data curl left unread would never wake a new
    // wait. Asking poll() first makes the watch level-triggered.
    pollfd probe{watch->descriptor.native_handle(), static_cast<short>(read ? POLLIN : POLLOUT), 0};
    if (::poll(&probe, 1, 0) > 0) {
      asio::post(executor, [handler]() mutable { handler({}); });
      return;
    }
    watch->descriptor.async_wait(read ? asio::posix::stream_descriptor::wait_read
                                      : asio::posix::stream_descriptor::wait_write,
                                 std::move(handler));
  }

  void finish_completed() {
    int remaining = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &remaining)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      CURLcode result = message->data.result;
      curl_multi_remove_handle(multi, easy);
      auto node = transfers.extract(easy);
      if (node.empty()) continue;
      std::unique_ptr<Transfer> transfer = std::move(node.mapped());
      HttpResponse response = std::move(transfer->response);
      response.latency = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - transfer->started);
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      long version = 0;
      curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
      if (result != CURLE_OK) {
        response.status = 0;
        response.error =
            transfer->error_buffer[0] ? transfer->error_buffer : curl_easy_strerror(result);
        if (result == CURLE_OPERATION_TIMEDOUT) response.error = "timeout: " + response.error;
      } else if (transfer->require_http2 && version != CURL_HTTP_VERSION_2_0) {
        response.status = 0;
        response.error = "the server did not speak HTTP/2";
      } else {
        response.status = static_cast<int>(status);
      }
      if (response.status == 0) {
        response.headers.clear();
        response.body.clear();
      }
      asio::post(executor,
                 [done = std::move(transfer->done), response = std::move(response)]() mutable {
                   done(std::move(response));
                 });
    }
  }

  asio::any_io_executor executor;
  HttpClientOptions options;
  std::vector<X509Ptr> extra_cas;
  CURLM* multi = nullptr;
  asio::steady_timer timer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches;
};

HttpClient::HttpClient(asio::any_io_executor executor, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::perform(HttpRequest request, std::function<void(HttpResponse)> done) {
  impl_->perform(std::move(request), std::move(done));
}

std::size_t HttpClient::in_flight() const { return impl_->transfers.size(); }

}  // namespace newspush::bridge
