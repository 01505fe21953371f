// Peeking at and atomically taking messages (the admin API's dead-letter browser and redrive).
#include <algorithm>

#include "queue/queue_impl.h"

namespace bp::queue {

namespace {

PeekedMessage Peeked(uint64_t seq, const StoredMessage& m, int64_t now) {
  PeekedMessage p;
  p.seq = seq;
  p.message_id = m.content.message_id;
  p.body = m.content.body;
  p.attributes = m.content.attributes;
  p.sent_micros = m.content.sent_micros;
  p.receive_count = m.state.receive_count;
  p.visible = m.state.visible_at_micros <= now;
  return p;
}

}  // namespace

StatusOr<std::vector<PeekedMessage>> QueueService::PeekMessages(std::string_view queue,
                                                                uint64_t after_seq, size_t max) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return QueueError(ErrorKind::kQueueDoesNotExist, "The specified queue does not exist.");
  int64_t now = impl_->clock_.NowMicros();
  // by_sent orders by arrival time; seq order is the same up to equal timestamps, so collect and
  // sort the seqs above the bound (the message map is unordered).
  std::vector<uint64_t> seqs;
  seqs.reserve(q->messages.size());
  for (const auto& [seq, m] : q->messages) {
    if (seq > after_seq) seqs.push_back(seq);
  }
  size_t n = std::min(max, seqs.size());
  std::partial_sort(seqs.begin(), seqs.begin() + static_cast<std::ptrdiff_t>(n), seqs.end());
  std::vector<PeekedMessage> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(Peeked(seqs[i], q->messages.at(seqs[i]), now));
  return out;
}

StatusOr<std::vector<PeekedMessage>> QueueService::TakeMessages(std::string_view queue,
                                                                const std::vector<uint64_t>& seqs,
                                                                const TakeFn& add) {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  Queue* q = impl_->FindLocked(queue);
  if (!q) return QueueError(ErrorKind::kQueueDoesNotExist, "The specified queue does not exist.");
  int64_t now = impl_->clock_.NowMicros();
  std::vector<PeekedMessage> taken;
  for (uint64_t seq : seqs) {
    auto it = q->messages.find(seq);
    if (it == q->messages.end() || it->second.state.visible_at_micros > now) continue;
    taken.push_back(Peeked(seq, it->second, now));
  }
  if (taken.empty()) return taken;
  store::WriteBatch batch;
  add(taken, batch);
  for (const PeekedMessage& m : taken) impl_->EraseLocked(*q, m.seq, batch);
  // Submitted under the lock, like every other queue write, so the store applies it in order.
  BP_RETURN_IF_ERROR(impl_->CommitAndWait(lock, std::move(batch)));
  return taken;
}

}  // namespace bp::queue
