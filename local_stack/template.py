"""template.yaml read the way CloudFormation reads it: parameters, conditions, intrinsic functions."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local_stack.parameters import check_constraints, check_rules

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
NO_VALUE = object()


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref`, `!Sub`, ...) turned into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        template: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader
        return template


@dataclass
class Resolver:
    """Evaluates intrinsic functions. `refs`/`attrs` supply what provisioned resources answer."""

    template: dict[str, Any]
    parameters: dict[str, str]
    pseudo: dict[str, str]
    ref: Callable[[str], str]
    get_att: Callable[[str, str], str]
    _conditions: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def parameter_values(cls, template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
        values = {}
        for name, spec in template.get("Parameters", {}).items():
            default = spec.get("Default")
            value = overrides.get(name, default)
            if value is None:
                raise ValueError(f"template parameter {name} has no default: give it in PARAMETER_OVERRIDES")
            values[name] = str(value)
        unknown = set(overrides) - set(values)
        if unknown:
            raise ValueError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        check_constraints(template, values)
        return values

    def check_rules(self) -> None:
        """The template's Rules hold for these parameters (ParameterRefused if not)."""
        check_rules(self.template, self.resolve)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = getattr(self, "_fn_" + key.replace("Fn::", "").replace("Ref", "ref"), None)
            if handler is not None and (key == "Ref" or key.startswith("Fn::") or key == "Condition"):
                return handler(arg)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def _fn_ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            spec = self.template["Parameters"][name]
            if spec.get("Type") == "CommaDelimitedList":
                return [item.strip() for item in self.parameters[name].split(",") if item.strip()]
            return self.parameters[name]
        return self.ref(name)

    def _fn_GetAtt(self, arg: list[str]) -> str:
        return self.get_att(arg[0], arg[1])

    def _fn_Sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.pseudo:
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self._fn_ref(name))

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)

    def _fn_If(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_Equals(self, arg: list[Any]) -> bool:
        left, right = (self.resolve(item) for item in arg)
        return bool(left == right)

    def _fn_Not(self, arg: list[Any]) -> bool:
        return not self.resolve(arg[0])

    def _fn_And(self, arg: list[Any]) -> bool:
        return all(self.resolve(item) for item in arg)

    def _fn_Or(self, arg: list[Any]) -> bool:
        return any(self.resolve(item) for item in arg)

    def _fn_Condition(self, name: str) -> bool:
        return self.condition(name)

    def _fn_Join(self, arg: list[Any]) -> str:
        separator, items = arg
        return str(separator).join(str(item) for item in self.resolve(items))

    def _fn_Select(self, arg: list[Any]) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_Split(self, arg: list[Any]) -> list[str]:
        separator, text = arg
        return str(self.resolve(text)).split(separator)
