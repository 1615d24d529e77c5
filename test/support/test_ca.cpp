#include "support/test_ca.hpp"

#include <boost/asio/buffer.hpp>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace majordomo::test {
namespace {

template <class T, auto Free>
struct free_with {
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, free_with<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, free_with<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, free_with<BIO, BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, free_with<BIGNUM, BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, free_with<X509_EXTENSION, X509_EXTENSION_free>>;

void check(bool ok, const char* what)
{
    if (ok)
        return;
    char detail[256] = "";
    if (unsigned long e = ERR_get_error())
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    throw std::runtime_error(std::string("test_ca: ") + what + " failed: " + detail);
}

pkey_ptr make_key()
{
    // P-256 keys take microseconds; RSA-2048 would add tens of milliseconds per test.
    pkey_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(k != nullptr, "key generation");
    return k;
}

// Random serials and CA names: two CAs in one process must never look like the same issuer.
std::string random_hex(int bytes)
{
    unsigned char raw[16];
    check(bytes <= 16 && RAND_bytes(raw, bytes) == 1, "random bytes");
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < bytes; ++i) {
        out += digits[raw[i] >> 4];
        out += digits[raw[i] & 15];
    }
    return out;
}

void set_random_serial(X509* cert)
{
    BIGNUM* raw = nullptr;
    check(BN_hex2bn(&raw, ("1" + random_hex(15)).c_str()) != 0, "serial number"); // positive, < 20 bytes
    bn_ptr bn(raw);
    check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr, "serial number");
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    check(ext != nullptr, "making an extension");
    check(X509_add_ext(cert, ext.get(), -1) == 1, "adding an extension");
}

// An unsigned certificate for `key`; self-issued when `issuer` is null.
x509_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer)
{
    x509_ptr c(X509_new());
    check(c != nullptr, "X509_new");
    check(X509_set_version(c.get(), X509_VERSION_3) == 1, "version");
    set_random_serial(c.get());
    // An hour of slack either side tolerates clock differences without ever expiring mid-run.
    check(X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600) != nullptr, "notAfter");
    check(X509_set_pubkey(c.get(), key) == 1, "public key");
    X509_NAME* name = X509_get_subject_name(c.get());
    auto add_entry = [&](const char* field, const std::string& value) {
        auto bytes = reinterpret_cast<const unsigned char*>(value.c_str());
        check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, -1, -1, 0) == 1, "subject");
    };
    add_entry("O", "majordomo tests");
    add_entry("CN", cn);
    check(X509_set_issuer_name(c.get(), issuer ? X509_get_subject_name(issuer) : name) == 1, "issuer");
    return c;
}

std::string bio_contents(BIO* b)
{
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    check(n >= 0 && data != nullptr, "reading PEM");
    return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(X509* c)
{
    bio_ptr b(BIO_new(BIO_s_mem()));
    check(b && PEM_write_bio_X509(b.get(), c) == 1, "writing a certificate");
    return bio_contents(b.get());
}

std::string pem_of(EVP_PKEY* k)
{
    bio_ptr b(BIO_new(BIO_s_mem()));
    check(b && PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "writing a key");
    return bio_contents(b.get());
}

std::string write_temp_file(const std::string& contents)
{
    std::string path = (std::filesystem::temp_directory_path() / "majordomo-test-ca-XXXXXX").string();
    int fd = ::mkstemp(path.data());
    check(fd >= 0, "creating the CA file");
    std::FILE* f = ::fdopen(fd, "w");
    if (!f)
        ::close(fd);
    bool ok = f && std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
    ok = (f && std::fclose(f) == 0) && ok;
    if (!ok)
        std::remove(path.c_str());
    check(ok, "writing the CA file");
    return path;
}

} // namespace

test_ca::test_ca(std::vector<std::string> dns_names, std::vector<std::string> ip_addresses)
{
    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "majordomo test CA " + random_hex(4), nullptr);
    add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "signing the CA");

    auto leaf_key = make_key();
    std::string cn = !dns_names.empty() ? dns_names.front()
                     : !ip_addresses.empty() ? ip_addresses.front()
                                             : std::string("majordomo test server");
    auto leaf = make_cert(leaf_key.get(), cn, ca.get());
    std::string san;
    for (const auto& d : dns_names)
        san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& ip : ip_addresses)
        san += (san.empty() ? "IP:" : ",IP:") + ip;
    add_ext(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_ext(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    if (!san.empty())
        add_ext(leaf.get(), ca.get(), NID_subject_alt_name, san);
    check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) > 0, "signing the leaf");

    ca_cert_pem_ = pem_of(ca.get());
    leaf_cert_pem_ = pem_of(leaf.get());
    leaf_key_pem_ = pem_of(leaf_key.get());
    ca_file_ = write_temp_file(ca_cert_pem_);
}

test_ca::~test_ca() { std::remove(ca_file_.c_str()); }

void test_ca::configure_server(boost::asio::ssl::context& ctx) const
{
    ctx.use_certificate_chain(boost::asio::buffer(leaf_cert_pem_));
    ctx.use_private_key(boost::asio::buffer(leaf_key_pem_), boost::asio::ssl::context::pem);
}

void test_ca::configure_client(boost::asio::ssl::context& ctx) const
{
    ctx.add_certificate_authority(boost::asio::buffer(ca_cert_pem_));
    ctx.set_verify_mode(boost::asio::ssl::verify_peer);
}

} // namespace majordomo::test
