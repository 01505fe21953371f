// SecretBox: authenticated encryption of connection secrets at rest (AES-256-GCM).
//
// Sealed format (binary): version byte 0x01 | 12-byte random nonce | ciphertext | 16-byte tag.
// `aad` (additional authenticated data) is not stored; it binds a sealed value to the resource it
// belongs to (e.g. the connection ARN plus field name), so a value copied to another resource fails
// to open. Thread-safe: Seal/Open are const and share no mutable state.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bp::auth {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr uint8_t kVersion = 1;
  // Bytes added by Seal to the plaintext length.
  static constexpr size_t kOverhead = 1 + kNonceSize + kTagSize;

  // `key32` must be exactly 32 raw bytes.
  static StatusOr<SecretBox> Create(std::string_view key32);

  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  ~SecretBox();  // wipes the key copy

  // Encrypts with a fresh random nonce: sealing the same plaintext twice gives different outputs.
  // Aborts the process if OpenSSL cannot encrypt or produce randomness (cannot happen in practice).
  std::string Seal(std::string_view plaintext, std::string_view aad) const;

  // kCorruption if `sealed` is malformed, has an unknown version, was tampered with, or `aad`
  // differs from the one used to seal it. Never returns partial plaintext.
  StatusOr<std::string> Open(std::string_view sealed, std::string_view aad) const;

 private:
  SecretBox() = default;
  std::array<unsigned char, kKeySize> key_{};
};

}  // namespace bp::auth
