"""Bounded work per event: an InputTransformer that repeats a large value, or HttpParameters that
expand one many times, fail the attempt with INVALID_PARAMETER at the payload cap instead of
building (and sending) a body many times the event's size.
"""

import json
import unittest

from delivery_util import DeliveryFixture

BIG = "b" * 20000


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class PayloadCapTest(DeliveryFixture):

    server_args = ("--max-payload-bytes", "65536")

    def test_amplifying_template_goes_to_the_dlq_without_building_it(self):
        template = "[" + ",".join(["<big>"] * 1300) + "]"  # 1300 x 20 KB = 26 MB if built
        self.assertLessEqual(len(template), 8192)
        p = self.pipeline("amp", dlq=True, InputTransformer={
            "InputPathsMap": {"big": "$.detail.big"}, "InputTemplate": template})
        before = peak_rss_kib(self.server.pid)
        [event_id] = self.put([{"big": BIG}])
        [msg] = self.receive_dlq(p["dlq_url"])
        attrs = self.attrs(msg)
        self.assertEqual(attrs["ERROR_CODE"], ("String", "INVALID_PARAMETER"), attrs)
        self.assertIn("exceeds 65536 bytes", attrs["ERROR_MESSAGE"][1])
        self.assertEqual(json.loads(msg["Body"])["id"], event_id)
        self.assertEqual(self.sink.requests(), [])
        grown = peak_rss_kib(self.server.pid) - before
        self.assertLess(grown, 16 * 1024, "peak RSS grew by %d KiB for one event" % grown)

    def test_small_template_still_delivered(self):
        self.pipeline("ok", InputTransformer={
            "InputPathsMap": {"big": "$.detail.big"}, "InputTemplate": "[<big>,<big>]"})
        self.put([{"big": BIG}])
        [req] = self.sink.wait_for(1)
        self.assertEqual(json.loads(req["body"]), [BIG, BIG])

    def test_expanding_header_parameters_capped(self):
        headers = {"X-Big-%d" % i: "$.detail.big" for i in range(10)}  # 10 x 20 KB > 64 KiB
        p = self.pipeline("hdr", dlq=True, HttpParameters={"HeaderParameters": headers})
        self.put([{"big": BIG}])
        [msg] = self.receive_dlq(p["dlq_url"])
        attrs = self.attrs(msg)
        self.assertEqual(attrs["ERROR_CODE"], ("String", "INVALID_PARAMETER"), attrs)
        self.assertIn("header parameters exceed", attrs["ERROR_MESSAGE"][1])
        self.assertEqual(self.sink.requests(), [])


if __name__ == "__main__":
    unittest.main()
