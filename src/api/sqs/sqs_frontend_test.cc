#include "api/sqs/sqs_frontend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <future>

#include "api/sqs/sqs_protocol.h"

namespace bp::api::sqs {
namespace {

namespace json = boost::json;

http::Request JsonRequest(std::string op, std::string body, std::string path = "/") {
  http::Request r;
  r.method = "POST";
  r.target = std::move(path);
  r.headers = {{"host", "127.0.0.1:4010"},
               {"content-type", "application/x-amz-json-1.0"},
               {"x-amz-target", "AmazonSQS." + op}};
  r.body = std::move(body);
  return r;
}

http::Request FormRequest(std::string body, std::string path = "/") {
  http::Request r;
  r.method = "POST";
  r.target = std::move(path);
  r.headers = {{"host", "127.0.0.1:4010"},
               {"content-type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = std::move(body);
  return r;
}

std::string HeaderOf(const http::Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

class SqsFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bp_sqs_frontend_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::move(store::OpenRocksStore({.path = dir_.string()})).value();
    queues_ = std::move(queue::QueueService::Open(*store_, RealClock::Get(), {})).value();
    frontend_ = std::make_unique<SqsFrontend>(*queues_, SqsContext{});
  }
  void TearDown() override {
    frontend_.reset();
    queues_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  http::Response Call(http::Request req) {
    EXPECT_TRUE(SqsFrontend::Accepts(req));
    std::promise<http::Response> p;
    auto f = p.get_future();
    frontend_->Handle(std::move(req), "req-1",
                      [&p](http::Response r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return f.get();
  }
  json::object CallJson(std::string op, json::object body, int expect_status = 200) {
    auto r = Call(JsonRequest(op, json::serialize(body)));
    EXPECT_EQ(r.status, expect_status) << r.body;
    EXPECT_EQ(HeaderOf(r, "x-amzn-RequestId"), "req-1");
    return json::parse(r.body).as_object();
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<queue::QueueService> queues_;
  std::unique_ptr<SqsFrontend> frontend_;
};

TEST(SqsAcceptsTest, RecognisesBothProtocols) {
  EXPECT_TRUE(SqsFrontend::Accepts(JsonRequest("ListQueues", "{}")));
  EXPECT_TRUE(SqsFrontend::Accepts(FormRequest("Action=ListQueues&Version=2012-11-05")));
  auto events = JsonRequest("x", "{}");
  events.headers[2].second = "AWSEvents.PutEvents";
  EXPECT_FALSE(SqsFrontend::Accepts(events));
  EXPECT_FALSE(SqsFrontend::Accepts(FormRequest("Foo=1")));
}

TEST(SqsQueryTest, FlattenedParametersBecomeJsonShapes) {
  auto in =
      QueryToInput({{"Action", "SendMessageBatch"},
                    {"QueueUrl", "http://h/000000000000/q"},
                    {"SendMessageBatchRequestEntry.2.Id", "b"},
                    {"SendMessageBatchRequestEntry.1.Id", "a"},
                    {"SendMessageBatchRequestEntry.1.MessageBody", "x"},
                    {"SendMessageBatchRequestEntry.1.MessageAttribute.1.Name", "k.1"},
                    {"SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType", "String"},
                    {"SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue", "v"},
                    {"AttributeName.1", "All"}});
  EXPECT_EQ(json::serialize(in),
            R"({"QueueUrl":"http://h/000000000000/q","Entries":[{"Id":"a","MessageBody":"x",)"
            R"("MessageAttributes":{"k.1":{"DataType":"String","StringValue":"v"}}},{"Id":"b"}],)"
            R"("AttributeNames":["All"]})");
}

TEST(SqsQueryTest, Base64RoundTrip) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", std::string("\x00\xff\x10", 3)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(Base64Decode("a$==").has_value());
}

TEST_F(SqsFrontendTest, JsonSendReceiveDeleteWithBinaryAttribute) {
  auto created = CallJson("CreateQueue", {{"QueueName", "orders"}});
  EXPECT_EQ(created.at("QueueUrl").as_string(), "http://127.0.0.1:4010/000000000000/orders");
  std::string url(created.at("QueueUrl").as_string());
  auto sent =
      CallJson("SendMessage",
               {{"QueueUrl", url},
                {"MessageBody", "this is a test message"},
                {"MessageAttributes",
                 {{"timestamp", {{"DataType", "Number"}, {"StringValue", "1493147359900"}}}}}});
  EXPECT_EQ(sent.at("MD5OfMessageBody").as_string(), "905ed04ee04ac9a8b461f9f3b10eec6d");
  EXPECT_EQ(sent.at("MD5OfMessageAttributes").as_string(), "235c5c510d26fb653d073faed50ae77c");
  CallJson("SendMessage",
           {{"QueueUrl", url},
            {"MessageBody", "bin"},
            {"MessageAttributes", {{"blob", {{"DataType", "Binary"}, {"BinaryValue", "AAEC"}}}}}});
  auto got = CallJson("ReceiveMessage", {{"QueueUrl", url},
                                         {"MaxNumberOfMessages", 10},
                                         {"MessageAttributeNames", json::array{"All"}},
                                         {"MessageSystemAttributeNames", json::array{"All"}}});
  const auto& messages = got.at("Messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  bool saw_binary = false;
  for (const auto& m : messages) {
    const auto& o = m.as_object();
    EXPECT_EQ(o.at("Attributes").as_object().at("ApproximateReceiveCount").as_string(), "1");
    if (o.at("Body").as_string() == "bin") {
      saw_binary = true;
      EXPECT_EQ(o.at("MessageAttributes").at("blob").at("BinaryValue").as_string(), "AAEC");
    }
    CallJson("DeleteMessage", {{"QueueUrl", url}, {"ReceiptHandle", o.at("ReceiptHandle")}});
  }
  EXPECT_TRUE(saw_binary);
  auto empty = CallJson("ReceiveMessage", {{"QueueUrl", url}});
  EXPECT_FALSE(empty.contains("Messages"));
}

TEST_F(SqsFrontendTest, JsonErrorsCarryQueryCodes) {
  auto r = Call(JsonRequest("GetQueueUrl", R"({"QueueName":"missing"})"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(HeaderOf(r, "x-amzn-query-error"), "AWS.SimpleQueueService.NonExistentQueue;Sender");
  auto body = json::parse(r.body).as_object();
  EXPECT_EQ(body.at("__type").as_string(), "com.amazonaws.sqs#QueueDoesNotExist");
  EXPECT_EQ(body.at("message").as_string(), "The specified queue does not exist.");

  CallJson("CreateQueue", {{"QueueName", "q"}});
  auto missing = CallJson("SendMessage", {{"QueueUrl", "http://x/000000000000/q"}}, 400);
  EXPECT_EQ(missing.at("__type").as_string(), "com.amazonaws.sqs#MissingParameter");
  auto bad = CallJson("ReceiveMessage",
                      {{"QueueUrl", "http://x/000000000000/q"}, {"MaxNumberOfMessages", 11}}, 400);
  EXPECT_EQ(bad.at("__type").as_string(), "com.amazonaws.sqs#InvalidParameterValue");
  auto unknown = Call(JsonRequest("Frobnicate", "{}"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(HeaderOf(unknown, "x-amzn-query-error"), "InvalidAction;Sender");
  auto garbage = Call(JsonRequest("ListQueues", "{nope"));
  EXPECT_EQ(garbage.status, 400);
  auto batch = CallJson("DeleteMessageBatch",
                        {{"QueueUrl", "http://x/000000000000/q"}, {"Entries", json::array{}}}, 400);
  EXPECT_EQ(batch.at("__type").as_string(), "com.amazonaws.sqs#EmptyBatchRequest");
}

TEST_F(SqsFrontendTest, QueryProtocolRepliesWithXml) {
  auto created = Call(FormRequest(
      "Action=CreateQueue&Version=2012-11-05&QueueName=jobs&Attribute.1.Name=VisibilityTimeout&"
      "Attribute.1.Value=45"));
  EXPECT_EQ(created.status, 200);
  EXPECT_NE(created.body.find("<CreateQueueResult><QueueUrl>http://127.0.0.1:4010/000000000000/"
                              "jobs</QueueUrl></CreateQueueResult>"),
            std::string::npos)
      << created.body;
  EXPECT_NE(created.body.find("<RequestId>req-1</RequestId>"), std::string::npos);
  auto attrs = Call(FormRequest(
      "Action=GetQueueAttributes&QueueUrl=http%3A%2F%2F127.0.0.1%3A4010%2F000000000000%2Fjobs&"
      "AttributeName.1=VisibilityTimeout"));
  EXPECT_NE(attrs.body.find("<Attribute><Name>VisibilityTimeout</Name><Value>45</Value>"
                            "</Attribute>"),
            std::string::npos)
      << attrs.body;

  // Sent to the queue URL itself, without a QueueUrl parameter.
  auto batch = Call(FormRequest(
      "Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a&"
      "SendMessageBatchRequestEntry.1.MessageBody=a%26b%3Cc%0D%0A&"
      "SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=%01",
      "/000000000000/jobs"));
  EXPECT_NE(batch.body.find("<SendMessageBatchResultEntry><Id>a</Id>"), std::string::npos)
      << batch.body;
  EXPECT_NE(batch.body.find("<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault>"
                            "<Code>InvalidMessageContents</Code>"),
            std::string::npos)
      << batch.body;
  auto received = Call(
      FormRequest("Action=ReceiveMessage&AttributeName.1=SentTimestamp", "/000000000000/jobs"));
  EXPECT_NE(received.body.find("<Body>a&amp;b&lt;c&#xD;\n</Body>"), std::string::npos)
      << received.body;
  EXPECT_NE(received.body.find("<Attribute><Name>SentTimestamp</Name>"), std::string::npos);

  auto error = Call(FormRequest("Action=GetQueueUrl&QueueName=nope"));
  EXPECT_EQ(error.status, 400);
  EXPECT_NE(error.body.find("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"),
            std::string::npos)
      << error.body;
  auto invalid = Call(FormRequest("Action=Frobnicate"));
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find("<Code>InvalidAction</Code>"), std::string::npos);
}

TEST_F(SqsFrontendTest, LongPollRepliesWhenAMessageArrives) {
  CallJson("CreateQueue", {{"QueueName", "lp"}});
  std::promise<http::Response> p;
  auto f = p.get_future();
  frontend_->Handle(JsonRequest("ReceiveMessage",
                                R"({"QueueUrl":"http://x/000000000000/lp","WaitTimeSeconds":20})"),
                    "req-lp", [&p](http::Response r) { p.set_value(std::move(r)); });
  // Handle returned without replying: the poll is parked, not blocking this thread.
  EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  CallJson("SendMessage", {{"QueueUrl", "http://x/000000000000/lp"}, {"MessageBody", "hi"}});
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = f.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("Messages").at(0).at("Body").as_string(), "hi");
}

}  // namespace
}  // namespace bp::api::sqs
