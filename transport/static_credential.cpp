#include "transport/static_credential.hpp"

#include "transport/handshake_payload.hpp"

namespace crust {

std::shared_ptr<const static_credential> static_credential::make(const identity& self) {
  return make(self, noise::keypair::generate());
}

std::shared_ptr<const static_credential> static_credential::make(const identity& self,
                                                                 const noise::keypair& keys) {
  auto c = std::make_shared<static_credential>();
  c->owner = self.id();
  c->keys = keys;
  auto msg = static_key_binding(c->keys.pub);
  c->signature = self.sign(msg.data(), msg.size());
  return c;
}

} // namespace crust
