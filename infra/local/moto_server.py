"""moto's server with the gaps hookloop meets filled, each described below.

hookloop's tests and `make run` start moto through this file; everything not patched here is moto
unchanged.

1. Kinesis shards safe for concurrent writes. moto gives a record the sequence number "highest so
   far + 1" without a lock (its source says "this function is not safe for concurrency"), and its
   server is threaded: two PutRecords handled at the same moment can give two records one number,
   and the second overwrites the first. The emulator then loses a record that Kinesis would have
   kept. This file serialises that one function.
2. `AWS::SecretsManager::Secret` in CloudFormation. moto has no model for it and skips the
   resource with a warning, so a stack holding one is created without its secret and `!Ref` of
   it resolves to nothing. `SecretsManagerSecret` below creates the secret in moto's Secrets
   Manager (Name optional, Description, SecretString or GenerateSecretString with
   SecretStringTemplate, GenerateStringKey, PasswordLength, ExcludeCharacters,
   ExcludePunctuation, ExcludeNumbers, ExcludeUppercase, ExcludeLowercase, IncludeSpace,
   RequireEachIncludedType), and `!Ref` gives its ARN, as in CloudFormation.
3. Role policies created by CloudFormation read back as JSON. moto's `AWS::IAM::Role` stores each
   inline policy (`Policies`) as the Python text of the parsed document (single quotes), so
   GetRolePolicy answers something that is not JSON, where IAM answers the document. The patch
   stores the document as JSON.
4. IAM access control on the resource a request names. With `INITIAL_NO_AUTH_ACTION_COUNT` (or
   `/moto-api/reset-auth`) moto authorises requests by the caller's IAM policies, but only SQS,
   S3 and IAM tell it which resource a request is for; DynamoDB, Kinesis and Secrets Manager
   requests are checked against the resource "*", which no policy naming its resource matches,
   so every such request is denied. `_determine_resource` below names the table, stream or
   secret (by ARN) the way IAM does, so a policy scoped to them is enforced as in AWS.
5. S3 signatures checked against the URI as signed. With IAM enforced, moto recomputes each S3
   request's signature from the URI it received decoded (`raw/source=x/…`, `prefix=raw/`) where
   the client signed it encoded (`raw/source%3Dx/…`, `prefix=raw%2F`), and answers
   SignatureDoesNotMatch to a correctly signed request for any key or prefix holding such a
   character (hookloop's raw archive keys all do). The patch encodes path and query as SigV4's
   canonical request does before the signature is recomputed.
6. An audit of IAM decisions (an addition, not a fix): with `HOOKLOOP_IAM_AUDIT` naming a file,
   every request authorised while IAM is enforced appends one JSON line to it,
   {"access_key", "action", "resource", "allowed"}: which permissions a run exercised.
7. `AWS::Glue::Database`, `AWS::Glue::Table` and `AWS::Athena::WorkGroup` in CloudFormation.
   moto has Glue and Athena backends but no CloudFormation model for these (skipped, so `!Ref`
   of them resolves to nothing and outputs naming them vanish). The models below create them in
   moto's Glue and Athena as CloudFormation would, so the stack's table can be read back (its
   projection and location template, resolved) with GetTable; `!Ref` gives the name.
8. What `sam deploy` needs of CloudFormation: the `AWS::Serverless-2016-10-31` transform, and
   change sets that create a stack with its outputs (`moto_sam_deploy.py`), so `make deploy`
   creates hookloop's stack here as in AWS.
9. No Lambda invoked inside SendMessage. For a queue with an event source mapping (the stack's
   processor has one), moto receives up to a batch of the queue's messages within each
   SendMessage and invokes the function there and then, in Docker: the sender waits on the
   function (seconds of image pulls where a Docker engine answers, past the ingest's 2.5 s
   deadline), and every message received so bills a receive its consumer never made, towards
   the queue's maxReceiveCount. In AWS, Lambda's pollers receive apart from the senders. The
   mapping stays (ListEventSourceMappings, UpdateEventSourceMapping); the queue just does not
   call it: hookloop's tests and tools run the processor themselves.
"""

