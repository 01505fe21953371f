// Random passwords for GetRandomPassword and CloudFormation's GenerateSecretString.
#include <openssl/rand.h>

#include <boost/json.hpp>

#include "model/validation.h"
#include "secrets/secret_store.h"

namespace bp::secrets {

StatusOr<PasswordOptions> ParsePasswordOptions(const boost::json::object& in) {
  model::Input input(in);
  PasswordOptions o;
  BP_ASSIGN_OR_RETURN(auto length, input.Integer("PasswordLength"));
  BP_ASSIGN_OR_RETURN(auto exclude, input.String("ExcludeCharacters"));
  if (length) {
    if (*length < 1 || *length > 4096) {
      return Status::Validation("PasswordLength must be between 1 and 4096.");
    }
    o.length = static_cast<int>(*length);
  }
  if (exclude) o.exclude_characters = *exclude;
  std::pair<const char*, bool*> flags[] = {
      {"ExcludeNumbers", &o.exclude_numbers},
      {"ExcludePunctuation", &o.exclude_punctuation},
      {"ExcludeUppercase", &o.exclude_uppercase},
      {"ExcludeLowercase", &o.exclude_lowercase},
      {"IncludeSpace", &o.include_space},
      {"RequireEachIncludedType", &o.require_each_included_type}};
  for (auto& [name, field] : flags) {
    BP_ASSIGN_OR_RETURN(auto v, input.Bool(name));
    if (v) *field = *v;
  }
  return o;
}

StatusOr<std::string> GeneratePassword(const PasswordOptions& o) {
  std::vector<std::string> classes;
  auto add = [&](bool excluded, std::string_view chars) {
    if (excluded) return;
    std::string c;
    for (char ch : chars) {
      if (o.exclude_characters.find(ch) == std::string::npos) c += ch;
    }
    if (!c.empty()) classes.push_back(std::move(c));
  };
  add(o.exclude_lowercase, "abcdefghijklmnopqrstuvwxyz");
  add(o.exclude_uppercase, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  add(o.exclude_numbers, "0123456789");
  add(o.exclude_punctuation, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
  add(!o.include_space, " ");
  if (classes.empty()) {
    return Status::Validation("The password cannot be generated: every character is excluded.");
  }
  if (o.require_each_included_type && o.length < static_cast<int>(classes.size())) {
    return Status::Validation("PasswordLength is too short to include every character type.");
  }
  std::string all;
  for (const auto& c : classes) all += c;
  // Rejection sampling over random bytes keeps the choice uniform.
  auto pick = [](const std::string& from) {
    unsigned char b = 0;
    size_t limit = 256 - (256 % from.size());
    do {
      if (RAND_bytes(&b, 1) != 1) abort();  // no randomness: cannot happen in practice
    } while (b >= limit);
    return from[b % from.size()];
  };
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string pw;
    for (int i = 0; i < o.length; ++i) pw += pick(all);
    if (!o.require_each_included_type) return pw;
    bool each = true;
    for (const auto& c : classes) each &= pw.find_first_of(c) != std::string::npos;
    if (each) return pw;
  }
  return Status::Internal("could not generate a password with every character type");
}

}  // namespace bp::secrets
