// A certificate authority made at test time, and a server certificate it signed.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <string>
#include <vector>

namespace majordomo::test {

/// ECDSA P-256 keys, made in memory with OpenSSL; nothing is read from or kept on disk
/// except the CA file below, which lives as long as this object.
class test_ca {
public:
    /// A CA and a leaf whose subjectAltName lists `dns_names` (DNS:) and `ip_addresses` (IP:).
    explicit test_ca(std::vector<std::string> dns_names = {"localhost"},
                     std::vector<std::string> ip_addresses = {"127.0.0.1"});
    ~test_ca();
    test_ca(const test_ca&) = delete;
    test_ca& operator=(const test_ca&) = delete;

    const std::string& ca_cert_pem() const noexcept { return ca_cert_pem_; }
    const std::string& leaf_cert_pem() const noexcept { return leaf_cert_pem_; }
    const std::string& leaf_key_pem() const noexcept { return leaf_key_pem_; }

    /// Path of a temporary file holding the CA certificate (PEM); removed with this object.
    const std::string& ca_file() const noexcept { return ca_file_; }

    /// Makes `ctx` serve the leaf certificate and its key.
    void configure_server(boost::asio::ssl::context& ctx) const;
    /// Makes `ctx` trust this CA and verify the peer (host-name checks are the caller's).
    void configure_client(boost::asio::ssl::context& ctx) const;

private:
    std::string ca_cert_pem_;
    std::string leaf_cert_pem_;
    std::string leaf_key_pem_;
    std::string ca_file_;
};

} // namespace majordomo::test
