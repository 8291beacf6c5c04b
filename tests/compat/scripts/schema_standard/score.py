# inference_schema with standard Python types: run() gets decoded keyword arguments; /swagger.json has the schemas.
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("count", StandardPythonParameterType(3))
@input_schema("name", StandardPythonParameterType("cat"))
@output_schema(StandardPythonParameterType({"greeting": "cat cat cat"}))
def run(count, name):
    return {"greeting": " ".join([name] * count)}
