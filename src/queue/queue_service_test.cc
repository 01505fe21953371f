#include "queue/queue_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>

namespace bp::queue {
namespace {

constexpr char kBase[] = "http://localhost:4010";
constexpr int64_t kSecond = 1'000'000;

class QueueServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_queue_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen(bool background_thread = false) {
    service_.reset();
    store_.reset();
    auto store = store::OpenRocksStore({.path = dir_.string()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    QueueServiceOptions options;
    options.background_thread = background_thread;
    auto service = QueueService::Open(*store_, clock_, options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
  }

  void Create(const std::string& name, QueueAttributes attrs = {}) {
    auto url = service_->CreateQueue(name, attrs, kBase);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
  }
  SendResult Send(const std::string& queue, std::string body,
                  std::vector<MessageAttribute> attrs = {}, std::optional<int> delay = {}) {
    auto r = service_->SendMessage(queue, {std::move(body), delay, std::move(attrs)});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SendResult{};
  }
  StatusOr<std::vector<ReceivedMessage>> ReceiveStatus(ReceiveRequest req) {
    std::promise<StatusOr<std::vector<ReceivedMessage>>> p;
    auto f = p.get_future();
    service_->ReceiveMessage(std::move(req), [&p](auto r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }
  std::vector<ReceivedMessage> Receive(const std::string& queue, int max = 10,
                                       std::optional<int> visibility = {}) {
    ReceiveRequest req;
    req.queue = queue;
    req.max_messages = max;
    req.visibility_timeout = visibility;
    req.wait_seconds = 0;
    req.attribute_names = {"All"};
    req.message_attribute_names = {"All"};
    auto r = ReceiveStatus(std::move(req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<ReceivedMessage>{};
  }
  std::string Attr(const std::string& queue, const std::string& name) {
    auto a = service_->GetQueueAttributes(queue, {name});
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() && a->count(name) ? a->at(name) : "<missing>";
  }

  std::filesystem::path dir_;
  ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<QueueService> service_;
};

TEST_F(QueueServiceTest, CreateIsIdempotentOnlyForEqualAttributes) {
  auto url = service_->CreateQueue("orders", {{"VisibilityTimeout", "60"}}, kBase);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "http://localhost:4010/000000000000/orders");
  EXPECT_TRUE(service_->CreateQueue("orders", {{"VisibilityTimeout", "60"}}, kBase).ok());
  EXPECT_TRUE(service_->CreateQueue("orders", {{"DelaySeconds", "0"}}, kBase).ok());
  EXPECT_EQ(
      ErrorKindOf(service_->CreateQueue("orders", {{"VisibilityTimeout", "61"}}, kBase).status()),
      ErrorKind::kQueueNameExists);
  EXPECT_EQ(ErrorKindOf(service_->CreateQueue("a.fifo", {}, kBase).status()),
            ErrorKind::kUnsupportedOperation);
  EXPECT_EQ(ErrorKindOf(service_->CreateQueue("x", {{"FifoQueue", "true"}}, kBase).status()),
            ErrorKind::kUnsupportedOperation);
  EXPECT_EQ(ErrorKindOf(service_->CreateQueue("bad name", {}, kBase).status()),
            ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(ErrorKindOf(service_->CreateQueue("x", {{"DelaySeconds", "901"}}, kBase).status()),
            ErrorKind::kInvalidAttributeValue);
  EXPECT_EQ(ErrorKindOf(service_->CreateQueue("x", {{"Bogus", "1"}}, kBase).status()),
            ErrorKind::kInvalidAttributeName);
  EXPECT_EQ(ErrorKindOf(service_->GetQueueUrl("nope", kBase).status()),
            ErrorKind::kQueueDoesNotExist);
  EXPECT_EQ(Attr("orders", "QueueArn"), "arn:aws:sqs:us-east-1:000000000000:orders");
  EXPECT_EQ(Attr("orders", "VisibilityTimeout"), "60");
  EXPECT_EQ(Attr("orders", "MessageRetentionPeriod"), "345600");
  EXPECT_EQ(ErrorKindOf(service_->GetQueueAttributes("orders", {"Nope"}).status()),
            ErrorKind::kInvalidAttributeName);
}

TEST_F(QueueServiceTest, ListQueuesByPrefixWithPages) {
  for (auto n : {"a1", "a2", "a3", "b1"}) Create(n);
  auto all = service_->ListQueues("a", std::nullopt, "", kBase);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->queue_urls.size(), 3u);
  EXPECT_TRUE(all->next_token.empty());
  auto page1 = service_->ListQueues("a", 2, "", kBase);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->queue_urls.size(), 2u);
  ASSERT_FALSE(page1->next_token.empty());
  auto page2 = service_->ListQueues("a", 2, page1->next_token, kBase);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->queue_urls.size(), 1u);
  EXPECT_EQ(page2->queue_urls[0], "http://localhost:4010/000000000000/a3");
  EXPECT_TRUE(page2->next_token.empty());
}

TEST_F(QueueServiceTest, SendReceiveDeleteWithDigests) {
  Create("q");
  auto sent = Send("q", "this is a test message", {{"timestamp", "Number", "1493147359900", ""}});
  EXPECT_EQ(sent.md5_of_body, "905ed04ee04ac9a8b461f9f3b10eec6d");
  EXPECT_EQ(sent.md5_of_attributes, "235c5c510d26fb653d073faed50ae77c");
  auto got = Receive("q");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message_id, sent.message_id);
  EXPECT_EQ(got[0].body, "this is a test message");
  EXPECT_EQ(got[0].md5_of_body, sent.md5_of_body);
  EXPECT_EQ(got[0].md5_of_message_attributes, sent.md5_of_attributes);
  EXPECT_EQ(got[0].attributes.at("ApproximateReceiveCount"), "1");
  EXPECT_EQ(got[0].attributes.at("SentTimestamp"), std::to_string(clock_.NowMillis()));
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessagesNotVisible"), "1");
  EXPECT_TRUE(Receive("q").empty());  // in flight
  ASSERT_TRUE(service_->DeleteMessage("q", got[0].receipt_handle).ok());
  EXPECT_EQ(ErrorKindOf(service_->DeleteMessage("q", got[0].receipt_handle)),
            ErrorKind::kReceiptHandleIsInvalid);
  EXPECT_EQ(ErrorKindOf(service_->DeleteMessage("q", "garbage")),
            ErrorKind::kReceiptHandleIsInvalid);
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessagesNotVisible"), "0");
}

TEST_F(QueueServiceTest, VisibilityTimeoutExpiresAndReceiptHandleRotates) {
  Create("q", {{"VisibilityTimeout", "30"}});
  Send("q", "m");
  auto first = Receive("q");
  ASSERT_EQ(first.size(), 1u);
  clock_.AdvanceMicros(29 * kSecond);
  EXPECT_TRUE(Receive("q").empty());
  clock_.AdvanceMicros(1 * kSecond);
  auto second = Receive("q");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attributes.at("ApproximateReceiveCount"), "2");
  EXPECT_NE(second[0].receipt_handle, first[0].receipt_handle);
  EXPECT_EQ(second[0].attributes.at("ApproximateFirstReceiveTimestamp"),
            first[0].attributes.at("ApproximateFirstReceiveTimestamp"));
  // The first receive's handle is stale now.
  EXPECT_EQ(ErrorKindOf(service_->DeleteMessage("q", first[0].receipt_handle)),
            ErrorKind::kReceiptHandleIsInvalid);
  EXPECT_TRUE(service_->DeleteMessage("q", second[0].receipt_handle).ok());
}

TEST_F(QueueServiceTest, ChangeMessageVisibility) {
  Create("q");
  Send("q", "m");
  auto got = Receive("q");
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(service_->ChangeMessageVisibility("q", got[0].receipt_handle, 0).ok());
  // Visible again, so not in flight any more.
  EXPECT_EQ(ErrorKindOf(service_->ChangeMessageVisibility("q", got[0].receipt_handle, 10)),
            ErrorKind::kMessageNotInflight);
  auto again = Receive("q", 1, 100);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(ErrorKindOf(service_->ChangeMessageVisibility("q", again[0].receipt_handle, 43201)),
            ErrorKind::kInvalidParameterValue);
  auto batch = service_->ChangeMessageVisibilityBatch(
      "q", {{"a", again[0].receipt_handle, 5}, {"b", got[0].receipt_handle, 5}});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->successful, std::vector<std::string>{"a"});
  ASSERT_EQ(batch->failed.size(), 1u);
  EXPECT_EQ(batch->failed[0].kind, ErrorKind::kReceiptHandleIsInvalid);
  clock_.AdvanceMicros(5 * kSecond);
  EXPECT_EQ(Receive("q").size(), 1u);
}

TEST_F(QueueServiceTest, DelaysFromQueueAndMessage) {
  Create("q", {{"DelaySeconds", "10"}});
  Send("q", "queue-delay");
  Send("q", "no-delay", {}, 0);
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessagesDelayed"), "1");
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessages"), "1");
  auto got = Receive("q");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "no-delay");
  clock_.AdvanceMicros(10 * kSecond);
  got = Receive("q");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "queue-delay");
  EXPECT_EQ(ErrorKindOf(service_->SendMessage("q", {"x", 901, {}}).status()),
            ErrorKind::kInvalidParameterValue);
}

