// The Prometheus export listener: accept loop and one coroutine per
// connection on the control executor. See prometheus_exporter.h.
#include "observability/prometheus_exporter.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <unordered_set>

#include "core/buffer.h"
#include "core/http_date.h"
#include "http/h1_parser.h"
#include "http/local_reply.h"
#include "http/request.h"
#include "net/accept_loop.h"
#include "net/io_timeout.h"

namespace torii::observability {

namespace asio = boost::asio;
using boost::system::error_code;
using net::kNoThrow;
using namespace std::chrono_literals;

namespace {

constexpr size_t kMaxHead = 8192;
constexpr size_t kInitialBuffer = 2048;
constexpr size_t kMaxConnections = 64;
constexpr std::chrono::seconds kIoTimeout{30};

std::string local_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

std::string render_prometheus(const MetricsRegistry& registry, const PrometheusSettings& settings,
                              const std::vector<TextProvider>& providers) {
  static const std::string hostname = local_hostname();
  std::string out;
  registry.render(out, settings.metric_prefix);
  const std::string node_info = settings.metric_prefix + "node_info";
  append_family_header(out, node_info, "Info of APISIX node", "gauge");
  append_sample(out, node_info, {{"hostname", hostname}, {"version", TORII_VERSION}}, 1);
  for (const TextProvider& p : providers) {
    if (p) p(out);
  }
  return out;
}

class ExportConnection;

struct PrometheusExporter::State {
  explicit State(net::Executor ex) : acceptor(ex) {}
  PrometheusSettings settings;
  const MetricsRegistry* registry = nullptr;
  std::vector<TextProvider> providers;
  net::TcpAcceptor acceptor;
  std::unordered_set<ExportConnection*> conns;
  core::HttpDate date;
  uint16_t port = 0;
  bool stopped = false;
};

namespace {
using State = PrometheusExporter::State;
}

class ExportConnection : public std::enable_shared_from_this<ExportConnection> {
 public:
  ExportConnection(std::shared_ptr<State> state, net::TcpSocket socket)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        timeout_(socket_.get_executor()),
        in_(kInitialBuffer) {
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    state_->conns.insert(this);
  }
  ~ExportConnection() { state_->conns.erase(this); }
  ExportConnection(const ExportConnection&) = delete;
  ExportConnection& operator=(const ExportConnection&) = delete;

  static net::Task<void> serve(std::shared_ptr<ExportConnection> self) { co_await self->run(); }

  void close() {
    error_code ignored;
    timeout_.disarm();
    socket_.close(ignored);
  }

 private:
  // Serves one request; false when the connection must close.
  net::Task<bool> serve_request();
  net::Task<void> run();
  // Fills out_ with the response to the parsed request.
  void respond(int status, std::string_view content_type, std::string body, bool close);

  void arm() {
    timeout_.arm(kIoTimeout, weak_from_this(), socket_);
  }
  void disarm() { timeout_.disarm(); }

  std::shared_ptr<State> state_;
  net::TcpSocket socket_;
  net::IoTimeout timeout_;
  core::InputBuffer in_;
  size_t parsed_ = 0;
  http::H1Parser parser_{http::H1Parser::Kind::kRequest};
  http::Request req_;
  std::string out_;   // response head
  std::string body_;  // response body
  bool head_only_ = false;
};

net::Task<void> ExportConnection::run() {
  while (!state_->stopped) {
    const bool keep = co_await serve_request();
    if (!keep) break;
  }
  disarm();
  error_code ignored;
  socket_.shutdown(net::TcpSocket::shutdown_both, ignored);
  socket_.close(ignored);
}

void ExportConnection::respond(int status, std::string_view content_type, std::string body,
                               bool close) {
  out_.clear();
  out_.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  out_.append(http::reason_phrase(status)).append("\r\n");
  out_.append("Date: ").append(state_->date.now()).append("\r\n");
  out_.append("Content-Type: ").append(content_type).append("\r\n");
  out_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  if (close) out_.append("Connection: close\r\n");
  out_.append("Server: APISIX\r\n\r\n");
  // Written after the head, not copied into it; HEAD keeps the length only.
  body_ = head_only_ ? std::string() : std::move(body);
}

net::Task<bool> ExportConnection::serve_request() {
  in_.consume_front(parsed_);
  parsed_ = 0;
  parser_.reset();
  in_.shrink_if_larger(kInitialBuffer);

  arm();
  bool bad = false;
  for (;;) {
    if (parsed_ < in_.size()) {
      parsed_ += parser_.feed(in_.data(), parsed_, in_.size() - parsed_);
      if (parser_.error() != http::ParseError::kNone) {
        bad = true;
        break;
      }
      if (parser_.head_complete()) break;
    }
    if (in_.free_space() == 0 && !in_.grow(kMaxHead)) {
      bad = true;
      break;
    }
    const auto area = in_.write_area();
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(area.data(), area.size()), kNoThrow);
    if (ec || n == 0) co_return false;  // gone, idle or head timeout
    in_.commit(n);
  }
  disarm();
  if (!bad && http::build_request(parser_, in_, 0, req_) != http::RequestError::kNone) bad = true;
  head_only_ = !bad && req_.method == http::Method::kHead;

