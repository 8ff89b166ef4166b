// The bootstrap cache core, its file format and the crash-safe file I/O.
#define CAF_SUITE discovery.bootstrap_cache
#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include "discovery/bootstrap_cache.hpp"
#include "discovery/bootstrap_plan.hpp"
#include "discovery/cache_file.hpp"
#include "transport/address.hpp"
#include "transport/identity.hpp"

#include <sodium.h>

#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace crust;

namespace {

endpoint ep(int i) {
  return *parse_endpoint("tcp://198.51.100." + std::to_string(i) + ":5483");
}

peer_id pid(int i) {
  peer_id x;
  x.key.fill(static_cast<uint8_t>(i));
  return x;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/crust-cache-test-XXXXXX";
  auto d = ::mkdtemp(tmpl);
  if (!d)
    CAF_FAIL("mkdtemp failed");
  return d;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (auto d = ::opendir(dir.c_str())) {
    while (auto e = ::readdir(d))
      if (e->d_name[0] != '.')
        names.push_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

} // namespace

CAF_TEST(direct entries come first and most recent first) {
  bootstrap_cache c{10};
  c.record_success(ep(1), pid(1), 100);
  c.record_success(ep(2), pid(2), 200);
  c.add_learned({{ep(9), pid(9), 0, false}});
  c.record_success(ep(3), pid(3), 300);
  auto& xs = c.entries();
  CAF_REQUIRE_EQUAL(xs.size(), 4u);
  CAF_CHECK_EQUAL(xs[0].remote, ep(3));
  CAF_CHECK_EQUAL(xs[1].remote, ep(2));
  CAF_CHECK_EQUAL(xs[2].remote, ep(1));
  CAF_CHECK_EQUAL(xs[3].remote, ep(9));
  CAF_CHECK(!xs[3].direct);
  // Reconnecting moves an entry to the front; a peer that moved keeps one entry.
  c.record_success(ep(1), pid(1), 400);
  CAF_CHECK_EQUAL(c.entries()[0].remote, ep(1));
  c.record_success(ep(7), pid(2), 500);
  CAF_CHECK_EQUAL(c.entries()[0].remote, ep(7));
  CAF_CHECK_EQUAL(c.entries().size(), 4u);
  // Serving gives direct entries only.
  for (auto& x : c.serve(32))
    CAF_CHECK(x.direct);
  CAF_CHECK_EQUAL(c.serve(2).size(), 2u);
}

CAF_TEST(learned entries never replace direct ones and the cap holds) {
  bootstrap_cache c{3};
  c.record_success(ep(1), pid(1), 100);
  c.record_success(ep(2), pid(2), 200);
  auto added = c.add_learned({{ep(1), pid(1), 0, false}, // known
                              {ep(5), pid(5), 0, false},
                              {ep(6), pid(6), 0, false}});
  CAF_CHECK_EQUAL(c.entries().size(), 3u);
  CAF_CHECK_EQUAL(added.size(), 1u); // room for one; the other fell off the cap
  CAF_CHECK(c.entries()[0].direct && c.entries()[1].direct);
  c.record_success(ep(3), pid(3), 300);
  c.record_success(ep(4), pid(4), 400);
  CAF_CHECK_EQUAL(c.entries().size(), 3u);
  for (auto& x : c.entries())
    CAF_CHECK(x.direct); // the learned one went first
  CAF_CHECK_EQUAL(c.entries().back().remote, ep(2)); // then the oldest direct one
}

CAF_TEST(the file form round trips) {
  bootstrap_cache c{10};
  c.record_success(ep(1), pid(1), 100);
  c.record_success(ep(2), pid(2), 200);
  c.add_learned({{ep(3), peer_id{}, 0, false}});
  size_t skipped = 99;
  auto back = bootstrap_cache::from_file(c.to_file("crust"), "crust", 10, skipped);
  auto got = std::get_if<bootstrap_cache>(&back);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(skipped, 0u);
  CAF_REQUIRE_EQUAL(got->entries().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    CAF_CHECK_EQUAL(got->entries()[i].remote, c.entries()[i].remote);
    CAF_CHECK_EQUAL(got->entries()[i].peer, c.entries()[i].peer);
    CAF_CHECK_EQUAL(got->entries()[i].last_success, c.entries()[i].last_success);
    CAF_CHECK_EQUAL(got->entries()[i].direct, c.entries()[i].direct);
  }
}

CAF_TEST(corrupt and foreign files are errors and bad entries are skipped) {
  size_t skipped = 0;
  auto err = [&](const std::string& text) {
    auto r = bootstrap_cache::from_file(text, "crust", 10, skipped);
    auto e = std::get_if<std::string>(&r);
    return e ? *e : std::string{};
  };
  CAF_CHECK_EQUAL(err("garbage{"), "not JSON");
  CAF_CHECK_EQUAL(err(""), "not JSON");
  CAF_CHECK_EQUAL(err("{\"peers\":[]}"), "not a crust bootstrap cache");
  CAF_CHECK_EQUAL(err("[1,2]"), "not a crust bootstrap cache");
  CAF_CHECK_EQUAL(err("{\"crust_bootstrap_cache\":7,\"network\":\"crust\",\"peers\":[]}"),
                  "unknown cache version 7");
  CAF_CHECK_EQUAL(err("{\"crust_bootstrap_cache\":1,\"network\":\"other\",\"peers\":[]}"),
                  "cache of network 'other', not 'crust'");
  CAF_CHECK_EQUAL(err("{\"crust_bootstrap_cache\":1,\"network\":\"crust\"}"), "no peer list");
  auto mixed = R"({"crust_bootstrap_cache":1,"network":"crust","peers":[
    {"endpoint":"tcp://198.51.100.1:5483","peer":"","last_success":5,"direct":true},
    {"endpoint":"not an endpoint"},
    {"endpoint":"tcp://0.0.0.0:5483"},
    {"endpoint":"tcp://198.51.100.2:5483","peer":"zz"},
    42,
    {"endpoint":"tcp://198.51.100.1:5483"}]})";
  auto r = bootstrap_cache::from_file(mixed, "crust", 10, skipped);
  auto c = std::get_if<bootstrap_cache>(&r);
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->entries().size(), 1u);
  CAF_CHECK_EQUAL(skipped, 5u);
}

