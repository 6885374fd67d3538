"""The safe evaluator for every expression and script a BPMN diagram carries.

Process owners edit the diagrams, so gateway conditions, timer expressions and
script tasks are untrusted text. They never reach Python's eval or exec: each
is parsed, checked against a whitelist of syntax (no attribute access, no
dunder names, calls only to a few named functions) and then evaluated by
simpleeval.
"""
from __future__ import annotations

import ast
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from services.problems import N_, problem
from services.problems import register as register_problems

register_problems({
    "expr_complex": N_("expression is too complex"),
    "expr_node": N_("'%(node)s' is not allowed in an expression"),
    "expr_name": N_("name '%(name)s' is not allowed"),
    "expr_functions": N_("only these functions may be called: %(functions)s"),
    "expr_keywords": N_("keyword arguments are not allowed"),
    "expr_string_long": N_("string constant is too long"),
    "expr_text": N_("expression must be text"),
    "expr_long": N_("expression is too long"),
    "expr_syntax": N_("syntax error: %(reason)s"),
    "expr_failed": N_("%(reason)s"),
    "script_long": N_("script is too long"),
    "script_assign": N_("a script may only assign values: name = expression"),
})

MAX_LENGTH = 2000
MAX_NODES = 400

SAFE_FUNCTIONS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
    "Decimal": Decimal,
}
SAFE_NAMES: dict[str, Any] = {"True": True, "False": False, "None": None}

_FUNCTION_LIST = ", ".join(sorted(SAFE_FUNCTIONS))

_ALLOWED_NODES: tuple[type, ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.FloorDiv, ast.Mod, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare, ast.Eq, ast.NotEq,
    ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Name, ast.Load,
    ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Subscript, ast.IfExp, ast.Call,
)


class ExpressionError(ValueError):
    """An expression or script that is refused or fails to evaluate."""


def _check_tree(tree: ast.AST, source: str) -> None:
    for count, node in enumerate(ast.walk(tree), start=1):
        if count > MAX_NODES:
            raise ExpressionError(problem("expr_complex"))
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(problem("expr_node", node=type(node).__name__))
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(problem("expr_name", name=node.id))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS:
                raise ExpressionError(problem("expr_functions", functions=_FUNCTION_LIST))
            if node.keywords:
                raise ExpressionError(problem("expr_keywords"))
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and len(node.value) > 1000:
            raise ExpressionError(problem("expr_string_long"))


def parse_expression(source: str) -> ast.Expression:
    """Parse and check one expression; raise ExpressionError when it is refused."""
    if not isinstance(source, str):
        raise ExpressionError(problem("expr_text"))
    if len(source) > MAX_LENGTH:
        raise ExpressionError(problem("expr_long"))
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(problem("expr_syntax", reason=exc.__class__.__name__)) from None
    _check_tree(tree, source)
    return tree


def evaluate(source: str, names: Mapping[str, Any] | None = None) -> Any:
    """Evaluate a checked expression against the given names (task data)."""
    tree = parse_expression(source)
    evaluator = EvalWithCompoundTypes(functions=dict(SAFE_FUNCTIONS), names={**SAFE_NAMES, **(names or {})})
    try:
        return evaluator.eval(source.strip(), previously_parsed=tree.body)
    except InvalidExpression as exc:
        raise ExpressionError(problem("expr_failed", reason=str(exc))) from None
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
        raise ExpressionError(problem("expr_failed", reason=f"{exc.__class__.__name__}: {exc}")) from None


def parse_script(source: str) -> list[tuple[str, ast.Expression]]:
    """Parse a script task's text: only lines of the form `name = expression` are allowed."""
    if len(source) > MAX_LENGTH * 5:
        raise ExpressionError(problem("script_long"))
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(problem("expr_syntax", reason=exc.__class__.__name__)) from None
    steps = []
    for stmt in module.body:
        if isinstance(stmt, ast.Pass):
            continue
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise ExpressionError(problem("script_assign"))
        target = stmt.targets[0].id
        if target.startswith("_"):
            raise ExpressionError(problem("expr_name", name=target))
        expression = ast.Expression(body=stmt.value)
        _check_tree(expression, source)
        steps.append((target, expression))
    return steps


def run_script(source: str, data: dict[str, Any]) -> None:
    """Run a checked script, assigning each result into data."""
    for target, expression in parse_script(source):
        evaluator = EvalWithCompoundTypes(functions=dict(SAFE_FUNCTIONS), names={**SAFE_NAMES, **data})
        try:
            data[target] = evaluator.eval(ast.unparse(expression), previously_parsed=expression.body)
        except InvalidExpression as exc:
            raise ExpressionError(problem("expr_failed", reason=str(exc))) from None
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            raise ExpressionError(problem("expr_failed", reason=f"{exc.__class__.__name__}: {exc}")) from None