TEST_F(QueueServiceTest, RetentionExpiresMessages) {
  Create("q", {{"MessageRetentionPeriod", "60"}});
  Send("q", "old");
  clock_.AdvanceMicros(30 * kSecond);
  Send("q", "new");
  clock_.AdvanceMicros(31 * kSecond);
  service_->RunPendingWork();
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessages"), "1");
  auto got = Receive("q");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "new");
  Reopen();  // the expiry was durable
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessagesNotVisible"), "1");
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessages"), "0");
}

TEST_F(QueueServiceTest, RedriveToDeadLetterQueueAfterMaxReceiveCount) {
  Create("dlq");
  Create("src",
         {{"RedrivePolicy", R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq",)"
                            R"("maxReceiveCount":"2"})"}});
  EXPECT_EQ(Attr("src", "RedrivePolicy"),
            R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq",)"
            R"("maxReceiveCount":2})");
  auto sent = Send("src", "poison", {{"k", "String", "v", ""}});
  EXPECT_EQ(Receive("src", 1, 0).size(), 1u);
  EXPECT_EQ(Receive("src", 1, 0).size(), 1u);
  EXPECT_TRUE(Receive("src", 1, 0).empty());  // third receive redrives instead
  EXPECT_EQ(Attr("src", "ApproximateNumberOfMessages"), "0");
  auto dead = Receive("dlq");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message_id, sent.message_id);
  EXPECT_EQ(dead[0].body, "poison");
  EXPECT_EQ(dead[0].md5_of_message_attributes, sent.md5_of_attributes);
  EXPECT_EQ(dead[0].attributes.at("DeadLetterQueueSourceArn"),
            "arn:aws:sqs:us-east-1:000000000000:src");
  auto sources = service_->ListDeadLetterSourceQueues("dlq");
  ASSERT_TRUE(sources.ok());
  EXPECT_EQ(*sources, std::vector<std::string>{"src"});
  EXPECT_EQ(ErrorKindOf(service_->SetQueueAttributes(
                "src", {{"RedrivePolicy",
                         R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:none",)"
                         R"("maxReceiveCount":2})"}})),
            ErrorKind::kInvalidParameterValue);
}