CAF_TEST(writes are atomic and leave no debris) {
  auto dir = temp_dir();
  auto path = dir + "/sub/dir/cache.json"; // parents are created
  CAF_CHECK(cache_file::read(path).status == cache_file::contents::missing);
  CAF_CHECK(!cache_file::write_atomically(path, "one\n"));
  CAF_CHECK(!cache_file::write_atomically(path, "two\n"));
  auto c = cache_file::read(path);
  CAF_CHECK(c.status == cache_file::contents::ok);
  CAF_CHECK_EQUAL(c.text, "two\n");
  CAF_CHECK_EQUAL(list_dir(dir + "/sub/dir"), std::vector<std::string>{"cache.json"});
  struct stat st;
  CAF_REQUIRE(::stat(path.c_str(), &st) == 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  // Set aside: the original name is free, the bad file kept.
  auto aside = cache_file::set_aside(path);
  CAF_CHECK(aside.rfind(path + ".bad-", 0) == 0);
  CAF_CHECK(cache_file::read(path).status == cache_file::contents::missing);
  CAF_CHECK_EQUAL(cache_file::read(aside).text, "two\n");
  // A killed writer's temporary file is cleared away.
  std::ofstream(path + ".tmp-999999") << "half a fi";
  CAF_CHECK_EQUAL(cache_file::remove_stale_temporaries(path), 1u);
  CAF_CHECK_EQUAL(list_dir(dir + "/sub/dir").size(), 1u); // only the set-aside file
  // An unwritable place is an error message, not a crash.
  auto err = cache_file::write_atomically("/proc/crust-cannot/cache.json", "x");
  CAF_CHECK(err.has_value());
  std::system(("rm -rf " + dir).c_str());
}

CAF_TEST(the plan tries the cache first in parallel and then fallbacks) {
  using namespace std::chrono_literals;
  bootstrap_plan p{2, 2, 10s};
  auto t0 = bootstrap_plan::clock::now();
  p.add({{ep(1), pid(1)}, {ep(2), pid(2)}, {ep(3), pid(3)}}, true);
  p.add_fallbacks({ep(9)});
  CAF_CHECK(p.state() == bootstrap_state::running);
  auto first = p.next_dials(t0);
  CAF_REQUIRE_EQUAL(first.size(), 2u); // parallel bound
  CAF_CHECK_EQUAL(first[0], ep(1));
  CAF_CHECK_EQUAL(first[1], ep(2));
  CAF_CHECK(p.next_dials(t0).empty());
  p.on_failed(ep(1));
  CAF_CHECK_EQUAL(p.next_dials(t0), std::vector<endpoint>{ep(3)});
  // Fallbacks wait until the cache candidates are all done.
  p.on_failed(ep(2));
  CAF_CHECK(p.next_dials(t0).empty());
  p.on_timeout(t0 + 11s); // ep(3) never answered
  CAF_CHECK_EQUAL(p.next_dials(t0 + 11s), std::vector<endpoint>{ep(9)});
  p.on_up(pid(9), ep(9));
  CAF_CHECK(p.state() == bootstrap_state::exhausted);
  CAF_CHECK_EQUAL(p.status().tried, 4u);
  CAF_CHECK_EQUAL(p.status().cached, 3u);
  // A discovery later lets it reach the target; then it stops dialling.
  p.add({{ep(5), pid(5)}, {ep(6), pid(6)}});
  CAF_CHECK_EQUAL(p.next_dials(t0 + 12s), (std::vector<endpoint>{ep(5), ep(6)}));
  p.on_up(pid(5), ep(5));
  CAF_CHECK(p.state() == bootstrap_state::done);
  p.add({{ep(7), pid(7)}});
  CAF_CHECK(p.next_dials(t0 + 13s).empty());
  // Already connected peers are skipped.
  bootstrap_plan q{4, 4, 10s};
  q.on_up(pid(1), ep(1));
  q.add({{ep(1), pid(1)}});
  CAF_CHECK(q.next_dials(t0).empty());
  CAF_CHECK(q.state() == bootstrap_state::exhausted);
  bootstrap_plan none{4, 4, 10s};
  CAF_CHECK(none.state() == bootstrap_state::failed);
}
