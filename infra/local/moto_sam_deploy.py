"""What `sam deploy` needs of moto's CloudFormation and moto 5.2 lacks; three patches below.

1. The `AWS::Serverless-2016-10-31` transform. CloudFormation runs SAM's translator on a
   template that declares `Transform: AWS::Serverless-2016-10-31` before it creates anything;
   moto 5.2 does not, and creates nothing for `AWS::Serverless::*` resources. So `sam deploy`
   (which sends the template untransformed, in a change set) could not create hookloop's stack
   on the emulator. This patch runs SAM's own translator (`samtranslator`, the library the AWS
   transform is built from) on the template of every CreateStack, UpdateStack and
   CreateChangeSet that declares the transform, with the request's parameter values, before moto
   reads it. Templates without the transform are moto's unchanged. Managed policy names
   (`AWSLambdaBasicExecutionRole`, ...) resolve from the translator's bundled map of AWS managed
   policies, where the AWS transform reads IAM. The translator comes with the SAM CLI (`make
   setup`); `make run`'s emulator, which has only moto, refuses such a template saying so.
2. Change sets. `sam deploy` creates every stack, its own managed bucket's included, with
   CreateChangeSet (type CREATE) then ExecuteChangeSet, and updates one with an UPDATE set.
   moto executes a CREATE set by updating the empty stack it made for the review, which creates
   the resources but never reads the template's outputs: the stack answers DescribeStacks with
   no `Outputs`, and SAM CLI refuses its managed stack for that ("missing Tags and/or
   Outputs"); an UPDATE set keeps the first template's outputs. The patch executes a CREATE set
   the way moto's CreateStack creates a stack (resources, outputs, exports) with the set's
   template and parameters, reads the outputs again after an UPDATE set, refuses a set that is
   unknown or not AVAILABLE (moto answered 500, or executed it twice), finds a set by name on
   the named stack (the newest), and lets a CREATE set declined at sam's prompt be followed by
   another (moto made a second stack of the same name, which sam then waited on forever).
3. A template in S3 at a loopback endpoint. A template over 51,200 bytes (hookloop's is) goes to
   CloudFormation as a `TemplateURL`; with the endpoint overridden SAM CLI writes it path-style,
   `http://127.0.0.1:<port>/<bucket>/<key>`, and moto, which reads path-style only from
   `localhost` or `s3*.amazonaws.com` hosts, takes `127` for the bucket (NoSuchBucket). The patch
   reads the bucket from the path for any IP-address host too.
"""

import json
from typing import Any, Callable

import ipaddress
from urllib.parse import urlparse

from moto.cloudformation import responses, utils
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend

SERVERLESS = "AWS::Serverless-2016-10-31"


class _BundledPolicies:
    """The translator's `ManagedPolicyLoader`, answered from its bundled map (no IAM call)."""

    def load(self) -> dict[str, str]:
        from samtranslator.internal.managed_policies import get_bundled_managed_policy_map

        return get_bundled_managed_policy_map("aws") or {}


def _declares_transform(template: dict[str, Any]) -> bool:
    declared = template.get("Transform")
    names = declared if isinstance(declared, list) else [declared]
    return SERVERLESS in names