TEST_F(QueueServiceTest, BatchValidationAndPerEntryErrors) {
  Create("q");
  auto kind = [&](std::vector<SendBatchEntry> e) {
    return ErrorKindOf(service_->SendMessageBatch("q", std::move(e)).status());
  };
  EXPECT_EQ(kind({}), ErrorKind::kEmptyBatchRequest);
  std::vector<SendBatchEntry> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back({"e" + std::to_string(i), {"b", {}, {}}});
  EXPECT_EQ(kind(eleven), ErrorKind::kTooManyEntriesInBatchRequest);
  EXPECT_EQ(kind({{"a", {"b", {}, {}}}, {"a", {"c", {}, {}}}}),
            ErrorKind::kBatchEntryIdsNotDistinct);
  EXPECT_EQ(kind({{"bad id!", {"b", {}, {}}}}), ErrorKind::kInvalidBatchEntryId);
  auto r = service_->SendMessageBatch("q", {{"ok", {"fine", {}, {}}}, {"bad", {"\x01", {}, {}}}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->successful.size(), 1u);
  EXPECT_EQ(r->successful[0].first, "ok");
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0].id, "bad");
  EXPECT_EQ(r->failed[0].kind, ErrorKind::kInvalidMessageContents);
  auto got = Receive("q");
  ASSERT_EQ(got.size(), 1u);
  auto del = service_->DeleteMessageBatch("q", {{"x", got[0].receipt_handle}, {"y", "nope"}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->successful, std::vector<std::string>{"x"});
  ASSERT_EQ(del->failed.size(), 1u);
  EXPECT_EQ(del->failed[0].kind, ErrorKind::kReceiptHandleIsInvalid);
}

