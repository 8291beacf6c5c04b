# inference_schema on one parameter, a default on another, and request_headers beside them.
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema


def init():
    pass


@input_schema("values", StandardPythonParameterType([1, 2]))
def run(values, scale=10, request_headers=None):
    return {"scaled": [v * scale for v in values], "custom": (request_headers or {}).get("X-Custom")}
