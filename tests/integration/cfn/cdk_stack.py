"""CDK-shaped CloudFormation templates for the stack tests.

The templates have the shape `cdk synth` gives (checked against aws-cdk-lib v2 output): the
BootstrapVersion SSM parameter and CheckBootstrapVersion rule, AWS::CDK::Metadata under the
CDKMetadataAvailable condition, hashed logical ids, aws:cdk:path metadata, Fn::GetAtt arrays,
Fn::Join for dynamic references, IAM role + default policy for the rule target, and
UpdateReplacePolicy/DeletionPolicy on queues.
"""

import copy
import json

BOOTSTRAP_PARAMETER = {
    "BootstrapVersion": {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/cdk-bootstrap/hnb659fds/version",
        "Description": "Version of the CDK Bootstrap resources in this environment, automatically "
                       "retrieved from SSM Parameter Store. [cdk:skip]",
    }
}

BOOTSTRAP_RULE = {
    "CheckBootstrapVersion": {
        "Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"],
                                                     {"Ref": "BootstrapVersion"}]}]},
            "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk "
                                 "bootstrap' with a recent version of the CDK CLI.",
        }]
    }
}

REGIONS = ["af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
           "ap-southeast-1", "ap-southeast-2", "ca-central-1", "cn-north-1", "cn-northwest-1",
           "eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1", "eu-west-2", "eu-west-3",
           "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2",
           "us-west-1", "us-west-2"]


def metadata_condition():
    """CDK's CDKMetadataAvailable: an Fn::Or of Fn::Or groups of at most 10 region tests."""
    groups = []
    for i in range(0, len(REGIONS), 10):
        tests = [{"Fn::Equals": [{"Ref": "AWS::Region"}, r]} for r in REGIONS[i:i + 10]]
        groups.append({"Fn::Or": tests} if len(tests) > 1 else tests[0])
    return {"CDKMetadataAvailable": {"Fn::Or": groups}}


def cdk_metadata(stack):
    return {
        "Type": "AWS::CDK::Metadata",
        "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/zPSMzQ00DNQTCwv1k1OydbNyUzSqw4"},
        "Metadata": {"aws:cdk:path": "%s/CDKMetadata/Default" % stack},
        "Condition": "CDKMetadataAvailable",
    }


