// The bootstrap cache core, its file format and the crash-safe file I/O.
#define CAF_SUITE discovery.bootstrap_cache
#include <caf/test/unit_test.hpp>

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

namespace {

bootstrap_plan make_plan(size_t target, size_t parallel, bootstrap_plan::time_point now,
                         std::chrono::milliseconds backoff_min = std::chrono::seconds(1),
                         std::chrono::milliseconds backoff_max = std::chrono::seconds(30)) {
  bootstrap_plan::config cfg;
  cfg.target = target;
  cfg.parallel = parallel;
  cfg.attempt_timeout = std::chrono::seconds(10);
  cfg.backoff_min = backoff_min;
  cfg.backoff_max = backoff_max;
  return bootstrap_plan{cfg, now, 42};
}

} // namespace

CAF_TEST(the plan tries the cache first in parallel and then fallbacks) {
  using namespace std::chrono_literals;
  auto t0 = bootstrap_plan::clock::now();
  auto p = make_plan(2, 2, t0);
  p.add({{ep(1), pid(1)}, {ep(2), pid(2)}, {ep(3), pid(3)}}, true);
  p.add_fallbacks({ep(9)});
  CAF_CHECK(p.state() == bootstrap_state::running);
  auto first = p.next_dials(t0);
  CAF_REQUIRE_EQUAL(first.size(), 2u); // parallel bound
  CAF_CHECK_EQUAL(first[0], ep(1));
  CAF_CHECK_EQUAL(first[1], ep(2));
  CAF_CHECK(p.next_dials(t0).empty());
  p.on_failed(ep(1), t0);
  CAF_CHECK_EQUAL(p.next_dials(t0), std::vector<endpoint>{ep(3)});
  // Fallbacks wait until the cache candidates are all done.
  p.on_failed(ep(2), t0);
  CAF_CHECK(p.next_dials(t0).empty());
  p.on_timeout(t0 + 11s); // ep(3) never answered
  CAF_CHECK_EQUAL(p.next_dials(t0 + 11s), std::vector<endpoint>{ep(9)});
  p.on_up(pid(9), ep(9), t0 + 11s);
  CAF_CHECK(p.state() == bootstrap_state::exhausted);
  CAF_CHECK_EQUAL(p.status(t0 + 11s).tried, 4u);
  CAF_CHECK_EQUAL(p.status(t0 + 11s).cached, 3u);
  CAF_CHECK_EQUAL(p.status(t0 + 11s).round, 1u);
  // A discovery between rounds is dialled at once; at the target, nothing more.
  p.add({{ep(5), pid(5)}, {ep(6), pid(6)}});
  CAF_CHECK_EQUAL(p.next_dials(t0 + 11s), (std::vector<endpoint>{ep(5), ep(6)}));
  p.on_up(pid(5), ep(5), t0 + 11s);
  CAF_CHECK(p.state() == bootstrap_state::done);
  p.add({{ep(7), pid(7)}});
  CAF_CHECK(p.next_dials(t0 + 13s).empty());
  CAF_CHECK(p.next_dials(t0 + 600s).empty());
  // Already connected peers are skipped.
  auto q = make_plan(4, 4, t0);
  q.on_up(pid(1), ep(1), t0);
  q.add({{ep(1), pid(1)}});
  CAF_CHECK(q.next_dials(t0).empty());
  CAF_CHECK(q.state() == bootstrap_state::exhausted);
  auto none = make_plan(4, 4, t0);
  CAF_CHECK(none.next_dials(t0).empty());
  CAF_CHECK(none.state() == bootstrap_state::failed);
}

CAF_TEST(bootstrapping never gives up and backs off within bounds) {
  using namespace std::chrono_literals;
  auto t0 = bootstrap_plan::clock::now();
  auto p = make_plan(4, 4, t0, 1s, 30s);
  p.add_fallbacks({ep(9)});
  // The only contact is offline for ten minutes: every dial fails at once.
  std::vector<bootstrap_plan::time_point> dials;
  auto now = t0;
  for (; now < t0 + 600s; now += 100ms) {
    for (auto& x : p.next_dials(now)) {
      CAF_CHECK_EQUAL(x, ep(9));
      dials.push_back(now);
      p.on_failed(x, now);
    }
  }
  CAF_CHECK(p.state() == bootstrap_state::failed);
  CAF_CHECK(p.status(now).retry_in_ms <= 30000u);
  // Waits double from 1 s (each drawn from its upper half) up to 30 s.
  CAF_REQUIRE(dials.size() >= 6u);
  auto gap = [&](size_t i) { return dials[i + 1] - dials[i]; };
  CAF_CHECK(gap(0) >= 500ms && gap(0) <= 1100ms);
  CAF_CHECK(gap(1) >= 1000ms && gap(1) <= 2100ms);
  CAF_CHECK(gap(2) >= 2000ms && gap(2) <= 4100ms);
  for (size_t i = 0; i + 1 < dials.size(); ++i)
    CAF_CHECK(gap(i) <= 30100ms);
  // Bounded: about 600 / (0.75 * 30) + the ramp, never a spin.
  CAF_MESSAGE(dials.size() << " dials in ten minutes");
  CAF_CHECK(dials.size() <= 40u);
  CAF_CHECK_EQUAL(p.status(now).round, static_cast<uint32_t>(dials.size()));
  // It comes back: joined at the next round, within the longest wait.
  auto back = now;
  bool joined = false;
  for (; now < back + 60s && !joined; now += 100ms)
    for (auto& x : p.next_dials(now)) {
      p.on_up(pid(9), x, now);
      joined = true;
    }
  CAF_CHECK(joined);
  CAF_CHECK(now - back <= 30100ms);
}

