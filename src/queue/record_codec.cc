#include "queue/record_codec.h"

#include <boost/json.hpp>

#include "common/ids.h"
#include "store/store.h"

namespace bp::queue {
namespace {

constexpr char kContentVersion = 1;
constexpr char kStateVersion = 1;

void PutU64(std::string& out, uint64_t v) { store::AppendBigEndian64(out, v); }
void PutString(std::string& out, std::string_view s) {
  PutU64(out, s.size());
  out.append(s);
}

// Sequential reader over a binary record; every read fails safely on truncated input.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = store::ReadBigEndian64(in_);
    in_.remove_prefix(8);
    return true;
  }
  bool I64(int64_t& v) {
    uint64_t u;
    if (!U64(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool String(std::string& s) {
    uint64_t n;
    if (!U64(n) || in_.size() < n) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool Byte(char& c) {
    if (in_.empty()) return false;
    c = in_[0];
    in_.remove_prefix(1);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string EncodeQueueDefinition(const QueueDefinition& def) {
  boost::json::object o;
  o["name"] = def.name;
  o["id"] = def.id;
  o["created"] = def.created_seconds;
  o["modified"] = def.modified_seconds;
  boost::json::object attrs;
  for (const auto& [k, v] : def.attributes) attrs[k] = v;
  o["attributes"] = std::move(attrs);
  if (!def.tags.empty()) {
    boost::json::object tags;
    for (const auto& [k, v] : def.tags) tags[k] = v;
    o["tags"] = std::move(tags);
  }
  return boost::json::serialize(o);
}

std::optional<QueueDefinition> DecodeQueueDefinition(std::string_view data) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(data, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  QueueDefinition def;
  const auto* name = o.if_contains("name");
  const auto* id = o.if_contains("id");
  const auto* created = o.if_contains("created");
  const auto* modified = o.if_contains("modified");
  const auto* attrs = o.if_contains("attributes");
  if (!name || !name->is_string() || !id || !id->is_number() || !created || !modified || !attrs ||
      !attrs->is_object()) {
    return std::nullopt;
  }
  def.name = name->as_string();
  def.id = id->to_number<uint64_t>(ec);
  def.created_seconds = created->to_number<int64_t>(ec);
  def.modified_seconds = modified->to_number<int64_t>(ec);
  if (ec) return std::nullopt;
  for (const auto& kv : attrs->as_object()) {
    if (!kv.value().is_string()) return std::nullopt;
    def.attributes[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  if (const auto* tags = o.if_contains("tags"); tags && tags->is_object()) {
    for (const auto& kv : tags->as_object()) {
      if (kv.value().is_string()) def.tags[std::string(kv.key())] = kv.value().as_string();
    }
  }
  return def;
}

std::string EncodeContent(const MessageContent& c) {
  std::string out(1, kContentVersion);
  PutString(out, c.message_id);
  PutU64(out, static_cast<uint64_t>(c.sent_micros));
  PutString(out, c.dead_letter_source_arn);
  PutU64(out, c.attributes.size());
  for (const auto& a : c.attributes) {
    PutString(out, a.name);
    PutString(out, a.data_type);
    PutString(out, a.string_value);
    PutString(out, a.binary_value);
  }
  PutString(out, c.body);
  return out;
}

std::optional<MessageContent> DecodeContent(std::string_view data) {
  Reader r(data);
  MessageContent c;
  char version;
  uint64_t n;
  if (!r.Byte(version) || version != kContentVersion || !r.String(c.message_id) ||
      !r.I64(c.sent_micros) || !r.String(c.dead_letter_source_arn) || !r.U64(n) ||
      n > kMaxMessageAttributes) {
    return std::nullopt;
  }
  c.attributes.resize(n);
  for (auto& a : c.attributes) {
    if (!r.String(a.name) || !r.String(a.data_type) || !r.String(a.string_value) ||
        !r.String(a.binary_value)) {
      return std::nullopt;
    }
  }
  if (!r.String(c.body) || !r.done()) return std::nullopt;
  return c;
}

std::string EncodeState(const MessageState& s) {
  std::string out(1, kStateVersion);
  PutU64(out, static_cast<uint64_t>(s.visible_at_micros));
  PutU64(out, s.receive_count);
  PutU64(out, static_cast<uint64_t>(s.first_receive_micros));
  return out;
}

std::optional<MessageState> DecodeState(std::string_view data) {
  Reader r(data);
  MessageState s;
  char version;
  uint64_t count;
  if (!r.Byte(version) || version != kStateVersion || !r.I64(s.visible_at_micros) ||
      !r.U64(count) || !r.I64(s.first_receive_micros) || !r.done()) {
    return std::nullopt;
  }
  s.receive_count = static_cast<uint32_t>(count);
  return s;
}

std::string QueuePrefix(uint64_t queue_id) {
  std::string k;
  PutU64(k, queue_id);
  return k;
}

std::string MessageKey(uint64_t queue_id, uint64_t seq, char kind) {
  std::string k;
  PutU64(k, queue_id);
  PutU64(k, seq);
  k.push_back(kind);
  return k;
}

std::string EncodeReceipt(const Receipt& r) {
  std::string raw;
  PutU64(raw, r.queue_id);
  PutU64(raw, r.seq);
  PutU64(raw, r.receive_count);
  return HexEncode(raw);
}

std::optional<Receipt> DecodeReceipt(std::string_view handle) {
  if (handle.size() != 48) return std::nullopt;
  std::string raw;
  for (size_t i = 0; i < handle.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nibble(handle[i]), lo = nibble(handle[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    raw.push_back(static_cast<char>(hi * 16 + lo));
  }
  Receipt r;
  Reader reader(raw);
  uint64_t count;
  if (!reader.U64(r.queue_id) || !reader.U64(r.seq) || !reader.U64(count)) return std::nullopt;
  r.receive_count = static_cast<uint32_t>(count);
  return r;
}

}  // namespace bp::queue
