#include "auth/secret_box.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace bp::auth {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "secret_box: OpenSSL failure: %s\n", what);
  std::abort();
}

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

StatusOr<SecretBox> SecretBox::Create(std::string_view key32) {
  if (key32.size() != kKeySize) {
    return Status::Validation("master key must be exactly 32 bytes, got " +
                              std::to_string(key32.size()));
  }
  SecretBox box;
  std::copy(key32.begin(), key32.end(), box.key_.begin());
  return box;
}

SecretBox::~SecretBox() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string SecretBox::Seal(std::string_view plaintext, std::string_view aad) const {
  std::string out(kOverhead + plaintext.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kVersion;
  unsigned char* nonce = o + 1;
  unsigned char* ct = nonce + kNonceSize;
  unsigned char* tag = ct + plaintext.size();
  if (RAND_bytes(nonce, kNonceSize) != 1) Fatal("RAND_bytes");

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fatal("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1) {
    Fatal("EncryptInit");
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) {
    Fatal("EncryptUpdate(aad)");
  }
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), ct, &len, U(plaintext),
                                              static_cast<int>(plaintext.size())) != 1) {
    Fatal("EncryptUpdate");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + plaintext.size(), &len) != 1) Fatal("EncryptFinal");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) Fatal("GET_TAG");
  return out;
}

StatusOr<std::string> SecretBox::Open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kOverhead) return Status::Corruption("sealed secret is too short");
  if (static_cast<uint8_t>(sealed[0]) != kVersion) {
    return Status::Corruption("sealed secret has unknown version " +
                              std::to_string(static_cast<uint8_t>(sealed[0])));
  }
  const unsigned char* nonce = U(sealed) + 1;
  const unsigned char* ct = nonce + kNonceSize;
  size_t ct_len = sealed.size() - kOverhead;
  // EVP_CIPHER_CTX_ctrl takes a non-const tag pointer; copy it rather than casting const away.
  std::array<unsigned char, kTagSize> tag;
  std::copy(ct + ct_len, ct + ct_len + kTagSize, tag.begin());

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fatal("EVP_CIPHER_CTX_new");
  std::string plain(ct_len, '\0');
  auto* p = reinterpret_cast<unsigned char*>(plain.data());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1) {
    Fatal("DecryptInit");
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) {
    Fatal("DecryptUpdate(aad)");
  }
  if (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), p, &len, ct, static_cast<int>(ct_len)) != 1) {
    Fatal("DecryptUpdate");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1) {
    Fatal("SET_TAG");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), p + ct_len, &len) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Status::Corruption("sealed secret failed authentication (tampered, wrong key or aad)");
  }
  return plain;
}

}  // namespace bp::auth
