#include "transport/identity_file.hpp"

#include "transport/hex.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace crust {

namespace {

constexpr const char* header = "crust-identity-v1";

std::string errno_text() {
  return std::strerror(errno);
}

} // namespace

std::string serialize_identity(const identity& id) {
  return std::string(header) + "\n" + to_hex(id.seed()) + "\n";
}

std::variant<identity, std::string> parse_identity(const std::string& text) {
  std::istringstream in(text);
  std::string first, second;
  if (!std::getline(in, first) || first != header)
    return std::string("not a crust identity file (first line must be '") + header + "')";
  if (!std::getline(in, second))
    return std::string("identity file ends before the key");
  auto seed = from_hex(second);
  if (!seed || seed->size() != identity::seed_size)
    return std::string("identity key must be 64 hex digits");
  identity::seed_type s;
  std::copy(seed->begin(), seed->end(), s.begin());
  return identity::from_seed(s);
}

std::variant<identity, std::string> load_or_create_identity(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto result = parse_identity(text.str());
    if (auto err = std::get_if<std::string>(&result))
      return path + ": " + *err;
    return result;
  }
  if (errno != ENOENT)
    return path + ": cannot read: " + errno_text();
  auto id = identity::generate();
  auto text = serialize_identity(id);
  auto tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return path + ": cannot create: " + errno_text();
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  // link() refuses to replace a file another process created meanwhile.
  if (!ok || ::link(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    auto err = errno_text();
    ::unlink(tmp.c_str());
    if (saved == EEXIST)
      return load_or_create_identity(path);
    return path + ": cannot write: " + err;
  }
  ::unlink(tmp.c_str());
  return id;
}

} // namespace crust
