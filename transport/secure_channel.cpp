#include "transport/secure_channel.hpp"

namespace crust {

ec secure_channel::seal_in_place(uint8_t* data, size_t len) {
  if (auto err = send_.encrypt_in_place(data, len); err != ec::none)
    return err;
  if (++sent_ % rekey_interval_ == 0)
    send_.rekey();
  return ec::none;
}

ec secure_channel::open_in_place(uint8_t* data, size_t len) {
  if (auto err = receive_.decrypt_in_place(data, len); err != ec::none)
    return err;
  if (++received_ % rekey_interval_ == 0)
    receive_.rekey();
  return ec::none;
}

} // namespace crust
