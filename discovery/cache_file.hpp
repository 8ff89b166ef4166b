#pragma once

// Disk I/O for the bootstrap cache: whole-file reads, crash-safe writes, and
// setting a bad file aside. Blocking; the bootstrap store runs them on its own
// writer thread, never on an actor that serves the network.

#include <optional>
#include <string>

namespace crust::cache_file {

/// What reading found.
struct contents {
  enum { ok, missing, unreadable } status = missing;
  std::string text;   ///< the file (status ok)
  std::string error;  ///< why not (status unreadable)
};

contents read(const std::string& path);

/// Writes `text` to `path` atomically: a temporary file beside it, fsync,
/// rename over `path`, fsync of the directory. Creates missing parent
/// directories (mode 0700). A crash at any point leaves either the old or
/// the new file, never a torn one. Returns an error message on failure.
std::optional<std::string> write_atomically(const std::string& path, const std::string& text);

/// Removes temporary files a killed writer left beside `path`; returns how
/// many.
size_t remove_stale_temporaries(const std::string& path);

/// Renames `path` to `path.bad-<unix time>` and returns the new name (or an
/// error message prefixed with "error: ").
std::string set_aside(const std::string& path);

} // namespace crust::cache_file