TEST_F(QueueServiceTest, MessageSizeLimitCountsAttributes) {
  Create("q", {{"MaximumMessageSize", "1024"}});
  EXPECT_TRUE(service_->SendMessage("q", {std::string(1024, 'x'), {}, {}}).ok());
  EXPECT_EQ(
      ErrorKindOf(
          service_->SendMessage("q", {std::string(1020, 'x'), {}, {{"ab", "String", "cd", ""}}})
              .status()),
      ErrorKind::kInvalidParameterValue);
}

TEST_F(QueueServiceTest, MessageAttributeSelectionAndDigestOfSubset) {
  Create("q");
  Send("q", "m",
       {{"app.id", "String", "1", ""},
        {"app.kind", "String", "x", ""},
        {"other", "Number", "5", ""}});
  ReceiveRequest req;
  req.queue = "q";
  req.message_attribute_names = {"app.*"};
  req.visibility_timeout = 0;
  auto got = ReceiveStatus(req);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  ASSERT_EQ((*got)[0].message_attributes.size(), 2u);
  EXPECT_TRUE((*got)[0].attributes.empty());
  EXPECT_EQ(
      (*got)[0].md5_of_message_attributes,
      Md5OfMessageAttributes({{"app.id", "String", "1", ""}, {"app.kind", "String", "x", ""}}));
  req.message_attribute_names = {"other"};
  got = ReceiveStatus(req);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ((*got)[0].message_attributes.size(), 1u);
  req.message_attribute_names = {};
  got = ReceiveStatus(req);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE((*got)[0].message_attributes.empty());
  EXPECT_EQ((*got)[0].md5_of_message_attributes, "");
}

TEST_F(QueueServiceTest, StateSurvivesReopen) {
  Create("q", {{"VisibilityTimeout", "100"}});
  auto a = Send("q", "a");
  Send("q", "b");
  auto got = Receive("q", 1);
  ASSERT_EQ(got.size(), 1u);
  auto deleted = Receive("q", 1);
  ASSERT_EQ(deleted.size(), 1u);
  ASSERT_TRUE(service_->DeleteMessage("q", deleted[0].receipt_handle).ok());
  Reopen();
  EXPECT_EQ(Attr("q", "VisibilityTimeout"), "100");
  EXPECT_EQ(Attr("q", "ApproximateNumberOfMessagesNotVisible"), "1");
  EXPECT_TRUE(Receive("q").empty());
  clock_.AdvanceMicros(100 * kSecond);
  auto again = Receive("q");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message_id, got[0].message_id);
  EXPECT_EQ(again[0].attributes.at("ApproximateReceiveCount"), "2");
  // New messages after reopen get fresh sequence numbers (no overwrite of old ones).
  Send("q", "c");
  clock_.AdvanceMicros(100 * kSecond);
  EXPECT_EQ(Receive("q").size(), 2u);
}

TEST_F(QueueServiceTest, DeleteAndPurgeQueue) {
  Create("q");
  Send("q", "m");
  ASSERT_TRUE(service_->PurgeQueue("q").ok());
  EXPECT_EQ(ErrorKindOf(service_->PurgeQueue("q")), ErrorKind::kPurgeQueueInProgress);
  clock_.AdvanceMicros(61 * kSecond);
  EXPECT_TRUE(service_->PurgeQueue("q").ok());
  EXPECT_TRUE(Receive("q").empty());
  Send("q", "m");
  ASSERT_TRUE(service_->DeleteQueue("q").ok());
  EXPECT_EQ(ErrorKindOf(service_->SendMessage("q", {"x", {}, {}}).status()),
            ErrorKind::kQueueDoesNotExist);
  Create("q");  // same name, new incarnation: old messages are gone
  EXPECT_TRUE(Receive("q").empty());
  Reopen();
  EXPECT_TRUE(Receive("q").empty());
}