  bool close = true;
  if (bad) {
    respond(400, "text/html", http::html_error_page(400), true);
  } else {
    // Unread body bytes would be taken for the next request: close instead.
    close = !req_.keep_alive || !parser_.message_complete() || req_.has_body();
    if (req_.method == http::Method::kGet && req_.path == state_->settings.export_uri) {
      respond(200, "text/plain; version=0.0.4",
              render_prometheus(*state_->registry, state_->settings, state_->providers), close);
    } else {
      respond(404, "text/html", http::html_error_page(404), close);
    }
  }
  if (state_->stopped) co_return false;
  arm();
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(out_), asio::buffer(body_)};
  auto [ec, n] = co_await asio::async_write(socket_, bufs, kNoThrow);
  disarm();
  body_ = std::string();  // a scrape can be megabytes; idle connections keep none of it
  co_return !ec && !close;
}

namespace {

net::Task<void> accept_loop(std::shared_ptr<State> st) {
  const std::string what = "prometheus export_addr";
  const std::function<void(net::TcpSocket)> on_accept = [st](net::TcpSocket socket) {
    if (st->stopped) return;
    if (st->conns.size() >= kMaxConnections) {
      error_code ignored;
      socket.close(ignored);
      return;
    }
    auto conn = std::make_shared<ExportConnection>(st, std::move(socket));
    asio::co_spawn(st->acceptor.get_executor(), ExportConnection::serve(std::move(conn)),
                   asio::detached);
  };
  co_await net::accept_connections(st->acceptor, what, on_accept);
}

}  // namespace

core::Result<std::unique_ptr<PrometheusExporter>> PrometheusExporter::start(
    net::Executor control, PrometheusSettings settings, const MetricsRegistry& registry) {
  auto st = std::make_shared<State>(control);
  error_code ec;
  const auto addr = asio::ip::make_address(settings.ip, ec);
  const std::string where = "prometheus export_addr " +
                            (addr.is_v6() && !ec ? "[" + settings.ip + "]" : settings.ip) + ":" +
                            std::to_string(settings.port) + ": ";
  if (ec) return core::config_error(where + "invalid address");
  if (settings.export_uri.empty() || settings.export_uri[0] != '/') {
    return core::config_error("plugin_attr.prometheus.export_uri: must start with /");
  }
  const asio::ip::tcp::endpoint ep(addr, settings.port);
  st->acceptor.open(ep.protocol(), ec);
  if (!ec) st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(ep, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error{core::ErrorKind::kIo, core::ErrorSource::kConfig, false,
                       where + ec.message()};
  }
  st->port = st->acceptor.local_endpoint(ec).port();
  st->settings = std::move(settings);
  st->registry = &registry;
  asio::co_spawn(control, accept_loop(st), asio::detached);
  return std::unique_ptr<PrometheusExporter>(new PrometheusExporter(std::move(st)));
}

PrometheusExporter::~PrometheusExporter() { stop(); }

void PrometheusExporter::add_text_provider(TextProvider provider) {
  state_->providers.push_back(std::move(provider));
}

std::string PrometheusExporter::render() const {
  return render_prometheus(*state_->registry, state_->settings, state_->providers);
}

uint16_t PrometheusExporter::port() const { return state_->port; }

void PrometheusExporter::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  // close() can destroy nothing here (the coroutines hold their connections),
  // but it may erase from conns through a finishing coroutine later: copy.
  const std::vector<ExportConnection*> conns(state_->conns.begin(), state_->conns.end());
  for (ExportConnection* c : conns) c->close();
}

}  // namespace torii::observability
