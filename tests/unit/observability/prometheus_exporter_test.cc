// The Prometheus export listener on its own io_context (the control thread's
// stand-in), driven by a blocking client socket: GET on export_uri, 404 for
// other paths and methods, keep-alive, text providers, node info, bind errors.
#include "observability/prometheus_exporter.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>

namespace torii::observability {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Response {
  int status = 0;
  std::string head;
  std::string body;
};

// Reads one response with a Content-Length body from `s`.
Response read_response(tcp::socket& s, asio::streambuf& buf) {
  Response r;
  asio::read_until(s, buf, "\r\n\r\n");
  std::string data(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  const size_t end = data.find("\r\n\r\n");
  r.head = data.substr(0, end + 4);
  buf.consume(end + 4);
  r.status = std::stoi(r.head.substr(9, 3));
  size_t len = 0;
  if (auto p = r.head.find("Content-Length: "); p != std::string::npos) {
    len = std::stoul(r.head.substr(p + 16));
  }
  if (buf.size() < len) asio::read(s, buf, asio::transfer_exactly(len - buf.size()));
  r.body.assign(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(len));
  buf.consume(len);
  return r;
}

class ExporterFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.counter("http_status", "HTTP status codes per service in APISIX", {"code"})
        .inc(0, std::vector<std::string_view>{"200"}, 5);
    PrometheusSettings s;
    s.port = 0;
    auto e = PrometheusExporter::start(io_.get_executor(), s, registry_);
    ASSERT_TRUE(e.ok()) << e.error().message;
    exporter_ = std::move(*e);
    exporter_->add_text_provider([](std::string& out) {
      out += "# HELP torii_config_revision r\n# TYPE torii_config_revision gauge\n"
             "torii_config_revision 7\n";
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { exporter_->stop(); });
    work_.reset();
    thread_.join();
    exporter_.reset();
  }

  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), exporter_->port()));
    return s;
  }

  Response request(std::string_view raw) {
    tcp::socket s = connect();
    asio::write(s, asio::buffer(raw));
    asio::streambuf buf;
    return read_response(s, buf);
  }

  MetricsRegistry registry_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  asio::io_context client_io_;
  std::unique_ptr<PrometheusExporter> exporter_;
  std::thread thread_;
};

TEST_F(ExporterFixture, get_on_export_uri_serves_the_text_format) {
  const Response r =
      request("GET /apisix/prometheus/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Content-Type: text/plain; version=0.0.4\r\n"), std::string::npos);
  EXPECT_NE(r.body.find("apisix_http_status{code=\"200\"} 5\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("# TYPE apisix_node_info gauge\napisix_node_info{hostname=\""),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(",version=\"" TORII_VERSION "\"} 1\n"), std::string::npos);
  // Providers come after the registry's families.
  EXPECT_GT(r.body.find("torii_config_revision 7\n"), r.body.find("apisix_http_status"));
}

TEST_F(ExporterFixture, query_string_does_not_matter) {
  EXPECT_EQ(request("GET /apisix/prometheus/metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n").status,
            200);
}

TEST_F(ExporterFixture, other_paths_and_methods_get_404) {
  EXPECT_EQ(request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status, 404);
  EXPECT_EQ(request("POST /apisix/prometheus/metrics HTTP/1.1\r\nHost: x\r\n"
                    "Content-Length: 0\r\n\r\n")
                .status,
            404);
}

TEST_F(ExporterFixture, malformed_request_gets_400) {
  EXPECT_EQ(request("NONSENSE\r\n\r\n").status, 400);
}

TEST_F(ExporterFixture, keep_alive_serves_repeated_scrapes_on_one_connection) {
  tcp::socket s = connect();
  asio::streambuf buf;
  for (int i = 0; i < 3; ++i) {
    asio::write(s, asio::buffer(std::string_view(
                       "GET /apisix/prometheus/metrics HTTP/1.1\r\nHost: x\r\n\r\n")));
    const Response r = read_response(s, buf);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.head.find("Connection: close"), std::string::npos);
  }
}

TEST(PrometheusExporterTest, bind_conflict_names_the_address) {
  asio::io_context io;
  MetricsRegistry registry;
  PrometheusSettings s;
  s.port = 0;
  auto first = PrometheusExporter::start(io.get_executor(), s, registry);
  ASSERT_TRUE(first.ok());
  s.port = (*first)->port();
  auto second = PrometheusExporter::start(io.get_executor(), s, registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message.rfind("prometheus export_addr 127.0.0.1:" +
                                             std::to_string(s.port) + ": ",
                                         0),
            0u)
      << second.error().message;
}

TEST(PrometheusExporterTest, invalid_address_is_a_config_error) {
  asio::io_context io;
  MetricsRegistry registry;
  PrometheusSettings s;
  s.ip = "not-an-ip";
  auto e = PrometheusExporter::start(io.get_executor(), s, registry);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "prometheus export_addr not-an-ip:9091: invalid address");
}

TEST(PrometheusExporterTest, metric_prefix_applies_to_registry_and_node_info) {
  MetricsRegistry registry;
  registry.counter("bandwidth", "b", {"type"}).inc(0, std::vector<std::string_view>{"egress"}, 9);
  PrometheusSettings s;
  s.metric_prefix = "gw_";
  const std::string text = render_prometheus(registry, s, {});
  EXPECT_NE(text.find("gw_bandwidth{type=\"egress\"} 9\n"), std::string::npos);
  EXPECT_NE(text.find("gw_node_info{"), std::string::npos);
  EXPECT_NE(text.find("gw_nginx_metric_errors_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace torii::observability
