"""CloudFormation stacks with AWS::Pipes::Pipe and AWS::Events::EventBusPolicy, deployed with the
stock `aws cloudformation deploy` and removed with `delete-stack` and the CLI's waiter.

The pipe stack has the shape CDK's Pipes constructs synthesize: an SQS source queue, an API_KEY
connection and API destination as the target, an IAM role for the pipe (recorded, not enforced),
FilterCriteria under SourceParameters. A message sent with SQS reaches the local sink through the
deployed pipe; an update changes the filter; delete-stack removes the pipe. The policy stack
checks that the statements show in DescribeEventBus's Policy and go away on update and delete.
Set BRIDGEPORT_AWS_CLI to run the CLI parts with another `aws`.
"""

import json
import os
import sys
import time
import unittest

import harness
from pipes_util import raw_pipes_call
from test_cloudformation import StackTestCase

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cfn"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakes"))
import cdk_stack  # noqa: E402
from sink import Sink  # noqa: E402


def pipe_stack(stack, sink_url, kinds=("order",), with_tag=False):
    p = stack + "/"
    pipe_props = {
        "RoleArn": {"Fn::GetAtt": ["OrdersPipeRole7B2C19D4", "Arn"]},
        "Source": {"Fn::GetAtt": ["OrdersSourceQueue1C9E2A77", "Arn"]},
        "Target": {"Fn::GetAtt": ["HookDestination53B1D0A8", "Arn"]},
        "SourceParameters": {
            "SqsQueueParameters": {"BatchSize": 1},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(
                {"body": {"kind": list(kinds)}})}]},
        },
        "TargetParameters": {
            "InputTemplate": '{"id": "<$.body.id>", "pipe": "<aws.pipes.pipe-name>"}',
            "HttpParameters": {"HeaderParameters": {"X-Origin": "pipe"}},
        },
        "Description": "orders to the partner hook",
        "DesiredState": "RUNNING",
    }
    if with_tag:
        pipe_props["Tags"] = {"team": "orders"}
    resources = {
        "OrdersSourceQueue1C9E2A77": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"VisibilityTimeout": 30},
            "UpdateReplacePolicy": "Delete",
            "DeletionPolicy": "Delete",
            "Metadata": {"aws:cdk:path": p + "OrdersSourceQueue/Resource"},
        },
        "HookConnection0F3A5B61": {
            "Type": "AWS::Events::Connection",
            "Properties": {
                "AuthorizationType": "API_KEY",
                "AuthParameters": {"ApiKeyAuthParameters": {
                    "ApiKeyName": "x-api-key", "ApiKeyValue": "pipe-key-123"}},
            },
            "Metadata": {"aws:cdk:path": p + "HookConnection/Resource"},
        },
        "HookDestination53B1D0A8": {
            "Type": "AWS::Events::ApiDestination",
            "Properties": {
                "ConnectionArn": {"Fn::GetAtt": ["HookConnection0F3A5B61", "Arn"]},
                "HttpMethod": "POST",
                "InvocationEndpoint": sink_url,
                "InvocationRateLimitPerSecond": 10,
            },
            "Metadata": {"aws:cdk:path": p + "HookDestination/Resource"},
        },
        "OrdersPipeRole7B2C19D4": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
                "Action": "sts:AssumeRole", "Effect": "Allow",
                "Principal": {"Service": "pipes.amazonaws.com"}}], "Version": "2012-10-17"}},
            "Metadata": {"aws:cdk:path": p + "OrdersPipe/Role/Resource"},
        },
        "OrdersPipe5D0E8C3F": {
            "Type": "AWS::Pipes::Pipe",
            "Properties": pipe_props,
            "Metadata": {"aws:cdk:path": p + "OrdersPipe/Resource"},
        },
        "CDKMetadata": cdk_stack.cdk_metadata(stack),
    }
    return {
        "Resources": resources,
        "Outputs": {
            "PipeArn": {"Value": {"Fn::GetAtt": ["OrdersPipe5D0E8C3F", "Arn"]}},
            "PipeState": {"Value": {"Fn::GetAtt": ["OrdersPipe5D0E8C3F", "CurrentState"]}},
            "PipeName": {"Value": {"Ref": "OrdersPipe5D0E8C3F"}},
            "QueueUrl": {"Value": {"Ref": "OrdersSourceQueue1C9E2A77"}},
        },
        "Conditions": cdk_stack.metadata_condition(),
        "Parameters": dict(cdk_stack.BOOTSTRAP_PARAMETER),
        "Rules": dict(cdk_stack.BOOTSTRAP_RULE),
    }