import sys
import threading

from moto.kinesis import models

_lock = threading.Lock()
_put_record = models.Shard.put_record


def _locked_put_record(self, *args, **kwargs):
    with _lock:
        return _put_record(self, *args, **kwargs)


models.Shard.put_record = _locked_put_record

# ---------------------------------------------------------------- 2. secrets in CloudFormation
import json  # noqa: E402
from typing import Any  # noqa: E402

from moto.core.common_models import CloudFormationModel  # noqa: E402
from moto.secretsmanager.models import secretsmanager_backends  # noqa: E402


class SecretsManagerSecret(CloudFormationModel):
    """`AWS::SecretsManager::Secret`: the secret itself lives in moto's Secrets Manager."""

    # moto files each model under the service its module is in (`moto.<service>.…`).
    __module__ = "moto.secretsmanager.cloudformation"

    def __init__(self, arn: str, name: str) -> None:
        self.arn = arn
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # `!Ref` of a secret is its ARN

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "SecretsManagerSecret":
        props = cloudformation_json.get("Properties", {})
        backend = secretsmanager_backends[account_id][region_name]
        secret_string = props.get("SecretString")
        generate = props.get("GenerateSecretString")
        if generate is not None:
            secret_string = _generated(backend, generate)
        created = backend.create_secret(
            name=resource_name,
            secret_string=secret_string,
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"], resource_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: "SecretsManagerSecret",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "SecretsManagerSecret":
        return original_resource  # CloudFormation keeps a secret's value across updates

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        backend.delete_secret(resource_name, None, True)


# ---------------------------------------------------------------- 2b. an alias in CloudFormation
# The ingest's `AutoPublishAlias: live` makes SAM emit an AWS::Lambda::Version and an
# AWS::Lambda::Alias that the API, its permission and CodeDeploy point at. moto 5.2 creates the
# version but has no CloudFormation model for the alias (skipped, so `!Ref` of it resolves to
# nothing and the API's permission fails), nor the version's `Version` attribute. CodeDeploy's
# resources stay unsupported (skipped with a warning): the emulator runs no deployment.
from moto.awslambda.models import LambdaVersion, lambda_backends  # noqa: E402

LambdaVersion.has_cfn_attr = classmethod(lambda cls, attr: attr == "Version")  # type: ignore[method-assign]
LambdaVersion.get_cfn_attribute = lambda self, attr: str(self.version)  # type: ignore[method-assign]


from moto.awslambda.models import LambdaFunction  # noqa: E402

_function_init = LambdaFunction.__init__


def _function_init_string_env(self: LambdaFunction, *args: Any, **kwargs: Any) -> None:
    """Lambda keeps environment values as strings; moto keeps a CloudFormation Number parameter
    (`!Ref IngestTimeout`) as a JSON number, which the Rust SDK (cargo lambda deploy) refuses to
    parse in GetFunction's answer."""
    _function_init(self, *args, **kwargs)
    self.environment_vars = {k: str(v) for k, v in (self.environment_vars or {}).items()}


LambdaFunction.__init__ = _function_init_string_env  # type: ignore[method-assign]


class LambdaAliasModel(CloudFormationModel):
    """`AWS::Lambda::Alias`: the alias itself lives in moto's Lambda; `!Ref` is its ARN."""

    __module__ = "moto.awslambda.cloudformation"

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "AliasArn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "LambdaAliasModel":
        props = cloudformation_json.get("Properties", {})
        backend = lambda_backends[account_id][region_name]
        alias = backend.create_alias(
            name=props["Name"],
            function_name=props["FunctionName"],
            function_version=str(props["FunctionVersion"]),
            description=props.get("Description", ""),
            routing_config=props.get("RoutingConfig"),
        )
        return cls(alias.arn)


def _generated(backend: Any, spec: dict[str, Any]) -> str:
    """A GenerateSecretString: a random password alone, or put into the template document."""
    password = json.loads(
        backend.get_random_password(
            password_length=int(spec.get("PasswordLength", 32)),
            exclude_characters=spec.get("ExcludeCharacters", ""),
            exclude_numbers=_flag(spec, "ExcludeNumbers"),
            exclude_punctuation=_flag(spec, "ExcludePunctuation"),
            exclude_uppercase=_flag(spec, "ExcludeUppercase"),
            exclude_lowercase=_flag(spec, "ExcludeLowercase"),
            include_space=_flag(spec, "IncludeSpace"),
            require_each_included_type=_flag(spec, "RequireEachIncludedType", True),
        )
    )["RandomPassword"]
    template = spec.get("SecretStringTemplate")
    if template is None:
        return password
    document = json.loads(template)
    document[spec["GenerateStringKey"]] = password
    return json.dumps(document)


def _flag(spec: dict[str, Any], key: str, default: bool = False) -> bool:
    value = spec.get(key, default)
    return value if isinstance(value, bool) else str(value).lower() == "true"

# ---------------------------------------------------------------- 3. role policies as JSON
from moto.iam.models import Role  # noqa: E402

_put_role_policy = Role.put_policy


def _put_role_policy_json(self: Role, policy_name: str, policy_json: Any) -> None:
    if not isinstance(policy_json, str):
        policy_json = json.dumps(policy_json)
    _put_role_policy(self, policy_name, policy_json)


Role.put_policy = _put_role_policy_json

# ---------------------------------------------------------------- 4. IAM on the named resource
from moto import settings  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.dynamodb.responses import DynamoHandler  # noqa: E402
from moto.kinesis.responses import KinesisResponse  # noqa: E402
from moto.secretsmanager.exceptions import SecretNotFoundException  # noqa: E402
from moto.secretsmanager.responses import SecretsManagerResponse  # noqa: E402


def _enforced() -> bool:
    """Whether IAM is enforced now (otherwise the resource is not looked at: moto unchanged)."""
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def _table_arn(self: DynamoHandler) -> str:
    """The table a request names. A batch over several tables is checked as "*" (one resource
    per request is all moto checks): hookloop's batches name one table."""
    if not _enforced():
        return "*"
    tables = set(self._get_param("RequestItems", {}) or {})
    name = self._get_param("TableName")
    if name:
        tables.add(name)
    if len(tables) != 1:
        return "*"
    (table,) = tables
    if table.startswith("arn:"):
        return table
    return f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{table}"


def _stream_arn(self: KinesisResponse) -> str:
    if not _enforced():
        return "*"
    arn = self._get_param("StreamARN")
    if arn:
        return arn
    name = self._get_param("StreamName")
    if not name:
        return "*"
    return f"arn:aws:kinesis:{self.region}:{self.current_account}:stream/{name}"


def _secret_arn(self: SecretsManagerResponse) -> str:
    if not _enforced():
        return "*"
    secret_id = self._get_param("SecretId")
    if not secret_id:
        return "*"
    try:
        return self.backend.describe_secret(secret_id).arn
    except SecretNotFoundException:
        return secret_id if secret_id.startswith("arn:") else "*"


DynamoHandler._determine_resource = _table_arn
KinesisResponse._determine_resource = _stream_arn
SecretsManagerResponse._determine_resource = _secret_arn

# ---------------------------------------------------------------- 5. S3 signatures, encoded URI
from urllib.parse import quote, unquote, urlsplit  # noqa: E402

from moto.iam.access_control import S3IAMRequest  # noqa: E402

_s3_aws_request = S3IAMRequest._create_aws_request


def _encoded(part: str) -> str:
    return quote(unquote(part), safe="-_.~")


def _s3_aws_request_encoded(self: S3IAMRequest) -> Any:
    url = urlsplit(self._path)
    pairs = (p.partition("=") for p in url.query.split("&") if p)
    query = "&".join(f"{_encoded(k)}={_encoded(v)}" for k, _, v in pairs)
    self._path = quote(unquote(url.path), safe="/~") + (f"?{query}" if query else "")
    return _s3_aws_request(self)


S3IAMRequest._create_aws_request = _s3_aws_request_encoded

# ---------------------------------------------------------------- 6. audit of IAM decisions
import os  # noqa: E402

from moto.iam.access_control import IAMRequestBase  # noqa: E402

_AUDIT = os.environ.get("HOOKLOOP_IAM_AUDIT")
_audit_lock = threading.Lock()
_check_action_permitted = IAMRequestBase.check_action_permitted


def _audited_check(self: IAMRequestBase, resource: str) -> None:
    allowed = False
    try:
        _check_action_permitted(self, resource)
        allowed = True
    finally:
        credential = self._get_string_between("Credential=", ",", self._headers["Authorization"])
        line = {
            "access_key": credential.split("/")[0],
            "action": self._action,
            "resource": resource,
            "allowed": allowed,
        }
        with _audit_lock, open(_AUDIT, "a", encoding="utf-8") as audit:
            audit.write(json.dumps(line) + "\n")


if _AUDIT:
    IAMRequestBase.check_action_permitted = _audited_check

# ---------------------------------------------------------------- 7. Glue and Athena in CloudFormation
from moto.athena.models import athena_backends  # noqa: E402
from moto.glue.models import glue_backends  # noqa: E402


class _Named:
    """A resource created in a moto backend whose `!Ref` is its name (a mixin: moto registers
    every CloudFormationModel subclass by its module, so the shared part is not one). A subclass
    gives its type and `_create(props, account_id, region_name) -> name`."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "_Named":
        return cls(cls._create(cloudformation_json["Properties"], account_id, region_name))


class GlueDatabaseModel(_Named, CloudFormationModel):
    """`AWS::Glue::Database`: DatabaseInput as given (Name required here)."""

    __module__ = "moto.glue.cloudformation"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Database"

    @staticmethod
    def _create(props: dict[str, Any], account_id: str, region_name: str) -> str:
        database_input = props["DatabaseInput"]
        # Glue keeps names in lower case, as AWS does.
        name = database_input["Name"].lower()
        glue_backends[account_id][region_name].create_database(name, database_input)
        return name


class GlueTableModel(_Named, CloudFormationModel):
    """`AWS::Glue::Table`: TableInput as given, in DatabaseName."""

    __module__ = "moto.glue.cloudformation"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Glue::Table"

    @staticmethod
    def _create(props: dict[str, Any], account_id: str, region_name: str) -> str:
        table_input = props["TableInput"]
        name = table_input["Name"].lower()
        glue = glue_backends[account_id][region_name]
        glue.create_table(props["DatabaseName"].lower(), name, table_input)
        return name


class AthenaWorkGroupModel(_Named, CloudFormationModel):
    """`AWS::Athena::WorkGroup`: Name, Description, WorkGroupConfiguration, Tags."""

    __module__ = "moto.athena.cloudformation"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Athena::WorkGroup"

    @staticmethod
    def _create(props: dict[str, Any], account_id: str, region_name: str) -> str:
        athena_backends[account_id][region_name].create_work_group(
            name=props["Name"],
            configuration=props.get("WorkGroupConfiguration", {}),
            description=props.get("Description", ""),
            tags=props.get("Tags", []),
        )
        return props["Name"]


# ---------------------------------------------------------------- 9. no Lambda inside SendMessage
from moto.sqs.models import Queue  # noqa: E402


class _NotPolled(dict):  # type: ignore[type-arg]
    """A queue's event source mappings as `Queue.add_message` sees them: none to call."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


_queue_init = Queue.__init__


def _queue_init_unpolled(self: Queue, *args: Any, **kwargs: Any) -> None:
    _queue_init(self, *args, **kwargs)
    self.lambda_event_source_mappings = _NotPolled()


Queue.__init__ = _queue_init_unpolled  # type: ignore[method-assign]

# ---------------------------------------------------------------- 8. sam deploy
import moto_sam_deploy  # noqa: E402, F401  (patches CloudFormation on import)

from moto.server import main  # noqa: E402  (after the patches)

if __name__ == "__main__":
    sys.exit(main())
