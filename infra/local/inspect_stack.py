"""Reads back, from the emulator, a stack `make deploy` (sam deploy) created there.

    inspect_stack.py --endpoint http://127.0.0.1:4566 --stack NAME [--region us-east-1]

1. For each Lambda function of the stack it reads back what the function would run with: its
   environment (GetFunctionConfiguration) and its role's policies (IAM), and creates an IAM user
   holding exactly the role's inline policies, with an access key: code run under that key is
   allowed what the function is allowed, once the emulator enforces IAM.
2. It creates an administrator user (everything allowed) for the test's own calls.

It prints one JSON document on stdout:
    {"stack", "parameters": {key: value}, "outputs": {key: value},
     "admin": {"access_key", "secret_key"},
     "functions": {logical id: {"name", "role", "env", "policies": {name: document},
                                "managed_policies": [arn], "aliases": {name: version},
                                "code_size", "access_key", "secret_key"}},
     "secrets": {arn: secret string},
     "glue_tables": {"<database>.<table>": {"Parameters", "PartitionKeys", "StorageDescriptor"}},
     "dashboards": {name: body}}
The Glue tables are those of the database the `AthenaDatabaseName` output names; the dashboards
are the stack's `AWS::CloudWatch::Dashboard` resources, each body as CloudFormation resolved it.
Managed policies SAM attaches (AWSLambdaBasicExecutionRole, AWSXrayWriteOnlyAccess,
AWSLambdaSQSQueueExecutionRole) are listed, not given to the users: they serve Lambda's own
service (logs, traces, the event source mapping), not calls the function's code makes. (moto
5.2's `AWS::IAM::Role` does not attach them, so the list is empty on the emulator.) Function
environment values come back as strings, as Lambda keeps them (moto_server.py makes moto do so).

Run it before the emulator enforces IAM (it uses whatever credentials the environment has).
"""

import argparse
import json
import os
import sys
from typing import Any

import boto3

ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class Inspector:
    def __init__(self, endpoint: str, region: str) -> None:
        session = boto3.session.Session(
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            region_name=region,
        )
        self.client = lambda service: session.client(service, endpoint_url=endpoint)
        self.iam = self.client("iam")

    def described(self, stack: str) -> dict[str, Any]:
        return self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]

    def functions(self, stack: str) -> dict[str, str]:
        """Logical id -> function name of each Lambda function in the stack."""
        pages = self.client("cloudformation").get_paginator("list_stack_resources")
        return {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for page in pages.paginate(StackName=stack)
            for r in page["StackResourceSummaries"]
            if r["ResourceType"] == "AWS::Lambda::Function"
        }

    def role_policies(self, role_arn: str) -> tuple[dict[str, Any], list[str]]:
        role = role_arn.rsplit("/", 1)[-1]
        inline = {
            name: _document(self.iam.get_role_policy(RoleName=role, PolicyName=name))
            for name in self.iam.list_role_policies(RoleName=role)["PolicyNames"]
        }
        managed = [
            p["PolicyArn"]
            for p in self.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        ]
        return inline, managed

    def user(self, name: str, policies: dict[str, Any]) -> dict[str, str]:
        """An IAM user holding exactly `policies`, and its access key."""
        self.iam.create_user(UserName=name)
        for policy, document in policies.items():
            self.iam.put_user_policy(
                UserName=name, PolicyName=policy, PolicyDocument=json.dumps(document)
            )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}

    def function(self, stack: str, logical_id: str, name: str) -> dict[str, Any]:
        config = self.client("lambda").get_function_configuration(FunctionName=name)
        policies, managed = self.role_policies(config["Role"])
        return {
            "name": name,
            "role": config["Role"],
            "code_size": config["CodeSize"],
            "env": config.get("Environment", {}).get("Variables", {}),
            "policies": policies,
            "managed_policies": managed,
            # alias name -> version (the ingest's `live`, which its API calls)
            "aliases": {
                a["Name"]: a["FunctionVersion"]
                for a in self.client("lambda").list_aliases(FunctionName=name)["Aliases"]
            },
            **self.user(f"{stack}-{logical_id}"[:64], policies),
        }

    def secret_strings(self, functions: dict[str, Any]) -> dict[str, str]:
        """The document of each secret a function's SECRET_ARN names."""
        sm = self.client("secretsmanager")
        arns = {f["env"]["SECRET_ARN"] for f in functions.values() if f["env"].get("SECRET_ARN")}
        return {arn: sm.get_secret_value(SecretId=arn)["SecretString"] for arn in sorted(arns)}


    def glue_tables(self, outputs: dict[str, str]) -> dict[str, Any]:
        """Each table of the stack's Glue database as the catalog holds it (dates left out)."""
        database = outputs.get("AthenaDatabaseName")
        if not database:
            return {}
        tables = self.client("glue").get_tables(DatabaseName=database)["TableList"]
        keep = ("Parameters", "PartitionKeys", "StorageDescriptor", "TableType")
        return {f"{database}.{t['Name']}": {k: t.get(k) for k in keep} for t in tables}

    def dashboards(self, stack: str) -> dict[str, str]:
        pages = self.client("cloudformation").get_paginator("list_stack_resources")
        names = [
            r["PhysicalResourceId"]
            for page in pages.paginate(StackName=stack)
            for r in page["StackResourceSummaries"]
            if r["ResourceType"] == "AWS::CloudWatch::Dashboard"
        ]
        cloudwatch = self.client("cloudwatch")
        return {n: cloudwatch.get_dashboard(DashboardName=n)["DashboardBody"] for n in names}


def _document(response: dict[str, Any]) -> Any:
    doc = response["PolicyDocument"]
    return json.loads(doc) if isinstance(doc, str) else doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()

    inspector = Inspector(args.endpoint, args.region)
    described = inspector.described(args.stack)
    if described["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        sys.exit(f"stack {args.stack} is {described['StackStatus']}")
    functions = {
        logical_id: inspector.function(args.stack, logical_id, name)
        for logical_id, name in sorted(inspector.functions(args.stack).items())
    }
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    result = {
        "stack": args.stack,
        "parameters": {
            p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])
        },
        "outputs": outputs,
        "admin": inspector.user(f"{args.stack}-admin", {"admin": ADMIN_POLICY}),
        "functions": functions,
        "secrets": inspector.secret_strings(functions),
        "glue_tables": inspector.glue_tables(outputs),
        "dashboards": inspector.dashboards(args.stack),
    }
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
