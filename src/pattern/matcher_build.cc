// MatcherBuilder and MatcherImpl::Build: lowers compiled patterns into per-field lookup tables
// hung off a trie of field names.
#include <algorithm>

#include "pattern/matcher_impl.h"

namespace bp::pattern {
namespace {

void AddLen(std::vector<LenMap>* maps, const std::string& key, uint32_t clause) {
  auto it = std::lower_bound(maps->begin(), maps->end(), key.size(),
                             [](const LenMap& m, size_t len) { return m.len < len; });
  if (it == maps->end() || it->len != key.size()) {
    it = maps->insert(it, LenMap{static_cast<uint32_t>(key.size()), {}});
  }
  it->map[key].push_back(clause);
}

uint32_t FieldFor(MatcherImpl* m, const std::vector<std::string>& path) {
  uint32_t node = 0;
  for (const auto& seg : path) {
    uint32_t next = UINT32_MAX;
    for (const auto& [name, id] : m->nodes_[node].kids) {
      if (name == seg) {
        next = id;
        break;
      }
    }
    if (next == UINT32_MAX) {
      next = static_cast<uint32_t>(m->nodes_.size());
      m->nodes_[node].kids.emplace_back(seg, next);
      m->nodes_.emplace_back();
    }
    node = next;
  }
  if (m->nodes_[node].field < 0) {
    m->nodes_[node].field = static_cast<int32_t>(m->fields_.size());
    m->fields_.emplace_back();
  }
  return static_cast<uint32_t>(m->nodes_[node].field);
}

void AddCondition(FieldMatcher* f, uint32_t clause, const Condition& c) {
  switch (c.kind) {
    case CondKind::kExactString:
      f->exact[c.str].push_back(clause);
      f->string_work = true;
      break;
    case CondKind::kExactNumber:
      f->num_exact[c.num].push_back(clause);
      f->number_work = true;
      break;
    case CondKind::kExactNull:
      f->null_exact.push_back(clause);
      break;
    case CondKind::kExactTrue:
      f->true_exact.push_back(clause);
      break;
    case CondKind::kExactFalse:
      f->false_exact.push_back(clause);
      break;
    case CondKind::kPrefix:
      AddLen(&f->prefix, c.str, clause);
      f->string_work = true;
      break;
    case CondKind::kSuffix:
      AddLen(&f->suffix, c.str, clause);
      f->string_work = true;
      break;
    case CondKind::kEqIc:
      f->eic[c.str].push_back(clause);
      f->string_work = f->need_fold = true;
      break;
    case CondKind::kPrefixIc:
      AddLen(&f->prefix_ic, c.str, clause);
      f->string_work = f->need_fold = true;
      break;
    case CondKind::kSuffixIc:
      AddLen(&f->suffix_ic, c.str, clause);
      f->string_work = f->need_fold = true;
      break;
    case CondKind::kWildcard:
      f->wildcards.emplace_back(clause, c.wild);
      f->string_work = true;
      break;
    case CondKind::kNumeric:
      f->ranges.emplace_back(clause, c.range);
      f->number_work = true;
      break;
    case CondKind::kExistsTrue:
      f->exists.push_back(clause);
      break;
    case CondKind::kExistsFalse:
      f->has_absence = true;
      break;
    case CondKind::kCidr:
      f->cidrs.emplace_back(clause, c.cidr);
      f->string_work = true;
      break;
    case CondKind::kAbIc:
      f->need_fold = true;
      [[fallthrough]];
    case CondKind::kAbStrings:
    case CondKind::kAbNumbers:
    case CondKind::kAbPrefix:
    case CondKind::kAbSuffix:
    case CondKind::kAbWildcard:
      f->anything_but.emplace_back(clause, c);
      f->string_work = f->number_work = true;
      break;
  }
}

}  // namespace

std::unique_ptr<const MatcherImpl> MatcherImpl::Build(
    const std::vector<std::pair<uint32_t, std::shared_ptr<const Pattern>>>& rules) {
  auto m = std::make_unique<MatcherImpl>();
  m->nodes_.emplace_back();
  for (const auto& [id, pattern] : rules) {
    const auto rule_index = static_cast<uint32_t>(m->rule_ids_.size());
    m->rule_ids_.push_back(id);
    for (const auto& conj : pattern->alternatives) {
      ConjInfo ci{rule_index, static_cast<uint32_t>(m->clauses_.size()),
                  static_cast<uint32_t>(conj.clauses.size()), 0};
      const auto conj_id = static_cast<uint32_t>(m->conjs_.size());
      for (const auto& clause : conj.clauses) {
        const auto clause_id = static_cast<uint32_t>(m->clauses_.size());
        const uint32_t field = FieldFor(m.get(), clause.path);
        bool absence_ok = false;
        for (const auto& c : clause.conds) {
          absence_ok |= c.kind == CondKind::kExistsFalse;
          AddCondition(&m->fields_[field], clause_id, c);
        }
        m->clauses_.push_back(ClauseInfo{conj_id, field, absence_ok});
        if (!absence_ok) ++ci.required;
      }
      if (ci.required == 0) m->always_check_.push_back(conj_id);
      m->conjs_.push_back(ci);
    }
  }
  for (auto& node : m->nodes_) {
    if (node.kids.size() > 8) {
      for (const auto& [name, id] : node.kids) node.kid_map.emplace(name, id);
    }
  }
  return m;
}

Matcher::Matcher(std::unique_ptr<const MatcherImpl> impl) : impl_(std::move(impl)) {}
Matcher::~Matcher() = default;
void Matcher::Match(std::string_view event_json, std::vector<uint32_t>* out) const {
  impl_->Match(event_json, out);
}
size_t Matcher::rule_count() const { return impl_->rule_count(); }

MatcherBuilder::MatcherBuilder() = default;
MatcherBuilder::~MatcherBuilder() = default;
MatcherBuilder::MatcherBuilder(MatcherBuilder&&) noexcept = default;
MatcherBuilder& MatcherBuilder::operator=(MatcherBuilder&&) noexcept = default;

Status MatcherBuilder::Add(uint32_t rule_id, const std::shared_ptr<const Pattern>& pattern) {
  if (pattern == nullptr) return Status::Validation("pattern is null");
  if (!rules_.emplace(rule_id, pattern).second) {
    return Status::Validation("rule id " + std::to_string(rule_id) + " was already added");
  }
  return Status::Ok();
}

bool MatcherBuilder::Remove(uint32_t rule_id) { return rules_.erase(rule_id) > 0; }

std::shared_ptr<const Matcher> MatcherBuilder::Build() const {
  std::vector<std::pair<uint32_t, std::shared_ptr<const Pattern>>> sorted(rules_.begin(),
                                                                          rules_.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return std::make_shared<const Matcher>(MatcherImpl::Build(sorted));
}

}  // namespace bp::pattern