def orders_stack(stack, sink_url, secret_name, rate=1, pattern_types=("OrderPlaced",),
                 audit_target=False):
    """The app Bridgeport was born from: bus, API_KEY connection with the key in Secrets Manager,
    API destination, rule with InputTransformer, RetryPolicy and an SQS dead-letter queue."""
    p = stack + "/"
    resources = {
        "OrdersBus6D3A1F2B": {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": stack + "-orders"},
            "Metadata": {"aws:cdk:path": p + "OrdersBus/Resource"},
        },
        "PartnerConnection5C1E0B9A": {
            "Type": "AWS::Events::Connection",
            "Properties": {
                "AuthorizationType": "API_KEY",
                "AuthParameters": {"ApiKeyAuthParameters": {
                    "ApiKeyName": "x-api-key",
                    "ApiKeyValue": {"Fn::Join": ["", [
                        "{{resolve:secretsmanager:", secret_name, ":SecretString:apiKey::}}"]]},
                }},
                "Description": "Partner API key",
            },
            "Metadata": {"aws:cdk:path": p + "PartnerConnection/Resource"},
        },
        "PartnerDestination2B9C4E71": {
            "Type": "AWS::Events::ApiDestination",
            "Properties": {
                "ConnectionArn": {"Fn::GetAtt": ["PartnerConnection5C1E0B9A", "Arn"]},
                "HttpMethod": "POST",
                "InvocationEndpoint": sink_url,
                "InvocationRateLimitPerSecond": rate,
            },
            "Metadata": {"aws:cdk:path": p + "PartnerDestination/Resource"},
        },
        "DeadLetterQueue9F481546": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600},
            "UpdateReplacePolicy": "Delete",
            "DeletionPolicy": "Delete",
            "Metadata": {"aws:cdk:path": p + "DeadLetterQueue/Resource"},
        },
        "DeadLetterQueuePolicyB1FB9832": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "PolicyDocument": {"Statement": [{
                    "Action": "sqs:SendMessage", "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Resource": {"Fn::GetAtt": ["DeadLetterQueue9F481546", "Arn"]},
                    "Condition": {"ArnEquals": {"aws:SourceArn": {
                        "Fn::GetAtt": ["OrderRuleE4B3B5F1", "Arn"]}}}}],
                    "Version": "2012-10-17"},
                "Queues": [{"Ref": "DeadLetterQueue9F481546"}],
            },
            "Metadata": {"aws:cdk:path": p + "DeadLetterQueue/Policy/Resource"},
        },
        "PartnerDestinationEventsRole7A3C1D22": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Statement": [{
                "Action": "sts:AssumeRole", "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"}}], "Version": "2012-10-17"}},
            "Metadata": {"aws:cdk:path": p + "PartnerDestination/EventsRole/Resource"},
        },
        "PartnerDestinationEventsRoleDefaultPolicy4E1F0D33": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyDocument": {"Statement": [{
                    "Action": "events:InvokeApiDestination", "Effect": "Allow",
                    "Resource": {"Fn::GetAtt": ["PartnerDestination2B9C4E71", "Arn"]}}],
                    "Version": "2012-10-17"},
                "PolicyName": "PartnerDestinationEventsRoleDefaultPolicy4E1F0D33",
                "Roles": [{"Ref": "PartnerDestinationEventsRole7A3C1D22"}],
            },
            "Metadata": {"aws:cdk:path": p + "PartnerDestination/EventsRole/DefaultPolicy/Resource"},
        },
        "OrderRuleE4B3B5F1": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "OrdersBus6D3A1F2B"},
                "EventPattern": {"source": ["shop.orders"], "detail-type": list(pattern_types)},
                "State": "ENABLED",
                "Targets": [{
                    "Arn": {"Fn::GetAtt": ["PartnerDestination2B9C4E71", "Arn"]},
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["DeadLetterQueue9F481546", "Arn"]}},
                    "HttpParameters": {"HeaderParameters": {"x-origin": "bridgeport"}},
                    "Id": "Target0",
                    "InputTransformer": {
                        "InputPathsMap": {"detail-id": "$.detail.id"},
                        "InputTemplate": "{\"orderId\":<detail-id>,\"kind\":\"order\"}",
                    },
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
                    "RoleArn": {"Fn::GetAtt": ["PartnerDestinationEventsRole7A3C1D22", "Arn"]},
                }],
            },
            "Metadata": {"aws:cdk:path": p + "OrderRule/Resource"},
        },
        "CDKMetadata": cdk_metadata(stack),
    }
    if audit_target:
        resources["AuditQueue5E2F66A1"] = {
            "Type": "AWS::SQS::Queue",
            "UpdateReplacePolicy": "Delete",
            "DeletionPolicy": "Delete",
            "Metadata": {"aws:cdk:path": p + "AuditQueue/Resource"},
        }
        resources["OrderRuleE4B3B5F1"]["Properties"]["Targets"].append({
            "Arn": {"Fn::GetAtt": ["AuditQueue5E2F66A1", "Arn"]}, "Id": "Target1"})
    return {
        "Resources": resources,
        "Outputs": {
            "BusArn": {"Value": {"Fn::GetAtt": ["OrdersBus6D3A1F2B", "Arn"]},
                       "Export": {"Name": stack + "-BusArn"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue9F481546"}},
            "ConnectionSecretArn": {"Value": {"Fn::GetAtt": ["PartnerConnection5C1E0B9A",
                                                             "SecretArn"]}},
        },
        "Conditions": metadata_condition(),
        "Parameters": copy.deepcopy(BOOTSTRAP_PARAMETER),
        "Rules": copy.deepcopy(BOOTSTRAP_RULE),
    }


def failing_stack(stack, extra=None):
    """A bus, then a rule whose pattern EventBridge refuses (so the stack rolls back)."""
    resources = {
        "FailBus0A1B2C3D": {"Type": "AWS::Events::EventBus", "Properties": {"Name": stack + "-bus"}},
        "BadRule4D5E6F70": {
            "Type": "AWS::Events::Rule",
            "Properties": {"EventBusName": {"Ref": "FailBus0A1B2C3D"},
                           "EventPattern": {"source": "not-a-list"}},
        },
        "CDKMetadata": cdk_metadata(stack),
    }
    resources.update(extra or {})
    return {"Resources": resources, "Conditions": metadata_condition(),
            "Parameters": copy.deepcopy(BOOTSTRAP_PARAMETER), "Rules": copy.deepcopy(BOOTSTRAP_RULE)}


def dump(template):
    return json.dumps(template, indent=1)
