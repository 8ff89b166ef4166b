// Identity files: created with mode 0600, loaded back, and a corrupt file is
// reported and never overwritten.
#define CAF_SUITE transport.identity_file
#include <caf/test/unit_test.hpp>

#include "transport/identity_file.hpp"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace crust;

namespace {

struct fixture {
  fixture() {
    if (sodium_init() < 0)
      CAF_FAIL("libsodium failed to initialise");
    char tmpl[] = "/tmp/crust-identity-XXXXXX";
    if (!mkdtemp(tmpl))
      CAF_FAIL("mkdtemp failed");
    dir = tmpl;
    path = dir + "/identity";
  }
  ~fixture() {
    unlink(path.c_str());
    rmdir(dir.c_str());
  }
  std::string dir;
  std::string path;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(identity_file_tests, fixture)

CAF_TEST(a new identity is created private and loads back the same) {
  auto first = load_or_create_identity(path);
  CAF_REQUIRE(std::holds_alternative<identity>(first));
  struct stat st;
  CAF_REQUIRE_EQUAL(stat(path.c_str(), &st), 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  auto second = load_or_create_identity(path);
  CAF_REQUIRE(std::holds_alternative<identity>(second));
  CAF_CHECK_EQUAL(std::get<identity>(first).id(), std::get<identity>(second).id());
}

CAF_TEST(a corrupt file is reported and left alone) {
  std::ofstream(path) << "crust-identity-v1\nnot-hex\n";
  auto result = load_or_create_identity(path);
  CAF_REQUIRE(std::holds_alternative<std::string>(result));
  CAF_CHECK(std::get<std::string>(result).find("64 hex digits") != std::string::npos);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CAF_CHECK_EQUAL(text.str(), "crust-identity-v1\nnot-hex\n");
}

CAF_TEST(a foreign file is not mistaken for an identity) {
  std::ofstream(path) << "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  auto result = load_or_create_identity(path);
  CAF_REQUIRE(std::holds_alternative<std::string>(result));
  CAF_CHECK(std::get<std::string>(result).find("not a crust identity file") != std::string::npos);
}

CAF_TEST(signatures verify only for the signer and the data) {
  auto a = identity::generate();
  auto b = identity::generate();
  uint8_t data[] = {1, 2, 3};
  auto sig = a.sign(data, 3);
  CAF_CHECK(identity::verify(a.id(), data, 3, sig));
  CAF_CHECK(!identity::verify(b.id(), data, 3, sig));
  data[0] = 9;
  CAF_CHECK(!identity::verify(a.id(), data, 3, sig));
}

CAF_TEST_FIXTURE_SCOPE_END()
