"""Deploys infra/template.yaml to the emulator the way `sam deploy` deploys it to AWS.

    deploy_stack.py --endpoint http://127.0.0.1:4566 --stack NAME --template infra/template.yaml
                    [--region us-east-1] [--parameter Key=Value ...]

1. SAM's own translator (`samtranslator`, the library `sam deploy` and CloudFormation's
   AWS::Serverless transform run) turns the template into plain CloudFormation. As `sam deploy`
   does, each function's CodeUri is first replaced by an s3:// location holding a zip (here a
   stand-in zip: the emulator creates functions without running them).
2. The emulator's CloudFormation creates the stack from that, with the given parameters (the
   template's defaults for the rest), and the script waits for CREATE_COMPLETE.
3. For each Lambda function of the stack it reads back, from the emulator, what the function would
   run with: its environment (GetFunctionConfiguration) and its role's policies (IAM), and creates
   an IAM user holding exactly the role's inline policies, with an access key: code run under that
   key is allowed what the function is allowed, once the emulator enforces IAM.
4. It creates an administrator user (everything allowed) for the test's own calls.

It prints one JSON document on stdout:
    {"stack", "outputs": {key: value}, "admin": {"access_key", "secret_key"},
     "functions": {logical id: {"name", "role", "env", "policies": {name: document},
                                "managed_policies": [arn], "aliases": {name: version},
                                "access_key", "secret_key"}},
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
import io
import json
import os
import sys
import zipfile
from typing import Any

import boto3
from samcli.yamlhelper import parse_yaml_file
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class Deployer:
    def __init__(self, endpoint: str, region: str) -> None:
        session = boto3.session.Session(
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            region_name=region,
        )
        self.client = lambda service: session.client(service, endpoint_url=endpoint)
        self.iam = self.client("iam")

    def upload_code(self, stack: str) -> tuple[str, str]:
        """The deployment bucket `sam deploy` would use, holding a stand-in code zip."""
        s3 = self.client("s3")
        bucket = f"{stack.lower()}-deploy-artifacts"
        s3.create_bucket(Bucket=bucket)
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\necho stand-in: the emulator does not run it\n")
        s3.put_object(Bucket=bucket, Key="code.zip", Body=data.getvalue())
        return bucket, "code.zip"

    def translate(self, template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == "AWS::Serverless::Function":
                resource.setdefault("Properties", {})["CodeUri"] = f"s3://{bucket}/{key}"
        return transform(template, {}, ManagedPolicyLoader(self.iam))

    def create_stack(self, stack: str, body: dict[str, Any], params: dict[str, str]) -> None:
        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=stack,
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        cfn.get_waiter("stack_create_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )

    def outputs(self, stack: str) -> dict[str, str]:
        described = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

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


def _parameters(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"--parameter {pair!r}: expected Key=Value")
        params[key] = value
    return params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    os.environ["AWS_DEFAULT_REGION"] = args.region  # the translator's region

    deployer = Deployer(args.endpoint, args.region)
    bucket, key = deployer.upload_code(args.stack)
    body = deployer.translate(parse_yaml_file(args.template), bucket, key)
    deployer.create_stack(args.stack, body, _parameters(args.parameter))
    functions = {
        logical_id: deployer.function(args.stack, logical_id, name)
        for logical_id, name in sorted(deployer.functions(args.stack).items())
    }
    outputs = deployer.outputs(args.stack)
    result = {
        "stack": args.stack,
        "outputs": outputs,
        "admin": deployer.user(f"{args.stack}-admin", {"admin": ADMIN_POLICY}),
        "functions": functions,
        "secrets": deployer.secret_strings(functions),
        "glue_tables": deployer.glue_tables(outputs),
        "dashboards": deployer.dashboards(args.stack),
    }
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
