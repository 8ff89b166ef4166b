#include "discovery/cache_file.hpp"

#include <cerrno>
#include <dirent.h>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace crust::cache_file {

namespace {

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void make_dirs(const std::string& dir) {
  if (dir.empty() || dir == "." || dir == "/")
    return;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0)
    return;
  make_dirs(parent_of(dir));
  ::mkdir(dir.c_str(), 0700);
}

} // namespace

contents read(const std::string& path) {
  contents result;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) {
      result.status = contents::unreadable;
      result.error = sys_error("cannot open", path);
    }
    return result;
  }
  constexpr size_t max_size = 16 * 1024 * 1024; // far beyond any sane cache
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      result.status = contents::unreadable;
      result.error = sys_error("cannot read", path);
      break;
    }
    if (n == 0) {
      result.status = contents::ok;
      break;
    }
    result.text.append(buf, static_cast<size_t>(n));
    if (result.text.size() > max_size) {
      result.status = contents::unreadable;
      result.error = path + ": larger than 16 MiB";
      break;
    }
  }
  ::close(fd);
  return result;
}

std::optional<std::string> write_atomically(const std::string& path, const std::string& text) {
  auto dir = parent_of(path);
  make_dirs(dir);
  auto tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return sys_error("cannot create", tmp);
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = sys_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return err;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto err = sys_error("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = sys_error("cannot rename onto", path);
    ::unlink(tmp.c_str());
    return err;
  }
  // Make the rename itself durable.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

size_t remove_stale_temporaries(const std::string& path) {
  auto dir = parent_of(path);
  auto slash = path.rfind('/');
  auto prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-";
  size_t removed = 0;
  if (auto d = ::opendir(dir.c_str())) {
    while (auto e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind(prefix, 0) == 0 && ::unlinkat(::dirfd(d), name.c_str(), 0) == 0)
        ++removed;
    }
    ::closedir(d);
  }
  return removed;
}

std::string set_aside(const std::string& path) {
  auto target = path + ".bad-" + std::to_string(std::time(nullptr));
  if (::rename(path.c_str(), target.c_str()) != 0)
    return "error: " + sys_error("cannot rename", path);
  return target;
}

} // namespace crust::cache_file