def transformed(body: str, parameters: Any, region: str) -> str:
    """`body` as CloudFormation creates it: SAM's translator applied when the template asks."""
    if not body or SERVERLESS not in body:
        return body
    try:
        import boto3
        from samcli.yamlhelper import yaml_parse
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
        from samtranslator.utils.py27hash_fix import (
            to_py27_compatible_template,
            undo_mark_unicode_str_in_template,
        )
    except ImportError as missing:
        raise ValidationError(
            message=f"template declares {SERVERLESS}, but this emulator has no SAM translator"
            f" ({missing}); `make setup` installs it"
        ) from missing
    template = yaml_parse(body)
    if not isinstance(template, dict) or not _declares_transform(template):
        return body
    # What samtranslator.translator.transform.transform does, with the stack's region as the
    # session's (the AWS transform runs in the stack's region; here no environment names one).
    values = _values(parameters)
    to_py27_compatible_template(template, values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    policies = _BundledPolicies()
    try:
        result = translator.translate(template, values, get_managed_policy_map=policies.load)
    except InvalidDocumentException as invalid:
        causes = "; ".join(str(c) for c in invalid.causes)
        raise ValidationError(message=f"Transform {SERVERLESS} failed with: {causes}") from invalid
    return json.dumps(undo_mark_unicode_str_in_template(result))


def _values(parameters: Any) -> dict[str, Any]:
    """Parameter values as the translator takes them, from a dict or UpdateStack's list."""
    if isinstance(parameters, list):
        return {p["ParameterKey"]: p["ParameterValue"] for p in parameters if "ParameterValue" in p}
    return dict(parameters or {})


def _with_transform(method: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
        if "template" in kwargs:
            kwargs["template"] = transformed(
                kwargs["template"], kwargs.get("parameters", {}), self.region_name
            )
        return method(self, *args, **kwargs)

    return patched


for _name in ("create_stack", "update_stack", "create_change_set"):
    setattr(CloudFormationBackend, _name, _with_transform(getattr(CloudFormationBackend, _name)))


# ---------------------------------------------------------------- 2. change sets
_create_change_set = CloudFormationBackend.create_change_set
_execute_change_set = CloudFormationBackend.execute_change_set


def _create_change_set_on_review(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
    """A CREATE set for a stack still in review (a set declined before) replaces that stack:
    CloudFormation reuses it, where moto would make a second stack of the same name."""
    if kwargs.get("change_set_type", "CREATE") == "CREATE":
        for stack_id, stack in list(self.stacks.items()):
            if stack.name == kwargs.get("stack_name") and stack.status == "REVIEW_IN_PROGRESS":
                del self.stacks[stack_id]
    return _create_change_set(self, *args, **kwargs)


def _find_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> Any:
    if name in backend.change_sets:  # an ARN
        return backend.change_sets[name]
    named = [
        cs
        for cs in backend.change_sets.values()
        if cs.change_set_name == name and stack_name in (None, cs.stack_name, cs.stack_id)
    ]
    return named[-1] if named else None  # the newest (sets are kept in creation order)


def _execute_change_set_with_outputs(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    if change_set is None:
        raise ValidationError(message=f"ChangeSet [{change_set_name}] does not exist")
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(
            message=f"ChangeSet [{change_set_name}] cannot be executed in its current execution"
            f" status of [{change_set.execution_status}]"
        )
    stack = self.stacks.get(change_set.stack_id)
    if stack is None:
        raise ValidationError(stack_name)
    if change_set.change_set_type == "CREATE":
        # CloudFormationBackend.create_stack's steps, on the stack the change set reviewed.
        stack.template = change_set.template
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters
        stack.cross_stack_resources = self.exports
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        self._validate_export_uniqueness(stack)
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
    else:
        # moto updates the resources but keeps the first template's outputs: read them again.
        _execute_change_set(self, change_set.change_set_id, stack_name)
        stack._parse_template()
        stack.output_map = stack._create_output_map()
    for export in stack.exports:
        self.exports[export.name] = export
    change_set.execution_status = "EXECUTE_COMPLETE"
    return None


CloudFormationBackend.create_change_set = _create_change_set_on_review
CloudFormationBackend.execute_change_set = _execute_change_set_with_outputs


# ---------------------------------------------------------------- 3. TemplateURL at an IP address
_get_stack_from_s3_url = utils.get_stack_from_s3_url


def _stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
    host = urlparse(template_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _get_stack_from_s3_url(template_url, account_id, partition)
    # moto's own reading of a `localhost` URL, which is path-style.
    local = urlparse(template_url)._replace(netloc="localhost").geturl()
    return _get_stack_from_s3_url(local, account_id, partition)


responses.get_stack_from_s3_url = _stack_from_s3_url