TEST_F(QueueServiceTest, LongPollWithManualClock) {
  Create("q");
  ReceiveRequest req;
  req.queue = "q";
  req.wait_seconds = 5;
  std::promise<StatusOr<std::vector<ReceivedMessage>>> first, second;
  service_->ReceiveMessage(req, [&](auto r) { first.set_value(std::move(r)); });
  EXPECT_EQ(service_->PendingLongPolls(), 1u);
  Send("q", "hello");
  service_->RunPendingWork();
  auto f = first.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].body, "hello");

  // Nothing arrives: the poll ends empty at its deadline.
  service_->ReceiveMessage(req, [&](auto r) { second.set_value(std::move(r)); });
  clock_.AdvanceMicros(4 * kSecond);
  service_->RunPendingWork();
  EXPECT_EQ(service_->PendingLongPolls(), 1u);
  clock_.AdvanceMicros(1 * kSecond);
  service_->RunPendingWork();
  auto s = second.get_future();
  ASSERT_EQ(s.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto empty = s.get();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(service_->PendingLongPolls(), 0u);
}

TEST_F(QueueServiceTest, LongPollWakesOnSendWithBackgroundThread) {
  Reopen(/*background_thread=*/true);
  Create("q");
  ReceiveRequest req;
  req.queue = "q";
  req.wait_seconds = 20;
  std::promise<StatusOr<std::vector<ReceivedMessage>>> p;
  service_->ReceiveMessage(req, [&](auto r) { p.set_value(std::move(r)); });
  Send("q", "wake");
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].body, "wake");
}