def policy_stack(stack, principal="111122223333", with_statement=True):
    resources = {
        "SharedBus1A2B3C4D": {"Type": "AWS::Events::EventBus",
                              "Properties": {"Name": stack + "-shared"}},
        "AllowPartner5E6F7A8B": {
            "Type": "AWS::Events::EventBusPolicy",
            "Properties": {"EventBusName": {"Ref": "SharedBus1A2B3C4D"},
                           "StatementId": "allow-partner", "Action": "events:PutEvents",
                           "Principal": principal},
        },
    }
    if with_statement:
        resources["AllowOrg9C0D1E2F"] = {
            "Type": "AWS::Events::EventBusPolicy",
            "Properties": {
                "EventBusName": {"Ref": "SharedBus1A2B3C4D"},
                "StatementId": "allow-org",
                "Statement": {"Effect": "Allow",
                              "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                              "Action": "events:PutEvents",
                              "Resource": {"Fn::GetAtt": ["SharedBus1A2B3C4D", "Arn"]}},
            },
        }
    return {"Resources": resources,
            "Outputs": {"PolicyRef": {"Value": {"Ref": "AllowPartner5E6F7A8B"}}}}


def body_of(req):
    return json.loads(req["body"])


class PipeStackTest(StackTestCase):

    def describe_pipe(self, name):
        status, _, body = raw_pipes_call(self.server, "GET", "/v1/pipes/" + name)
        return status, body

    def test_deploy_deliver_update_delete(self):
        sink = Sink()
        self.addCleanup(sink.stop)
        sqs = harness.client(self.server, "sqs")
        stack = "OrdersPipe"
        self.deploy(stack, pipe_stack(stack, sink.url("/hook")), "--capabilities", "CAPABILITY_IAM")
        s = self.stack(stack)
        self.assertEqual(s["StackStatus"], "CREATE_COMPLETE")
        out = {o["OutputKey"]: o["OutputValue"] for o in s["Outputs"]}
        name = self.physical(stack, "OrdersPipe5D0E8C3F")
        self.assertEqual(out["PipeName"], name)
        self.assertTrue(name.startswith("OrdersPipe-OrdersPipe"), name)
        self.assertEqual(out["PipeState"], "RUNNING")
        status, pipe = self.describe_pipe(name)
        self.assertEqual(status, 200, pipe)
        self.assertEqual(pipe["Arn"], out["PipeArn"])
        self.assertEqual(pipe["CurrentState"], "RUNNING")
        self.assertEqual(pipe["Description"], "orders to the partner hook")
        self.assertTrue(pipe["RoleArn"].endswith(":role/" + self.physical(
            stack, "OrdersPipeRole7B2C19D4")), pipe["RoleArn"])

        # A message sent with SQS reaches the sink through the deployed pipe; the filter holds.
        queue_url = out["QueueUrl"]
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "noise", "id": "n1"}))
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "order", "id": "o1"}))
        req = sink.wait_for(1, timeout=20)[0]
        self.assertEqual(body_of(req), {"id": "o1", "pipe": name})
        headers = {k.lower(): v for k, v in req["headers"]}
        self.assertEqual(headers.get("x-api-key"), "pipe-key-123")
        self.assertEqual(headers.get("x-origin"), "pipe")

        # Update: the filter now passes "refund" instead of "order"; a tag is added.
        self.deploy(stack, pipe_stack(stack, sink.url("/hook"), kinds=("refund",), with_tag=True),
                    "--capabilities", "CAPABILITY_IAM")
        self.assertEqual(self.stack(stack)["StackStatus"], "UPDATE_COMPLETE")
        self.assertEqual(self.physical(stack, "OrdersPipe5D0E8C3F"), name)
        status, pipe = self.describe_pipe(name)
        self.assertEqual(pipe["CurrentState"], "RUNNING")
        pattern = json.loads(pipe["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"])
        self.assertEqual(pattern, {"body": {"kind": ["refund"]}})
        self.assertEqual(pipe.get("Tags"), {"team": "orders"})
        sink.reset()
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "order", "id": "o2"}))
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"kind": "refund", "id": "r1"}))
        reqs = sink.wait_for(1, timeout=20)
        self.assertEqual([body_of(r)["id"] for r in reqs], ["r1"])

        self.cli_run("cloudformation", "delete-stack", "--stack-name", stack)
        self.cli_run("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
        status, body = self.describe_pipe(name)
        self.assertEqual(status, 404, body)
        status, _, listed = raw_pipes_call(self.server, "GET", "/v1/pipes")
        self.assertEqual(listed.get("Pipes"), [])
        self.assertEqual(sqs.list_queues().get("QueueUrls", []), [])

    def test_failing_pipe_rolls_back(self):
        stack = "BadPipe"
        template = pipe_stack(stack, "http://127.0.0.1:9/hook")
        # A batch size over SQS's limit: the Pipes service refuses it, the stack rolls back.
        template["Resources"]["OrdersPipe5D0E8C3F"]["Properties"]["SourceParameters"][
            "SqsQueueParameters"]["BatchSize"] = 100000
        self.deploy(stack, template, "--capabilities", "CAPABILITY_IAM", expect_error=True)
        self.assertEqual(self.stack(stack)["StackStatus"], "ROLLBACK_COMPLETE")
        failed = [e for e in self.events(stack) if e["LogicalResourceId"] == "OrdersPipe5D0E8C3F"
                  and e["ResourceStatus"] == "CREATE_FAILED"]
        self.assertEqual(len(failed), 1)
        self.assertIn("batchsize", failed[0].get("ResourceStatusReason", "").lower())
        status, _, listed = raw_pipes_call(self.server, "GET", "/v1/pipes")
        self.assertEqual(listed.get("Pipes"), [])


class EventBusPolicyStackTest(StackTestCase):

    def deploy(self, stack, template, *extra, expect_error=False):
        # The CLI names its change set after the current second, and the stack keeps the
        # executed one: deploys of this small stack may finish within a second, so space them.
        last = getattr(self, "_last_deploy", 0)
        while int(time.time()) == last:
            time.sleep(0.05)
        try:
            return super().deploy(stack, template, *extra, expect_error=expect_error)
        finally:
            self._last_deploy = int(time.time())

    def policy(self, events, bus):
        text = events.describe_event_bus(Name=bus).get("Policy")
        return json.loads(text) if text else None

    def test_policy_deploy_update_delete(self):
        events = harness.client(self.server, "events")
        stack = "SharedBus"
        bus = stack + "-shared"
        self.deploy(stack, policy_stack(stack))
        s = self.stack(stack)
        self.assertEqual(s["StackStatus"], "CREATE_COMPLETE")
        self.assertEqual(s["Outputs"][0]["OutputValue"], "allow-partner")
        doc = self.policy(events, bus)
        by_sid = {st["Sid"]: st for st in doc["Statement"]}
        self.assertEqual(sorted(by_sid), ["allow-org", "allow-partner"])
        bus_arn = events.describe_event_bus(Name=bus)["Arn"]
        self.assertEqual(by_sid["allow-partner"]["Principal"],
                         {"AWS": "arn:aws:iam::111122223333:root"})
        self.assertEqual(by_sid["allow-partner"]["Resource"], bus_arn)
        self.assertEqual(by_sid["allow-org"]["Principal"],
                         {"AWS": "arn:aws:iam::444455556666:root"})

        # Update: one principal changes, the Statement-form policy goes away.
        self.deploy(stack, policy_stack(stack, principal="777788889999", with_statement=False))
        self.assertEqual(self.stack(stack)["StackStatus"], "UPDATE_COMPLETE")
        doc = self.policy(events, bus)
        self.assertEqual([st["Sid"] for st in doc["Statement"]], ["allow-partner"])
        self.assertEqual(doc["Statement"][0]["Principal"],
                         {"AWS": "arn:aws:iam::777788889999:root"})

        # Deleting only the policies (the bus stays): the statement disappears from the bus.
        keep_bus = {"Resources": {"SharedBus1A2B3C4D": {"Type": "AWS::Events::EventBus",
                                                        "Properties": {"Name": bus}}}}
        self.deploy(stack, keep_bus)
        self.assertIsNone(self.policy(events, bus))
        self.deploy(stack, policy_stack(stack))
        self.cli_run("cloudformation", "delete-stack", "--stack-name", stack)
        self.cli_run("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack)
        self.assertEqual([b["Name"] for b in events.list_event_buses()["EventBuses"]], ["default"])

    def test_policy_on_default_bus(self):
        events = harness.client(self.server, "events")
        template = {"Resources": {"Allow": {
            "Type": "AWS::Events::EventBusPolicy",
            "Properties": {"StatementId": "cross-account", "Action": "events:PutEvents",
                           "Principal": "111122223333"}}}}
        self.deploy("DefaultPolicy", template)
        self.assertEqual([st["Sid"] for st in self.policy(events, "default")["Statement"]],
                         ["cross-account"])
        self.cli_run("cloudformation", "delete-stack", "--stack-name", "DefaultPolicy")
        self.cli_run("cloudformation", "wait", "stack-delete-complete", "--stack-name",
                     "DefaultPolicy")
        self.assertIsNone(self.policy(events, "default"))


if __name__ == "__main__":
    unittest.main()
