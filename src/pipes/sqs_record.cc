#include "pipes/sqs_record.h"

#include <boost/json.hpp>

#include "auth/encoding.h"

namespace bp::pipes {

namespace json = boost::json;

SqsRecord MakeSqsRecord(const queue::ReceivedMessage& m, const std::string& queue_arn,
                        const std::string& region) {
  json::object rec;
  rec["messageId"] = m.message_id;
  rec["receiptHandle"] = m.receipt_handle;
  rec["body"] = m.body;
  json::object attrs;
  for (const auto& [k, v] : m.attributes) attrs[k] = v;
  rec["attributes"] = std::move(attrs);
  json::object mattrs;
  for (const auto& a : m.message_attributes) {
    json::object one;
    if (a.IsBinary()) {
      one["binaryValue"] = auth::Base64Encode(a.binary_value);
    } else {
      one["stringValue"] = a.string_value;
    }
    one["stringListValues"] = json::array();
    one["binaryListValues"] = json::array();
    one["dataType"] = a.data_type;
    mattrs[a.name] = std::move(one);
  }
  rec["messageAttributes"] = std::move(mattrs);
  rec["md5OfBody"] = m.md5_of_body;
  if (!m.md5_of_message_attributes.empty()) {
    rec["md5OfMessageAttributes"] = m.md5_of_message_attributes;
  }
  rec["eventSource"] = "aws:sqs";
  rec["eventSourceARN"] = queue_arn;
  rec["awsRegion"] = region;

  SqsRecord out;
  out.message_id = m.message_id;
  out.receipt_handle = m.receipt_handle;
  out.event_json = json::serialize(rec);
  boost::system::error_code ec;
  json::value body = json::parse(m.body, ec);
  if (!ec && (body.is_object() || body.is_array())) {
    rec["body"] = std::move(body);
    out.view_json = json::serialize(rec);
  } else {
    out.view_json = out.event_json;
  }
  return out;
}

}  // namespace bp::pipes