TEST_F(QueueServiceTest, PendingLongPollsCompleteOnShutdown) {
  Reopen(/*background_thread=*/true);
  Create("q");
  ReceiveRequest req;
  req.queue = "q";
  req.wait_seconds = 20;
  std::promise<StatusOr<std::vector<ReceivedMessage>>> p;
  service_->ReceiveMessage(req, [&](auto r) { p.set_value(std::move(r)); });
  service_.reset();
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(QueueServiceTest, PreparedMessageIsWrittenWithCallersBatch) {
  Create("dlq");
  EXPECT_TRUE(service_->QueueExists("arn:aws:sqs:us-east-1:000000000000:dlq"));
  EXPECT_FALSE(service_->QueueExists("nope"));
  EXPECT_EQ(service_->PrepareMessage("nope", "x", {}).status().code(), StatusCode::kNotFound);
  auto p = service_->PrepareMessage(
      "arn:aws:sqs:us-east-1:000000000000:dlq", R"({"id":"e1"})",
      {{"ERROR_CODE", "String", "TIMEOUT", ""}, {"RETRY_ATTEMPTS", "Number", "3", ""}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  store::WriteBatch batch;
  batch.Put(store::Family::kTasks, "task-1", "");  // the caller's own change
  service_->AddToBatch(batch, *p);
  ASSERT_TRUE(store_->Write(std::move(batch)).ok());
  EXPECT_TRUE(Receive("dlq").empty());  // not receivable before OnCommitted
  service_->OnCommitted(*p);
  auto got = Receive("dlq");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, R"({"id":"e1"})");
  EXPECT_EQ(got[0].message_attributes.size(), 2u);
  Reopen();
  clock_.AdvanceMicros(31 * kSecond);
  EXPECT_EQ(Receive("dlq").size(), 1u);  // durable with the caller's batch
}

// Message move tasks: exact rate, completion, durability (move_tasks.cc).
TEST_F(QueueServiceTest, MessageMoveTaskRedrivesAtExactRate) {
  Create("dlq");
  Create("src", {{"RedrivePolicy", R"({"deadLetterTargetArn":")" + service_->QueueArn("dlq") +
                                       R"(","maxReceiveCount":"1"})"}});
  for (int i = 0; i < 7; ++i) Send("src", "m" + std::to_string(i));
  EXPECT_EQ(Receive("src", 10, 0).size(), 7u);
  EXPECT_TRUE(Receive("src", 10, 0).empty());  // the second receive dead-letters them
  ASSERT_EQ(Attr("dlq", "ApproximateNumberOfMessages"), "7");
  const std::string dlq = service_->QueueArn("dlq");
  EXPECT_EQ(service_->StartMessageMoveTask(service_->QueueArn("src"), {}, 3).status().code(),
            StatusCode::kValidation);  // not a dead-letter queue
  auto handle = service_->StartMessageMoveTask(dlq, {}, 3);
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  EXPECT_EQ(service_->StartMessageMoveTask(dlq, {}, 3).status().code(), StatusCode::kValidation);
  auto moved = [&] { return (*service_->ListMessageMoveTasks(dlq, 1))[0].moved; };
  service_->RunPendingWork();
  EXPECT_EQ(moved(), 3);
  clock_.AdvanceMicros(kSecond - 1);
  service_->RunPendingWork();
  EXPECT_EQ(moved(), 3);  // no more than 3 in any one-second window
  clock_.AdvanceMicros(1);
  service_->RunPendingWork();
  EXPECT_EQ(moved(), 6);
  clock_.AdvanceMicros(kSecond);
  service_->RunPendingWork();
  service_->RunPendingWork();
  auto tasks = service_->ListMessageMoveTasks(dlq, 10);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ((*tasks)[0].status, "COMPLETED");
  EXPECT_EQ((*tasks)[0].moved, 7);
  EXPECT_EQ((*tasks)[0].to_move, 7);
  EXPECT_EQ(Attr("src", "ApproximateNumberOfMessages"), "7");
  EXPECT_EQ(Attr("dlq", "ApproximateNumberOfMessages"), "0");
  Reopen();
  tasks = service_->ListMessageMoveTasks(dlq, 10);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ((*tasks)[0].status, "COMPLETED");
  EXPECT_EQ(Attr("src", "ApproximateNumberOfMessages"), "7");
  EXPECT_EQ(service_->CancelMessageMoveTask(*handle).status().code(), StatusCode::kNotFound);
}

TEST_F(QueueServiceTest, TagsPersistWithTheQueue) {
  ASSERT_TRUE(service_->CreateQueue("t", {}, kBase, {{"a", "1"}}).ok());
  ASSERT_TRUE(service_->TagQueue("t", {{"b", "2"}}).ok());
  ASSERT_TRUE(service_->UntagQueue("t", {"a"}).ok());
  Reopen();
  auto tags = service_->ListQueueTags("t");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (QueueTags{{"b", "2"}}));
  EXPECT_EQ(service_->TagQueue("t", {{"aws:x", "1"}}).code(), StatusCode::kValidation);
}

TEST_F(QueueServiceTest, PeekChangesNothingAndTakeCommitsWithTheCallersWrites) {
  Create("dlq");
  Send("dlq", "one", {{"ERROR_CODE", "String", "TIMEOUT", ""}});
  Send("dlq", "two");
  Send("dlq", "three");
  auto peeked = service_->PeekMessages("dlq", 0, 10);
  ASSERT_TRUE(peeked.ok());
  ASSERT_EQ(peeked->size(), 3u);
  EXPECT_EQ((*peeked)[0].body, "one");
  EXPECT_EQ((*peeked)[0].attributes.at(0).string_value, "TIMEOUT");
  EXPECT_EQ((*peeked)[0].receive_count, 0u);
  auto rest = service_->PeekMessages("dlq", (*peeked)[0].seq, 1);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].body, "two");
  // A received (in-flight) message is not taken.
  auto got = Receive("dlq", 1, 30);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "one");
  std::vector<uint64_t> all{(*peeked)[0].seq, (*peeked)[1].seq, (*peeked)[2].seq};
  auto taken = service_->TakeMessages("dlq", all, [](const auto& msgs, store::WriteBatch& b) {
    for (const auto& m : msgs) b.Put(store::Family::kMeta, "test/" + m.body, m.message_id);
  });
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  ASSERT_EQ(taken->size(), 2u);
  auto kept = store_->Get(store::Family::kMeta, "test/two");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ(Attr("dlq", "ApproximateNumberOfMessagesNotVisible"), "1");
  EXPECT_EQ(Attr("dlq", "ApproximateNumberOfMessages"), "0");
  Reopen();
  auto after = service_->PeekMessages("dlq", 0, 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].body, "one");
  EXPECT_FALSE((*after)[0].visible);
  EXPECT_FALSE(service_->PeekMessages("nope", 0, 1).ok());
}

}  // namespace
}  // namespace bp::queue
