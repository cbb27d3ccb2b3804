"""A template's parameter values judged as CloudFormation judges them before it deploys anything:
each parameter's constraints (Number, MinValue/MaxValue, AllowedValues, AllowedPattern,
MinLength/MaxLength), then the template's Rules. A value CloudFormation would refuse is refused
here too, with its ConstraintDescription or AssertDescription, so `make dev` cannot run a
configuration that would not deploy."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


class ParameterRefused(ValueError):
    """A parameter value, or a combination of them, CloudFormation would refuse."""


def constraint_problem(name: str, spec: Mapping[str, Any], value: str) -> str | None:
    """What is wrong with one parameter's value, in CloudFormation's words; None if nothing."""
    explained = spec.get("ConstraintDescription")

    def refused(what: str) -> str:
        return f"Parameter '{name}' " + (
            f"failed to satisfy constraint: {explained.strip()}" if explained else what
        )

    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"Parameter '{name}' must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return refused(f"must be a number not less than {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return refused(f"must be a number not greater than {spec['MaxValue']}")
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in {str(item) for item in allowed}:
        return refused(f"value must be one of {', '.join(str(item) for item in allowed)}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        return refused(f"failed to satisfy constraint: must match pattern {pattern}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return refused(f"must contain at least {spec['MinLength']} characters")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return refused(f"must contain at most {spec['MaxLength']} characters")
    return None


def check_constraints(template: Mapping[str, Any], values: Mapping[str, str]) -> None:
    problems = [
        problem
        for name, spec in template.get("Parameters", {}).items()
        if (problem := constraint_problem(name, spec, values[name])) is not None
    ]
    if problems:
        raise ParameterRefused("; ".join(problems))


def check_rules(template: Mapping[str, Any], resolve: Callable[[Any], Any]) -> None:
    """Every rule whose RuleCondition holds must have all its Assertions hold."""
    failed = [
        f"{name}: {assertion.get('AssertDescription', 'assertion failed')}"
        for name, rule in template.get("Rules", {}).items()
        if resolve(rule.get("RuleCondition", True))
        for assertion in rule["Assertions"]
        if not resolve(assertion["Assert"])
    ]
    if failed:
        raise ParameterRefused("template rules refuse these parameters: " + "; ".join(failed))