CAF_TEST(a refusal with a retry after holds that endpoint back and keeps the round) {
  using namespace std::chrono_literals;
  auto t0 = bootstrap_plan::clock::now();
  auto p = make_plan(1, 4, t0);
  p.add_fallbacks({ep(9)});
  CAF_CHECK_EQUAL(p.next_dials(t0), std::vector<endpoint>{ep(9)});
  p.on_failed(ep(9), t0, 2s);
  CAF_CHECK(p.state() == bootstrap_state::running); // still this round's
  CAF_CHECK(p.next_dials(t0 + 1900ms).empty());      // not before the retry-after
  // Due between 2 s and 3 s (stretched by up to a half, so a refused crowd spreads).
  CAF_CHECK_EQUAL(p.next_dials(t0 + 3000ms), std::vector<endpoint>{ep(9)});
  // A peer that keeps saying "soon" gets at most 8 dials this round, then
  // the round ends and the backoff applies.
  auto now = t0 + 3000ms;
  p.on_failed(ep(9), now, 100ms);
  size_t dials = 2;
  for (int i = 0; i < 100; ++i, now += 200ms)
    for (auto& x : p.next_dials(now)) {
      ++dials;
      p.on_failed(x, now, 100ms);
    }
  CAF_MESSAGE(dials << " dials of a peer that always says 100 ms, over 20 s");
  CAF_CHECK(dials <= 1u + 8u + 5u); // this round, then rounds 1, 2, 4, 8 s apart
  CAF_CHECK(dials >= 9u);
  CAF_CHECK(p.status(now).round >= 2u);
}

CAF_TEST(a lost connection below the target starts a round soon) {
  using namespace std::chrono_literals;
  auto t0 = bootstrap_plan::clock::now();
  auto p = make_plan(2, 4, t0);
  p.add({{ep(1), pid(1)}, {ep(2), pid(2)}}, true);
  CAF_CHECK_EQUAL(p.next_dials(t0).size(), 2u);
  p.on_up(pid(1), ep(1), t0);
  p.on_up(pid(2), ep(2), t0);
  CAF_CHECK(p.state() == bootstrap_state::done);
  CAF_CHECK(p.next_dials(t0 + 60s).empty());
  // Churn: peer 2 goes; within backoff_min the plan dials it (and others) again.
  p.on_down(pid(2), t0 + 100s);
  std::vector<endpoint> again;
  auto now = t0 + 100s;
  for (; now <= t0 + 101s && again.empty(); now += 50ms)
    again = p.next_dials(now);
  CAF_CHECK_EQUAL(again, std::vector<endpoint>{ep(2)});
  CAF_CHECK_EQUAL(p.status(now).round, 2u);
}

CAF_TEST(the routing layer stops and starts bootstrapping) {
  using namespace std::chrono_literals;
  auto t0 = bootstrap_plan::clock::now();
  auto p = make_plan(2, 4, t0);
  p.add_fallbacks({ep(9)});
  p.stop();
  CAF_CHECK(p.next_dials(t0).empty());
  CAF_CHECK(p.next_dials(t0 + 600s).empty());
  CAF_CHECK(p.state() == bootstrap_state::stopped);
  p.add({{ep(5), pid(5)}}); // remembered, not dialled
  CAF_CHECK(p.next_dials(t0 + 601s).empty());
  p.start(t0 + 602s);
  auto dials = p.next_dials(t0 + 602s);
  CAF_CHECK_EQUAL(dials, std::vector<endpoint>{ep(5)});
  CAF_CHECK(p.state() == bootstrap_state::running);
}

CAF_TEST(discovered candidates are bounded) {
  auto t0 = bootstrap_plan::clock::now();
  bootstrap_plan::config cfg;
  cfg.max_discovered = 10;
  bootstrap_plan p{cfg, t0, 7};
  for (int i = 1; i <= 200; ++i)
    p.add({{ep(i), pid(i)}});
  p.stop();
  p.start(t0);
  // A round queues only what is remembered: the 10 newest discoveries.
  auto st = p.status(t0);
  CAF_CHECK_EQUAL(st.remaining, 0u);
  auto dials = p.next_dials(t0);
  CAF_CHECK_EQUAL(dials.size(), 4u);
  CAF_CHECK_EQUAL(p.status(t0).remaining, 6u);
  CAF_CHECK_EQUAL(dials.front(), ep(191));
}
