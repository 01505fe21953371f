#include "queue/message.h"

#include <gtest/gtest.h>

#include "queue/queue_errors.h"
#include "queue/record_codec.h"

namespace bp::queue {
namespace {

TEST(MessageTest, Md5OfBodyMatchesAws) {
  EXPECT_EQ(Md5Hex("this is a test message"), "905ed04ee04ac9a8b461f9f3b10eec6d");
}

TEST(MessageTest, Md5OfAttributesMatchesKnownAwsValue) {
  // Value returned by SQS for this attribute (documented in public SQS client test suites).
  std::vector<MessageAttribute> attrs = {{"timestamp", "Number", "1493147359900", ""}};
  EXPECT_EQ(Md5OfMessageAttributes(attrs), "235c5c510d26fb653d073faed50ae77c");
}

TEST(MessageTest, Md5OfAttributesSortsByNameAndEncodesBinary) {
  std::vector<MessageAttribute> a = {{"num", "Number.float", "3.14", ""},
                                     {"attr2", "Binary", "", std::string("\x01\x02", 2)},
                                     {"attr1", "String", "value1", ""}};
  std::vector<MessageAttribute> b = {a[2], a[1], a[0]};
  EXPECT_EQ(Md5OfMessageAttributes(a), "0ee799b26f2774fcc6afe0dc8c9ae462");
  EXPECT_EQ(Md5OfMessageAttributes(a), Md5OfMessageAttributes(b));
  EXPECT_EQ(Md5OfMessageAttributes({}), "");
}

TEST(MessageTest, ValidMessageText) {
  EXPECT_TRUE(IsValidMessageText("hello\tworld\n\r"));
  EXPECT_TRUE(IsValidMessageText("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidMessageText(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidMessageText("\x01"));
  EXPECT_FALSE(IsValidMessageText("\xff"));
  EXPECT_FALSE(IsValidMessageText("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(IsValidMessageText("\xef\xbf\xbe"));  // U+FFFE
  EXPECT_FALSE(IsValidMessageText("\xc0\xaf"));      // overlong
}

TEST(MessageTest, AttributeValidation) {
  EXPECT_TRUE(ValidateMessageAttributes({{"a.b-c_d", "String.x", "v", ""}}).ok());
  auto kind = [](std::vector<MessageAttribute> v) {
    return ErrorKindOf(ValidateMessageAttributes(v));
  };
  EXPECT_EQ(kind({{"AWS.x", "String", "v", ""}}), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind({{"a..b", "String", "v", ""}}), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind({{"a", "Text", "v", ""}}), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind({{"a", "String", "", ""}}), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind({{"a", "Binary", "x", ""}}), ErrorKind::kInvalidParameterValue);
  EXPECT_EQ(kind({{"a", "Number", "12x", ""}}), ErrorKind::kInvalidParameterValue);
  EXPECT_TRUE(ValidateMessageAttributes({{"a", "Number", "-1.5e10", ""}}).ok());
  EXPECT_EQ(kind({{"a", "String", "\x01", ""}}), ErrorKind::kInvalidMessageContents);
  std::vector<MessageAttribute> many;
  for (int i = 0; i < 11; ++i) many.push_back({"a" + std::to_string(i), "String", "v", ""});
  EXPECT_EQ(kind(many), ErrorKind::kInvalidParameterValue);
  many.pop_back();
  EXPECT_TRUE(ValidateMessageAttributes(many).ok());
}

TEST(MessageTest, ErrorKindRoundTrip) {
  Status s = QueueError(ErrorKind::kReceiptHandleIsInvalid, "bad handle");
  EXPECT_EQ(ErrorKindOf(s), ErrorKind::kReceiptHandleIsInvalid);
  EXPECT_EQ(s.message(), "bad handle");
  EXPECT_EQ(ErrorKindOf(Status::IoError("disk")), ErrorKind::kNone);
  EXPECT_EQ(QueueError(ErrorKind::kQueueDoesNotExist, "x").code(), StatusCode::kNotFound);
}

TEST(MessageTest, RecordsRoundTrip) {
  MessageContent c{"id-1",
                   std::string("body\0x", 6),
                   123,
                   {{"n", "Binary", "", std::string("\x00\x01", 2)}},
                   ""};
  auto d = DecodeContent(EncodeContent(c));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->body, c.body);
  EXPECT_EQ(d->attributes, c.attributes);
  EXPECT_FALSE(DecodeContent(EncodeContent(c).substr(0, 10)).has_value());
  auto r = DecodeReceipt(EncodeReceipt({7, 9, 3}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->queue_id, 7u);
  EXPECT_EQ(r->seq, 9u);
  EXPECT_EQ(r->receive_count, 3u);
  EXPECT_FALSE(DecodeReceipt("not-a-handle").has_value());
}

}  // namespace
}  // namespace bp::queue
